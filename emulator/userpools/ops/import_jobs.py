"""User import: GetCSVHeader, Create/Start/Describe/List/StopUserImportJob, and the
pre-signed URL the CSV is PUT to (served by the emulator itself).

Imported users have no password: they start in RESET_REQUIRED and recover through
ForgotPassword / ConfirmForgotPassword.
"""

from __future__ import annotations

import csv
import hmac
import secrets
import string
from collections.abc import Iterator

from flask import jsonify, request

from emulator import memory, paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors, registry
from emulator.userpools.model import attributes as attrs_mod
from emulator.userpools.model import pools, users
from protocol import ServiceError

register_schema("userpools.import_jobs", [
    """
    CREATE TABLE user_import_jobs (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id TEXT NOT NULL UNIQUE,
        pool_id TEXT NOT NULL,
        upload_token TEXT NOT NULL,
        data TEXT NOT NULL,
        csv TEXT
    );
    CREATE INDEX user_import_jobs_pool ON user_import_jobs(pool_id, seq);
    """,
], owned={"user_pool": ("user_import_jobs",)})

STANDARD_HEADER = ["name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
                   "profile", "picture", "website", "email", "email_verified", "gender", "birthdate",
                   "zoneinfo", "locale", "phone_number", "phone_number_verified", "address", "updated_at"]
MAX_JOBS_PER_POOL = 1000
MAX_ROWS = 500_000
MAX_BYTES = 100 * 1024 * 1024
# An import this large leaves a large write-ahead log and freed memory: both are given back once
# it has committed.
CHECKPOINT_AFTER_USERS = 1000
MAX_ROW_CHARS = 16_000
EXPIRY_SECONDS = 24 * 3600.0
UPLOAD_PATH = "/_emulator/user-import"


def csv_header(pool: dict) -> list[str]:
    return ["cognito:username", *STANDARD_HEADER, "cognito:mfa_enabled", *attrs_mod.custom_names(pool)]


@registry.handler
def get_csv_header(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    return {"UserPoolId": pool["Id"], "CSVHeader": csv_header(pool)}


# -- storage -------------------------------------------------------------------------------------
def _not_found(job_id: str) -> ServiceError:
    return errors.ResourceNotFoundException(f"Import job {job_id} does not exist.")


def _load(db, pool_id: str, job_id: str) -> tuple[dict, dict]:
    """(row dict, UserImportJobType) of a job of the pool."""
    row = db.execute("SELECT * FROM user_import_jobs WHERE job_id = ? AND pool_id = ?",
                     (job_id, pool_id)).fetchone()
    if row is None:
        raise _not_found(job_id)
    return dict(row), loads(row["data"])


def _job(ctx, req: dict, now: float) -> tuple[dict, dict, dict]:
    """(pool, row dict, job with its status brought up to date) of the request's import job."""
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    row, job = _load(ctx.db, pool["Id"], req["JobId"])
    return pool, row, _current(ctx.db, job, now)


def _save(db, job_id: str, job: dict) -> None:
    db.execute("UPDATE user_import_jobs SET data = ? WHERE job_id = ?", (dumps(job), job_id))


def _current(db, job: dict, now: float) -> dict:
    """The job with its status brought up to date (a job never started expires)."""
    if job["Status"] == "Created" and now - job["CreationDate"] > EXPIRY_SECONDS:
        job["Status"] = "Expired"
        job["CompletionDate"] = job["CreationDate"] + EXPIRY_SECONDS
        job["CompletionMessage"] = "The import job expired before it was started."
        _save(db, job["JobId"], job)
    return job


# -- operations ----------------------------------------------------------------------------------
@registry.handler
def create_user_import_job(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    count = db.execute("SELECT COUNT(*) FROM user_import_jobs WHERE pool_id = ?", (pool["Id"],)).fetchone()[0]
    if count >= MAX_JOBS_PER_POOL:
        raise errors.LimitExceededException(f"The user pool has reached the limit of {MAX_JOBS_PER_POOL} import jobs.")
    job_id = "import-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(10))
    token = secrets.token_urlsafe(24)
    url = (f"{ctx.base_url}{UPLOAD_PATH}/{pool['Id']}/{job_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           f"&X-Amz-Expires={int(EXPIRY_SECONDS)}&X-Amz-Signature={token}")
    job = {"JobName": req["JobName"], "JobId": job_id, "UserPoolId": pool["Id"], "PreSignedUrl": url,
           "CreationDate": now, "Status": "Created", "CloudWatchLogsRoleArn": req["CloudWatchLogsRoleArn"],
           "ImportedUsers": 0, "SkippedUsers": 0, "FailedUsers": 0}
    if req.get("PasswordHashingAlgorithm"):
        job["PasswordHashingAlgorithm"] = req["PasswordHashingAlgorithm"]
    db.execute("INSERT INTO user_import_jobs(job_id, pool_id, upload_token, data) VALUES(?,?,?,?)",
               (job_id, pool["Id"], token, dumps(job)))
    return {"UserImportJob": job}


@registry.handler
def describe_user_import_job(ctx, req):
    _pool, _row, job = _job(ctx, req, ctx.now())
    return {"UserImportJob": job}


@registry.handler
def list_user_import_jobs(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    rows, token = paging.page(db, "SELECT seq, data FROM user_import_jobs WHERE pool_id = ?", [pool["Id"]],
                              ["seq"], req["MaxResults"], req.get("PaginationToken"))
    return {"UserImportJobs": [_current(db, loads(r["data"]), ctx.now()) for r in rows],
            "PaginationToken": token}


@registry.handler
def start_user_import_job(ctx, req):
    db, now = ctx.db, ctx.now()
    pool, row, job = _job(ctx, req, now)
    if job["Status"] != "Created":
        raise errors.InvalidParameterException(f"Import job {job['JobId']} cannot be started in status {job['Status']}.")
    if row["csv"] is None:
        raise errors.PreconditionNotMetException("The CSV file has not been uploaded to the pre-signed URL of the import job.")
    job["StartDate"] = now
    job["Status"] = "Pending"
    started = dict(job)
    _run(ctx, pool, job, row["csv"])
    _save(db, job["JobId"], job)
    if job["ImportedUsers"] >= CHECKPOINT_AFTER_USERS:
        ctx.after_commit.append(ctx.emulator.store.checkpoint)
        ctx.after_commit.append(memory.release)
    return {"UserImportJob": started}


@registry.handler
def stop_user_import_job(ctx, req):
    now = ctx.now()
    _pool, _row, job = _job(ctx, req, now)
    if job["Status"] not in ("Created", "Pending", "InProgress"):
        raise errors.InvalidParameterException(f"Import job {job['JobId']} cannot be stopped in status {job['Status']}.")
    job["Status"] = "Stopped"
    job["CompletionDate"] = now
    job["CompletionMessage"] = "The import job was stopped."
    _save(ctx.db, job["JobId"], job)
    return {"UserImportJob": job}


# -- processing ------------------------------------------------------------------------------------
def _fail(job: dict, now: float, message: str) -> None:
    job["Status"] = "Failed"
    job["CompletionDate"] = now
    job["CompletionMessage"] = message


def _run(ctx, pool: dict, job: dict, text: str) -> None:
    """Import the CSV into the pool; fills the counters, status and completion message."""
    now = ctx.now()
    if len(text) > MAX_BYTES // 4 and len(text.encode()) > MAX_BYTES:  # UTF-8 has 4 bytes at most
        _fail(job, now, "The CSV file exceeds the maximum size of 100 MB.")
        return
    reader = csv.reader(_lines(text.lstrip("\ufeff")))
    try:
        header = next(reader)
    except StopIteration:
        _fail(job, now, "The CSV file is empty.")
        return
    except csv.Error:
        _fail(job, now, "The CSV file could not be parsed.")
        return
    header = [h.strip() for h in header]
    expected = csv_header(pool)
    missing = [h for h in expected if h not in header]
    unknown = [h for h in header if h not in expected]
    if missing or unknown or len(set(header)) != len(header):
        detail = ", ".join(missing or unknown) or "duplicate columns"
        _fail(job, now, f"The CSV header does not match the user pool's CSV header: {detail}.")
        return
    imported = failed = skipped = 0
    mfa_on = pool.get("MfaConfiguration") == "ON"
    try:
        for number, values in enumerate(reader, start=1):
            if number > MAX_ROWS:
                _fail(job, now, f"The CSV file exceeds the maximum of {MAX_ROWS} users.")
                break
            if not any(v.strip() for v in values):
                skipped += 1
                continue
            if len(values) != len(header) or sum(len(v) for v in values) > MAX_ROW_CHARS:
                failed += 1
                continue
            record = dict(zip(header, values, strict=True))
            if _import_row(ctx, pool, record, mfa_on, now):
                imported += 1
            else:
                failed += 1
    except csv.Error:
        _fail(job, now, "The CSV file could not be parsed.")
    job["ImportedUsers"], job["FailedUsers"], job["SkippedUsers"] = imported, failed, skipped
    if job["Status"] != "Failed":
        job["Status"] = "Succeeded"
        job["CompletionDate"] = now
        job["CompletionMessage"] = "Import Job Completed Successfully."


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings, as io.StringIO(text) gives them, without its copy
    (four bytes a character: 24 MB for a CSV of 100,000 users)."""
    start, end = 0, len(text)
    while start < end:
        stop = text.find("\n", start)
        stop = end if stop < 0 else stop + 1
        yield text[start:stop]
        start = stop


def _import_row(ctx, pool: dict, record: dict, mfa_on: bool, now: float) -> bool:
    db = ctx.db
    username = record.pop("cognito:username").strip()
    mfa_enabled = record.pop("cognito:mfa_enabled").strip().lower()
    if not username or any(c.isspace() for c in username):
        return False
    if mfa_enabled not in ("", "true", "false") or (mfa_on and mfa_enabled != "true"):
        return False
    given = {k: v for k, v in record.items() if v != ""}
    for flag in attrs_mod.VERIFIED_FLAGS:
        if flag in given:
            given[flag] = given[flag].lower()
    try:
        attrs_mod.validate_values(pool, given, creating=True, admin=True)
        if users.username_attributes(pool):
            stored = users.resolve_new_username(pool, username, given)
        else:
            stored = username
        # A username (or email or phone as username) the file gave before is in the pool by now.
        users.check_username_free(db, pool, stored, given)
        user = users.new_user(pool, stored, given, status="RESET_REQUIRED", now=now,
                              sub=stored if users.username_attributes(pool) else None)
        for name in ("email", "phone_number"):
            if user["attributes"].get(name) and f"{name}_verified" not in user["attributes"]:
                user["attributes"][f"{name}_verified"] = "false"
        if mfa_enabled == "true":
            user["mfa"] = {"mfa_options": [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]}
        users.claim_aliases(db, pool, user, force=False)
    except ServiceError:
        return False
    users.save_user(db, pool, user)
    return True


# -- the pre-signed URL ------------------------------------------------------------------------------
MAX_CSV_BYTES = 100 * 1024 * 1024  # AWS's limit for an import job's CSV file


def install(emulator) -> None:
    app = emulator.flask
    emulator.body_limits[UPLOAD_PATH] = MAX_CSV_BYTES

    @app.put(f"{UPLOAD_PATH}/<pool_id>/<job_id>")
    def upload_csv(pool_id: str, job_id: str):
        token = request.args.get("X-Amz-Signature", "")
        body = request.get_data(cache=False)
        with emulator.store.transaction() as db:
            emulator.clock.load(db)
            row = db.execute("SELECT upload_token, data FROM user_import_jobs WHERE job_id = ? AND pool_id = ?",
                             (job_id, pool_id)).fetchone()
            # Bytes: compare_digest refuses non-ASCII str, and the query string is the caller's.
            if row is None or not hmac.compare_digest(row["upload_token"].encode(), token.encode()):
                response = jsonify({"__type": "AccessDenied", "message": "Access Denied"})
                response.status_code = 403
                return response
            if _current(db, loads(row["data"]), emulator.clock.now())["Status"] != "Created":
                response = jsonify({"__type": "AccessDenied", "message": "The import job is no longer accepting "
                                    "a CSV file."})
                response.status_code = 403
                return response
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                response = jsonify({"__type": "BadRequest", "message": "The CSV file must be UTF-8 text."})
                response.status_code = 400
                return response
            db.execute("UPDATE user_import_jobs SET csv = ? WHERE job_id = ?", (text, job_id))
        if len(body) >= memory.LARGE_BYTES:
            del body, text
            emulator.store.renew_connection()  # its UPDATE statement holds the CSV
            memory.release()
        return "", 200


