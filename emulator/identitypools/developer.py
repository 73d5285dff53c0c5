"""Developer authenticated identities: LookupDeveloperIdentity, MergeDeveloperIdentities,
UnlinkDeveloperIdentity."""

from __future__ import annotations

from emulator import paging
from emulator.identitypools import errors, registry
from emulator.identitypools.identities import identity_not_found, load_identity, login_owner, merge
from emulator.identitypools.pools import load_identity_pool


def _developer_name(pool: dict, given: str | None = None) -> str:
    name = pool.get("DeveloperProviderName")
    if not name:
        raise errors.ResourceNotFoundException(f"IdentityPool '{pool['IdentityPoolId']}' has no developer provider.")
    if given is not None and given != name:
        raise errors.ResourceNotFoundException(f"Developer provider {given} is not configured for IdentityPool "
                           f"'{pool['IdentityPoolId']}'.")
    return name


@registry.handler
def lookup_developer_identity(ctx, req):
    pool = load_identity_pool(ctx.db, req["IdentityPoolId"])
    pool_id = pool["IdentityPoolId"]
    provider = _developer_name(pool)
    identity_id = req.get("IdentityId")
    user = req.get("DeveloperUserIdentifier")
    if not identity_id and not user:
        raise errors.InvalidParameterException("Either IdentityId or DeveloperUserIdentifier must be specified.")
    if user:
        owner = login_owner(ctx.db, pool_id, provider, user)
        if owner is None:
            raise errors.ResourceNotFoundException(f"Developer user identifier '{user}' not found in IdentityPool '{pool_id}'.")
        if identity_id and owner != identity_id:
            raise errors.ResourceConflictException("The IdentityId and DeveloperUserIdentifier belong to different identities.")
        identity_id = owner
    identity = load_identity(ctx.db, identity_id)
    if identity is None or identity["IdentityPoolId"] != pool_id:
        raise identity_not_found(identity_id)
    rows, token = paging.page(
        ctx.db, "SELECT subject, created FROM identity_logins WHERE pool_id = ? AND provider = ? AND identity_id = ?",
        (pool_id, provider, identity_id), ["created", "subject"], req.get("MaxResults") or 60, req.get("NextToken"))
    return {"IdentityId": identity_id, "DeveloperUserIdentifierList": [r["subject"] for r in rows],
            "NextToken": token}


@registry.handler
def merge_developer_identities(ctx, req):
    pool = load_identity_pool(ctx.db, req["IdentityPoolId"])
    pool_id = pool["IdentityPoolId"]
    provider = _developer_name(pool, req["DeveloperProviderName"])
    found = {}
    for field in ("SourceUserIdentifier", "DestinationUserIdentifier"):
        owner = login_owner(ctx.db, pool_id, provider, req[field])
        if owner is None:
            raise errors.ResourceNotFoundException(f"Developer user identifier '{req[field]}' not found in IdentityPool '{pool_id}'.")
        found[field] = owner
    merge(ctx.db, pool_id, found["SourceUserIdentifier"], found["DestinationUserIdentifier"], ctx.now())
    return {"IdentityId": found["DestinationUserIdentifier"]}


@registry.handler
def unlink_developer_identity(ctx, req):
    pool = load_identity_pool(ctx.db, req["IdentityPoolId"])
    pool_id = pool["IdentityPoolId"]
    provider = _developer_name(pool, req["DeveloperProviderName"])
    identity = load_identity(ctx.db, req["IdentityId"])
    if identity is None or identity["IdentityPoolId"] != pool_id:
        raise identity_not_found(req["IdentityId"])
    user = req["DeveloperUserIdentifier"]
    if login_owner(ctx.db, pool_id, provider, user) != identity["IdentityId"]:
        raise errors.ResourceNotFoundException(f"Developer user identifier '{user}' is not linked to identity "
                           f"'{identity['IdentityId']}'.")
    ctx.db.execute("DELETE FROM identity_logins WHERE pool_id = ? AND provider = ? AND subject = ?",
                   (pool_id, provider, user))
    ctx.db.execute("UPDATE identities SET modified = ? WHERE id = ?", (ctx.now(), identity["IdentityId"]))
    return {}
