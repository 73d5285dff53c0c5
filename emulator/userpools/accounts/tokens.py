"""ID, access and refresh tokens: minting (with PreTokenGeneration V1/V2/V3), verification,
refresh with rotation, and revocation (the operations are in ops/tokens.py).

Every sign-in starts an *origin* (its `origin_jti`); all tokens minted from it, refreshes
included, belong to that origin. Revocation marks origins and refresh tokens, so a token
issued after a sign-out (a new origin) is never caught by it, whatever the clock resolution.
Refresh tokens are opaque random strings; only their SHA-256 is stored.

Longer than 500 lines: minting, verification, refresh and revocation all read and write the one
record of origins and refresh tokens, and each checks what the others wrote.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from typing import Any

from emulator import digests
from emulator.store import loads, register_schema
from emulator.userpools import errors
from emulator.userpools.model import clients, groups, keys, pools, users
from emulator.userpools.outbound import triggers
from protocol import ServiceError

register_schema("userpools.tokens", [
    """
    CREATE TABLE token_origins (
        origin_jti TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        sub TEXT,
        client_id TEXT NOT NULL,
        created REAL NOT NULL,
        revoked REAL
    );
    CREATE INDEX token_origins_user ON token_origins(pool_id, username);
    CREATE TABLE token_issues (
        event_id TEXT PRIMARY KEY,
        origin_jti TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX token_issues_origin ON token_issues(origin_jti);
    CREATE INDEX token_issues_pool ON token_issues(pool_id);
    CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        origin_jti TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        username TEXT NOT NULL,
        sub TEXT,
        device_key TEXT,
        auth_time INTEGER NOT NULL,
        scopes TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        revoked REAL,
        rotated REAL,
        grace REAL
    );
    CREATE INDEX refresh_tokens_user ON refresh_tokens(pool_id, username);
    CREATE INDEX refresh_tokens_origin ON refresh_tokens(origin_jti);
    """,
], owned={"user_pool": ("refresh_tokens", "token_issues", "token_origins")})

ADMIN_SCOPE = "aws.cognito.signin.user.admin"

# Claims a PreTokenGeneration function may not add, change or suppress.
PROTECTED_CLAIMS = {"acr", "amr", "aud", "at_hash", "auth_time", "azp", "cognito:username", "exp", "iat",
                    "identities", "iss", "jti", "nbf", "nonce", "origin_jti", "sub", "token_use"}
PROTECTED_ACCESS_CLAIMS = PROTECTED_CLAIMS | {"client_id", "scope", "username", "device_key", "event_id",
                                              "version", "cognito:groups"}
_BOOLEAN_ATTRIBUTES = {"email_verified", "phone_number_verified"}

INVALID_ACCESS = "Invalid Access Token"
EXPIRED_ACCESS = "Access Token has expired"
REVOKED_ACCESS = "Access Token has been revoked"
NO_SCOPE = "Access Token does not have required scopes"
INVALID_REFRESH = "Invalid Refresh Token"
EXPIRED_REFRESH = "Refresh Token has expired"
REVOKED_REFRESH = "Refresh Token has been revoked"


class TokenInvalid(Exception):
    """A token failed verification; `reason` says why (expired, revoked, signature, issuer,
    token_use, malformed, pool)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- validity ----------------------------------------------------------------------------------
def validity_seconds(client: dict, kind: str) -> int:
    """Lifetime in seconds of `kind` ('AccessToken', 'IdToken', 'RefreshToken') for a client."""
    value = client.get(f"{kind}Validity")
    units = (client.get("TokenValidityUnits") or {}).get(kind) or clients.DEFAULT_UNITS[kind]
    if value is None or value == 0:
        value, units = clients.DEFAULT_VALUES[kind], clients.DEFAULT_UNITS[kind]
    return int(value) * clients.UNIT_SECONDS.get(units, 3600)


def revocation_enabled(client: dict) -> bool:
    return client.get("EnableTokenRevocation", True) is not False


def rotation(client: dict) -> tuple[bool, int]:
    """(refresh token rotation on, grace seconds)."""
    config = client.get("RefreshTokenRotation") or {}
    return config.get("Feature") == "ENABLED", int(config.get("RetryGracePeriodSeconds") or 0)


# -- claims -------------------------------------------------------------------------------------
def _attribute_claim(name: str, value: str) -> Any:
    if name in _BOOLEAN_ATTRIBUTES:
        return str(value).lower() == "true"
    if name == "updated_at":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if name == "address":
        if isinstance(value, str):
            try:
                parsed = json.loads(value)
                if isinstance(parsed, dict):
                    return parsed
            except ValueError:
                pass
        return {"formatted": value}
    if name == "identities":
        try:
            return json.loads(value)
        except (TypeError, ValueError):
            return value
    return value


def _readable(client: dict, name: str) -> bool:
    read = client.get("ReadAttributes")
    if not read:
        return True
    return name in read


def group_claims(groups: list[dict]) -> tuple[list[str], list[str], str | None]:
    """(group names, role ARNs, preferred role) from GroupType dicts ordered by precedence."""
    names = [g["GroupName"] for g in groups]
    roles: list[str] = []
    for g in groups:
        if g.get("RoleArn") and g["RoleArn"] not in roles:
            roles.append(g["RoleArn"])
    with_roles = [g for g in groups if g.get("RoleArn")]
    preferred = None
    if with_roles:
        def rank(g):
            p = g.get("Precedence")
            return p if p is not None else float("inf")
        best = min(rank(g) for g in with_roles)
        best_roles = {g["RoleArn"] for g in with_roles if rank(g) == best}
        if len(best_roles) == 1:
            preferred = best_roles.pop()
    return names, roles, preferred


def _base_claims(ctx, pool: dict, iss_now: int, auth_time: int, origin_jti: str | None,
                 event_id: str, sub: str) -> dict:
    claims = {"sub": sub, "iss": keys.issuer(ctx.config, ctx.base_url, pool_region(pool), pool["Id"])}
    if origin_jti:
        claims["origin_jti"] = origin_jti
    claims.update({"event_id": event_id, "auth_time": auth_time, "iat": iss_now})
    return claims


def pool_region(pool: dict) -> str:
    return pool["Id"].split("_", 1)[0]


# -- pre token generation --------------------------------------------------------------------------
def _pre_token_generation(ctx, pool: dict, client: dict, user: dict, source: str, id_claims: dict,
                          access_claims: dict, scopes: list[str], client_metadata: dict | None) -> list[str]:
    if not triggers.has_trigger(pool, "PreTokenGeneration"):
        return scopes
    version = triggers.pre_token_generation_version(pool)
    names = id_claims.get("cognito:groups") or []
    request: dict[str, Any] = {
        "userAttributes": users.event_user_attributes(pool, user),
        "groupConfiguration": {"groupsToOverride": list(names),
                               "iamRolesToOverride": list(id_claims.get("cognito:roles") or []),
                               "preferredRole": id_claims.get("cognito:preferred_role")},
        "clientMetadata": dict(client_metadata or {}),
    }
    if version != "1":
        request["scopes"] = list(scopes)
    key = "claimsOverrideDetails" if version == "1" else "claimsAndScopeOverrideDetails"
    response = triggers.run_trigger(ctx, pool, "PreTokenGeneration", source, username=user["username"],
                                    request=request, client_id=client["ClientId"],
                                    response={key: None}, version=version) or {}
    # The store was released while the function ran: no tokens for a user deleted or disabled
    # meanwhile (the claims stay those the function saw).
    if user.get("seq") is not None:
        enabled = user.get("enabled") is not False
        users.reload_user(ctx.db, pool, user)
        if enabled and user.get("enabled") is False:
            raise errors.NotAuthorizedException("User is disabled.")
    details = response.get(key)
    if details is None:
        return scopes
    if not isinstance(details, dict):
        raise _bad_lambda()
    if version == "1":
        _apply_claims(id_claims, details, PROTECTED_CLAIMS, strings_only=True)
    else:
        _apply_claims(id_claims, details.get("idTokenGeneration") or {}, PROTECTED_CLAIMS, strings_only=False)
        access = details.get("accessTokenGeneration") or {}
        if not isinstance(access, dict):
            raise _bad_lambda()
        _apply_claims(access_claims, access, PROTECTED_ACCESS_CLAIMS, strings_only=False)
        suppress = access.get("scopesToSuppress") or []
        add = access.get("scopesToAdd") or []
        if not isinstance(suppress, list) or not isinstance(add, list):
            raise _bad_lambda()
        scopes = [s for s in scopes if s not in suppress]
        scopes += [s for s in add if isinstance(s, str) and s not in scopes]
    overrides = details.get("groupOverrideDetails")
    if isinstance(overrides, dict):
        groups = overrides.get("groupsToOverride") or []
        roles = overrides.get("iamRolesToOverride") or []
        preferred = overrides.get("preferredRole")
        for claims in (id_claims, access_claims):
            claims.pop("cognito:groups", None)
            if groups:
                claims["cognito:groups"] = list(groups)
        id_claims.pop("cognito:roles", None)
        id_claims.pop("cognito:preferred_role", None)
        if roles:
            id_claims["cognito:roles"] = list(roles)
        if preferred:
            id_claims["cognito:preferred_role"] = preferred
    return scopes


def _bad_lambda() -> ServiceError:
    return triggers.invalid_response()


def _apply_claims(claims: dict, details: dict, protected: set[str], *, strings_only: bool) -> None:
    add = details.get("claimsToAddOrOverride") or {}
    suppress = details.get("claimsToSuppress") or []
    if not isinstance(add, dict) or not isinstance(suppress, list):
        raise _bad_lambda()
    for name, value in add.items():
        if name in protected:
            continue
        if strings_only and not isinstance(value, str):
            raise _bad_lambda()
        if name in _BOOLEAN_ATTRIBUTES or name in ("updated_at", "address"):
            value = _attribute_claim(name, value) if isinstance(value, str) else value
        claims[name] = value
    for name in suppress:
        if name not in protected:
            claims.pop(name, None)


# -- minting -------------------------------------------------------------------------------------
def _new_refresh_token() -> str:
    header = base64.urlsafe_b64encode(
        b'{"cty":"JWT","enc":"A256GCM","alg":"RSA-OAEP"}').rstrip(b"=").decode()
    parts = [base64.urlsafe_b64encode(os.urandom(n)).rstrip(b"=").decode() for n in (256, 12, 1200, 16)]
    return ".".join([header, *parts])


# Called as fn(ctx, pool, client, user) just before a sign-in starts a new origin (session limits).
on_new_origin: list = []


def new_origin(ctx, pool: dict, client: dict, user: dict) -> str:
    for hook in on_new_origin:
        hook(ctx, pool, client, user)
    origin_jti = str(uuid.uuid4())
    ctx.db.execute("INSERT INTO token_origins(origin_jti, pool_id, username, sub, client_id, created, revoked) "
                   "VALUES(?,?,?,?,?,?,NULL)",
                   (origin_jti, pool["Id"], user["username"], user.get("sub"), client["ClientId"], ctx.now()))
    return origin_jti


def issue_tokens(ctx, pool: dict, client: dict, user: dict, *, auth_time: float | None, scopes: list[str],
                 device_key: str | None = None, source: str = "TokenGeneration_Authentication",
                 refresh: bool = True, origin_jti: str | None = None, client_metadata: dict | None = None,
                 nonce: str | None = None, oauth: bool = False, id_token: bool = True) -> dict:
    """Mint ID + access (+ refresh) tokens for a signed-in user; an AuthenticationResult dict.

    `origin_jti` None starts a new sign-in origin (a refresh passes the original one).
    `oauth` marks tokens issued by the OAuth endpoints (they carry `version: 2`).
    The ID and access tokens are `Deferred`: signed after the commit, or by `str()`.
    """
    now = ctx.now()
    iat = int(now)
    auth_time = int(auth_time if auth_time is not None else now)
    if origin_jti is None:
        origin_jti = new_origin(ctx, pool, client, user)
    event_id = str(uuid.uuid4())
    ctx.db.execute("INSERT INTO token_issues(event_id, origin_jti, pool_id, created) VALUES(?,?,?,?)",
                   (event_id, origin_jti, pool["Id"], now))
    shown_origin = origin_jti if revocation_enabled(client) else None
    sub = user.get("sub") or (user.get("attributes") or {}).get("sub")
    names, roles, preferred = group_claims(groups.groups_for_user(ctx.db, pool["Id"], user["username"]))

    id_claims = _base_claims(ctx, pool, iat, auth_time, shown_origin, event_id, sub)
    if names:
        id_claims["cognito:groups"] = names
    if roles:
        id_claims["cognito:roles"] = roles
    if preferred:
        id_claims["cognito:preferred_role"] = preferred
    for name, value in sorted((user.get("attributes") or {}).items()):
        if name == "sub" or value is None or not _readable(client, name):
            continue
        id_claims[name] = _attribute_claim(name, value)
    id_claims.update({"cognito:username": user["username"], "aud": client["ClientId"], "token_use": "id"})
    if nonce:
        id_claims["nonce"] = nonce

    access_claims = _base_claims(ctx, pool, iat, auth_time, shown_origin, event_id, sub)
    if names:
        access_claims["cognito:groups"] = names
    if device_key:
        access_claims["device_key"] = device_key
    access_claims.update({"client_id": client["ClientId"], "token_use": "access", "username": user["username"]})
    if oauth:
        access_claims["version"] = 2

    scopes = _pre_token_generation(ctx, pool, client, user, source, id_claims, access_claims,
                                   list(scopes), client_metadata)
    access_claims["scope"] = " ".join(scopes)

    access_ttl = validity_seconds(client, "AccessToken")
    id_ttl = validity_seconds(client, "IdToken")
    access_claims["exp"] = iat + access_ttl
    access_claims["jti"] = str(uuid.uuid4())
    id_claims["exp"] = iat + id_ttl
    id_claims["jti"] = str(uuid.uuid4())
    result: dict[str, Any] = {
        "AccessToken": keys.sign_later(ctx.db, pool["Id"], "access", _ordered(access_claims)),
        "ExpiresIn": access_ttl,
        "TokenType": "Bearer",
    }
    if id_token:
        result["IdToken"] = keys.sign_later(ctx.db, pool["Id"], "id", _ordered(id_claims))
    if refresh:
        result["RefreshToken"] = _store_refresh(ctx, pool, client, user, origin_jti, device_key,
                                                auth_time, scopes)
    return result


def _ordered(claims: dict) -> dict:
    return dict(claims)


def _store_refresh(ctx, pool: dict, client: dict, user: dict, origin_jti: str, device_key: str | None,
                   auth_time: int, scopes: list[str], expires: float | None = None) -> str:
    now = ctx.now()
    token = _new_refresh_token()
    if expires is None:
        expires = now + validity_seconds(client, "RefreshToken")
    ctx.db.execute(
        "INSERT INTO refresh_tokens(token_hash, origin_jti, pool_id, client_id, username, sub, device_key, "
        "auth_time, scopes, created, expires, revoked, rotated, grace) VALUES(?,?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL)",
        (digests.digest(token), origin_jti, pool["Id"], client["ClientId"], user["username"], user.get("sub"),
         device_key, auth_time, " ".join(scopes), now, expires))
    return token


# -- refresh -------------------------------------------------------------------------------------------
def refresh_row(ctx, token: str):
    return ctx.db.execute("SELECT * FROM refresh_tokens WHERE token_hash = ?", (digests.digest(token),)).fetchone()


def _usable_refresh_row(ctx, pool: dict, client: dict, token: str):
    """The stored refresh token, when it may still be used; AWS's errors otherwise."""
    row = refresh_row(ctx, token)
    now = ctx.now()
    if row is None or row["client_id"] != client["ClientId"] or row["pool_id"] != pool["Id"]:
        raise errors.NotAuthorizedException(INVALID_REFRESH)
    if row["revoked"] is not None:
        raise errors.NotAuthorizedException(REVOKED_REFRESH)
    origin = ctx.db.execute("SELECT revoked FROM token_origins WHERE origin_jti = ?",
                            (row["origin_jti"],)).fetchone()
    if origin is not None and origin["revoked"] is not None:
        raise errors.NotAuthorizedException(REVOKED_REFRESH)
    if row["rotated"] is not None and now > row["rotated"] + (row["grace"] or 0):
        raise errors.RefreshTokenReuseException("Refresh token has already been used.")
    if now >= row["expires"]:
        raise errors.NotAuthorizedException(EXPIRED_REFRESH)
    return row


def refresh(ctx, pool: dict, client: dict, token: str, *, device_key: str | None = None,
            rotate: bool = False, client_metadata: dict | None = None,
            source: str = "TokenGeneration_RefreshTokens", oauth: bool = False) -> tuple[dict, dict]:
    """New tokens from a refresh token: (AuthenticationResult, user).

    Without rotation the result has no RefreshToken; with `rotate` a new refresh token
    replaces the old one, which stays usable for the client's grace period.
    """
    row = _usable_refresh_row(ctx, pool, client, token)
    now = ctx.now()
    if row["device_key"] and not oauth and device_key != row["device_key"]:
        # With device tracking, a refresh token only works together with its device's key.
        raise errors.NotAuthorizedException(INVALID_REFRESH)
    user = users.find_user(ctx.db, pool, row["username"])
    if user is None or (row["sub"] and user.get("sub") and user["sub"] != row["sub"]):
        raise errors.UserNotFoundException("User does not exist.")
    if user.get("enabled") is False:
        raise errors.NotAuthorizedException("User is disabled.")
    scopes = row["scopes"].split() if row["scopes"] else [ADMIN_SCOPE]
    result = issue_tokens(ctx, pool, client, user, auth_time=row["auth_time"], scopes=scopes,
                          device_key=row["device_key"], source=source, refresh=False,
                          origin_jti=row["origin_jti"], client_metadata=client_metadata, oauth=oauth)
    if triggers.has_trigger(pool, "PreTokenGeneration"):
        # The store was released while the function ran: a concurrent refresh may have rotated
        # the token, or a sign-out revoked it, meanwhile.
        row = _usable_refresh_row(ctx, pool, client, token)
    if rotate:
        _on, grace = rotation(client)
        if row["rotated"] is None:
            ctx.db.execute("UPDATE refresh_tokens SET rotated = ?, grace = ? WHERE token_hash = ?",
                           (now, grace, row["token_hash"]))
        result["RefreshToken"] = _store_refresh(ctx, pool, client, user, row["origin_jti"], row["device_key"],
                                                row["auth_time"], scopes,
                                                expires=now + validity_seconds(client, "RefreshToken"))
    return result, user


def refresh_token_info(ctx, token: str) -> dict | None:
    """The stored facts of a refresh token (pool_id, client_id, username, ...) or None."""
    row = refresh_row(ctx, token)
    return dict(row) if row is not None else None


# -- verification --------------------------------------------------------------------------------------
# A token's issue (by its event_id) and origin (the issue's, else the token's origin_jti claim).
_ISSUE_AND_ORIGIN = ("i.event_id AS issue_event, i.origin_jti AS issue_origin, o.origin_jti AS known_origin, "
                     "o.revoked AS origin_revoked")
_ISSUE_AND_ORIGIN_JOINS = ("LEFT JOIN token_issues i ON i.event_id = ? "
                           "LEFT JOIN token_origins o ON o.origin_jti = COALESCE(i.origin_jti, ?)")
# Everything a user API needs besides the token's signature, in one statement (one round trip to
# PostgreSQL): the pool, the user the token names, the app client it was issued to, the clock (for
# the token's expiry) and the token's issue and origin (for its revocation).
_ACCESS_CONTEXT = (
    "SELECT p.data AS pool_data, c.data AS client_data, "
    "(SELECT value FROM emulator_state WHERE key = 'clock_offset') AS clock_offset, "
    "(SELECT value FROM emulator_state WHERE key = 'clock_frozen_at') AS clock_frozen_at, "
    f"{_ISSUE_AND_ORIGIN}, u.* FROM user_pools p {_ISSUE_AND_ORIGIN_JOINS} "
    "LEFT JOIN user_pool_clients c ON c.id = ? AND c.pool_id = p.id "
    "LEFT JOIN users u ON u.pool_id = p.id AND u.username = ? WHERE p.id = ?")


def _revocation_args(claims: dict) -> tuple:
    event_id, origin = claims.get("event_id"), claims.get("origin_jti")
    return (event_id or None, origin or None)


def _revoked(claims: dict, row) -> bool:
    """Whether the origin of a token is revoked, from its issue and origin as _ISSUE_AND_ORIGIN reads them."""
    if claims.get("event_id"):
        if row["issue_event"] is None:  # an issue the emulator never made, or forgot
            return True
        origin = row["issue_origin"]
    else:
        origin = claims.get("origin_jti")
    if not origin:
        return False
    return row["known_origin"] is None or row["origin_revoked"] is not None


def _origin_revoked(ctx, claims: dict) -> bool:
    row = ctx.db.execute(f"SELECT {_ISSUE_AND_ORIGIN} FROM (SELECT 1) AS one {_ISSUE_AND_ORIGIN_JOINS}",
                         _revocation_args(claims)).fetchone()
    return _revoked(claims, row)


def _signed_claims(ctx, pool_id: str, token: str, *, key_check: bool = True) -> dict:
    """The claims of a token signed by one of the pool's keys; TokenInvalid otherwise."""
    if keys.unverified_claims(token) is None:
        raise TokenInvalid("malformed")
    claims = keys.verify(ctx.db, pool_id, token, key_check=key_check)  # None without the pool
    if claims is None:
        raise TokenInvalid("signature" if pools.pool_exists(ctx.db, pool_id) else "pool")
    return claims


def _check_claims(ctx, claims: dict, pool_id: str, token_use: str) -> None:
    if not keys.issuer_matches(claims.get("iss"), pool_id):
        raise TokenInvalid("issuer")
    if claims.get("token_use") != token_use:
        raise TokenInvalid("token_use")
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or ctx.now() >= exp:
        raise TokenInvalid("expired")


def verify_token(ctx, pool_id: str, token: str, token_use: str, *, check_revocation: bool) -> dict:
    """Claims of a pool's token of `token_use`; raises TokenInvalid(reason)."""
    claims = _signed_claims(ctx, pool_id, token)
    _check_claims(ctx, claims, pool_id, token_use)
    if check_revocation and _origin_revoked(ctx, claims):
        raise TokenInvalid("revoked")
    return claims


def verify_id_token(ctx, pool_id: str, token: str, *, check_revocation: bool) -> dict:
    """Claims of a valid ID token of `pool_id`; raises TokenInvalid(reason)."""
    return verify_token(ctx, pool_id, token, "id", check_revocation=check_revocation)


def authenticate_access_token(ctx, token: str, *, required_scope: str | None = ADMIN_SCOPE
                              ) -> tuple[dict, dict, dict]:
    """(pool, user, claims) for an access token presented to a user API.

    Raises NotAuthorizedException with AWS's messages (invalid, expired, revoked, scopes,
    disabled user) and UserNotFoundException when the user is gone.
    """
    pool, user, claims, _client = authenticate_access_token_and_client(ctx, token, required_scope=required_scope)
    return pool, user, claims


def authenticate_access_token_and_client(ctx, token: str, *, required_scope: str | None = ADMIN_SCOPE
                                         ) -> tuple[dict, dict, dict, dict | None]:
    """authenticate_access_token, and the app client the token was issued to (None when it is
    gone). A token verified before costs one statement (_ACCESS_CONTEXT)."""
    pool_id = keys.token_pool_id(token) if isinstance(token, str) else None
    if not pool_id:
        raise errors.NotAuthorizedException(INVALID_ACCESS)
    try:
        # The key is not looked up again for a remembered token: the statement below finds the
        # pool gone, and a pool's keys go only with it.
        claims = _signed_claims(ctx, pool_id, token, key_check=False)
        username, client_id = claims.get("username"), claims.get("client_id")
        row = ctx.db.execute(_ACCESS_CONTEXT, (*_revocation_args(claims),
                                               client_id if isinstance(client_id, str) else None,
                                               username if isinstance(username, str) else None,
                                               pool_id)).fetchone()
        if row is None:
            raise TokenInvalid("pool")  # deleted: its tokens are invalid, before expired or revoked
        ctx.clock.offer(row["clock_offset"], row["clock_frozen_at"])
        _check_claims(ctx, claims, pool_id, "access")
        if _revoked(claims, row):
            raise TokenInvalid("revoked")
    except TokenInvalid as err:
        message = {"expired": EXPIRED_ACCESS, "revoked": REVOKED_ACCESS}.get(err.reason, INVALID_ACCESS)
        raise errors.NotAuthorizedException(message) from None
    if required_scope and required_scope not in str(claims.get("scope") or "").split():
        raise errors.NotAuthorizedException(NO_SCOPE)
    pool = loads(row["pool_data"])
    user = users.joined_user(ctx.db, pool, username if isinstance(username, str) else None, row)
    if user is None or (user.get("sub") and claims.get("sub") and user["sub"] != claims["sub"]):
        raise errors.UserNotFoundException("User does not exist.")
    if user.get("enabled") is False:
        raise errors.NotAuthorizedException("User is disabled.")
    return pool, user, claims, loads(row["client_data"]) if row["client_data"] else None


# -- revocation ----------------------------------------------------------------------------------------
def revoke_user(ctx, pool_id: str, username: str) -> None:
    """Sign a user out everywhere: every origin (access/ID tokens) and refresh token so far."""
    now = ctx.now()
    ctx.db.execute("UPDATE token_origins SET revoked = ? WHERE pool_id = ? AND username = ? AND revoked IS NULL",
                   (now, pool_id, username))
    ctx.db.execute("UPDATE refresh_tokens SET revoked = ? WHERE pool_id = ? AND username = ? AND revoked IS NULL",
                   (now, pool_id, username))


def revoke_origin(ctx, origin_jti: str) -> None:
    now = ctx.now()
    ctx.db.execute("UPDATE token_origins SET revoked = ? WHERE origin_jti = ? AND revoked IS NULL",
                   (now, origin_jti))
    ctx.db.execute("UPDATE refresh_tokens SET revoked = ? WHERE origin_jti = ? AND revoked IS NULL",
                   (now, origin_jti))


def user_origins(ctx, pool_id: str, username: str, since: float | None = None) -> list[dict]:
    """The user's unrevoked sign-in origins (newest first), each with `last_active` (its latest
    token issue, refreshes included) and `refresh_expires` (its latest live refresh token's
    expiry, None without one)."""
    sql = ("SELECT o.origin_jti, o.client_id, o.created, o.sub, "
           "(SELECT MAX(i.created) FROM token_issues i WHERE i.origin_jti = o.origin_jti) AS last_active, "
           "(SELECT MAX(r.expires) FROM refresh_tokens r WHERE r.origin_jti = o.origin_jti AND r.revoked IS NULL "
           "AND r.rotated IS NULL) AS refresh_expires "
           "FROM token_origins o WHERE o.pool_id = ? AND o.username = ? AND o.revoked IS NULL")
    args: list = [pool_id, username]
    if since is not None:
        sql += " AND o.created >= ?"
        args.append(since)
    rows = ctx.db.execute(sql + " ORDER BY o.created DESC, o.origin_jti", args).fetchall()
    out = []
    for row in rows:
        item = dict(row)
        item["last_active"] = item["last_active"] or item["created"]
        out.append(item)
    return out


def token_origin(ctx, claims: dict) -> str | None:
    """The origin a verified token belongs to (from its event_id, else its origin_jti claim)."""
    event_id = claims.get("event_id")
    if event_id:
        row = ctx.db.execute("SELECT origin_jti FROM token_issues WHERE event_id = ?", (event_id,)).fetchone()
        if row is not None:
            return row["origin_jti"]
    return claims.get("origin_jti")


def check_client_secret(ctx, client: dict, given: str | None) -> None:
    """NotAuthorizedException unless a client with a secret got one of its secrets."""
    secrets = clients.client_secrets(ctx.db, client["ClientId"])
    if not secrets:
        return
    if not given:
        raise errors.NotAuthorizedException(f"Client {client['ClientId']} is configured for secret but secret was not received")
    if given not in secrets:
        raise errors.NotAuthorizedException("Invalid client secret.")


# -- operations ----------------------------------------------------------------------------------------


