"""resource_servers_ops: split from resource_servers.py (see ARCHITECTURE.md)."""

from __future__ import annotations

from emulator import paging
from emulator.store import dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.model import pools
from emulator.userpools.model.resource_servers import MAX_RESOURCE_SERVERS, load_resource_server


def _server(req: dict) -> dict:
    scopes = []
    seen = set()
    for scope in req.get("Scopes") or []:
        if scope["ScopeName"] in seen:
            raise errors.InvalidParameterException(f"Duplicate scope name {scope['ScopeName']} in resource server.")
        seen.add(scope["ScopeName"])
        scopes.append({"ScopeName": scope["ScopeName"], "ScopeDescription": scope["ScopeDescription"]})
    return {"UserPoolId": req["UserPoolId"], "Identifier": req["Identifier"], "Name": req["Name"],
            "Scopes": scopes}


@registry.handler
def create_resource_server(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    exists = ctx.db.execute("SELECT 1 FROM user_pool_resource_servers WHERE pool_id = ? AND identifier = ?",
                            (pool["Id"], req["Identifier"])).fetchone()
    if exists:
        raise errors.InvalidParameterException(f"{req['Identifier']} already exists in user pool {pool['Id']}.")
    count = ctx.db.execute("SELECT COUNT(*) FROM user_pool_resource_servers WHERE pool_id = ?",
                           (pool["Id"],)).fetchone()[0]
    if count >= MAX_RESOURCE_SERVERS:
        raise errors.LimitExceededException(f"User pool {pool['Id']} has reached its limit of {MAX_RESOURCE_SERVERS} "
                           "resource servers.")
    server = _server(req)
    ctx.db.execute("INSERT INTO user_pool_resource_servers(pool_id, identifier, data) VALUES(?,?,?)",
                   (pool["Id"], server["Identifier"], dumps(server)))
    return {"ResourceServer": server}


@registry.handler
def describe_resource_server(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    return {"ResourceServer": load_resource_server(ctx.db, req["UserPoolId"], req["Identifier"])}


@registry.handler
def update_resource_server(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    load_resource_server(ctx.db, req["UserPoolId"], req["Identifier"])
    server = _server(req)
    ctx.db.execute("UPDATE user_pool_resource_servers SET data = ? WHERE pool_id = ? AND identifier = ?",
                   (dumps(server), req["UserPoolId"], req["Identifier"]))
    return {"ResourceServer": server}


@registry.handler
def delete_resource_server(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    load_resource_server(ctx.db, req["UserPoolId"], req["Identifier"])
    ctx.db.execute("DELETE FROM user_pool_resource_servers WHERE pool_id = ? AND identifier = ?",
                   (req["UserPoolId"], req["Identifier"]))
    return {}


@registry.handler
def list_resource_servers(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    rows, token = paging.page(ctx.db, "SELECT identifier, data FROM user_pool_resource_servers WHERE pool_id = ?",
                              [req["UserPoolId"]], ["identifier"], req.get("MaxResults") or 50,
                              req.get("NextToken"))
    return {"ResourceServers": [loads(r["data"]) for r in rows], "NextToken": token}
