"""GetDerivedToken: OAuth 2.0 token exchange (RFC 8693) for tokens of the client's own pool.

The subject token (a Cognito access or ID token of the pool, verified and not revoked) is
exchanged for a new access or ID token for the requesting client, narrowed to the requested
scopes and bound to one audience or resource server. With an actor token the issued token
carries an `act` claim naming the intermediary (delegation, ALLOW_TOKEN_EXCHANGE_DELEGATION);
without one the user appears to act directly (impersonation, ALLOW_TOKEN_EXCHANGE_IMPERSONATION).
The issued token keeps the subject's sign-in origin, so signing out revokes it too.
SAML 2.0 assertions and tokens of third-party providers are not accepted.
"""

from __future__ import annotations

import uuid

from emulator.userpools import errors, registry
from emulator.userpools.accounts import tokens
from emulator.userpools.model import clients, keys, pools, resource_servers, users

FLOW_NOT_ENABLED = "Auth flow not enabled for this client"
EXTERNAL_UNSUPPORTED = "Only Amazon Cognito ID and access tokens of this user pool can be exchanged."
_TOKEN_USE = {"ACCESS_TOKEN": "access", "ID_TOKEN": "id"}
_MESSAGES = {"expired": "{} has expired", "revoked": "{} has been revoked"}
# Claims of a subject ID token that a derived token does not copy (they are set anew).
_FRESH_ID_CLAIMS = {"aud", "iat", "exp", "jti", "nonce", "at_hash", "act"}


def _verified(ctx, pool: dict, token: str, kind: str, provider: str | None, label: str) -> dict:
    if kind == "SAML2" or provider:
        raise errors.InvalidParameterException(EXTERNAL_UNSUPPORTED)
    if keys.token_pool_id(token) != pool["Id"]:
        raise errors.NotAuthorizedException(f"Invalid {label}")
    try:
        return tokens.verify_token(ctx, pool["Id"], token, _TOKEN_USE[kind], check_revocation=True)
    except tokens.TokenInvalid as err:
        raise errors.NotAuthorizedException(_MESSAGES.get(err.reason, "Invalid {}").format(label)) from None


def _subject_user(ctx, pool: dict, claims: dict) -> dict | None:
    name = claims.get("username") or claims.get("cognito:username")
    if not name:
        return None  # a machine-to-machine access token: the subject is a client
    user = users.find_user(ctx.db, pool, name)
    if user is None or (user.get("sub") and claims.get("sub") and user["sub"] != claims["sub"]):
        raise errors.UserNotFoundException("User does not exist.")
    if user.get("enabled") is False:
        raise errors.NotAuthorizedException("User is disabled.")
    return user


def _scopes(client: dict, subject: dict, kind: str, requested: list[str] | None) -> list[str]:
    held = str(subject.get("scope") or "").split() if kind == "ACCESS_TOKEN" else \
        list(client.get("AllowedOAuthScopes") or [])
    if not requested:
        return held
    allowed = set(client.get("AllowedOAuthScopes") or [])
    granted = [s for s in dict.fromkeys(requested) if s in held and s in allowed]
    if not granted:
        raise errors.InvalidParameterException("None of the requested scopes can be granted.")
    return granted


def _actor_claim(actor: dict) -> dict:
    act = {"sub": actor.get("sub")}
    if actor.get("client_id") or actor.get("aud"):
        act["client_id"] = actor.get("client_id") or actor.get("aud")
    name = actor.get("username") or actor.get("cognito:username")
    if name:
        act["username"] = name
    if actor.get("act"):
        act["act"] = actor["act"]  # a chain of intermediaries, as RFC 8693 nests them
    return act


@registry.handler
def get_derived_token(ctx, req):
    client = clients.load_client(ctx.db, req["ClientId"])
    pool = pools.load_pool(ctx.db, client["UserPoolId"])
    tokens.check_client_secret(ctx, client, req.get("ClientSecret"))
    actor_token = req.get("ActorToken")
    needed = "ALLOW_TOKEN_EXCHANGE_DELEGATION" if actor_token else "ALLOW_TOKEN_EXCHANGE_IMPERSONATION"
    if needed not in clients.allowed_flows(client):
        raise errors.InvalidParameterException(FLOW_NOT_ENABLED)
    if actor_token and not req.get("ActorTokenType"):
        raise errors.InvalidParameterException("ActorTokenType is required when ActorToken is provided.")
    if not actor_token and (req.get("ActorTokenType") or req.get("ActorTokenProviderName")):
        raise errors.InvalidParameterException("ActorToken is required when ActorTokenType is provided.")
    if req.get("Audiences") and req.get("Resources"):
        raise errors.InvalidParameterException("Audiences and Resources cannot both be specified.")
    kind = req["SubjectTokenType"]
    subject = _verified(ctx, pool, req["SubjectToken"], kind, req.get("SubjectTokenProviderName"), "SubjectToken")
    actor = _verified(ctx, pool, actor_token, req["ActorTokenType"], req.get("ActorTokenProviderName"),
                      "ActorToken") if actor_token else None
    user = _subject_user(ctx, pool, subject)
    for resource in req.get("Resources") or []:
        resource_servers.load_resource_server(ctx.db, pool["Id"], resource)
    audience = (req.get("Audiences") or req.get("Resources") or [None])[0]
    issued_type = req.get("RequestedTokenType") or "ACCESS_TOKEN"
    now = int(ctx.now())
    base = {"sub": subject.get("sub"),
            "iss": keys.issuer(ctx.config, ctx.base_url, tokens.pool_region(pool), pool["Id"])}
    for name in ("origin_jti", "event_id", "auth_time"):
        if subject.get(name) is not None:
            base[name] = subject[name]
    if issued_type == "ID_TOKEN":
        if kind != "ID_TOKEN":
            raise errors.InvalidParameterException("An ID token can only be derived from an ID token.")
        ttl = tokens.validity_seconds(client, "IdToken")
        claims = {**{k: v for k, v in subject.items() if k not in _FRESH_ID_CLAIMS}, **base,
                  "aud": audience or client["ClientId"], "token_use": "id"}
        scopes = None
    else:
        ttl = tokens.validity_seconds(client, "AccessToken")
        scopes = _scopes(client, subject, kind, req.get("Scopes"))
        claims = {**base, "token_use": "access", "scope": " ".join(scopes), "client_id": client["ClientId"]}
        if user is not None:
            claims["username"] = user["username"]
            if subject.get("cognito:groups"):
                claims["cognito:groups"] = subject["cognito:groups"]
        if audience:
            claims["aud"] = audience
    if actor is not None:
        claims["act"] = _actor_claim(actor)
    claims.update({"iat": now, "exp": now + ttl, "jti": str(uuid.uuid4())})
    token = keys.sign(ctx.db, pool["Id"], _TOKEN_USE[issued_type], claims)
    out = {"IssuedToken": token, "IssuedTokenType": issued_type,
           "TokenType": "Bearer" if issued_type == "ACCESS_TOKEN" else "N_A", "ExpiresIn": ttl}
    if scopes is not None:
        out["Scopes"] = scopes
    return out
