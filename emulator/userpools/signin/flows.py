"""First steps of a sign-in: the InitiateAuth / AdminInitiateAuth flows (USER_SRP_AUTH,
USER_PASSWORD_AUTH and the admin password flows, REFRESH_TOKEN_AUTH, USER_AUTH with its factor
choice or a sign-up's Session, CUSTOM_AUTH), and the managed login's sign-in form."""

from __future__ import annotations

import json

from emulator.userpools import errors
from emulator.userpools.accounts import tokens
from emulator.userpools.accounts import webauthn as webauthn_ops
from emulator.userpools.model import clients, passwords
from emulator.userpools.signin import custom, sessions
from emulator.userpools.signin.engine import INCORRECT, USER_NOT_FOUND, SignIn, Step, missing
from emulator.userpools.signin.srp_auth import parse_srp_a, password_verifier_challenge

REFRESH_FLOWS = ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN")
ADMIN_PASSWORD_FLOWS = ("ADMIN_USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH")
FLOW_PERMISSION = {
    "USER_SRP_AUTH": "ALLOW_USER_SRP_AUTH",
    "USER_PASSWORD_AUTH": "ALLOW_USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ADMIN_NO_SRP_AUTH": "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "REFRESH_TOKEN_AUTH": "ALLOW_REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN": "ALLOW_REFRESH_TOKEN_AUTH",
    "CUSTOM_AUTH": "ALLOW_CUSTOM_AUTH",
    "USER_AUTH": "ALLOW_USER_AUTH",
}
# The flow a managed-login sign-in records (the form sends a password; no client flow gate applies).
HOSTED_FLOW = "USER_PASSWORD_AUTH"


def _gate(pool: dict, client: dict, flow: str) -> None:
    if FLOW_PERMISSION[flow] not in clients.allowed_flows(client):
        if flow == "USER_PASSWORD_AUTH":
            raise errors.InvalidParameterException("USER_PASSWORD_AUTH flow not enabled for this client")
        raise errors.InvalidParameterException("Auth flow not enabled for this client")
    if flow == "USER_AUTH" and pool.get("UserPoolTier") == "LITE":
        raise errors.FeatureUnavailableInTierException(
            "This feature is not available in the current tier of the user pool.")


def initiate(ctx, pool: dict, client: dict, req: dict, *, admin: bool) -> Step:
    """InitiateAuth (`admin` False) or AdminInitiateAuth."""
    flow = req["AuthFlow"]
    params = req.get("AuthParameters") or {}
    meta = req.get("ClientMetadata")
    _gate(pool, client, flow)
    if flow in REFRESH_FLOWS:
        return _refresh(ctx, pool, client, params, meta)
    typed = params.get("USERNAME")
    sign_in = SignIn.begin(ctx, pool, client, flow, admin=admin, typed=typed)
    if not typed:
        raise missing("USERNAME")
    if flow == "CUSTOM_AUTH":
        return custom.start(sign_in, params, meta)
    if flow == "USER_SRP_AUTH":
        return _srp(sign_in, params, meta)
    if flow == "USER_AUTH" and req.get("Session"):
        return _auto_sign_in(sign_in, params, req["Session"], meta)
    if flow == "USER_AUTH":
        return _user_auth(sign_in, params, meta)
    return password(sign_in, params, meta)


def _srp(sign_in: SignIn, params: dict, meta: dict | None) -> Step:
    if not params.get("SRP_A"):
        raise missing("SRP_A")
    big_a = parse_srp_a(params["SRP_A"])
    user = sign_in.identify(params)
    sign_in.state["device_key"] = params.get("DEVICE_KEY")
    if user is None:
        if not sign_in.prevents_existence_errors:
            raise errors.UserNotFoundException(USER_NOT_FOUND)
        return password_verifier_challenge(sign_in, big_a, with_session=False)
    sign_in.check_lockout()
    sign_in.status_before_password()
    sign_in.pre_authentication(meta)
    return password_verifier_challenge(sign_in, big_a, with_session=False)


def password(sign_in: SignIn, params: dict, meta: dict | None) -> Step:
    """USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH / ADMIN_NO_SRP_AUTH, and the managed login's form."""
    typed = params["USERNAME"]
    given = params.get("PASSWORD")
    if given is None:
        raise missing("PASSWORD")
    user = sign_in.identify(params)
    sign_in.state["device_key"] = params.get("DEVICE_KEY")
    if user is None:
        user = sign_in.migrate_user(typed, given, meta)
        if user is None:
            if sign_in.prevents_existence_errors:
                raise errors.NotAuthorizedException(INCORRECT)
            raise errors.UserNotFoundException(USER_NOT_FOUND)
    if sign_in.hosted and user.get("status") == "EXTERNAL_PROVIDER":
        # A federated user has no password to type into the managed login's form.
        raise errors.NotAuthorizedException(INCORRECT)
    sign_in.check_password(given, meta)
    return sign_in.proceed()


def _refresh(ctx, pool: dict, client: dict, params: dict, meta: dict | None) -> Step:
    token = params.get("REFRESH_TOKEN")
    if not token:
        raise missing("REFRESH_TOKEN")
    if tokens.rotation(client)[0]:
        raise errors.NotAuthorizedException(
            "Refresh token rotation is enabled for this app client; use GetTokensFromRefreshToken.")
    info = tokens.refresh_token_info(ctx, token)
    if info is None or info["client_id"] != client["ClientId"]:
        raise errors.NotAuthorizedException(tokens.INVALID_REFRESH)
    sign_in = SignIn(ctx, pool, client, {})
    user = sign_in.find_user(info["username"])
    names = [params.get("USERNAME"), info["username"]]
    if user is not None:
        attrs = user.get("attributes") or {}
        names += [attrs.get("email"), attrs.get("phone_number"), attrs.get("preferred_username")]
    sign_in.check_secret(names, params.get("SECRET_HASH"))
    result, refreshed = tokens.refresh(ctx, pool, client, token, device_key=params.get("DEVICE_KEY"),
                                       client_metadata=meta)
    return Step(user=refreshed, result=result)


# -- USER_AUTH (choice-based) -------------------------------------------------------------------------
def _available_factors(sign_in: SignIn) -> list[str]:
    allowed = webauthn_ops.allowed_first_factors(sign_in.pool)
    out: list[str] = []
    for factor in webauthn_ops.configured_auth_factors(sign_in.ctx, sign_in.pool, sign_in.user):
        if factor not in allowed:
            continue
        if factor == "PASSWORD":
            if passwords.has_password(sign_in.user):
                out += ["PASSWORD", "PASSWORD_SRP"]
        else:
            out.append(factor)
    return out


def _user_auth(sign_in: SignIn, params: dict, meta: dict | None) -> Step:
    user = sign_in.identify(params)
    sign_in.state["device_key"] = params.get("DEVICE_KEY")
    if user is None:
        if sign_in.prevents_existence_errors:
            if params.get("PREFERRED_CHALLENGE") == "PASSWORD_SRP" and params.get("SRP_A"):
                return password_verifier_challenge(sign_in, parse_srp_a(params["SRP_A"]), with_session=True)
            raise errors.NotAuthorizedException(INCORRECT)
        raise errors.UserNotFoundException(USER_NOT_FOUND)
    sign_in.state["username"] = user["username"]
    sign_in.check_lockout()
    sign_in.status_before_password()
    sign_in.pre_authentication(meta)
    available = _available_factors(sign_in)
    preferred = params.get("PREFERRED_CHALLENGE")
    if preferred and preferred in available:
        return start_factor(sign_in, preferred, params)
    sign_in.state["available"] = available
    return sign_in.issue("SELECT_CHALLENGE", {}, available=available)


def _auto_sign_in(sign_in: SignIn, params: dict, session: str, meta: dict | None) -> Step:
    """USER_AUTH with the Session of SignUp (auto-confirmed user) or ConfirmSignUp: the
    confirmation stands in for the first factor, once, within the session's life."""
    ctx, pool, client = sign_in.ctx, sign_in.pool, sign_in.client
    user = sign_in.identify(params)
    saved = sessions.load(ctx, session, client["ClientId"])
    if not saved.get("auto_sign_in") or saved.get("pool_id") != pool["Id"] or user is None \
            or saved.get("username") != user["username"]:
        raise errors.NotAuthorizedException(sessions.INVALID)
    sessions.consume(ctx, saved)
    sign_in.check_lockout()
    sign_in.status_before_password()
    sign_in.status_after_password()
    sign_in.pre_authentication(meta)
    sign_in.state.update({"username": user["username"], "device_key": params.get("DEVICE_KEY"),
                          "first_factor": "SIGN_UP", "first_factor_otp": True})
    return sign_in.proceed()


def start_factor(sign_in: SignIn, factor: str, inputs: dict) -> Step:
    """The first factor a USER_AUTH sign-in chose (PREFERRED_CHALLENGE, or SELECT_CHALLENGE's ANSWER)."""
    sign_in.state["first_factor"] = factor
    if factor == "PASSWORD":
        if inputs.get("PASSWORD") is None:
            raise missing("PASSWORD")
        sign_in.check_password(inputs["PASSWORD"], None)
        return sign_in.proceed()
    if factor == "PASSWORD_SRP":
        if not inputs.get("SRP_A"):
            raise missing("SRP_A")
        return password_verifier_challenge(sign_in, parse_srp_a(inputs["SRP_A"]), with_session=True)
    if factor in ("EMAIL_OTP", "SMS_OTP"):
        sign_in.state["first_factor_otp"] = True
        return sign_in.issue(factor, sign_in.send_otp(factor))
    if factor == "WEB_AUTHN":
        options = webauthn_ops.begin_assertion(sign_in.ctx, sign_in.pool, sign_in.user)
        sign_in.state["webauthn_challenge"] = options["challenge"]
        return sign_in.issue("WEB_AUTHN", {"CREDENTIAL_REQUEST_OPTIONS": json.dumps(options)})
    raise errors.InvalidParameterException(f"The challenge {factor} is not available for the user.")


# -- managed login -------------------------------------------------------------------------------------
def managed_login(ctx, pool: dict, client: dict, username: str, given: str, secret_hash: str | None) -> Step:
    """The managed login's sign-in form: the password flow, with the SECRET_HASH the managed login
    computes itself (it knows the client's secret), and no ExplicitAuthFlows gate."""
    sign_in = SignIn.begin(ctx, pool, client, HOSTED_FLOW, typed=username, hosted=True)
    return password(sign_in, {"USERNAME": username, "PASSWORD": given, "SECRET_HASH": secret_hash}, None)


def managed_login_signed_up(ctx, pool: dict, client: dict, user: dict) -> Step:
    """A user who just signed up (or confirmed the sign-up) on the managed login's pages goes on
    as signed in: new password and MFA still apply."""
    sign_in = SignIn.begin(ctx, pool, client, HOSTED_FLOW, typed=user["username"], hosted=True)
    sign_in.user = user
    return sign_in.proceed()
