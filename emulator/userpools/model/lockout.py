"""Failed-password lockout, counted per user across the password-checking flows.

Five consecutive failures lock the user for 1 s; each further failure doubles the lock
(2^(n-5) s for n failures), capped at 15 minutes. Attempts while locked are refused with
"Password attempts exceeded" and do not lengthen the lock. The count is forgotten after
15 minutes without attempts, and on a successful sign-in. Every time reads the emulator
clock, so tests move the clock instead of waiting.
"""

from __future__ import annotations

from emulator.store import register_schema
from emulator.userpools import errors

register_schema("userpools.lockout", [
    """
    CREATE TABLE auth_failures (
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        failures INTEGER NOT NULL,
        locked_until REAL,
        last_attempt REAL NOT NULL,
        PRIMARY KEY (pool_id, username)
    );
    """,
], owned={"user_pool": ("auth_failures",), "user": ("auth_failures",)})

FREE_FAILURES = 5
MAX_LOCK_SECONDS = 900.0
RESET_AFTER_SECONDS = 900.0
MESSAGE = "Password attempts exceeded"


def _row(db, pool_id: str, username: str):
    return db.execute("SELECT failures, locked_until, last_attempt FROM auth_failures "
                      "WHERE pool_id = ? AND username = ?", (pool_id, username)).fetchone()


def lock_seconds(failures: int) -> float:
    if failures < FREE_FAILURES:
        return 0.0
    return min(float(2 ** (failures - FREE_FAILURES)), MAX_LOCK_SECONDS)


def check(ctx, pool_id: str, username: str) -> None:
    """Raise NotAuthorizedException "Password attempts exceeded" while the user is locked."""
    row = _row(ctx.db, pool_id, username)
    if row is not None and row["locked_until"] is not None and ctx.now() < row["locked_until"]:
        raise errors.NotAuthorizedException(MESSAGE)


def failure(ctx, pool_id: str, username: str) -> int:
    """Count a wrong password; returns the number of consecutive failures."""
    now = ctx.now()
    row = _row(ctx.db, pool_id, username)
    failures = 0
    if row is not None and now - row["last_attempt"] <= RESET_AFTER_SECONDS:
        failures = row["failures"]
    failures += 1
    lock = lock_seconds(failures)
    ctx.db.execute(
        "INSERT INTO auth_failures(pool_id, username, failures, locked_until, last_attempt) "
        "VALUES(?,?,?,?,?) ON CONFLICT(pool_id, username) DO UPDATE SET failures = excluded.failures, "
        "locked_until = excluded.locked_until, last_attempt = excluded.last_attempt",
        (pool_id, username, failures, now + lock if lock else None, now))
    return failures


def success(ctx, pool_id: str, username: str) -> None:
    ctx.db.execute("DELETE FROM auth_failures WHERE pool_id = ? AND username = ?", (pool_id, username))


