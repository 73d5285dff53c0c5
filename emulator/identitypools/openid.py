"""Cognito Identity OpenID tokens: GetOpenIdToken, GetOpenIdTokenForDeveloperIdentity, the
signing key (kept in the store) and where its public half is published:

- `/_identity/.well-known/jwks.json` (also `/.well-known/jwks_uri`, AWS's own path);
- `/_identity/.well-known/openid-configuration` (issuer `https://cognito-identity.amazonaws.com`,
  as in AWS's tokens, whose `jwks_uri` points back at the emulator).
"""

from __future__ import annotations

from flask import jsonify, request

from emulator.identitypools import errors, registry
from emulator.identitypools.identities import identity_for_request, login_owner, require_identity, resolve
from emulator.identitypools.logins import COGNITO_IDENTITY, Login, verify_logins
from emulator.identitypools.openid_keys import (
    ISSUER,
    jwks,
    sign,
    verify_token,
)
from emulator.identitypools.pools import (
    classic_flow_allowed,
    load_identity_pool,
    load_roles,
    principal_tag_map,
)

OPENID_TOKEN_SECONDS = 600
DEVELOPER_TOKEN_SECONDS = 900
MAX_TOKEN_SECONDS = 86400
JWKS_PATH = "/_identity/.well-known/jwks.json"
DISCOVERY_PATH = "/_identity/.well-known/openid-configuration"




def _amr(logins: list[Login], developer: tuple[str, str] | None, pool_id: str) -> list[str]:
    """`amr` of a token for these logins; a Cognito OpenID token passed back carries its own."""
    entries: list[str] = []
    for login in logins:
        if login.kind != "cognito":
            entries += [login.provider, login.amr_detail]
    if developer is not None:
        entries += [developer[0], f"{developer[0]}:{pool_id}:{developer[1]}"]
    for login in logins:
        if login.kind == "cognito":
            carried = [e for e in login.claims.get("amr") or [] if e not in ("authenticated", "unauthenticated")]
            if not entries and not carried:
                return list(login.claims.get("amr") or ["unauthenticated"])
            entries += carried
    return ["authenticated", *dict.fromkeys(entries)]


def _token(ctx, pool_id: str, identity_id: str, amr: list[str], seconds: int, tags: dict) -> str:
    now = int(ctx.now())
    claims = {"sub": identity_id, "aud": pool_id, "amr": amr, "iss": ISSUER, "iat": now,
              "exp": now + seconds}
    if tags:
        claims["https://aws.amazon.com/tags"] = {"principal_tags": {k: [v] for k, v in tags.items()}}
    return sign(ctx, claims)


def _tags_from_logins(db, pool_id: str, logins: list[Login]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for login in logins:
        if login.kind == "cognito":
            carried = (login.claims.get("https://aws.amazon.com/tags") or {}).get("principal_tags") or {}
            for k, v in carried.items():
                tags[k] = v[0] if isinstance(v, list) and v else v
            continue
        for tag, claim in principal_tag_map(db, pool_id, login.provider).items():
            value = login.claims.get(claim)
            if value is not None:
                tags[tag] = str(value)
    return tags


@registry.handler
def get_open_id_token(ctx, req):
    # The pool's own settings are checked before the logins are looked at.
    identity = require_identity(ctx.db, req["IdentityId"])
    pool = load_identity_pool(ctx.db, identity["IdentityPoolId"])
    _roles, mappings = load_roles(ctx.db, pool["IdentityPoolId"])
    if mappings:
        raise errors.InvalidParameterException("Basic (classic) flow is not supported with RoleMappings, please use enhanced flow.")
    if not classic_flow_allowed(pool):
        raise errors.InvalidParameterException("Basic (classic) flow is not enabled, please use enhanced flow.")
    pool, _identity, logins, identity_id = identity_for_request(ctx, req["IdentityId"], req.get("Logins"))
    pool_id = pool["IdentityPoolId"]
    if not logins:
        amr = ["unauthenticated"]
    else:
        amr = _amr(logins, None, pool_id)
    token = _token(ctx, pool_id, identity_id, amr, OPENID_TOKEN_SECONDS,
                   _tags_from_logins(ctx.db, pool_id, logins))
    return {"IdentityId": identity_id, "Token": token}


@registry.handler
def get_open_id_token_for_developer_identity(ctx, req):
    pool = load_identity_pool(ctx.db, req["IdentityPoolId"])
    pool_id = pool["IdentityPoolId"]
    developer_name = pool.get("DeveloperProviderName")
    raw = dict(req["Logins"])
    if not developer_name or developer_name not in raw:
        # AWS's wording (danilop/LambdAuth#32); the error type is not confirmed.
        raise errors.InvalidParameterException("This identity pool does not support the specified developer provider")
    user_identifier = raw.pop(developer_name)
    if not user_identifier:
        raise errors.InvalidParameterException("Developer user identifier must not be empty.")
    seconds = req.get("TokenDuration") or DEVELOPER_TOKEN_SECONDS
    if seconds > MAX_TOKEN_SECONDS:
        raise errors.InvalidParameterException(f"TokenDuration must be at most {MAX_TOKEN_SECONDS} seconds.")
    logins = verify_logins(ctx, pool, raw)
    identity_id = req.get("IdentityId")
    owner = login_owner(ctx.db, pool_id, developer_name, user_identifier)
    if identity_id is not None and owner is not None and owner != identity_id:
        raise errors.DeveloperUserAlreadyRegisteredException("The provided developer user identifier is already registered with Cognito "
                           "under a different identity ID.")
    identity_id = resolve(ctx, pool, identity_id, logins, developer=(developer_name, user_identifier))
    tags = _tags_from_logins(ctx.db, pool_id, logins)
    tags.update(req.get("PrincipalTags") or {})
    amr = _amr(logins, (developer_name, user_identifier), pool_id)
    return {"IdentityId": identity_id, "Token": _token(ctx, pool_id, identity_id, amr, int(seconds), tags)}


def install(emulator) -> None:
    app = emulator.flask

    def keys_document():
        with emulator.store.transaction() as db:
            return jsonify(jwks(db))

    app.add_url_rule(JWKS_PATH, "identity_jwks", keys_document)
    app.add_url_rule("/.well-known/jwks_uri", "identity_jwks_aws_path", keys_document)

    @app.get(DISCOVERY_PATH)
    def identity_openid_configuration():
        base = emulator.base_url(request)
        return jsonify({"issuer": ISSUER, "jwks_uri": base + JWKS_PATH,
                        "response_types_supported": ["code", "token", "id_token"],
                        "subject_types_supported": ["public"],
                        "id_token_signing_alg_values_supported": ["RS512"],
                        "claims_supported": ["sub", "aud", "amr", "iss", "iat", "exp"]})


__all__ = ["COGNITO_IDENTITY", "verify_token", "jwks", "sign"]
