"""Group operations: CreateGroup, GetGroup, UpdateGroup, DeleteGroup, ListGroups, ListUsersInGroup and
the Admin* membership operations."""

from __future__ import annotations

from emulator import paging
from emulator.store import dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.accounts import lifecycle as accounts
from emulator.userpools.model import pools, users
from emulator.userpools.model.groups import MAX_GROUPS_PER_POOL, MAX_GROUPS_PER_USER, PAGE, load_group


def _user(db, pool: dict, username: str) -> dict:
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


@registry.handler
def create_group(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    name = req["GroupName"]
    if db.execute("SELECT 1 FROM user_pool_groups WHERE pool_id = ? AND name = ?",
                  (pool["Id"], name)).fetchone():
        raise errors.GroupExistsException(f"A group with the name {name} already exists.")
    count = db.execute("SELECT COUNT(*) FROM user_pool_groups WHERE pool_id = ?", (pool["Id"],)).fetchone()[0]
    if count >= MAX_GROUPS_PER_POOL:
        raise errors.LimitExceededException(f"User pool {pool['Id']} has reached its limit of {MAX_GROUPS_PER_POOL} groups.")
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
        raise errors.LimitExceededException(f"A user can be a member of at most {MAX_GROUPS_PER_USER} groups.")
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
    return {"Users": [accounts.user_type(pool, users.get_user(db, pool, row["username"])) for row in rows],
            "NextToken": token}
