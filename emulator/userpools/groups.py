"""Groups and group membership.

Members are kept by canonical username; tokens read a user's groups through
`groups_for_user` (ordered by precedence, groups without one last).
"""

from __future__ import annotations

import sqlite3

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import pools, registry
from protocol import ServiceError

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
])

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


def remove_user_everywhere(db: sqlite3.Connection, pool_id: str, username: str) -> None:
    """Drop a user from every group of the pool (the user is being deleted)."""
    db.execute("DELETE FROM user_pool_group_members WHERE pool_id = ? AND username = ?", (pool_id, username))


def load_group(db: sqlite3.Connection, pool_id: str, name: str) -> dict:
    row = db.execute("SELECT data FROM user_pool_groups WHERE pool_id = ? AND name = ?",
                     (pool_id, name)).fetchone()
    if row is None:
        raise ServiceError("ResourceNotFoundException", "Group not found.")
    return loads(row["data"])


def _delete_pool(db: sqlite3.Connection, pool_id: str) -> None:
    db.execute("DELETE FROM user_pool_group_members WHERE pool_id = ?", (pool_id,))
    db.execute("DELETE FROM user_pool_groups WHERE pool_id = ?", (pool_id,))


pools.on_pool_deleted.append(_delete_pool)


def _user(db, pool: dict, username: str) -> dict:
    from emulator.userpools import users
    return users.get_user(db, pool, username)


def _username(user: dict) -> str:
    return user.get("username") or user["Username"]


def _membership(db, req: dict) -> tuple[str, str, str]:
    """(pool id, group name, canonical username) of a membership request; each must exist."""
    pool = pools.load_pool(db, req["UserPoolId"])
    group = load_group(db, pool["Id"], req["GroupName"])
    return pool["Id"], group["GroupName"], _username(_user(db, pool, req["Username"]))


def _save(db, group: dict) -> None:
    db.execute("UPDATE user_pool_groups SET data = ? WHERE pool_id = ? AND name = ?",
               (dumps(group), group["UserPoolId"], group["GroupName"]))


# -- operations -------------------------------------------------------------------------------
@registry.handler
def create_group(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    name = req["GroupName"]
    if db.execute("SELECT 1 FROM user_pool_groups WHERE pool_id = ? AND name = ?",
                  (pool["Id"], name)).fetchone():
        raise ServiceError("GroupExistsException", f"A group with the name {name} already exists.")
    count = db.execute("SELECT COUNT(*) FROM user_pool_groups WHERE pool_id = ?", (pool["Id"],)).fetchone()[0]
    if count >= MAX_GROUPS_PER_POOL:
        raise ServiceError("LimitExceededException",
                           f"User pool {pool['Id']} has reached its limit of {MAX_GROUPS_PER_POOL} groups.")
    now = ctx.now()
    group = {"GroupName": name, "UserPoolId": pool["Id"], "LastModifiedDate": now, "CreationDate": now}
    for key in ("Description", "RoleArn", "Precedence"):
        if req.get(key) is not None:
            group[key] = req[key]
    db.execute("INSERT INTO user_pool_groups(pool_id, name, created, data) VALUES(?,?,?,?)",
               (pool["Id"], name, now, dumps(group)))
    return {"Group": group}


@registry.handler
def get_group(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    return {"Group": load_group(ctx.db, req["UserPoolId"], req["GroupName"])}


@registry.handler
def update_group(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    group = load_group(ctx.db, req["UserPoolId"], req["GroupName"])
    # Only the settings given change; the others keep their values.
    for key in ("Description", "RoleArn", "Precedence"):
        if key in req and req[key] is not None:
            group[key] = req[key]
    group["LastModifiedDate"] = ctx.now()
    _save(ctx.db, group)
    return {"Group": group}


@registry.handler
def delete_group(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    group = load_group(ctx.db, req["UserPoolId"], req["GroupName"])
    ctx.db.execute("DELETE FROM user_pool_group_members WHERE pool_id = ? AND group_name = ?",
                   (group["UserPoolId"], group["GroupName"]))
    ctx.db.execute("DELETE FROM user_pool_groups WHERE pool_id = ? AND name = ?",
                   (group["UserPoolId"], group["GroupName"]))
    return {}


@registry.handler
def list_groups(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    rows, token = paging.page(ctx.db, "SELECT name, data FROM user_pool_groups WHERE pool_id = ?",
                              [req["UserPoolId"]], ["name"], req.get("Limit") or PAGE, req.get("NextToken"))
    return {"Groups": [loads(r["data"]) for r in rows], "NextToken": token}


@registry.handler
def admin_add_user_to_group(ctx, req):
    db = ctx.db
    pool_id, group_name, username = _membership(db, req)
    exists = db.execute("SELECT 1 FROM user_pool_group_members WHERE pool_id = ? AND group_name = ? "
                        "AND username = ?", (pool_id, group_name, username)).fetchone()
    if exists:
        return {}
    count = db.execute("SELECT COUNT(*) FROM user_pool_group_members WHERE pool_id = ? AND username = ?",
                       (pool_id, username)).fetchone()[0]
    if count >= MAX_GROUPS_PER_USER:
        raise ServiceError("LimitExceededException",
                           f"A user can be a member of at most {MAX_GROUPS_PER_USER} groups.")
    db.execute("INSERT INTO user_pool_group_members(pool_id, group_name, username, added) VALUES(?,?,?,?)",
               (pool_id, group_name, username, ctx.now()))
    return {}


@registry.handler
def admin_remove_user_from_group(ctx, req):
    ctx.db.execute("DELETE FROM user_pool_group_members WHERE pool_id = ? AND group_name = ? AND username = ?",
                   _membership(ctx.db, req))
    return {}


@registry.handler
def admin_list_groups_for_user(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    username = _username(_user(db, pool, req["Username"]))
    rows, token = paging.page(
        db, "SELECT g.name, g.data FROM user_pool_group_members m JOIN user_pool_groups g "
        "ON g.pool_id = m.pool_id AND g.name = m.group_name WHERE m.pool_id = ? AND m.username = ?",
        [pool["Id"], username], ["g.name"], req.get("Limit") or PAGE, req.get("NextToken"))
    return {"Groups": [loads(r["data"]) for r in rows], "NextToken": token}


@registry.handler
def list_users_in_group(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    group = load_group(db, pool["Id"], req["GroupName"])
    rows, token = paging.page(db, "SELECT username FROM user_pool_group_members WHERE pool_id = ? AND group_name = ?",
                              [pool["Id"], group["GroupName"]], ["username"], req.get("Limit") or PAGE,
                              req.get("NextToken"))
    from emulator.userpools import users
    return {"Users": [users.user_type(pool, users.get_user(db, pool, row["username"])) for row in rows],
            "NextToken": token}
