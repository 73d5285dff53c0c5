"""Managed-login sign-in: the password step, then NEW_PASSWORD_REQUIRED, MFA (SMS, email,
TOTP, choice and TOTP set-up) and success, with the same user-state rules, lockout and
triggers as the API (the checks are the sign-in engine's own, from emulator.userpools.auth).

Each step that needs another page stores a flow (common.start_flow) whose token the next
form sends back in its `session` field.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from werkzeug.wrappers import Response

from emulator.oauth import common
from emulator.oauth.common import AuthRequest
from protocol import ServiceError


def _auth():
    return common._m("auth")


def _users():
    return common._m("users")


def _mfa():
    return common._m("mfa")


def find_user(ctx, pool: dict, name: str) -> dict | None:
    return _users().find_user(ctx.db, pool, name) if name else None


def check_password(ctx, areq: AuthRequest, typed: str, password: str) -> dict:
    """The user whose password this is; raises ServiceError with the API's errors otherwise
    (unknown user, wrong password with lockout, disabled, unconfirmed, reset required)."""
    auth = _auth()
    pool, client = areq.pool, areq.client
    user = find_user(ctx, pool, typed)
    if user is None:
        user = auth._migrate_user(ctx, pool, client, typed, password, None)
        if user is None:
            if client.get("PreventUserExistenceErrors") == "ENABLED":
                raise ServiceError("NotAuthorizedException", auth.INCORRECT)
            raise ServiceError("UserNotFoundException", "User does not exist.")
    if user.get("status") == "EXTERNAL_PROVIDER":
        raise ServiceError("NotAuthorizedException", auth.INCORRECT)
    lockout = common._m("lockout")
    lockout.check(ctx, pool["Id"], user["username"])
    auth._status_before_password(client, user)
    auth._pre_authentication(ctx, pool, client, user, None)
    lockout.check(ctx, pool["Id"], user["username"])  # again: concurrent failures during PreAuthentication
    if not common._m("passwords").password_matches(pool, user, password):
        raise auth._password_failed(ctx, pool, user)
    auth._status_after_password(ctx, pool, client, user)
    lockout.success(ctx, pool["Id"], user["username"])
    return user


def continue_sign_in(ctx, areq: AuthRequest, user: dict, state: dict) -> Response:
    """The page after the user proved who they are: new password, MFA, or back to the app."""
    if user.get("status") == "FORCE_CHANGE_PASSWORD" and not state.get("new_password_done"):
        required = [n for n in common._m("attributes").required_names(areq.pool)
                    if not (user.get("attributes") or {}).get(n)]
        token = common.start_flow(ctx, areq.pool, areq.client, user["username"], "new_password", state)
        return common.render("new_password.html", areq=areq, session=token, required=required,
                             username=user["username"])
    if not state.get("mfa_done"):
        page = _mfa_step(ctx, areq, user, state)
        if page is not None:
            return page
    return succeed(ctx, areq, user)


def succeed(ctx, areq: AuthRequest, user: dict) -> Response:
    auth = _auth()
    common._m("lockout").success(ctx, areq.pool["Id"], user["username"])
    auth._record_event(ctx, areq.pool, user, True)
    auth._post_authentication(ctx, areq.pool, areq.client, user, False, None)
    return common.finish(ctx, areq, user, ctx.now())


# -- new password --------------------------------------------------------------------------
def new_password(ctx, areq: AuthRequest, flow: dict, password: str, confirm: str | None,
                 given: dict[str, str]) -> Response:
    pool, client = areq.pool, areq.client
    user = find_user(ctx, pool, flow["username"])
    if user is None:
        raise ServiceError("UserNotFoundException", "User does not exist.")
    if confirm is not None and confirm != password:
        raise ServiceError("InvalidParameterException", "Passwords do not match.")
    attributes = common._m("attributes")
    updates = {k: v for k, v in given.items() if v}
    if updates:
        attributes.check_client_write(client, list(updates))
        attributes.validate_values(pool, updates, creating=False, admin=False)
    merged = {**(user.get("attributes") or {}), **updates}
    missing = [n for n in attributes.required_names(pool) if not merged.get(n)]
    if missing:
        raise ServiceError("InvalidParameterException", f"Invalid attributes given, {missing[0]} is missing")
    passwords = common._m("passwords")
    passwords.check_policy(pool, password, user, prefix=passwords.USER_PREFIX)
    passwords.set_password(ctx.db, pool, user, password, temporary=False, now=ctx.now())
    if updates:
        attributes.normalise_flags(merged)
        user["attributes"] = merged
    user["status"] = "CONFIRMED"
    _users().save_user(ctx.db, pool, user)
    return continue_sign_in(ctx, areq, user, {**flow["data"], "new_password_done": True})


# -- MFA -----------------------------------------------------------------------------------
def _mfa_step(ctx, areq: AuthRequest, user: dict, state: dict) -> Response | None:
    mfa = _mfa()
    pool = areq.pool
    mode = mfa.pool_mfa_mode(pool)
    if mode == "OFF":
        return None
    factors = mfa.enabled_factors(pool, user)
    offered = common._m("mfa_config").enabled_factors(pool)
    attrs = user.get("attributes") or {}
    if not factors and mode == "ON" and "SMS_MFA" in offered and attrs.get("phone_number") \
            and not mfa.user_factors(user):
        factors = ["SMS_MFA"]
    if not factors:
        if mode != "ON":
            return None
        return _totp_setup(ctx, areq, user, state)
    preferred = mfa.preferred_factor(user)
    if preferred in factors:
        return mfa_challenge(ctx, areq, user, state, preferred)
    if len(factors) == 1:
        return mfa_challenge(ctx, areq, user, state, factors[0])
    token = common.start_flow(ctx, pool, areq.client, user["username"], "select_mfa",
                              {**state, "available": factors})
    return common.render("select_mfa.html", areq=areq, session=token, factors=factors)


_CODE_ATTRIBUTE = {"SMS_MFA": "phone_number", "EMAIL_OTP": "email"}


def _code_hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code.strip()}".encode()).hexdigest()


def mfa_challenge(ctx, areq: AuthRequest, user: dict, state: dict, factor: str) -> Response:
    state = {**state, "factor": factor}
    destination = None
    if factor in _CODE_ATTRIBUTE:
        code = common._m("codes").new_code()
        details = common._m("delivery").send_code(ctx, areq.pool, user, "Authentication",
                                                  _CODE_ATTRIBUTE[factor], code, client_id=areq.client["ClientId"])
        salt = secrets.token_hex(8)
        state.update(code_salt=salt, code_hash=_code_hash(salt, code))
        destination = details.get("Destination")
    token = common.start_flow(ctx, areq.pool, areq.client, user["username"], "mfa", state)
    return common.render("mfa.html", areq=areq, session=token, factor=factor, destination=destination)


def answer_mfa(ctx, areq: AuthRequest, flow: dict, code: str) -> Response:
    state = flow["data"]
    user = find_user(ctx, areq.pool, flow["username"])
    if user is None:
        raise ServiceError("UserNotFoundException", "User does not exist.")
    factor = state.get("factor")
    if factor == "SOFTWARE_TOKEN_MFA":
        ok = _mfa().consume_totp(ctx.db, areq.pool, user, code or "", ctx.now())
        # A code already accepted once is refused as the API refuses it (ExpiredCodeException).
        if not ok and _mfa().totp_already_used(user, code or "", ctx.now()):
            message = "Your software token has already been used once."
        else:
            message = "Invalid code received for user"
    else:
        ok = bool(code) and hmac.compare_digest(_code_hash(state.get("code_salt", ""), code),
                                                state.get("code_hash", ""))
        message = "Invalid code or auth state for the user."
    if not ok:
        # The page can be retried with the same flow.
        retry = common.start_flow(ctx, areq.pool, areq.client, user["username"], "mfa", state)
        common._m("codes").commit_now(ctx)
        raise RetryMfa(retry, factor, message)
    user = find_user(ctx, areq.pool, flow["username"]) or user
    clean = {k: v for k, v in state.items() if k not in ("code_salt", "code_hash", "factor")}
    return continue_sign_in(ctx, areq, user, {**clean, "mfa_done": True})


class RetryMfa(ServiceError):
    def __init__(self, session: str, factor: str, message: str) -> None:
        super().__init__("CodeMismatchException", message)
        self.session = session
        self.factor = factor


def _totp_setup(ctx, areq: AuthRequest, user: dict, state: dict) -> Response:
    mfa = _mfa()
    secret = mfa.new_secret()
    token = common.start_flow(ctx, areq.pool, areq.client, user["username"], "mfa_setup",
                              {**state, "secret": secret}, ttl=900.0)
    return _setup_page(areq, user, token, secret)


def _setup_page(areq: AuthRequest, user: dict, token: str, secret: str, error: str | None = None,
                status: int = 200) -> Response:
    import pyotp
    uri = pyotp.TOTP(secret).provisioning_uri(name=user["username"], issuer_name=areq.pool.get("Name") or "Cognito")
    return common.render("mfa_setup.html", status=status, areq=areq, session=token, secret=secret, uri=uri,
                         error=error)


def finish_totp_setup(ctx, areq: AuthRequest, flow: dict, code: str, device_name: str | None) -> Response:
    mfa = _mfa()
    user = find_user(ctx, areq.pool, flow["username"])
    if user is None:
        raise ServiceError("UserNotFoundException", "User does not exist.")
    secret = flow["data"]["secret"]
    step = mfa._matching_step(secret, code or "", ctx.now(), None)
    if step is None:
        retry = common.start_flow(ctx, areq.pool, areq.client, user["username"], "mfa_setup", flow["data"],
                                  ttl=900.0)
        return _setup_page(areq, user, retry, secret, "Code mismatch and fail enable Software Token MFA", 400)
    settings = mfa.settings(user)
    settings.update(totp_secret=secret, totp_enabled=True, totp_pending=None, totp_last_step=step)
    if device_name:
        settings["totp_device_name"] = device_name
    if not settings.get("preferred"):
        settings["preferred"] = "SOFTWARE_TOKEN_MFA"
    _users().save_user(ctx.db, areq.pool, user)
    state = {k: v for k, v in flow["data"].items() if k != "secret"}
    return continue_sign_in(ctx, areq, user, {**state, "mfa_done": True})
