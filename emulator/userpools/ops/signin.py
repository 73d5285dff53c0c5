"""The sign-in operations: InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge,
AdminRespondToAuthChallenge. Each finds the pool and app client and hands over to the engine."""

from __future__ import annotations

from emulator.userpools import errors, registry
from emulator.userpools.model import clients, pools
from emulator.userpools.signin import challenges, flows

NOT_SUPPORTED = "Initiate Auth method not supported."


@registry.handler
def initiate_auth(ctx, req):
    client = clients.load_client(ctx.db, req["ClientId"])
    pool = pools.load_pool(ctx.db, client["UserPoolId"])
    if req["AuthFlow"] in flows.ADMIN_PASSWORD_FLOWS:
        raise errors.InvalidParameterException(NOT_SUPPORTED)
    return flows.initiate(ctx, pool, client, req, admin=False).answer()


@registry.handler
def admin_initiate_auth(ctx, req):
    pool, client = clients.pool_and_client(ctx.db, req)
    if req["AuthFlow"] == "USER_PASSWORD_AUTH":
        raise errors.InvalidParameterException(NOT_SUPPORTED)
    return flows.initiate(ctx, pool, client, req, admin=True).answer()


@registry.handler
def respond_to_auth_challenge(ctx, req):
    client = clients.load_client(ctx.db, req["ClientId"])
    pool = pools.load_pool(ctx.db, client["UserPoolId"])
    return challenges.respond(ctx, pool, client, req, admin=False).answer()


@registry.handler
def admin_respond_to_auth_challenge(ctx, req):
    pool, client = clients.pool_and_client(ctx.db, req)
    return challenges.respond(ctx, pool, client, req, admin=True).answer()
