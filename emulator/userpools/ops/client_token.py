"""GetClientToken: a machine-to-machine access token for an app client, by API.

The same token the /oauth2/token client_credentials grant issues (sub = client id, custom
scopes only, PreTokenGeneration V3 with TokenGeneration_ClientCredentials), for a client with
a secret whose only explicit auth flow is ALLOW_CLIENT_TOKEN_AUTH. No domain is needed.
"""

from __future__ import annotations

from emulator.oauth.endpoints import client_credentials_token
from emulator.userpools import errors, registry
from emulator.userpools.model import clients, pools

FLOW_NOT_ENABLED = "Auth flow not enabled for this client"
BAD_SECRET = "Invalid client secret."
_RESERVED_SCOPES = {"openid", "email", "phone", "profile", "aws.cognito.signin.user.admin"}


def granted_scopes(client: dict, requested: list[str] | None) -> list[str]:
    """The custom scopes an M2M token carries: the requested ones (each must be one of the
    client's custom scopes), or every custom scope of the client when none are requested."""
    allowed = [s for s in client.get("AllowedOAuthScopes") or [] if s not in _RESERVED_SCOPES]
    if requested:
        for scope in requested:
            if scope not in allowed:
                raise errors.InvalidParameterException(f"Invalid scope requested: {scope}")
        return list(dict.fromkeys(requested))
    if not allowed:
        raise errors.InvalidParameterException("No custom scopes are configured for this client; "
                           "M2M access tokens need at least one.")
    return allowed


@registry.handler
def get_client_token(ctx, req):
    client = clients.load_client(ctx.db, req["ClientId"])
    pool = pools.load_pool(ctx.db, client["UserPoolId"])
    if clients.CLIENT_TOKEN_FLOW not in clients.allowed_flows(client):
        raise errors.InvalidParameterException(FLOW_NOT_ENABLED)
    if req["Secret"] not in clients.client_secrets(ctx.db, client["ClientId"]):
        raise errors.NotAuthorizedException(BAD_SECRET)
    scopes = granted_scopes(client, req.get("Scopes"))
    token, ttl = client_credentials_token(ctx, pool, client, scopes, req.get("ClientMetadata"))
    return {"ClientAuthenticationResult": {"AccessToken": token, "ExpiresIn": ttl, "TokenType": "Bearer"}}
