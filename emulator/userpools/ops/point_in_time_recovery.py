"""Point-in-time recovery: InitiatePointInTimeRecovery, Describe/List, Start, Cancel.

A recovery reverts the user data of a pool (users with their attributes, passwords and MFA
settings, groups and memberships, passkeys) to its state at a past moment. Triggers journal
every row change of those tables with the emulator time and the row as it was before the
change, so the state at any moment is: the journalled image of the first change after it,
else the current row. While a recovery is active (preview generating or generated,
restoring) the pool refuses operations that write user data.
"""

from __future__ import annotations

import sqlite3
import uuid

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors, registry
from emulator.userpools.model import clients, pools, replicas
from emulator.userpools.ops.pitr_postgres import postgres_triggers

register_schema("userpools.pitr", [
    """
    CREATE TABLE pitr_journal (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        pool_id TEXT NOT NULL,
        table_name TEXT NOT NULL,
        row_key TEXT NOT NULL,
        op TEXT NOT NULL,
        at REAL NOT NULL,
        image TEXT
    );
    CREATE INDEX pitr_journal_pool ON pitr_journal(pool_id, at, seq);
    CREATE TABLE pitr_tier_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        pool_id TEXT NOT NULL,
        at REAL NOT NULL,
        old_tier TEXT,
        new_tier TEXT
    );
    CREATE INDEX pitr_tier_changes_pool ON pitr_tier_changes(pool_id, at);
    CREATE TABLE pitr_recoveries (
        restore_id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        status TEXT NOT NULL,
        restore_ts REAL NOT NULL,
        trigger_ts REAL NOT NULL,
        ended REAL,
        preview TEXT
    );
    CREATE INDEX pitr_recoveries_pool ON pitr_recoveries(pool_id, trigger_ts, restore_id);
    CREATE INDEX pitr_recoveries_account ON pitr_recoveries(account_id, region, status);
    """,
])

# The emulator clock inside SQL: the frozen instant when frozen, else real time plus the offset,
# both as emulator.clock keeps them in emulator_state.
_SQL_NOW = ("COALESCE(CAST(NULLIF((SELECT value FROM emulator_state WHERE key = 'clock_frozen_at'), '') AS REAL), "
            "(julianday('now') - 2440587.5) * 86400.0 + COALESCE((SELECT CAST(value AS REAL) "
            "FROM emulator_state WHERE key = 'clock_offset'), 0))")

# table -> (key columns, preview entity)
TRACKED: dict[str, tuple[tuple[str, ...], str]] = {
    "users": (("sub",), "Users"),
    "user_pool_groups": (("name",), "Groups"),
    "user_pool_group_members": (("group_name", "username"), "Groups"),
    "webauthn_credentials": (("credential_id",), "Passkeys"),
}
ENTITIES = ("Users", "Groups", "User MFAs", "Passkeys")

MIN_AGE = 15 * 60.0
WINDOWS = {"ESSENTIALS": 86400.0, "PLUS": 14 * 86400.0}
PREVIEW_LIFETIME = 86400.0
JOURNAL_RETENTION = 15 * 86400.0
MAX_ACTIVE_PER_ACCOUNT = 5
MAX_PREVIEWS_PER_DAY = 3
MAX_PREVIEWS_PER_30_DAYS = 10
MAX_COMPLETED_PER_DAY = 1
ACTIVE = ("PREVIEW_GENERATING", "PREVIEW_GENERATED", "RESTORING")
PAGE = 60

TIER_UNAVAILABLE = "Point-in-time recovery is available only in the ESSENTIALS and PLUS feature plans."
TOO_RECENT = "The recovery point must be at least 15 minutes in the past."
BEFORE_CREATION = "The recovery point can't be earlier than the creation time of the user pool."
OUTSIDE_WINDOW = ("The recovery point is outside the recovery period of the user pool: up to 1 day in the past "
                  "with the ESSENTIALS feature plan and up to 14 days with the PLUS feature plan, on the "
                  "required feature plan since the recovery point.")
ALREADY_ACTIVE = "User pool {pool} already has an active point-in-time recovery {restore}."
IMPORT_RUNNING = "A user import job is in progress in user pool {pool}. Wait for it to complete or stop it."
NOT_PRIMARY = "Point-in-time recovery can be initiated only in the primary Region {region} of user pool {pool}."
REPLICATION_PENDING = "Point-in-time recovery can be initiated only after replication of user pool {pool} is complete."
WRITES_PAUSED = ("Write operations in user pool {pool} are paused while point-in-time recovery {restore} is in "
                 "progress.")
CHALLENGE_PAUSED = ("The {challenge} challenge can't be completed while point-in-time recovery {restore} of the "
                    "user pool is in progress.")

# Operations that write the user data a recovery restores, or that start an import; they are
# refused while a recovery is active.
WRITE_OPERATIONS = frozenset({
    "AdminAddUserToGroup", "AdminConfirmSignUp", "AdminCreateUser", "AdminDeleteUser", "AdminDeleteUserAttributes",
    "AdminDisableProviderForUser", "AdminDisableUser", "AdminEnableUser", "AdminLinkProviderForUser",
    "AdminRemoveUserFromGroup", "AdminResetUserPassword", "AdminSetUserMFAPreference", "AdminSetUserPassword",
    "AdminSetUserSettings", "AdminUpdateUserAttributes", "AdminDeleteSoftwareToken", "AssociateSoftwareToken",
    "ChangePassword", "CompleteWebAuthnRegistration", "ConfirmForgotPassword", "ConfirmSignUp", "CreateGroup",
    "CreateUserImportJob", "DeleteGroup", "DeleteUser", "DeleteUserAttributes", "DeleteUserPool",
    "DeleteWebAuthnCredential", "ForgotPassword", "SetUserMFAPreference", "SetUserSettings", "SignUp",
    "StartUserImportJob", "StartWebAuthnRegistration", "UpdateGroup", "UpdateUserAttributes",
    "VerifySoftwareToken", "VerifyUserAttribute",
})
# Sign-in continues during a recovery, except these challenges.
PAUSED_CHALLENGES = frozenset({"NEW_PASSWORD_REQUIRED", "MFA_SETUP", "SOFTWARE_TOKEN_MFA"})


# -- which pool a request concerns ------------------------------------------------------------


# -- journal -----------------------------------------------------------------------------------
def _triggers(db: sqlite3.Connection) -> list[str]:
    """Triggers journalling every change of the tracked tables (and of a pool's feature plan)."""
    out = []
    for table, (key_cols, _entity) in TRACKED.items():
        columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})")]
        if not columns:
            continue

        def image(alias: str, columns=columns) -> str:
            # Reals as 17-digit text: json_object would round them to 15 digits.
            return "json_object(" + ", ".join(
                f"'{c}', CASE WHEN typeof({alias}.{c}) = 'real' THEN json_array(printf('%!.17g', {alias}.{c})) "
                f"ELSE {alias}.{c} END" for c in columns) + ")"

        def key(alias: str, key_cols=key_cols) -> str:
            return " || char(10) || ".join(f"{alias}.{c}" for c in key_cols)

        live = "EXISTS (SELECT 1 FROM user_pools WHERE id = {a}.pool_id)"
        insert = ("INSERT INTO pitr_journal(pool_id, table_name, row_key, op, at, image) "
                  "VALUES({a}.pool_id, '{t}', {k}, '{op}', " + _SQL_NOW + ", {img})")
        # Journal entries older than the longest recovery period go as new ones come.
        prune = ("DELETE FROM pitr_journal WHERE pool_id = {a}.pool_id AND at < " + _SQL_NOW
                 + f" - {JOURNAL_RETENTION}")
        moved = ("INSERT INTO pitr_journal(pool_id, table_name, row_key, op, at, image) "
                 "SELECT NEW.pool_id, '{t}', {k}, 'INSERT', " + _SQL_NOW + ", NULL")
        out.append(f"CREATE TRIGGER pitr_{table}_insert AFTER INSERT ON {table} WHEN {live.format(a='NEW')} "
                   f"BEGIN {prune.format(a='NEW')}; "
                   f"{insert.format(a='NEW', t=table, k=key('NEW'), op='INSERT', img='NULL')}; END")
        out.append(f"CREATE TRIGGER pitr_{table}_update AFTER UPDATE ON {table} WHEN {live.format(a='OLD')} "
                   f"BEGIN {insert.format(a='OLD', t=table, k=key('OLD'), op='UPDATE', img=image('OLD'))}; "
                   f"{moved.format(t=table, k=key('NEW'))} "
                   f"WHERE {key('NEW')} != {key('OLD')} OR NEW.pool_id != OLD.pool_id; END")
        out.append(f"CREATE TRIGGER pitr_{table}_delete AFTER DELETE ON {table} WHEN {live.format(a='OLD')} "
                   f"BEGIN {insert.format(a='OLD', t=table, k=key('OLD'), op='DELETE', img=image('OLD'))}; END")
    out.append("CREATE TRIGGER pitr_user_pools_tier AFTER UPDATE ON user_pools "
               "WHEN json_extract(OLD.data, '$.UserPoolTier') IS NOT json_extract(NEW.data, '$.UserPoolTier') "
               "BEGIN INSERT INTO pitr_tier_changes(pool_id, at, old_tier, new_tier) VALUES(OLD.id, "
               + _SQL_NOW + ", json_extract(OLD.data, '$.UserPoolTier'), json_extract(NEW.data, '$.UserPoolTier')); "
               "END")
    out.append("CREATE TRIGGER pitr_user_pools_delete AFTER DELETE ON user_pools BEGIN "
               "DELETE FROM pitr_journal WHERE pool_id = OLD.id; "
               "DELETE FROM pitr_tier_changes WHERE pool_id = OLD.id; "
               "DELETE FROM pitr_recoveries WHERE pool_id = OLD.id; END")
    return out


def _install_triggers(db: sqlite3.Connection, dialect: str) -> None:
    if dialect == "postgresql":
        for sql in postgres_triggers(TRACKED, JOURNAL_RETENTION):
            db.execute(sql)
        return
    # Built from the live columns so that columns added by later migrations are journalled too.
    for name in [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'pitr_%'")]:
        db.execute(f"DROP TRIGGER {name}")
    for sql in _triggers(db):
        db.execute(sql)


def _decoded(image: dict) -> dict:
    return {k: float(v[0]) if isinstance(v, list) else v for k, v in image.items()}


def _rows_at(db: sqlite3.Connection, pool_id: str, table: str, at: float) -> dict[str, dict | None]:
    """For every row of `table` changed after `at`: its key -> its image at `at` (None: absent)."""
    out: dict[str, dict | None] = {}
    for row in db.execute("SELECT row_key, op, image FROM pitr_journal WHERE pool_id = ? AND table_name = ? "
                          "AND at > ? ORDER BY seq", (pool_id, table, at)):
        if row["row_key"] not in out:
            out[row["row_key"]] = None if row["op"] == "INSERT" else _decoded(loads(row["image"]))
    return out


def _current(db: sqlite3.Connection, pool_id: str, table: str, key: str) -> dict | None:
    key_cols = TRACKED[table][0]
    where = " AND ".join(f"{c} = ?" for c in key_cols)
    row = db.execute(f"SELECT * FROM {table} WHERE pool_id = ? AND {where}",
                     (pool_id, *key.split("\n", len(key_cols) - 1))).fetchone()
    return dict(row) if row is not None else None


def _changes(db: sqlite3.Connection, pool_id: str, at: float) -> list[tuple[str, str, dict | None, dict | None]]:
    """(table, key, image at `at`, current row) of every row that differs between `at` and now."""
    out = []
    for table in TRACKED:
        for key, then in _rows_at(db, pool_id, table, at).items():
            now = _current(db, pool_id, table, key)
            if then != now:
                out.append((table, key, then, now))
    return out


def _preview(changes: list) -> list[dict]:
    counts = {e: {"Entity": e, "CreateCount": 0, "UpdateCount": 0, "DeleteCount": 0} for e in ENTITIES}
    groups_updated: set[str] = set()
    for table, key, then, now in changes:
        entity = TRACKED[table][1]
        if table == "user_pool_group_members":
            # A membership change updates its group, unless the group itself comes or goes.
            group = key.split("\n", 1)[0]
            groups_updated.add(group)
            continue
        if table == "user_pool_groups" and then is not None and now is not None:
            groups_updated.add(key)
            continue
        if table == "users":
            mfa_then = loads((then or {}).get("mfa"), {}) or {}
            mfa_now = loads((now or {}).get("mfa"), {}) or {}
            if mfa_then != mfa_now:
                kind = "CreateCount" if not mfa_now else "DeleteCount" if not mfa_then else "UpdateCount"
                counts["User MFAs"][kind] += 1
            if then is not None and now is not None:
                if {k: v for k, v in then.items() if k != "mfa"} == {k: v for k, v in now.items() if k != "mfa"}:
                    continue
        kind = "CreateCount" if now is None else "DeleteCount" if then is None else "UpdateCount"
        counts[entity][kind] += 1
    created_or_deleted = {key for table, key, then, now in changes
                          if table == "user_pool_groups" and (then is None or now is None)}
    counts["Groups"]["UpdateCount"] += len(groups_updated - created_or_deleted)
    return list(counts.values())


def _restore(db: sqlite3.Connection, pool_id: str, changes: list) -> None:
    """Write the images back: deletions first (usernames free up), then updates, then creations."""
    def where(table: str, key: str) -> tuple[str, list]:
        key_cols = TRACKED[table][0]
        return (" AND ".join(["pool_id = ?", *(f"{c} = ?" for c in key_cols)]),
                [pool_id, *key.split("\n", len(key_cols) - 1)])

    for table, key, then, _now in changes:
        if then is None:
            clause, args = where(table, key)
            db.execute(f"DELETE FROM {table} WHERE {clause}", args)
    for table, key, then, now in changes:
        if then is None or now is None:
            continue
        image = dict(then)
        if table == "users" and loads(now.get("password"), {}) != loads(then.get("password"), {}):
            # Users who changed their password since the recovery point keep it.
            image["password"] = now["password"]
            if then.get("status") in ("FORCE_CHANGE_PASSWORD", "RESET_REQUIRED"):
                image["status"] = now["status"]
        clause, args = where(table, key)
        columns = [c for c in image if c != "pool_id"]
        db.execute(f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE {clause}",
                   [image[c] for c in columns] + args)
    for table, _key, then, now in changes:
        if then is not None and now is None:
            columns = list(then)
            db.execute(f"INSERT INTO {table}({', '.join(columns)}) VALUES({', '.join('?' for _ in columns)})",
                       [then[c] for c in columns])


# -- recoveries --------------------------------------------------------------------------------
def _status(row, now: float) -> str:
    """The recovery's status at `now`: a preview is ready as soon as it was asked for, and
    expires 24 hours after the recovery began unless started or cancelled."""
    status = row["status"]
    if status == "PREVIEW_GENERATING" and now >= row["trigger_ts"]:
        status = "PREVIEW_GENERATED"
    if status in ("PREVIEW_GENERATING", "PREVIEW_GENERATED") and now >= row["trigger_ts"] + PREVIEW_LIFETIME:
        status = "PREVIEW_EXPIRED"
    return status


def active_recovery(db: sqlite3.Connection, pool_id: str, now: float) -> str | None:
    """The id of the pool's active recovery (writes are paused), or None."""
    for row in db.execute("SELECT * FROM pitr_recoveries WHERE pool_id = ? AND status IN (?, ?, ?)",
                          (pool_id, *ACTIVE)):
        if _status(row, now) in ACTIVE:
            return row["restore_id"]
    return None


def _restoration(row, now: float, *, status: str | None = None, preview: bool = True) -> dict:
    status = status or _status(row, now)
    out = {"RestoreId": row["restore_id"], "RestoreStatus": status, "RestoreTimestamp": row["restore_ts"],
           "TriggerTimestamp": row["trigger_ts"]}
    if preview and status != "PREVIEW_GENERATING" and row["preview"]:
        out["RestorePreview"] = loads(row["preview"])
    return out


def _load(db: sqlite3.Connection, pool_id: str, restore_id: str):
    row = db.execute("SELECT * FROM pitr_recoveries WHERE restore_id = ? AND pool_id = ?",
                     (restore_id, pool_id)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException(f"Point-in-time recovery {restore_id} does not exist in user pool {pool_id}.")
    return row


def _check_tier(pool: dict) -> None:
    if pool.get("UserPoolTier") not in WINDOWS:
        raise errors.FeatureUnavailableInTierException(TIER_UNAVAILABLE)


def _window_ok(db: sqlite3.Connection, pool: dict, restore_ts: float, now: float) -> bool:
    """Whether the pool was on a plan whose recovery period reaches `restore_ts` ever since."""
    tiers = {pool.get("UserPoolTier")}
    for row in db.execute("SELECT old_tier FROM pitr_tier_changes WHERE pool_id = ? AND at > ?",
                          (pool["Id"], restore_ts)):
        tiers.add(row["old_tier"])
    if not all(t in WINDOWS for t in tiers):
        return False
    return now - restore_ts <= min(WINDOWS[t] for t in tiers)


def _import_running(db: sqlite3.Connection, pool_id: str) -> bool:
    rows = db.execute("SELECT data FROM user_import_jobs WHERE pool_id = ?", (pool_id,)).fetchall()
    return any(loads(r["data"]).get("Status") in ("Pending", "InProgress") for r in rows)


@registry.handler
def initiate_point_in_time_recovery(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    pool_id = pool["Id"]
    _check_tier(pool)
    primary = replicas.primary_region(pool)
    if ctx.region != primary and replicas.replica(db, pool_id, ctx.region, now) is not None:
        raise errors.OperationNotEnabledException(NOT_PRIMARY.format(region=primary, pool=pool_id))
    if replicas.replication_pending(db, pool_id, now):
        raise errors.InvalidParameterException(REPLICATION_PENDING.format(pool=pool_id))
    restore_ts = float(req["RestoreTimestamp"])
    if restore_ts > now - MIN_AGE:
        raise errors.InvalidParameterException(TOO_RECENT)
    if restore_ts < pool["CreationDate"]:
        raise errors.InvalidParameterException(BEFORE_CREATION)
    if not _window_ok(db, pool, restore_ts, now):
        raise errors.InvalidParameterException(OUTSIDE_WINDOW)
    active = active_recovery(db, pool_id, now)
    if active is not None:
        raise errors.ConcurrentModificationException(ALREADY_ACTIVE.format(pool=pool_id, restore=active))
    if _import_running(db, pool_id):
        raise errors.InvalidParameterException(IMPORT_RUNNING.format(pool=pool_id))
    _check_limits(ctx, pool_id, now)
    db.execute("DELETE FROM pitr_journal WHERE pool_id = ? AND at < ?", (pool_id, now - JOURNAL_RETENTION))
    restore_id = str(uuid.uuid4())
    preview = _preview(_changes(db, pool_id, restore_ts))
    db.execute("INSERT INTO pitr_recoveries(restore_id, pool_id, region, account_id, status, restore_ts, "
               "trigger_ts, preview) VALUES(?,?,?,?,?,?,?,?)",
               (restore_id, pool_id, ctx.region, ctx.account_id, "PREVIEW_GENERATING", restore_ts, now,
                dumps(preview)))
    row = _load(db, pool_id, restore_id)
    return {"Restoration": _restoration(row, now, status="PREVIEW_GENERATING")}


def _check_limits(ctx, pool_id: str, now: float) -> None:
    db = ctx.db
    active = sum(1 for row in db.execute(
        "SELECT * FROM pitr_recoveries WHERE account_id = ? AND region = ? AND status IN (?, ?, ?)",
        (ctx.account_id, ctx.region, *ACTIVE)) if _status(row, now) in ACTIVE)
    if active >= MAX_ACTIVE_PER_ACCOUNT:
        raise errors.LimitExceededException(f"The account has reached the limit of {MAX_ACTIVE_PER_ACCOUNT} active point-in-time "
                           "recoveries.")
    rows = db.execute("SELECT trigger_ts, status, ended FROM pitr_recoveries WHERE pool_id = ? AND trigger_ts > ?",
                      (pool_id, now - 30 * 86400.0)).fetchall()
    if sum(1 for r in rows if r["trigger_ts"] > now - 86400.0) >= MAX_PREVIEWS_PER_DAY:
        raise errors.LimitExceededException(f"User pool {pool_id} has reached the limit of {MAX_PREVIEWS_PER_DAY} recovery previews "
                           "in 24 hours.")
    if len(rows) >= MAX_PREVIEWS_PER_30_DAYS:
        raise errors.LimitExceededException(f"User pool {pool_id} has reached the limit of {MAX_PREVIEWS_PER_30_DAYS} recovery "
                           "previews in 30 days.")
    completed = db.execute("SELECT COUNT(*) FROM pitr_recoveries WHERE pool_id = ? AND status = 'RESTORE_COMPLETED' "
                           "AND ended > ?", (pool_id, now - 86400.0)).fetchone()[0]
    if completed >= MAX_COMPLETED_PER_DAY:
        raise errors.LimitExceededException(f"User pool {pool_id} has already completed a point-in-time recovery in the last "
                           "24 hours.")


@registry.handler
def describe_point_in_time_recovery(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    _check_tier(pool)
    row = _load(ctx.db, pool["Id"], req["RestoreId"])
    return {"Restoration": _restoration(row, ctx.now())}


@registry.handler
def list_point_in_time_recoveries(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    _check_tier(pool)
    rows, token = paging.page(ctx.db, "SELECT * FROM pitr_recoveries WHERE pool_id = ?", [pool["Id"]],
                              ["trigger_ts", "restore_id"], req.get("MaxResults") or PAGE, req.get("NextToken"),
                              descending=True)
    now = ctx.now()
    out = [{"RestoreId": r["restore_id"], "RestoreStatus": _status(r, now), "RestoreTimestamp": r["restore_ts"]}
           for r in rows]
    return {"Restorations": out, "NextToken": token}


@registry.handler
def start_point_in_time_recovery(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    _check_tier(pool)
    row = _load(db, pool["Id"], req["RestoreId"])
    status = _status(row, now)
    if status != "PREVIEW_GENERATED":
        raise errors.InvalidParameterException(f"Point-in-time recovery {row['restore_id']} can't be started in status {status}. "
                           "You can start a recovery when its status is PREVIEW_GENERATED.")
    _restore(db, pool["Id"], _changes(db, pool["Id"], row["restore_ts"]))
    db.execute("UPDATE pitr_recoveries SET status = 'RESTORE_COMPLETED', ended = ? WHERE restore_id = ?",
               (now, row["restore_id"]))
    return {"Restoration": _restoration(row, now, status="RESTORING")}


@registry.handler
def cancel_point_in_time_recovery(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    _check_tier(pool)
    row = _load(db, pool["Id"], req["RestoreId"])
    status = _status(row, now)
    if status not in ("PREVIEW_GENERATING", "PREVIEW_GENERATED"):
        raise errors.InvalidParameterException(f"Point-in-time recovery {row['restore_id']} can't be canceled in status {status}. "
                           "You can cancel a recovery when its status is PREVIEW_GENERATING or PREVIEW_GENERATED.")
    db.execute("UPDATE pitr_recoveries SET status = 'PREVIEW_CANCELLED', ended = ? WHERE restore_id = ?",
               (now, row["restore_id"]))
    row = _load(db, pool["Id"], row["restore_id"])
    return {"Restoration": _restoration(row, now)}


# -- pausing writes ----------------------------------------------------------------------------
def _check_paused(ctx, params: dict) -> None:
    operation = ctx.operation
    if ctx.service != "cognito-idp":
        return
    challenge = params.get("ChallengeName") if operation in ("RespondToAuthChallenge",
                                                               "AdminRespondToAuthChallenge") else None
    if operation not in WRITE_OPERATIONS and challenge not in PAUSED_CHALLENGES:
        return
    pool_id = clients.pool_id_of(ctx.db, params)
    if not pool_id:
        return
    restore_id = active_recovery(ctx.db, pool_id, ctx.now())
    if restore_id is None:
        return
    if challenge is not None:
        raise errors.OperationNotEnabledException(CHALLENGE_PAUSED.format(challenge=challenge, restore=restore_id))
    raise errors.OperationNotEnabledException(WRITES_PAUSED.format(pool=pool_id, restore=restore_id))


def install(emulator) -> None:
    with emulator.store.transaction() as db:
        _install_triggers(db, emulator.store.dialect)
    emulator.before_invoke.append(_check_paused)
