"""Groups and group membership.

Members are kept by canonical username; tokens read a user's groups through
`groups_for_user` (ordered by precedence, groups without one last).
"""

from __future__ import annotations

import sqlite3

from emulator.store import loads, register_schema
from emulator.userpools import errors

register_schema("userpools.groups", [
    """
    CREATE TABLE user_pool_groups (
        pool_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, name)
    );
    CREATE TABLE user_pool_group_members (
        pool_id TEXT NOT NULL,
        group_name TEXT NOT NULL,
        username TEXT NOT NULL,
        added REAL NOT NULL,
        PRIMARY KEY (pool_id, group_name, username)
    );
    CREATE INDEX user_pool_group_members_user ON user_pool_group_members(pool_id, username);
    """,
], owned={"user_pool": ("user_pool_group_members", "user_pool_groups"), "user": ("user_pool_group_members",)})

MAX_GROUPS_PER_POOL = 10000
MAX_GROUPS_PER_USER = 100
PAGE = 60


def _sort_key(group: dict) -> tuple:
    precedence = group.get("Precedence")
    return (precedence is None, precedence if precedence is not None else 0, group["GroupName"])


def groups_for_user(db: sqlite3.Connection, pool_id: str, username: str) -> list[dict]:
    """The GroupType dicts of a user's groups: by Precedence (None last), then name."""
    rows = db.execute(
        "SELECT g.data FROM user_pool_group_members m JOIN user_pool_groups g "
        "ON g.pool_id = m.pool_id AND g.name = m.group_name WHERE m.pool_id = ? AND m.username = ?",
        (pool_id, username)).fetchall()
    return sorted((loads(r["data"]) for r in rows), key=_sort_key)


def load_group(db: sqlite3.Connection, pool_id: str, name: str) -> dict:
    row = db.execute("SELECT data FROM user_pool_groups WHERE pool_id = ? AND name = ?",
                     (pool_id, name)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException("Group not found.")
    return loads(row["data"])


# -- operations -------------------------------------------------------------------------------


