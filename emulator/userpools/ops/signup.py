"""Self-service without a token: SignUp, ConfirmSignUp, ResendConfirmationCode,
ForgotPassword, ConfirmForgotPassword.

Each runs with an app client id (SECRET_HASH checked for clients with a secret) and honours
the client's PreventUserExistenceErrors (LEGACY: UserNotFoundException; ENABLED: a
simulated answer).
"""

from __future__ import annotations

from emulator import digests
from emulator.userpools import errors, registry
from emulator.userpools.accounts import lifecycle as accounts
from emulator.userpools.model import attributes as attrs_mod
from emulator.userpools.model import clients, codes, passwords, pools, secret_hash, users
from emulator.userpools.outbound import delivery, triggers
from emulator.userpools.signin import sessions as auth_sessions

UNKNOWN_USER = "Username/client id combination not found."
CANNOT_RESET = "User password cannot be reset in the current state."
SIGNUP_FAILURES = 5
FORGOT_FAILURES = 5
RESENDS_PER_HOUR = 5
FORGOT_PER_HOUR = 20


def _client_and_pool(ctx, client_id: str) -> tuple[dict, dict]:
    client = clients.load_client(ctx.db, client_id)
    return client, pools.load_pool(ctx.db, client["UserPoolId"])


def _hides_existence(client: dict) -> bool:
    return client.get("PreventUserExistenceErrors") == "ENABLED"


def _check_hash(ctx, client: dict, req: dict, user: dict | None = None) -> None:
    names = [req["Username"]]
    if user is not None and user["username"] != req["Username"]:
        names.append(user["username"])
    secret_hash.check_secret_hash(ctx.db, client, names, req.get("SecretHash"))


def _client_pool_user(ctx, req: dict) -> tuple[dict, dict, dict | None]:
    """The app client, its pool and the user named by Username (None when unknown), after the
    SECRET_HASH check."""
    client, pool = _client_and_pool(ctx, req["ClientId"])
    user = users.find_user(ctx.db, pool, req["Username"])
    _check_hash(ctx, client, req, user)
    return client, pool, user


def _send_rate_limited_code(ctx, pool: dict, client: dict, user: dict, req: dict, target: str, *,
                            limit_key: str, per_hour: int, purpose: str, ttl: float, message: str) -> dict:
    """Issue a `purpose` code for `target` and send it (at most `per_hour` an hour per user):
    the CodeDeliveryDetails."""
    db, now = ctx.db, ctx.now()
    codes.rate_limit(db, pool["Id"], user["username"], limit_key, now=now, limit=per_hour)
    code = codes.issue(db, pool["Id"], user["username"], purpose, now=now, ttl=ttl, data={"attribute": target})
    return delivery.send_code(ctx, pool, user, message, target, code, client_id=client["ClientId"],
                              client_metadata=req.get("ClientMetadata"))


# -- sign-up sessions (automatic sign-in with USER_AUTH) ------------------------------------------
def _sign_up_session(ctx, pool: dict, client: dict, user: dict, *, confirmed: bool) -> str:
    """The Session SignUp and ConfirmSignUp answer. A confirmed user's session lets
    InitiateAuth(USER_AUTH, Session=...) sign them in without a password, within the client's
    AuthSessionValidity; an unconfirmed user's session only carries on to ConfirmSignUp."""
    state = {"pool_id": pool["Id"], "client_id": client["ClientId"], "username": user["username"],
             "challenge": "AUTO_SIGN_IN" if confirmed else "SIGN_UP", "auto_sign_in": confirmed}
    lifetime = None if confirmed else codes.SIGNUP_TTL
    return auth_sessions.issue(ctx, state, client, lifetime=lifetime)


def _check_sign_up_session(ctx, pool: dict, client: dict, user: dict, session: str) -> dict:
    state = auth_sessions.load(ctx, session, client["ClientId"])
    if state.get("challenge") != "SIGN_UP" or state.get("pool_id") != pool["Id"] \
            or state.get("username") != user["username"]:
        raise errors.NotAuthorizedException(auth_sessions.INVALID)
    return state


def _simulated_delivery(pool: dict, username: str) -> dict:
    """CodeDeliveryDetails for a user that does not exist (PreventUserExistenceErrors ENABLED)."""
    if "@" in username:
        return delivery.details("email", username)
    if username.startswith("+") and username[1:].isdigit():
        return delivery.details("phone_number", username)
    digest = digests.digest(username)
    targets = delivery.auto_verified(pool) or ["email"]
    if "phone_number" in targets:
        return delivery.details("phone_number", "+1" + str(int(digest[:12], 16))[:10].rjust(10, "0"))
    return delivery.details("email", f"{digest[0]}@{digest[1]}.com")


# -- SignUp ------------------------------------------------------------------------------------
@registry.handler
def sign_up(ctx, req):
    db, now = ctx.db, ctx.now()
    client, pool = _client_and_pool(ctx, req["ClientId"])
    _check_hash(ctx, client, req)
    if (pool.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
        raise errors.NotAuthorizedException("SignUp is not permitted for this user pool")
    given = attrs_mod.to_dict(req.get("UserAttributes"))
    attrs_mod.check_client_write(client, list(given))
    attrs_mod.validate_values(pool, given, creating=True, admin=False)
    password = req.get("Password")
    if password is None:
        if not set(pools.allowed_first_factors(pool)) & {"EMAIL_OTP", "SMS_OTP", "WEB_AUTHN"}:
            raise errors.InvalidParameterException("Password is required for this user pool.")
    username = users.resolve_new_username(pool, req["Username"], given)
    if "preferred_username" in users.alias_attributes(pool) and given.get("preferred_username"):
        raise errors.InvalidParameterException("preferred_username cannot be set at sign-up when it is an alias; "
                           "update it after confirmation.")
    attrs_mod.check_required(pool, given)
    if password is not None:
        passwords.check_policy(pool, password)
    users.check_username_free(db, pool, username, given)
    response = triggers.run_trigger(
        ctx, pool, "PreSignUp", "PreSignUp_SignUp", username=username,
        request={"userAttributes": dict(given),
                 "validationData": attrs_mod.to_dict(req.get("ValidationData")) or None,
                 "clientMetadata": req.get("ClientMetadata") or {}},
        client_id=client["ClientId"],
        response={"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}) or {}
    user = users.new_user(pool, username, given, status="UNCONFIRMED", now=now,
                          sub=username if users.username_attributes(pool) else None)
    a = user["attributes"]
    for name in ("email", "phone_number"):
        if a.get(name):
            a[f"{name}_verified"] = "false"
    if response.get("autoVerifyEmail") and a.get("email"):
        a["email_verified"] = "true"
    if response.get("autoVerifyPhone") and a.get("phone_number"):
        a["phone_number_verified"] = "true"
    confirmed = bool(response.get("autoConfirmUser"))
    if confirmed:
        user["status"] = "CONFIRMED"
        # Pre-verified aliases move to this user, as a confirmation with forced alias creation.
        users.claim_aliases(db, pool, user, force=True)
    if password is not None:
        passwords.set_password(db, pool, user, password, temporary=False, now=now, check_history=False)
    # save_user checks the username (and email/phone as username) again: PreSignUp ran with the
    # store released, and a concurrent SignUp may have taken it (its alias take-over is undone).
    users.save_user(db, pool, user)
    out: dict = {"UserConfirmed": confirmed, "UserSub": user["sub"],
                 "Session": _sign_up_session(ctx, pool, client, user, confirmed=confirmed)}
    if not confirmed:
        target = delivery.verification_target(pool, a)
        if target:
            code = codes.issue(db, pool["Id"], username, "signup", now=now, ttl=codes.SIGNUP_TTL,
                               data={"attribute": target})
            out["CodeDeliveryDetails"] = delivery.send_code(ctx, pool, user, "SignUp", target, code,
                                                            client_id=client["ClientId"],
                                                            client_metadata=req.get("ClientMetadata"))
    return out


# -- ConfirmSignUp -----------------------------------------------------------------------------
@registry.handler
def confirm_sign_up(ctx, req):
    db, now = ctx.db, ctx.now()
    client, pool, user = _client_pool_user(ctx, req)
    if user is None:
        if _hides_existence(client):
            raise errors.CodeMismatchException(codes.MISMATCH)
        raise errors.UserNotFoundException(UNKNOWN_USER)
    if user["status"] != "UNCONFIRMED":
        raise errors.NotAuthorizedException(f"User cannot be confirmed. Current status is {user['status']}")
    sign_up_session = _check_sign_up_session(ctx, pool, client, user, req["Session"]) if req.get("Session") else None
    data = codes.consume(ctx, pool["Id"], user["username"], "signup", req["ConfirmationCode"],
                         max_failures=SIGNUP_FAILURES)
    users.verify_contact_from_code(user, data.get("attribute"))
    users.claim_aliases(db, pool, user, force=bool(req.get("ForceAliasCreation")),
                        only=[data["attribute"]] if data.get("attribute") else [])
    user["status"] = "CONFIRMED"
    users.touch(user, now)
    users.save_user(db, pool, user)
    accounts.run_post_confirmation(ctx, pool, user, "PostConfirmation_ConfirmSignUp", client["ClientId"],
                                req.get("ClientMetadata"))
    if sign_up_session is not None:
        auth_sessions.consume(ctx, sign_up_session)
    return {"Session": _sign_up_session(ctx, pool, client, user, confirmed=True)}


# -- ResendConfirmationCode --------------------------------------------------------------------
@registry.handler
def resend_confirmation_code(ctx, req):
    client, pool, user = _client_pool_user(ctx, req)
    if user is None or (not user["enabled"] and _hides_existence(client)):
        if _hides_existence(client):
            return {"CodeDeliveryDetails": _simulated_delivery(pool, req["Username"])}
        raise errors.UserNotFoundException(UNKNOWN_USER)
    if user["status"] != "UNCONFIRMED":
        raise errors.InvalidParameterException("User is already confirmed.")
    target = delivery.verification_target(pool, user["attributes"])
    if target is None:
        raise errors.NotAuthorizedException("Cannot resend codes. Auto verification not turned on.")
    return {"CodeDeliveryDetails": _send_rate_limited_code(
        ctx, pool, client, user, req, target, limit_key="resend_confirmation", per_hour=RESENDS_PER_HOUR,
        purpose="signup", ttl=codes.SIGNUP_TTL, message="ResendCode")}


# -- ForgotPassword ----------------------------------------------------------------------------
def _migrate_user(ctx, pool: dict, client: dict, req: dict) -> dict | None:
    """UserMigration_ForgotPassword: create the user from the function's answer, if any."""
    response = triggers.run_trigger(
        ctx, pool, "UserMigration", "UserMigration_ForgotPassword", username=req["Username"],
        request={"validationData": {}, "clientMetadata": req.get("ClientMetadata") or {}},
        client_id=client["ClientId"],
        response={"userAttributes": None, "finalUserStatus": None, "messageAction": None,
                  "desiredDeliveryMediums": None, "forceAliasCreation": None, "enableSMSMFA": None})
    if not response or not response.get("userAttributes"):
        return None
    return accounts.migrate_user(ctx, pool, req["Username"], None, response)


@registry.handler
def forgot_password(ctx, req):
    client, pool, user = _client_pool_user(ctx, req)
    if user is None and triggers.has_trigger(pool, "UserMigration"):
        user = _migrate_user(ctx, pool, client, req)
    hides = _hides_existence(client)
    if user is None:
        if hides:
            return {"CodeDeliveryDetails": _simulated_delivery(pool, req["Username"])}
        raise errors.UserNotFoundException(UNKNOWN_USER)
    target = users.recovery_target(pool, user)
    # With PreventUserExistenceErrors, a disabled user or one without a verified channel looks
    # like any other: a code "sent" to a simulated destination.
    if hides and (not user["enabled"] or target is None):
        return {"CodeDeliveryDetails": _simulated_delivery(pool, req["Username"])}
    if not user["enabled"]:
        raise errors.NotAuthorizedException("User is disabled.")
    if user["status"] == "FORCE_CHANGE_PASSWORD":
        # Never signed in: there is a temporary password to use, nothing to reset.
        raise errors.NotAuthorizedException(CANNOT_RESET)
    if target == "admin_only":
        raise errors.NotAuthorizedException("Contact administrator to reset password.")
    if target is None:
        raise users.no_recovery_channel()
    return {"CodeDeliveryDetails": _send_rate_limited_code(
        ctx, pool, client, user, req, target, limit_key="forgot_password", per_hour=FORGOT_PER_HOUR,
        purpose="forgot_password", ttl=codes.FORGOT_PASSWORD_TTL, message="ForgotPassword")}


# -- ConfirmForgotPassword ---------------------------------------------------------------------
@registry.handler
def confirm_forgot_password(ctx, req):
    db, now = ctx.db, ctx.now()
    client, pool, user = _client_pool_user(ctx, req)
    if user is None or (not user["enabled"] and _hides_existence(client)):
        if _hides_existence(client):
            raise errors.CodeMismatchException(codes.MISMATCH)
        raise errors.UserNotFoundException(UNKNOWN_USER)
    if not user["enabled"]:
        raise errors.NotAuthorizedException("User is disabled.")
    password = req["Password"]
    passwords.check_policy(pool, password, user, prefix=passwords.USER_PREFIX)
    codes.consume(ctx, pool["Id"], user["username"], "forgot_password", req["ConfirmationCode"],
                  max_failures=FORGOT_FAILURES)
    passwords.set_password(db, pool, user, password, temporary=False, now=now)
    if user["status"] != "EXTERNAL_PROVIDER":
        user["status"] = "CONFIRMED"
    users.touch(user, now)
    users.save_user(db, pool, user)
    accounts.run_post_confirmation(ctx, pool, user, "PostConfirmation_ConfirmForgotPassword", client["ClientId"],
                                req.get("ClientMetadata"))
    return {}
