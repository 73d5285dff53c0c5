"""Identities: GetId, DescribeIdentity, ListIdentities, DeleteIdentities, UnlinkIdentity,
and how logins link to identities and merge them."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from emulator import paging
from emulator.identitypools import errors, registry
from emulator.identitypools.logins import COGNITO_IDENTITY, Login, refuse_cognito_tokens, verify_logins
from emulator.identitypools.pools import load_identity_pool
from emulator.store import delete_owned, register_schema
from protocol import ServiceError

register_schema("identitypools.identities", [
    """
    CREATE TABLE identities (
        id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        created REAL NOT NULL,
        modified REAL NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0,
        merged_into TEXT
    );
    CREATE INDEX identities_by_pool ON identities(pool_id, created, id);
    CREATE TABLE identity_logins (
        pool_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        subject TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        developer INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL,
        PRIMARY KEY (pool_id, provider, subject)
    );
    CREATE INDEX identity_logins_by_identity ON identity_logins(identity_id, provider);
    """,
], owned={"identity_pool": ("identities", "identity_logins"), "identity": ("identity_logins",)})

# fn(db, identity_pool_id, [identity ids]) inside the deleting transaction.
# fn(db, identity_pool_id, source identity id, surviving identity id) when two identities merge.
on_identities_merged: list[Callable[[object, str, str, str], None]] = []

LOGINS_DONT_MATCH = "Logins don't match. Please include at least one valid login for this identity or identity pool."
UNAUTH_NOT_SUPPORTED = "Unauthenticated access is not supported for this identity pool."


def identity_not_found(identity_id: str) -> ServiceError:
    return errors.ResourceNotFoundException(f"Identity '{identity_id}' not found.")


def _providers(db, identity_id: str) -> list[str]:
    rows = db.execute("SELECT DISTINCT provider FROM identity_logins WHERE identity_id = ? ORDER BY provider",
                      (identity_id,)).fetchall()
    return [r["provider"] for r in rows]


def _describe(db, row) -> dict:
    return {"IdentityId": row["id"], "IdentityPoolId": row["pool_id"], "Logins": _providers(db, row["id"]),
            "CreationDate": row["created"], "LastModifiedDate": row["modified"],
            "Disabled": bool(row["disabled"]), "MergedInto": row["merged_into"]}


def load_identity(db, identity_id: str) -> dict | None:
    """{IdentityId, IdentityPoolId, Logins (provider keys), CreationDate, LastModifiedDate,
    Disabled, MergedInto} or None."""
    row = db.execute("SELECT * FROM identities WHERE id = ?", (identity_id,)).fetchone()
    return _describe(db, row) if row else None


def identity_exists(db, identity_pool_id: str, identity_id: str) -> bool:
    row = db.execute("SELECT 1 FROM identities WHERE id = ? AND pool_id = ?",
                     (identity_id, identity_pool_id)).fetchone()
    return row is not None


def require_identity(db, identity_id: str) -> dict:
    identity = load_identity(db, identity_id)
    if identity is None:
        raise identity_not_found(identity_id)
    return identity


def create_identity(db, pool_id: str, now: float, region: str | None = None) -> str:
    identity_id = f"{region or pool_id.split(':', 1)[0]}:{uuid.uuid4()}"
    db.execute("INSERT INTO identities(id, pool_id, created, modified) VALUES(?,?,?,?)",
               (identity_id, pool_id, now, now))
    return identity_id


def login_owner(db, pool_id: str, provider: str, subject: str) -> str | None:
    row = db.execute("SELECT identity_id FROM identity_logins WHERE pool_id = ? AND provider = ? AND subject = ?",
                     (pool_id, provider, subject)).fetchone()
    return row["identity_id"] if row else None


def _touch(db, identity_id: str, now: float) -> None:
    db.execute("UPDATE identities SET modified = ? WHERE id = ?", (now, identity_id))


def link(db, pool_id: str, identity_id: str, provider: str, subject: str, now: float,
         developer: bool = False) -> None:
    """Link one login to an identity (one login per provider, except developer ids)."""
    if not developer:
        other = db.execute("SELECT subject FROM identity_logins WHERE identity_id = ? AND provider = ? "
                           "AND subject != ?", (identity_id, provider, subject)).fetchone()
        if other is not None:
            raise errors.ResourceConflictException(f"Identity '{identity_id}' is already linked to another login of {provider}.")
    db.execute("INSERT INTO identity_logins(pool_id, provider, subject, identity_id, developer, created) "
               "VALUES(?,?,?,?,?,?)", (pool_id, provider, subject, identity_id, int(developer), now))
    _touch(db, identity_id, now)


def merge(db, pool_id: str, source: str, survivor: str, now: float) -> None:
    """Move every login of `source` to `survivor` and disable `source`."""
    if source == survivor:
        return
    for row in db.execute("SELECT provider, subject, developer FROM identity_logins WHERE identity_id = ?",
                          (source,)).fetchall():
        if not row["developer"]:
            clash = db.execute("SELECT 1 FROM identity_logins WHERE identity_id = ? AND provider = ? "
                               "AND subject != ?", (survivor, row["provider"], row["subject"])).fetchone()
            if clash is not None:
                raise errors.ResourceConflictException("Identities cannot be merged: both are linked to logins of "
                                   f"{row['provider']}.")
    db.execute("UPDATE identity_logins SET identity_id = ? WHERE identity_id = ?", (survivor, source))
    db.execute("UPDATE identities SET disabled = 1, merged_into = ?, modified = ? WHERE id = ?",
               (survivor, now, source))
    db.execute("UPDATE identities SET merged_into = ? WHERE merged_into = ?", (survivor, source))
    _touch(db, survivor, now)
    for hook in on_identities_merged:
        hook(db, pool_id, source, survivor)


def resolve(ctx, pool: dict, identity_id: str | None, logins: list[Login],
            developer: tuple[str, str] | None = None) -> str:
    """The identity these verified logins belong to after linking and merging.

    `identity_id` is the identity named in the request (None for GetId). A login seen for the
    first time is linked to it; a login owned by another identity merges the two: an
    unauthenticated identity merges into the authenticated one, otherwise the named identity
    survives. `developer` = (provider name, user identifier) for developer logins.
    """
    db, now, pool_id = ctx.db, ctx.now(), pool["IdentityPoolId"]
    proofs = [login for login in logins if login.kind == "cognito"]
    links = [(login.provider, login.subject, False) for login in logins if login.kind != "cognito"]
    if developer is not None:
        links.append((developer[0], developer[1], True))
    for proof in proofs:
        if identity_id is not None and proof.subject != identity_id:
            raise errors.NotAuthorizedException(LOGINS_DONT_MATCH)
        identity_id = proof.subject
    target = identity_id
    if target is not None:
        identity = load_identity(db, target)
        if identity is None or identity["IdentityPoolId"] != pool_id:
            raise identity_not_found(target)
    owners = []
    for provider, subject, _dev in links:
        owner = login_owner(db, pool_id, provider, subject)
        if owner is not None and owner not in owners:
            owners.append(owner)
    if target is None:
        target = owners[0] if owners else create_identity(db, pool_id, now, ctx.region)
    survivor = target
    if owners and owners != [target]:
        if not _providers(db, target) and target not in owners:
            survivor = owners[0]
        for owner in [target, *owners]:
            if owner != survivor:
                merge(db, pool_id, owner, survivor, now)
    for provider, subject, dev in links:
        owner = login_owner(db, pool_id, provider, subject)
        if owner is None:
            link(db, pool_id, survivor, provider, subject, now, developer=dev)
    if developer is not None or links:
        _touch(db, survivor, now)
    return survivor


def authenticated(db, identity_id: str) -> bool:
    return bool(_providers(db, identity_id))


def check_identity_logins(ctx, identity: dict, pool: dict, logins: list[Login]) -> None:
    """Without logins, only an unauthenticated identity of a pool allowing guests may act."""
    if logins:
        return
    if identity["Disabled"]:
        raise errors.NotAuthorizedException(f"Access to Identity '{identity['IdentityId']}' is forbidden.")
    if authenticated(ctx.db, identity["IdentityId"]):
        raise errors.NotAuthorizedException(LOGINS_DONT_MATCH)
    if not pool["AllowUnauthenticatedIdentities"]:
        raise errors.NotAuthorizedException(UNAUTH_NOT_SUPPORTED)


def identity_for_request(ctx, identity_id: str, raw_logins: dict | None) -> tuple[dict, dict, list[Login], str]:
    """(pool, identity, verified logins, resolved identity id) for calls naming an identity."""
    identity = require_identity(ctx.db, identity_id)
    pool = load_identity_pool(ctx.db, identity["IdentityPoolId"])
    logins = verify_logins(ctx, pool, raw_logins)
    if logins:
        # verify_logins may have released the store (key fetches): the identity may have been
        # deleted, disabled or merged meanwhile.
        identity = require_identity(ctx.db, identity_id)
    check_identity_logins(ctx, identity, pool, logins)
    if not logins:
        return pool, identity, logins, identity_id
    start = identity_id
    if identity["Disabled"] and identity["MergedInto"]:
        start = identity["MergedInto"]
    resolved = resolve(ctx, pool, start, logins)
    return pool, identity, logins, resolved


# -- operations -----------------------------------------------------------------------
@registry.handler
def get_id(ctx, req):
    pool = load_identity_pool(ctx.db, req["IdentityPoolId"])
    account = req.get("AccountId")
    if account and account != ctx.account_id:
        raise errors.NotAuthorizedException(f"IdentityPool '{pool['IdentityPoolId']}' not found.")
    refuse_cognito_tokens(req.get("Logins"))
    logins = verify_logins(ctx, pool, req.get("Logins"))
    if not logins:
        if not pool["AllowUnauthenticatedIdentities"]:
            raise errors.NotAuthorizedException(UNAUTH_NOT_SUPPORTED)
        return {"IdentityId": create_identity(ctx.db, pool["IdentityPoolId"], ctx.now(), ctx.region)}
    return {"IdentityId": resolve(ctx, pool, None, logins)}


@registry.handler
def describe_identity(ctx, req):
    identity = require_identity(ctx.db, req["IdentityId"])
    return identity


@registry.handler
def list_identities(ctx, req):
    pool_id = req["IdentityPoolId"]
    load_identity_pool(ctx.db, pool_id)
    sql = "SELECT * FROM identities WHERE pool_id = ?" + (" AND disabled = 0" if req.get("HideDisabled") else "")
    rows, token = paging.page(ctx.db, sql, [pool_id], ["created", "id"], req["MaxResults"], req.get("NextToken"))
    return {"IdentityPoolId": pool_id, "Identities": [_describe(ctx.db, r) for r in rows], "NextToken": token}


def delete_identity_rows(db, ids: list[str]) -> None:
    by_pool: dict[str, list[str]] = {}
    for identity_id in ids:
        row = db.execute("SELECT pool_id FROM identities WHERE id = ?", (identity_id,)).fetchone()
        if row is not None:
            by_pool.setdefault(row["pool_id"], []).append(identity_id)
    for found in by_pool.values():
        for identity_id in found:
            delete_owned(db, "identity", identity_id)  # logins, credentials, Sync data
            db.execute("DELETE FROM identities WHERE id = ?", (identity_id,))


@registry.handler
def delete_identities(ctx, req):
    delete_identity_rows(ctx.db, list(dict.fromkeys(req["IdentityIdsToDelete"])))
    return {"UnprocessedIdentityIds": []}


@registry.handler
def unlink_identity(ctx, req):
    identity_id = req["IdentityId"]
    identity = require_identity(ctx.db, identity_id)
    pool = load_identity_pool(ctx.db, identity["IdentityPoolId"])
    logins = verify_logins(ctx, pool, req["Logins"])
    for login in logins:
        owner = identity_id if login.kind == "cognito" and login.subject == identity_id else \
            login_owner(ctx.db, pool["IdentityPoolId"], login.provider, login.subject)
        if owner != identity_id:
            raise errors.NotAuthorizedException(LOGINS_DONT_MATCH)
    if not logins:
        raise errors.NotAuthorizedException(LOGINS_DONT_MATCH)
    for provider in req["LoginsToRemove"]:
        if provider == COGNITO_IDENTITY or provider == pool.get("DeveloperProviderName"):
            raise errors.InvalidParameterException("Developer provider logins must be removed with UnlinkDeveloperIdentity.")
        ctx.db.execute("DELETE FROM identity_logins WHERE identity_id = ? AND provider = ?",
                       (identity_id, provider))
    _touch(ctx.db, identity_id, ctx.now())
    return {}
