"""mfa_ops: split from mfa.py (see ARCHITECTURE.md)."""

from __future__ import annotations

from typing import Any

from emulator.userpools import errors, registry
from emulator.userpools.accounts import tokens
from emulator.userpools.accounts.mfa import (
    apply_preferences,
    matching_step,
    new_secret,
    pool_mfa_mode,
    preferred_factor,
    settings,
)
from emulator.userpools.model import clients, pools, users
from emulator.userpools.signin import sessions as auth_sessions


def _session_user(ctx, session: str) -> tuple[dict, dict, dict]:
    """(state, pool, user) of an MFA_SETUP challenge session."""
    state = auth_sessions.load(ctx, session)
    if state.get("challenge") != "MFA_SETUP":
        raise errors.NotAuthorizedException(auth_sessions.INVALID)
    pool = pools.load_pool(ctx.db, state["pool_id"])
    user = users.find_user(ctx.db, pool, state["username"])
    if user is None:
        raise errors.NotAuthorizedException("Invalid session for the user.")
    return state, pool, user


def _next_session(ctx, state: dict, old: str, **extra: Any) -> str:
    """Consume `old` and issue the session for the next step, carrying the same challenge."""
    client = clients.load_client(ctx.db, state["client_id"], state["pool_id"])
    auth_sessions.consume(ctx, old)
    return auth_sessions.issue(ctx, {**state, **extra}, client)


@registry.handler
def associate_software_token(ctx, req):
    if req.get("AccessToken"):
        pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
        settings(user)["totp_pending"] = secret = new_secret()
        users.save_user(ctx.db, pool, user)
        return {"SecretCode": secret}
    if req.get("Session"):
        state, pool, user = _session_user(ctx, req["Session"])
        settings(user)["totp_pending"] = secret = new_secret()
        users.save_user(ctx.db, pool, user)
        return {"SecretCode": secret, "Session": _next_session(ctx, state, req["Session"])}
    raise errors.InvalidParameterException("Invalid Parameter Provided")


@registry.handler
def verify_software_token(ctx, req):
    session = req.get("Session")
    if req.get("AccessToken"):
        pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
        state = None
    elif session:
        state, pool, user = _session_user(ctx, session)
    else:
        raise errors.InvalidParameterException("Invalid Parameter Provided")
    mfa = settings(user)
    pending = mfa.get("totp_pending")
    if not pending:
        raise errors.SoftwareTokenMFANotFoundException("Software Token MFA has not been associated with the user.")
    step = matching_step(pending, req["UserCode"], ctx.now(), None)
    if step is None:
        raise errors.EnableSoftwareTokenMFAException("Code mismatch and fail enable Software Token MFA")
    mfa["totp_secret"] = pending
    mfa["totp_pending"] = None
    mfa["totp_last_step"] = step
    mfa["totp_device_name"] = req.get("FriendlyDeviceName")
    # Set up during sign-in (MFA_SETUP) or in a pool that requires MFA: the token is the
    # user's MFA from now on.
    if state is not None or pool_mfa_mode(pool) == "ON":
        mfa["totp_enabled"] = True
        if not preferred_factor(user):
            mfa["preferred"] = "SOFTWARE_TOKEN_MFA"
    users.save_user(ctx.db, pool, user)
    out = {"Status": "SUCCESS"}
    if state is not None:
        out["Session"] = _next_session(ctx, state, session, mfa_setup_verified="SOFTWARE_TOKEN_MFA")
    return out


@registry.handler
def set_user_mfa_preference(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    apply_preferences(pool, user, req, admin=False)
    users.save_user(ctx.db, pool, user)
    return {}


@registry.handler
def admin_set_user_mfa_preference(ctx, req):
    pool, user = users.admin_target(ctx.db, req)
    apply_preferences(pool, user, req, admin=True)
    users.save_user(ctx.db, pool, user)
    return {}
