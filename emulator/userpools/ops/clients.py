"""clients_ops: split from clients.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from emulator import paging
from emulator.store import delete_owned, dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.model import identity_providers, pools, resource_servers
from emulator.userpools.model.clients import (
    CLIENT_TOKEN_FLOW,
    DEFAULT_FLOWS,
    DEFAULT_UNITS,
    DEFAULT_VALUES,
    LEGACY_FLOWS,
    LOOPBACK,
    LOWER,
    MAX_CLIENTS,
    MAX_SECRETS,
    SETTINGS,
    STANDARD_SCOPES,
    UNIT_SECONDS,
    client_secrets,
    pool_and_client,
    secret_rows,
)


def _random(n: int) -> str:
    return "".join(secrets.choice(LOWER) for _ in range(n))


def _flows(given: list[str] | None) -> list[str]:
    if not given:
        return list(DEFAULT_FLOWS)
    flows = list(dict.fromkeys(given))
    legacy = [f for f in flows if f in LEGACY_FLOWS]
    if legacy and len(legacy) != len(flows):
        raise errors.InvalidParameterException("Legacy explicit auth flows (ADMIN_NO_SRP_AUTH, CUSTOM_AUTH_FLOW_ONLY, "
                           "USER_PASSWORD_AUTH) cannot be combined with ALLOW_ prefixed flows.")
    if CLIENT_TOKEN_FLOW in flows and len(flows) > 1:
        raise errors.InvalidParameterException(f"{CLIENT_TOKEN_FLOW} cannot be combined with other explicit auth flows.")
    return flows


def _validity(req: dict) -> dict:
    # AWS echoes TokenValidityUnits as given ({} when absent); the defaults only apply to the checks.
    units = dict(req.get("TokenValidityUnits") or {})
    out: dict = {"TokenValidityUnits": units}
    effective = {**DEFAULT_UNITS, **units}
    bounds = {"AccessTokenValidity": ("AccessToken", 300, 86400),
              "IdTokenValidity": ("IdToken", 300, 86400),
              "RefreshTokenValidity": ("RefreshToken", 3600, 315360000)}
    for key, (unit_key, low, high) in bounds.items():
        value = req.get(key)
        if not value:
            continue
        if not low <= value * UNIT_SECONDS[effective[unit_key]] <= high:
            raise errors.InvalidParameterException("Invalid range for token validity.")
        out[key] = value
    out["RefreshTokenValidity"] = req.get("RefreshTokenValidity") or DEFAULT_VALUES["RefreshToken"]
    return out


def _check_url(url: str, kind: str) -> None:
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ or ] in the host ("Invalid IPv6 URL")
        raise errors.InvalidParameterException(f"{kind} {url} is invalid.") from None
    if not parts.scheme or "#" in url:
        raise errors.InvalidParameterException(f"{kind} {url} is invalid. "
                           "It must be an absolute URL without a fragment.")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise errors.InvalidParameterException(f"{kind} {url} is invalid. "
                           "HTTPS is required over HTTP except for http://localhost.")
    if parts.scheme in ("http", "https") and not parts.netloc:
        raise errors.InvalidParameterException(f"{kind} {url} is invalid.")


def _attribute_names(pool: dict) -> set[str]:
    names = set()
    for attr in pool["SchemaAttributes"]:
        names.add(attr["Name"].removeprefix("dev:"))
    return names


def _check_attributes(db, pool: dict, req: dict, verb: str) -> None:
    known = _attribute_names(pool)
    for key, label in (("ReadAttributes", "read"), ("WriteAttributes", "write")):
        given = req.get(key)
        if given is None:
            continue
        if any(a not in known for a in given):
            raise errors.InvalidParameterException(f"Invalid {label} attributes specified while {verb} a client")
        if key == "WriteAttributes" and "sub" in given:
            raise errors.InvalidParameterException(f"Invalid {label} attributes specified while {verb} a client")


def _check_oauth(db, pool_id: str, client: dict, has_secret: bool) -> None:
    flows = client.get("AllowedOAuthFlows") or []
    scopes = client.get("AllowedOAuthScopes") or []
    callbacks = client.get("CallbackURLs") or []
    for url in callbacks:
        _check_url(url, "Callback URL")
    for url in client.get("LogoutURLs") or []:
        _check_url(url, "Logout URL")
    default = client.get("DefaultRedirectURI")
    if default is not None:
        _check_url(default, "DefaultRedirectURI")
        if default not in callbacks:
            raise errors.InvalidParameterException("DefaultRedirectURI should be one of the CallbackURLs.")
    custom = resource_servers.scopes_of_pool(db, pool_id)
    for scope in scopes:
        if scope not in STANDARD_SCOPES and scope not in custom:
            raise errors.ScopeDoesNotExistException(f"Invalid scope requested: {scope}")
    if "client_credentials" in flows:
        if not has_secret:
            raise errors.InvalidOAuthFlowException("client_credentials flow can not be selected if client does not have "
                               "a client secret.")
        if "code" in flows or "implicit" in flows:
            raise errors.InvalidOAuthFlowException("client_credentials flow can not be selected along with code flow or "
                               "implicit flow.")
        if not scopes or any(s in STANDARD_SCOPES for s in scopes):
            raise errors.InvalidOAuthFlowException("client_credentials flow can only be used with custom scopes.")
    if ("code" in flows or "implicit" in flows) and not callbacks:
        raise errors.InvalidOAuthFlowException("CallbackUrls can not be empty when code flow or implicit flow is selected")
    if client.get("AllowedOAuthFlowsUserPoolClient") and (not flows or not scopes):
        raise errors.InvalidOAuthFlowException("AllowedOAuthFlows and AllowedOAuthScopes are required if user pool client is "
                           "allowed to use OAuth flows.")
    providers = client.get("SupportedIdentityProviders") or []
    if providers:
        names = identity_providers.provider_names(db, pool_id)
        for name in providers:
            if name != "COGNITO" and name not in names:
                raise errors.InvalidParameterException(f"The provider {name} does not exist for User Pool {pool_id}")


def _apply_settings(db, pool: dict, client: dict, req: dict, verb: str) -> None:
    """Fill every updatable setting from `req`; absent settings return to their defaults."""
    for key in (*SETTINGS, "AccessTokenValidity", "IdTokenValidity", "TokenValidityUnits",
                "RefreshTokenValidity"):
        if key != "ClientName":
            client.pop(key, None)
    for key in SETTINGS:
        value = req.get(key)
        if value is not None and key != "ClientName":
            client[key] = list(dict.fromkeys(value)) if isinstance(value, list) else value
    if req.get("ClientName") is not None:
        client["ClientName"] = req["ClientName"]
    client.update(_validity(req))
    # ExplicitAuthFlows and PreventUserExistenceErrors are absent unless set (AWS then applies
    # the default flows and LEGACY behaviour without listing them).
    client.pop("ExplicitAuthFlows", None)
    client.pop("PreventUserExistenceErrors", None)
    if req.get("ExplicitAuthFlows"):
        client["ExplicitAuthFlows"] = _flows(req["ExplicitAuthFlows"])
    client["AllowedOAuthFlowsUserPoolClient"] = bool(req.get("AllowedOAuthFlowsUserPoolClient", False))
    if req.get("PreventUserExistenceErrors"):
        client["PreventUserExistenceErrors"] = req["PreventUserExistenceErrors"]
    client["EnableTokenRevocation"] = bool(req.get("EnableTokenRevocation", True))
    client["EnablePropagateAdditionalUserContextData"] = bool(
        req.get("EnablePropagateAdditionalUserContextData", False))
    client["AuthSessionValidity"] = req.get("AuthSessionValidity") or 3
    analytics = client.get("AnalyticsConfiguration")
    if analytics and analytics.get("ApplicationArn") and not analytics.get("RoleArn"):
        # With an ApplicationArn, AWS uses (and lists) its service-linked role for Pinpoint.
        account = pool["Arn"].split(":")[4]
        client["AnalyticsConfiguration"] = {**analytics, "RoleArn": f"arn:aws:iam::{account}:role/aws-service-role/"
                                            "cognito-idp.amazonaws.com/AWSServiceRoleForAmazonCognitoIdp"}
    rotation = client.get("RefreshTokenRotation")
    if rotation is not None:
        client["RefreshTokenRotation"] = {"Feature": rotation["Feature"],
                                          "RetryGracePeriodSeconds": rotation.get("RetryGracePeriodSeconds", 0)}
    if client.get("EnablePropagateAdditionalUserContextData") and not client.get("ClientSecret"):
        raise errors.InvalidParameterException("EnablePropagateAdditionalUserContextData can only be enabled for a client "
                           "with a client secret.")
    _check_attributes(db, pool, req, verb)
    _check_oauth(db, pool["Id"], client, bool(client.get("ClientSecret")))


@registry.handler
def create_user_pool_client(ctx, req, *, client_id: str | None = None):
    # client_id: the id a declared environment gives the client (emulator.environments), else a new one
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    count = db.execute("SELECT COUNT(*) FROM user_pool_clients WHERE pool_id = ?", (pool["Id"],)).fetchone()[0]
    if count >= MAX_CLIENTS:
        raise errors.LimitExceededException(f"User pool {pool['Id']} has reached its limit of {MAX_CLIENTS} app clients.")
    client_id = client_id or _random(26)
    now = ctx.now()
    client: dict = {"UserPoolId": pool["Id"], "ClientName": req["ClientName"], "ClientId": client_id,
                    "LastModifiedDate": now, "CreationDate": now}
    secret = req.get("ClientSecret")
    if secret is None and req.get("GenerateSecret"):
        secret = _random(51)
    if secret is not None:
        client["ClientSecret"] = secret
    _apply_settings(db, pool, client, req, "creating")
    db.execute("INSERT INTO user_pool_clients(id, pool_id, name, created, data) VALUES(?,?,?,?,?)",
               (client_id, pool["Id"], client["ClientName"], now, dumps(client)))
    if secret is not None:
        _add_secret(db, client, secret, now)
    return {"UserPoolClient": client}


def _add_secret(db, client: dict, secret: str, now: float) -> dict:
    secret_id = f"{client['ClientId']}--{int(now * 1000)}{_random(6)}"
    db.execute("INSERT INTO user_pool_client_secrets(id, client_id, pool_id, secret, created) "
               "VALUES(?,?,?,?,?)", (secret_id, client["ClientId"], client["UserPoolId"], secret, now))
    return {"ClientSecretId": secret_id, "ClientSecretValue": secret, "ClientSecretCreateDate": now}


def _save(db, client: dict) -> None:
    db.execute("UPDATE user_pool_clients SET name = ?, data = ? WHERE id = ?",
               (client["ClientName"], dumps(client), client["ClientId"]))


@registry.handler
def describe_user_pool_client(ctx, req):
    _pool, client = pool_and_client(ctx.db, req)
    return {"UserPoolClient": client}


@registry.handler
def update_user_pool_client(ctx, req):
    pool, client = pool_and_client(ctx.db, req)
    _apply_settings(ctx.db, pool, client, req, "updating")
    client["LastModifiedDate"] = ctx.now()
    _save(ctx.db, client)
    return {"UserPoolClient": client}


@registry.handler
def delete_user_pool_client(ctx, req):
    _pool, client = pool_and_client(ctx.db, req)
    delete_owned(ctx.db, "app_client", client["ClientId"])
    ctx.db.execute("DELETE FROM user_pool_client_secrets WHERE client_id = ?", (client["ClientId"],))
    ctx.db.execute("DELETE FROM user_pool_clients WHERE id = ?", (client["ClientId"],))
    return {}


@registry.handler
def list_user_pool_clients(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    rows, token = paging.page(ctx.db, "SELECT id, created, data FROM user_pool_clients WHERE pool_id = ?",
                              [req["UserPoolId"]], ["created", "id"], req.get("MaxResults") or 60,
                              req.get("NextToken"))
    items = []
    for row in rows:
        client = loads(row["data"])
        items.append({"ClientId": client["ClientId"], "UserPoolId": client["UserPoolId"],
                      "ClientName": client["ClientName"]})
    return {"UserPoolClients": items, "NextToken": token}


@registry.handler
def add_user_pool_client_secret(ctx, req):
    _pool, client = pool_and_client(ctx.db, req)
    if not client.get("ClientSecret"):
        raise errors.InvalidParameterException("Client secrets can only be added to a client that has a client secret.")
    if len(client_secrets(ctx.db, client["ClientId"])) >= MAX_SECRETS:
        raise errors.LimitExceededException(f"A client can have at most {MAX_SECRETS} client secrets.")
    secret = req.get("ClientSecret") or _random(51)
    if secret in client_secrets(ctx.db, client["ClientId"]):
        raise errors.InvalidParameterException("The client secret already exists for this client.")
    return {"ClientSecretDescriptor": _add_secret(ctx.db, client, secret, ctx.now())}


@registry.handler
def list_user_pool_client_secrets(ctx, req):
    _pool, client = pool_and_client(ctx.db, req)
    rows = secret_rows(ctx.db, client["ClientId"])
    return {"ClientSecrets": [{"ClientSecretId": r["id"], "ClientSecretCreateDate": r["created"]}
                              for r in rows]}


@registry.handler
def delete_user_pool_client_secret(ctx, req):
    _pool, client = pool_and_client(ctx.db, req)
    rows = secret_rows(ctx.db, client["ClientId"])
    target = next((r for r in rows if r["id"] == req["ClientSecretId"]), None)
    if target is None:
        raise errors.ResourceNotFoundException(f"Client secret {req['ClientSecretId']} does not exist.")
    if len(rows) == 1:
        raise errors.InvalidParameterException("The last client secret of a client cannot be deleted.")
    ctx.db.execute("DELETE FROM user_pool_client_secrets WHERE id = ?", (target["id"],))
    if client.get("ClientSecret") == target["secret"]:
        client["ClientSecret"] = next(r["secret"] for r in rows if r["id"] != target["id"])
        client["LastModifiedDate"] = ctx.now()
        _save(ctx.db, client)
    return {}
