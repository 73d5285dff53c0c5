"""One-time 6-digit codes: sign-up confirmation, forgot-password, attribute verification.

A code is stored only as a salted hash, is single use, expires on the emulator clock
and allows a limited number of wrong attempts. Issuing a new code for the same purpose
supersedes the previous one (which then answers ExpiredCodeException).

Purposes used: "signup", "forgot_password", "verify:email", "verify:phone_number";
other modules may use their own purpose strings.
"""

from __future__ import annotations

import hmac
import secrets

from emulator import digests
from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors

register_schema("userpools.codes", [
    """
    CREATE TABLE user_codes (
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        purpose TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        salt TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        first_failure REAL,
        data TEXT,
        superseded TEXT,
        PRIMARY KEY (pool_id, username, purpose)
    );
    CREATE TABLE user_rate_limits (
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        action TEXT NOT NULL,
        window_start REAL NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (pool_id, username, action)
    );
    """,
], owned={"user_pool": ("user_codes", "user_rate_limits"), "user": ("user_codes",)})

SIGNUP_TTL = 24 * 3600.0
VERIFY_TTL = 24 * 3600.0
FORGOT_PASSWORD_TTL = 3600.0

MISMATCH = "Invalid verification code provided, please try again."
EXPIRED = "Invalid code provided, please request a code again."
LIMIT = "Attempt limit exceeded, please try after some time."

# Wrong attempts allowed per code within an hour before LimitExceededException.
DEFAULT_MAX_FAILURES = 5
_HOUR = 3600.0
_KEEP_SUPERSEDED = 5


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def code_hash(salt: str, code: str) -> str:
    """How a one-time code is kept: the salted digest of the code as typed. Nothing is trimmed:
    the API's code members refuse whitespace ([\\S]+) and the managed login pages trim their
    fields themselves."""
    return digests.digest(f"{salt}:{code}")


def code_matches(salt: str, code: str, stored: str) -> bool:
    """Whether `code` is the one kept as `stored` (with `salt`), compared in constant time."""
    return hmac.compare_digest(code_hash(salt, code), stored)


def issue(db, pool_id: str, username: str, purpose: str, *, now: float, ttl: float,
          data: dict | None = None, code: str | None = None) -> str:
    """Create (or replace) the code for (user, purpose); returns the clear code to deliver."""
    code = code or new_code()
    salt = secrets.token_hex(8)
    row = db.execute("SELECT code_hash, salt, superseded FROM user_codes WHERE pool_id = ? AND username = ? "
                     "AND purpose = ?", (pool_id, username, purpose)).fetchone()
    superseded = loads(row["superseded"], []) if row else []
    if row:
        superseded = ([{"hash": row["code_hash"], "salt": row["salt"]}] + superseded)[:_KEEP_SUPERSEDED]
    db.execute(
        "INSERT INTO user_codes(pool_id, username, purpose, code_hash, salt, created, expires, failures, "
        "first_failure, data, superseded) VALUES(?,?,?,?,?,?,?,0,NULL,?,?) "
        "ON CONFLICT(pool_id, username, purpose) DO UPDATE SET code_hash = excluded.code_hash, "
        "salt = excluded.salt, created = excluded.created, expires = excluded.expires, "
        "data = excluded.data, superseded = excluded.superseded",
        (pool_id, username, purpose, code_hash(salt, code), salt, now, now + ttl,
         dumps(data) if data is not None else None, dumps(superseded)))
    return code


def consume(ctx, pool_id: str, username: str, purpose: str, code: str, *,
            max_failures: int = DEFAULT_MAX_FAILURES) -> dict:
    """Check and use up a code; returns the data stored with it.

    Raises ExpiredCodeException (no code, expired or superseded), CodeMismatchException
    (wrong), LimitExceededException (too many wrong attempts within the hour). A wrong
    attempt is committed at once, since the error rolls the operation back.
    """
    db, now = ctx.db, ctx.now()
    row = db.execute("SELECT * FROM user_codes WHERE pool_id = ? AND username = ? AND purpose = ?",
                     (pool_id, username, purpose)).fetchone()
    if row is None:
        raise errors.ExpiredCodeException(EXPIRED)
    failures, first_failure = row["failures"], row["first_failure"]
    if first_failure is not None and now - first_failure >= _HOUR:
        failures, first_failure = 0, None
    if failures >= max_failures:
        raise errors.LimitExceededException(LIMIT)
    if code_matches(row["salt"], code, row["code_hash"]):
        if now > row["expires"]:
            raise errors.ExpiredCodeException(EXPIRED)
        db.execute("DELETE FROM user_codes WHERE pool_id = ? AND username = ? AND purpose = ?",
                   (pool_id, username, purpose))
        return loads(row["data"], {})
    for old in loads(row["superseded"], []):
        if code_matches(old["salt"], code, old["hash"]):
            raise errors.ExpiredCodeException(EXPIRED)
    _record_failure(db, pool_id, username, purpose, failures, first_failure, now)
    ctx.commit_now()
    raise errors.CodeMismatchException(MISMATCH)


def _record_failure(db, pool_id: str, username: str, purpose: str, failures: int,
                    first_failure: float | None, now: float) -> None:
    db.execute("UPDATE user_codes SET failures = ?, first_failure = ? WHERE pool_id = ? AND username = ? "
               "AND purpose = ?", (failures + 1, first_failure if first_failure is not None else now,
                                   pool_id, username, purpose))




def discard(db, pool_id: str, username: str, purpose: str | None = None) -> None:
    """Forget a user's code for `purpose` (or all of the user's codes)."""
    if purpose is None:
        db.execute("DELETE FROM user_codes WHERE pool_id = ? AND username = ?", (pool_id, username))
    else:
        db.execute("DELETE FROM user_codes WHERE pool_id = ? AND username = ? AND purpose = ?",
                   (pool_id, username, purpose))


def rate_limit(db, pool_id: str, username: str, action: str, *, now: float, limit: int,
               window: float = _HOUR) -> None:
    """Count one `action` for the user; LimitExceededException past `limit` per window."""
    row = db.execute("SELECT window_start, count FROM user_rate_limits WHERE pool_id = ? AND username = ? "
                     "AND action = ?", (pool_id, username, action)).fetchone()
    if row is None or now - row["window_start"] >= window:
        start, count = now, 0
    else:
        start, count = row["window_start"], row["count"]
    if count >= limit:
        raise errors.LimitExceededException(LIMIT)
    db.execute("INSERT INTO user_rate_limits(pool_id, username, action, window_start, count) "
               "VALUES(?,?,?,?,?) ON CONFLICT(pool_id, username, action) DO UPDATE SET "
               "window_start = excluded.window_start, count = excluded.count",
               (pool_id, username, action, start, count + 1))


