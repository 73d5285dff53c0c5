"""Identity pools: create, describe, update, delete, list; roles and role mappings;
principal tag attribute maps; tags on pools."""

from __future__ import annotations

import re
import uuid

from emulator import paging
from emulator.identitypools import errors, registry
from emulator.store import delete_owned, dumps, loads, register_schema
from protocol import ServiceError

register_schema("identitypools.pools", [
    """
    CREATE TABLE identity_pools (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        region TEXT NOT NULL,
        created REAL NOT NULL,
        config TEXT NOT NULL,
        tags TEXT NOT NULL,
        roles TEXT NOT NULL,
        role_mappings TEXT NOT NULL
    );
    CREATE INDEX identity_pools_by_created ON identity_pools(created, id);
    CREATE TABLE identity_pool_principal_tags (
        pool_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        use_defaults INTEGER NOT NULL,
        tags TEXT NOT NULL,
        PRIMARY KEY (pool_id, provider)
    );
    """,
], owned={"identity_pool": ("identity_pool_principal_tags",)})

# Called as fn(db, identity_pool_id) inside DeleteIdentityPool's transaction (Cognito Sync
# drops the pool's datasets).

CONFIG_FIELDS = ("AllowUnauthenticatedIdentities", "AllowClassicFlow", "SupportedLoginProviders",
                 "DeveloperProviderName", "OpenIdConnectProviderARNs", "CognitoIdentityProviders",
                 "SamlProviderARNs")
USER_POOL_PROVIDER = re.compile(r"^cognito-idp\.([a-z0-9-]+)\.amazonaws\.com/([\w-]+_[0-9a-zA-Z]+)$")
DEFAULT_PRINCIPAL_TAGS = {"username": "sub", "client": "aud"}


def not_found(pool_id: str) -> ServiceError:
    return errors.ResourceNotFoundException(f"IdentityPool '{pool_id}' not found.")


def _row_to_pool(row) -> dict:
    config = loads(row["config"], {})
    pool = {"IdentityPoolId": row["id"], "IdentityPoolName": row["name"],
            "AllowUnauthenticatedIdentities": bool(config.get("AllowUnauthenticatedIdentities"))}
    # AWS keeps AllowClassicFlow unset (and omits it) unless the request gave it.
    for field in CONFIG_FIELDS[1:]:
        if config.get(field) is not None:
            pool[field] = config[field]
    tags = loads(row["tags"], {})
    pool["IdentityPoolTags"] = tags
    return pool


def classic_flow_allowed(pool: dict) -> bool:
    """Basic (classic) flow is refused only when AllowClassicFlow was set to false: a pool
    created without the flag allows it (AWS kept that default for backwards compatibility)."""
    return pool.get("AllowClassicFlow") is not False


def find_identity_pool(db, identity_pool_id: str) -> dict | None:
    row = db.execute("SELECT * FROM identity_pools WHERE id = ?", (identity_pool_id,)).fetchone()
    return _row_to_pool(row) if row else None


def load_identity_pool(db, identity_pool_id: str) -> dict:
    """The IdentityPool shape of a pool; ResourceNotFoundException when it does not exist."""
    pool = find_identity_pool(db, identity_pool_id)
    if pool is None:
        raise not_found(identity_pool_id)
    return pool


def list_identity_pool_ids(db) -> list[str]:
    """Every identity pool id, oldest first."""
    return [r["id"] for r in db.execute("SELECT id FROM identity_pools ORDER BY created, id")]


def load_roles(db, identity_pool_id: str) -> tuple[dict, dict]:
    """(Roles, RoleMappings) of an existing pool."""
    row = db.execute("SELECT roles, role_mappings FROM identity_pools WHERE id = ?",
                     (identity_pool_id,)).fetchone()
    if row is None:
        raise not_found(identity_pool_id)
    return loads(row["roles"], {}), loads(row["role_mappings"], {})


def principal_tag_map(db, identity_pool_id: str, provider: str) -> dict[str, str]:
    """Tag name -> claim name in effect for `provider` (empty when none is configured)."""
    row = db.execute("SELECT use_defaults, tags FROM identity_pool_principal_tags "
                     "WHERE pool_id = ? AND provider = ?", (identity_pool_id, provider)).fetchone()
    if row is None:
        return {}
    return dict(DEFAULT_PRINCIPAL_TAGS) if row["use_defaults"] else loads(row["tags"], {})


def configured_providers(pool: dict) -> set[str]:
    """Every Logins key the pool accepts (developer provider excluded)."""
    keys = {p["ProviderName"] for p in pool.get("CognitoIdentityProviders") or [] if p.get("ProviderName")}
    keys |= set((pool.get("SupportedLoginProviders") or {}).keys())
    for arn in pool.get("OpenIdConnectProviderARNs") or []:
        keys.add(arn.split(":oidc-provider/", 1)[-1])
    keys |= set(pool.get("SamlProviderARNs") or [])
    return keys


def _check_config(req: dict, existing: dict | None) -> dict:
    config = {field: req.get(field) for field in CONFIG_FIELDS}
    config["AllowUnauthenticatedIdentities"] = bool(req.get("AllowUnauthenticatedIdentities"))
    if req.get("AllowClassicFlow") is not None:
        config["AllowClassicFlow"] = bool(req["AllowClassicFlow"])
    for provider in config.get("CognitoIdentityProviders") or []:
        name = provider.get("ProviderName")
        if not name or not USER_POOL_PROVIDER.match(name):
            # AWS names no field and no value (docs/fidelity.md).
            raise errors.InvalidParameterException("Invalid Cognito Identity Provider")
        if not provider.get("ClientId"):
            raise errors.InvalidParameterException(f"ClientId is required for Cognito Identity Provider {name}")
        provider.setdefault("ServerSideTokenCheck", False)
    developer = config.get("DeveloperProviderName")
    if existing is not None:
        before = existing.get("DeveloperProviderName")
        if before and developer != before:
            raise errors.InvalidParameterException("Developer provider name cannot be changed once set.")
    if developer and developer.startswith("cognito-"):
        raise errors.InvalidParameterException("DeveloperProviderName cannot start with 'cognito-'.")
    return {k: v for k, v in config.items() if v is not None}


@registry.handler
def create_identity_pool(ctx, req, *, pool_id: str | None = None):
    # pool_id: the id a declared environment gives the pool (emulator.environments), else a new one
    config = _check_config(req, None)
    pool_id = pool_id or f"{ctx.region}:{uuid.uuid4()}"
    db = ctx.db
    db.execute("INSERT INTO identity_pools(id, name, region, created, config, tags, roles, role_mappings) "
               "VALUES(?,?,?,?,?,?,?,?)",
               (pool_id, req["IdentityPoolName"], ctx.region, ctx.now(), dumps(config),
                dumps(req.get("IdentityPoolTags") or {}), dumps({}), dumps({})))
    return load_identity_pool(db, pool_id)


@registry.handler
def describe_identity_pool(ctx, req):
    return load_identity_pool(ctx.db, req["IdentityPoolId"])


@registry.handler
def update_identity_pool(ctx, req):
    pool_id = req["IdentityPoolId"]
    existing = load_identity_pool(ctx.db, pool_id)
    config = _check_config(req, existing)
    tags = req.get("IdentityPoolTags")
    ctx.db.execute("UPDATE identity_pools SET name = ?, config = ? WHERE id = ?",
                   (req["IdentityPoolName"], dumps(config), pool_id))
    if tags is not None:
        ctx.db.execute("UPDATE identity_pools SET tags = ? WHERE id = ?", (dumps(tags), pool_id))
    # Role mappings of providers no longer configured would never apply; AWS drops them.
    roles, mappings = load_roles(ctx.db, pool_id)
    pool = load_identity_pool(ctx.db, pool_id)
    keep = {k: v for k, v in mappings.items() if _mapping_provider(k) in configured_providers(pool)}
    if keep != mappings:
        ctx.db.execute("UPDATE identity_pools SET role_mappings = ? WHERE id = ?", (dumps(keep), pool_id))
    return pool


@registry.handler
def delete_identity_pool(ctx, req):
    pool_id = req["IdentityPoolId"]
    load_identity_pool(ctx.db, pool_id)
    delete_owned(ctx.db, "identity_pool", pool_id)  # identities, logins, credentials, Sync data
    ctx.db.execute("DELETE FROM identity_pools WHERE id = ?", (pool_id,))
    return {}


@registry.handler
def list_identity_pools(ctx, req):
    # Identity pools are regional: a region lists only its own.
    rows, token = paging.page(ctx.db, "SELECT id, name, created FROM identity_pools WHERE region = ?",
                              [ctx.region], ["created", "id"], req["MaxResults"], req.get("NextToken"))
    return {"IdentityPools": [{"IdentityPoolId": r["id"], "IdentityPoolName": r["name"]} for r in rows],
            "NextToken": token}


# -- roles ------------------------------------------------------------------------
def _mapping_provider(key: str) -> str:
    """The provider a RoleMappings key names (user pool keys carry ':{clientId}')."""
    match = re.match(r"^(cognito-idp\.[a-z0-9-]+\.amazonaws\.com/[\w-]+_[0-9a-zA-Z]+):([\w+]+)$", key)
    return match.group(1) if match else key


def _mapping_key_valid(pool: dict, key: str) -> bool:
    match = re.match(r"^(cognito-idp\.[a-z0-9-]+\.amazonaws\.com/[\w-]+_[0-9a-zA-Z]+):([\w+]+)$", key)
    if match:
        return any(p.get("ProviderName") == match.group(1) and p.get("ClientId") == match.group(2)
                   for p in pool.get("CognitoIdentityProviders") or [])
    if USER_POOL_PROVIDER.match(key):
        return False
    return key in configured_providers(pool)


@registry.handler
def set_identity_pool_roles(ctx, req):
    pool_id = req["IdentityPoolId"]
    pool = load_identity_pool(ctx.db, pool_id)
    roles = req["Roles"]  # its keys are (un)authenticated: the model's pattern
    mappings = req.get("RoleMappings") or {}
    for key, mapping in mappings.items():
        if not _mapping_key_valid(pool, key):
            raise errors.InvalidParameterException(f"{key} is not a valid RoleMapping ProviderName or is not a configured provider.")
        kind = mapping["Type"]
        rules = (mapping.get("RulesConfiguration") or {}).get("Rules")
        if kind == "Rules" and not rules:
            raise errors.InvalidParameterException("RulesConfiguration is required for RoleMapping of type Rules.")
        if kind == "Token" and mapping.get("RulesConfiguration") is not None:
            raise errors.InvalidParameterException("RulesConfiguration is not supported for RoleMapping of type Token.")
        if not mapping.get("AmbiguousRoleResolution"):
            raise errors.InvalidParameterException("AmbiguousRoleResolution must be specified for RoleMapping.")
        if mapping["AmbiguousRoleResolution"] == "AuthenticatedRole" and not roles.get("authenticated"):
            raise errors.InvalidParameterException("AmbiguousRoleResolution AuthenticatedRole requires an authenticated role.")
    ctx.db.execute("UPDATE identity_pools SET roles = ?, role_mappings = ? WHERE id = ?",
                   (dumps(roles), dumps(mappings), pool_id))
    return {}


@registry.handler
def get_identity_pool_roles(ctx, req):
    pool_id = req["IdentityPoolId"]
    roles, mappings = load_roles(ctx.db, pool_id)
    out = {"IdentityPoolId": pool_id, "Roles": roles}
    if mappings:
        out["RoleMappings"] = mappings
    return out


# -- principal tags ---------------------------------------------------------------
def _tag_provider(ctx, req) -> tuple[str, str]:
    """(pool id, provider) of a principal tag request, the provider one the pool has."""
    pool_id, provider = req["IdentityPoolId"], req["IdentityProviderName"]
    pool = load_identity_pool(ctx.db, pool_id)
    if provider not in configured_providers(pool):
        raise errors.InvalidParameterException(f"{provider} is not a configured provider of identity pool {pool_id}.")
    return pool_id, provider


@registry.handler
def set_principal_tag_attribute_map(ctx, req):
    pool_id, provider = _tag_provider(ctx, req)
    use_defaults = bool(req.get("UseDefaults"))
    tags = req.get("PrincipalTags") or {}
    ctx.db.execute("INSERT INTO identity_pool_principal_tags(pool_id, provider, use_defaults, tags) "
                   "VALUES(?,?,?,?) ON CONFLICT(pool_id, provider) DO UPDATE SET "
                   "use_defaults = excluded.use_defaults, tags = excluded.tags",
                   (pool_id, provider, int(use_defaults), dumps(tags)))
    return {"IdentityPoolId": pool_id, "IdentityProviderName": provider, "UseDefaults": use_defaults,
            "PrincipalTags": DEFAULT_PRINCIPAL_TAGS if use_defaults else tags}


@registry.handler
def get_principal_tag_attribute_map(ctx, req):
    pool_id, provider = _tag_provider(ctx, req)
    row = ctx.db.execute("SELECT use_defaults, tags FROM identity_pool_principal_tags "
                         "WHERE pool_id = ? AND provider = ?", (pool_id, provider)).fetchone()
    use_defaults = bool(row["use_defaults"]) if row else False
    return {"IdentityPoolId": pool_id, "IdentityProviderName": provider, "UseDefaults": use_defaults,
            "PrincipalTags": principal_tag_map(ctx.db, pool_id, provider)}


# -- tags -------------------------------------------------------------------------
_ARN = re.compile(r"^arn:aws[\w-]*:cognito-identity:([a-z0-9-]+):(\d{12}):identitypool/(.+)$")


def _pool_for_arn(ctx, arn: str) -> str:
    match = _ARN.match(arn)
    if not match:
        raise errors.InvalidParameterException(f"Invalid ARN: {arn}")
    pool_id = match.group(3)
    if match.group(2) != ctx.account_id or find_identity_pool(ctx.db, pool_id) is None:
        raise errors.ResourceNotFoundException(f"IdentityPool '{pool_id}' not found.")
    return pool_id


def _tags(db, pool_id: str) -> dict:
    row = db.execute("SELECT tags FROM identity_pools WHERE id = ?", (pool_id,)).fetchone()
    return loads(row["tags"], {})


@registry.handler
def tag_resource(ctx, req):
    pool_id = _pool_for_arn(ctx, req["ResourceArn"])
    tags = {**_tags(ctx.db, pool_id), **req["Tags"]}
    if len(tags) > 50:
        raise errors.InvalidParameterException("An identity pool can have at most 50 tags.")
    ctx.db.execute("UPDATE identity_pools SET tags = ? WHERE id = ?", (dumps(tags), pool_id))
    return {}


@registry.handler
def untag_resource(ctx, req):
    pool_id = _pool_for_arn(ctx, req["ResourceArn"])
    tags = {k: v for k, v in _tags(ctx.db, pool_id).items() if k not in set(req["TagKeys"])}
    ctx.db.execute("UPDATE identity_pools SET tags = ? WHERE id = ?", (dumps(tags), pool_id))
    return {}


@registry.handler
def list_tags_for_resource(ctx, req):
    pool_id = _pool_for_arn(ctx, req["ResourceArn"])
    return {"Tags": _tags(ctx.db, pool_id)}
