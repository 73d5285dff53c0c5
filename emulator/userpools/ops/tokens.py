"""tokens_ops: split from tokens.py (see ARCHITECTURE.md)."""

from __future__ import annotations

from emulator.userpools import errors, registry
from emulator.userpools.accounts.tokens import (
    authenticate_access_token,
    check_client_secret,
    refresh,
    refresh_row,
    revocation_enabled,
    revoke_origin,
    revoke_user,
    rotation,
)
from emulator.userpools.model import clients, keys, pools, users
from protocol import ServiceError


@registry.handler
def revoke_token(ctx, req):
    try:
        client = clients.load_client(ctx.db, req["ClientId"])
    except ServiceError:
        raise errors.UnauthorizedException("Invalid client id or client secret.") from None
    secrets = clients.client_secrets(ctx.db, client["ClientId"])
    if secrets and req.get("ClientSecret") not in secrets:
        raise errors.UnauthorizedException("Invalid client id or client secret.")
    token = req["Token"]
    if keys.unverified_claims(token) is not None:
        raise errors.UnsupportedTokenTypeException("Unsupported token type.")
    if not revocation_enabled(client):
        raise errors.UnsupportedOperationException("Token revocation is not enabled for this app client.")
    row = refresh_row(ctx, token)
    if row is None:
        return {}
    if row["client_id"] != client["ClientId"]:
        raise errors.UnauthorizedException("Invalid client id or client secret.")
    revoke_origin(ctx, row["origin_jti"])
    return {}


@registry.handler
def global_sign_out(ctx, req):
    pool, user, _claims = authenticate_access_token(ctx, req["AccessToken"])
    revoke_user(ctx, pool["Id"], user["username"])
    return {}


@registry.handler
def admin_user_global_sign_out(ctx, req):
    pool, user = users.admin_target(ctx.db, req)
    revoke_user(ctx, pool["Id"], user["username"])
    return {}


@registry.handler
def get_tokens_from_refresh_token(ctx, req):
    client = clients.load_client(ctx.db, req["ClientId"])
    pool = pools.load_pool(ctx.db, client["UserPoolId"])
    check_client_secret(ctx, client, req.get("ClientSecret"))
    enabled, _grace = rotation(client)
    result, _user = refresh(ctx, pool, client, req["RefreshToken"], device_key=req.get("DeviceKey"),
                            rotate=enabled, client_metadata=req.get("ClientMetadata"))
    return {"AuthenticationResult": result}
