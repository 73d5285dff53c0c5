"""Sign-in: InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge, AdminRespondToAuthChallenge.

One state machine serves every flow. A first step (SRP, password, USER_AUTH factor,
refresh) identifies the user; then, in AWS's order, NEW_PASSWORD_REQUIRED, MFA
(SMS_MFA / EMAIL_OTP / SOFTWARE_TOKEN_MFA / SELECT_MFA_TYPE / MFA_SETUP) unless a
remembered device suppresses it, DEVICE_SRP_AUTH when the client named a confirmed device,
and finally the tokens. Between steps the state lives in a Session (auth_sessions); SRP
secret blocks are sessions too, so the client's echo of them is checked and single use.

CUSTOM_AUTH is dispatched to `CUSTOM_AUTH` (start, respond) when another module installs
it; until then the flow is refused with a clear error.

With threat protection, `threat_protection.assess_sign_in` judges the sign-in once the password is
proven (it may block, or ask for MFA through the state's `risk_mfa`), and `_record_event`
completes its auth event.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

from emulator.userpools import (
    attributes,
    auth_sessions,
    clients,
    delivery,
    devices,
    lockout,
    mfa,
    mfa_config,
    passwords,
    pools,
    registry,
    secret_hash,
    srp,
    threat_protection,
    tokens,
    triggers,
    users,
    webauthn_ops,
)
from protocol import ServiceError

INCORRECT = "Incorrect username or password."
ADMIN_SCOPE = tokens.ADMIN_SCOPE
TIMESTAMP_SKEW_SECONDS = 300.0

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
CODE_KEYS = {"SMS_MFA": "SMS_MFA_CODE", "EMAIL_OTP": "EMAIL_OTP_CODE", "SMS_OTP": "SMS_OTP_CODE"}
OTP_ATTRIBUTE = {"SMS_MFA": "phone_number", "SMS_OTP": "phone_number", "EMAIL_OTP": "email"}

# Installed by the custom-auth (Define/Create/Verify trigger) work:
# CUSTOM_AUTH["start"](ctx, pool, client, req, state) and CUSTOM_AUTH["respond"](ctx, pool, client,
# user, state, responses, client_metadata) return the operation's answer (user None for an unknown
# user under PreventUserExistenceErrors); CUSTOM_AUTH["after_password"](ctx, pool, client, user, state,
# client_metadata) follows a successful PASSWORD_VERIFIER of a custom flow started with SRP_A.
# `continue_sign_in` and `issue_challenge` below are what they build on.
CUSTOM_AUTH: dict[str, Callable[..., dict]] = {}

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TIMESTAMP = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                        r"([1-9]|[12][0-9]|3[01]) ([01][0-9]|2[0-3]):([0-5][0-9]):([0-5][0-9]) UTC ([0-9]{4})$")


def _commit(ctx) -> None:
    """Keep what was recorded so far (failure counts, auth events) although an error follows."""
    with ctx.emulator.store.suspended():
        pass


def _missing(name: str) -> ServiceError:
    return ServiceError("InvalidParameterException", f"Missing required parameter {name}")


def _prevents_existence_errors(client: dict) -> bool:
    return client.get("PreventUserExistenceErrors") == "ENABLED"


def _find_user(ctx, pool: dict, name: str | None) -> dict | None:
    if not name:
        return None
    return users.find_user(ctx.db, pool, name)


def _check_secret(ctx, client: dict, names: list[str | None], provided: str | None) -> None:
    secret_hash.check_secret_hash(ctx.db, client, [n for n in dict.fromkeys(names) if n], provided)


def _gate(pool: dict, client: dict, flow: str) -> None:
    if FLOW_PERMISSION[flow] not in clients.allowed_flows(client):
        if flow == "USER_PASSWORD_AUTH":
            raise ServiceError("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
        raise ServiceError("InvalidParameterException", "Auth flow not enabled for this client")
    if flow == "USER_AUTH" and pool.get("UserPoolTier") == "LITE":
        raise ServiceError("FeatureUnavailableInTierException",
                           "This feature is not available in the current tier of the user pool.")


def _record_event(ctx, pool: dict, user: dict | None, passed: bool, challenge: str = "Password",
                  state: dict | None = None) -> None:
    """The SignIn auth event of a pool with threat protection (the one `state` carries, else a new one)."""
    if user is None:
        return
    threat_protection.finish_sign_in(ctx, pool, user, state, passed, challenge)


def _base_state(pool: dict, client: dict, flow: str, admin: bool, typed: str | None) -> dict:
    return {"pool_id": pool["Id"], "client_id": client["ClientId"], "flow": flow, "admin": admin,
            "typed_username": typed, "username": None, "source": "TokenGeneration_Authentication"}


# -- user state at sign-in -------------------------------------------------------------------------
def _status_before_password(client: dict, user: dict) -> None:
    # An unconfirmed user is told so whatever the password (amazon-cognito-identity-js#288:
    # AWS's stated intent, so apps can route to confirmation; measured again in ministack#1758).
    if user.get("status") == "UNCONFIRMED":
        raise ServiceError("UserNotConfirmedException", "User is not confirmed.")
    if user.get("status") == "RESET_REQUIRED":
        raise ServiceError("PasswordResetRequiredException", "Password reset required for the user")


def _status_after_password(ctx, pool: dict, client: dict, user: dict) -> None:
    if user.get("enabled") is False:
        raise ServiceError("NotAuthorizedException", "User is disabled.")
    status = user.get("status")
    if status == "UNCONFIRMED":
        raise ServiceError("UserNotConfirmedException", "User is not confirmed.")
    if status == "RESET_REQUIRED":
        raise ServiceError("PasswordResetRequiredException", "Password reset required for the user")
    if status == "FORCE_CHANGE_PASSWORD":
        if passwords.temporary_expired(user, ctx.now()):
            raise ServiceError("NotAuthorizedException",
                               "Temporary password has expired and must be reset by an administrator.")


def _password_failed(ctx, pool: dict, user: dict) -> ServiceError:
    lockout.failure(ctx, pool["Id"], user["username"])
    _record_event(ctx, pool, user, False)
    _commit(ctx)
    return ServiceError("NotAuthorizedException", INCORRECT)


# -- triggers ---------------------------------------------------------------------------------------
def _pre_authentication(ctx, pool: dict, client: dict, user: dict, validation: dict | None) -> None:
    if not triggers.has_trigger(pool, "PreAuthentication"):
        return
    triggers.run_trigger(ctx, pool, "PreAuthentication", "PreAuthentication_Authentication",
                         username=user["username"], client_id=client["ClientId"],
                         request={"userAttributes": tokens.event_user_attributes(pool, user),
                                  "validationData": dict(validation or {}), "userNotFound": False})
    _reload_after_trigger(ctx, pool, client, user)


def _post_authentication(ctx, pool: dict, client: dict, user: dict, new_device: bool,
                         client_metadata: dict | None) -> None:
    if not triggers.has_trigger(pool, "PostAuthentication"):
        return
    triggers.run_trigger(ctx, pool, "PostAuthentication", "PostAuthentication_Authentication",
                         username=user["username"], client_id=client["ClientId"],
                         request={"userAttributes": tokens.event_user_attributes(pool, user),
                                  "newDeviceUsed": new_device, "clientMetadata": dict(client_metadata or {})})
    _reload_after_trigger(ctx, pool, client, user)


def _reload_after_trigger(ctx, pool: dict, client: dict, user: dict) -> None:
    """The store was released while the function ran: re-read the user (in place), so that a user
    deleted or disabled meanwhile goes no further (no tokens) and what follows sees the current
    record (password, status, attributes)."""
    enabled = user.get("enabled") is not False
    try:
        users.reload_user(ctx.db, pool, user)
    except ServiceError:
        if _prevents_existence_errors(client):
            raise ServiceError("NotAuthorizedException", INCORRECT) from None
        raise
    if enabled and user.get("enabled") is False:
        raise ServiceError("NotAuthorizedException", "User is disabled.")


def _migrate_user(ctx, pool: dict, client: dict, name: str, password: str,
                  client_metadata: dict | None) -> dict | None:
    """UserMigration_Authentication: create the user the function vouches for, or None.

    InitiateAuth's ClientMetadata reaches the function as `validationData`, as AWS documents."""
    if not triggers.has_trigger(pool, "UserMigration"):
        return None
    response = triggers.run_trigger(ctx, pool, "UserMigration", "UserMigration_Authentication", username=name,
                                    client_id=client["ClientId"],
                                    request={"password": password, "validationData": dict(client_metadata or {})},
                                    response={"userAttributes": None, "finalUserStatus": None,
                                              "messageAction": None, "desiredDeliveryMediums": None,
                                              "forceAliasCreation": None, "enableSMSMFA": None})
    if not response or response.get("userAttributes") is None:
        return None
    user = users.migrate_user(ctx, pool, name, password, response)
    _commit(ctx)  # the migrated user stays although the sign-in may still fail (e.g. RESET_REQUIRED)
    return users.reload_user(ctx.db, pool, user)  # the commit released the store


# -- answers ------------------------------------------------------------------------------------------
def issue_challenge(ctx, client: dict, state: dict, name: str, parameters: dict[str, str], *,
                    available: list[str] | None = None) -> dict:
    """A challenge answer with a fresh Session carrying `state`."""
    state = {k: v for k, v in state.items() if not k.startswith("_")}
    state["challenge"] = name
    session = auth_sessions.issue(ctx, state, client)
    out: dict[str, Any] = {"ChallengeName": name, "Session": session, "ChallengeParameters": parameters}
    if available is not None:
        out["AvailableChallenges"] = available
    return out


def _user_attributes_json(user: dict) -> str:
    attrs = {k: v for k, v in (user.get("attributes") or {}).items() if k != "sub" and v is not None}
    return json.dumps(attrs)


def _required_attributes(pool: dict, user: dict) -> list[str]:
    names = attributes.required_names(pool)
    have = user.get("attributes") or {}
    return [f"userAttributes.{n}" for n in names if not have.get(n)]


def _device_remembered(device: dict | None) -> bool:
    return bool(device and device.get("verifier") and device.get("remembered"))


def _load_device(ctx, pool: dict, user: dict, device_key: str | None) -> dict | None:
    if not device_key:
        return None
    return devices.load_device(ctx.db, pool["Id"], user["username"], device_key)


def _pool_mfa_factors(pool: dict) -> list[str]:
    return list(mfa_config.enabled_factors(pool))


def continue_sign_in(ctx, pool: dict, client: dict, user: dict, state: dict,
                     client_metadata: dict | None = None) -> dict:
    """The step after the user proved who they are: new password, MFA, device, or tokens."""
    state = dict(state)
    state["username"] = user["username"]
    if user.get("status") == "FORCE_CHANGE_PASSWORD" and not state.get("new_password_done"):
        return issue_challenge(ctx, client, state, "NEW_PASSWORD_REQUIRED", {
            "USER_ID_FOR_SRP": user["username"],
            "userAttributes": _user_attributes_json(user),
            "requiredAttributes": json.dumps(_required_attributes(pool, user)),
        })
    device = _load_device(ctx, pool, user, state.get("device_key"))
    if not state.get("mfa_done") and not state.get("first_factor_otp"):
        # MFA that threat protection asks for (risk_mfa) is not waived by a remembered device.
        step = None
        if not _device_remembered(device) or state.get("risk_mfa"):
            step = _mfa_step(ctx, pool, client, user, state)
            if step is not None and state.get("risk_mfa"):
                threat_protection.mfa_challenged(ctx, pool, client, user, state)
        if step is None and state.get("risk_mfa"):
            step, state = _risk_mfa_step(ctx, pool, client, user, state)
        if step is not None:
            return step
    if device and device.get("verifier") and not state.get("device_done"):
        return issue_challenge(ctx, client, state, "DEVICE_SRP_AUTH", {})
    return _success(ctx, pool, client, user, state, client_metadata)


def _risk_mfa_step(ctx, pool: dict, client: dict, user: dict, state: dict) -> tuple[dict | None, dict]:
    """Adaptive authentication's MFA (MFA_IF_CONFIGURED / MFA_REQUIRED) for a user whom the
    pool's MFA settings would not challenge: a factor they can receive or have registered."""
    factors = threat_protection.mfa_candidates(pool, user)
    if not factors:
        return None, threat_protection.mfa_unavailable(ctx, pool, client, user, state)
    state = threat_protection.mfa_challenged(ctx, pool, client, user, state)
    preferred = mfa.preferred_factor(user)
    if preferred in factors or len(factors) == 1:
        return _mfa_challenge(ctx, pool, client, user, state, preferred if preferred in factors else factors[0]), state
    state = {**state, "available": factors}
    return issue_challenge(ctx, client, state, "SELECT_MFA_TYPE", {"MFAS_CAN_CHOOSE": json.dumps(factors)}), state


def _mfa_step(ctx, pool: dict, client: dict, user: dict, state: dict) -> dict | None:
    if mfa.pool_mfa_mode(pool) == "OFF":
        return None
    factors = mfa.enabled_factors(pool, user)
    mode = mfa.pool_mfa_mode(pool)
    offered = _pool_mfa_factors(pool)
    attrs = user.get("attributes") or {}
    if not factors and mode == "ON" and not mfa.user_factors(user):
        # Required MFA uses the phone number (or email) a user already has before asking for set-up.
        if "SMS_MFA" in offered and attrs.get("phone_number"):
            factors = ["SMS_MFA"]
        elif "EMAIL_OTP" in offered and attrs.get("email"):
            factors = ["EMAIL_OTP"]
    if not factors:
        if mode != "ON":
            return None
        # MFAS_CAN_SETUP lists the MFA types activated for the pool.
        can_setup = [f for f in ("SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP") if f in offered] \
            or ["SOFTWARE_TOKEN_MFA"]
        return issue_challenge(ctx, client, state, "MFA_SETUP", {"MFAS_CAN_SETUP": json.dumps(can_setup)})
    preferred = mfa.preferred_factor(user)
    if preferred in factors:
        chosen = preferred
    elif len(factors) == 1:
        chosen = factors[0]
    else:
        state = {**state, "available": factors}
        return issue_challenge(ctx, client, state, "SELECT_MFA_TYPE", {"MFAS_CAN_CHOOSE": json.dumps(factors)})
    return _mfa_challenge(ctx, pool, client, user, state, chosen)


def _send_otp(ctx, pool: dict, client: dict, user: dict, state: dict, challenge: str) -> tuple[dict, dict]:
    code = f"{secrets.randbelow(10 ** 6):06d}"
    details = delivery.send_code(ctx, pool, user, "Authentication", OTP_ATTRIBUTE[challenge], code,
                                 client_id=client["ClientId"])
    salt = secrets.token_hex(8)
    state = {**state, "code_salt": salt, "code_hash": _code_hash(salt, code)}
    params = {"CODE_DELIVERY_DELIVERY_MEDIUM": details.get("DeliveryMedium"),
              "CODE_DELIVERY_DESTINATION": details.get("Destination")}
    return state, params


def _code_hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _mfa_challenge(ctx, pool: dict, client: dict, user: dict, state: dict, factor: str) -> dict:
    state = {**state, "mfa_factor": factor}
    if factor == "SOFTWARE_TOKEN_MFA":
        name = (user.get("mfa") or {}).get("totp_device_name")
        return issue_challenge(ctx, client, state, "SOFTWARE_TOKEN_MFA",
                               {"FRIENDLY_DEVICE_NAME": name} if name else {})
    state, params = _send_otp(ctx, pool, client, user, state, factor)
    return issue_challenge(ctx, client, state, factor, params)


def _success(ctx, pool: dict, client: dict, user: dict, state: dict, client_metadata: dict | None) -> dict:
    device_key = state.get("device_key")
    device = _load_device(ctx, pool, user, device_key)
    new_device = None
    if device is None:
        device_key = None
        if pool.get("DeviceConfiguration") and devices is not None:
            new_device = devices.new_device(ctx.db, pool, user, ctx.now())
            device_key = new_device["DeviceKey"]
    else:
        devices.touch(ctx.db, pool["Id"], user["username"], device_key, ctx.now(), ctx.source_ip)
    lockout.success(ctx, pool["Id"], user["username"])
    _record_event(ctx, pool, user, True, state=state)
    _post_authentication(ctx, pool, client, user, new_device is not None, client_metadata)
    result = tokens.issue_tokens(ctx, pool, client, user, auth_time=ctx.now(), scopes=[ADMIN_SCOPE],
                                 device_key=device_key, source=state.get("source") or "TokenGeneration_Authentication",
                                 client_metadata=client_metadata)
    if new_device is not None:
        result["NewDeviceMetadata"] = new_device
    return {"ChallengeParameters": {}, "AuthenticationResult": result}


# -- SRP -----------------------------------------------------------------------------------------------
def _parse_srp_a(value: str | None) -> int:
    try:
        big_a = int(value or "", 16)
    except ValueError:
        raise ServiceError("InvalidParameterException", "SRP_A is not a valid hex value.") from None
    if big_a % srp.N == 0:
        raise ServiceError("NotAuthorizedException", INCORRECT)
    return big_a


def _fake_material(pool: dict, name: str) -> tuple[str, int, int]:
    """Stable made-up SRP material for an unknown user (PreventUserExistenceErrors)."""
    seed = hmac.new(b"cognito-emulator-unknown-user", f"{pool['Id']}/{name}".encode(), hashlib.sha256).digest()
    user_id = str(uuid.UUID(bytes=seed[:16], version=4))
    salt = int.from_bytes(seed[16:32], "big")
    verifier = srp.powmod(srp.G, int.from_bytes(hashlib.sha256(seed).digest(), "big"), srp.N)
    return user_id, salt, verifier


def _srp_challenge(ctx, pool: dict, client: dict, user: dict | None, state: dict, big_a: int, *,
                   with_session: bool) -> dict:
    if user is None:
        user_id, salt, verifier = _fake_material(pool, state.get("typed_username") or "")
        state = {**state, "fake_user": True, "username": user_id}
    else:
        material = passwords.srp_material(user)
        if material is None:
            raise ServiceError("NotAuthorizedException", INCORRECT)
        salt, verifier = material
        user_id = user["username"]
        state = {**state, "username": user_id}
    b, big_b = srp.server_challenge(verifier)
    state.update({"challenge": "PASSWORD_VERIFIER", "srp_A": format(big_a, "x"), "srp_b": format(b, "x"),
                  "srp_B": format(big_b, "x")})
    block = auth_sessions.issue(ctx, state, client)
    out: dict[str, Any] = {"ChallengeName": "PASSWORD_VERIFIER", "ChallengeParameters": {
        "SALT": format(salt, "x"), "SRP_B": format(big_b, "x"), "SECRET_BLOCK": block,
        "USERNAME": user_id, "USER_ID_FOR_SRP": user_id}}
    if with_session:
        out["Session"] = block
    return out


def parse_timestamp(text: str) -> float | None:
    """Epoch seconds of a Java `EEE MMM d HH:mm:ss z yyyy` UTC timestamp (strict), or None."""
    match = _TIMESTAMP.match(text or "")
    if not match:
        return None
    day_name, month, day, hh, mm, ss, year = match.groups()
    try:
        epoch = calendar.timegm((int(year), _MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss)))
    except (ValueError, OverflowError):
        return None
    if _DAYS[time.gmtime(epoch).tm_wday] != day_name or time.gmtime(epoch).tm_mday != int(day):
        return None
    return float(epoch)


def _timestamp_fresh(ctx, text: str) -> bool:
    stamp = parse_timestamp(text)
    if stamp is None:
        return False
    # Client libraries stamp with the wall clock; the emulator clock may have been moved by tests.
    return (abs(stamp - ctx.now()) <= TIMESTAMP_SKEW_SECONDS
            or abs(stamp - time.time()) <= TIMESTAMP_SKEW_SECONDS)


def _verify_claim(ctx, state: dict, responses: dict, verifier: int, pool_part: str, user_part: str) -> bool:
    signature = responses.get("PASSWORD_CLAIM_SIGNATURE")
    timestamp = responses.get("TIMESTAMP")
    block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK")
    if not signature:
        raise _missing("PASSWORD_CLAIM_SIGNATURE")
    if not timestamp:
        raise _missing("TIMESTAMP")
    if not _timestamp_fresh(ctx, timestamp):
        return False
    key = srp.server_session_key(int(state["srp_A"], 16), int(state["srp_B"], 16), int(state["srp_b"], 16),
                                 verifier)
    if key is None:
        return False
    try:
        expected = srp.claim_signature(key, pool_part, user_part, block, timestamp)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected.encode(), signature.encode())


# -- InitiateAuth ---------------------------------------------------------------------------------------
@registry.handler
def initiate_auth(ctx, req):
    client = clients.load_client(ctx.db, req["ClientId"])
    pool = pools.load_pool(ctx.db, client["UserPoolId"])
    if req["AuthFlow"] in ADMIN_PASSWORD_FLOWS:
        raise ServiceError("InvalidParameterException", "Initiate Auth method not supported.")
    return _initiate(ctx, pool, client, req, admin=False)


@registry.handler
def admin_initiate_auth(ctx, req):
    pool, client = clients.pool_and_client(ctx.db, req)
    if req["AuthFlow"] == "USER_PASSWORD_AUTH":
        raise ServiceError("InvalidParameterException", "Initiate Auth method not supported.")
    return _initiate(ctx, pool, client, req, admin=True)


def _initiate(ctx, pool: dict, client: dict, req: dict, *, admin: bool) -> dict:
    flow = req["AuthFlow"]
    params = req.get("AuthParameters") or {}
    _gate(pool, client, flow)
    if flow in REFRESH_FLOWS:
        return _refresh_flow(ctx, pool, client, params, req.get("ClientMetadata"))
    typed = params.get("USERNAME")
    state = _base_state(pool, client, flow, admin, typed)
    if flow == "CUSTOM_AUTH":
        if not typed:
            raise _missing("USERNAME")
        start = CUSTOM_AUTH.get("start")
        if start is None:
            raise ServiceError("InvalidParameterException",
                               "Custom auth lambda trigger is not configured for the user pool.")
        return start(ctx, pool, client, req, state)
    if flow == "USER_SRP_AUTH":
        return _srp_start(ctx, pool, client, params, state, req.get("ClientMetadata"))
    if flow == "USER_AUTH" and req.get("Session"):
        return _auto_sign_in(ctx, pool, client, params, state, req["Session"], req.get("ClientMetadata"))
    if flow == "USER_AUTH":
        return _user_auth_start(ctx, pool, client, params, state, req.get("ClientMetadata"))
    return _password_start(ctx, pool, client, params, state, req.get("ClientMetadata"))


def _srp_start(ctx, pool: dict, client: dict, params: dict, state: dict, meta: dict | None) -> dict:
    typed = params.get("USERNAME")
    if not typed:
        raise _missing("USERNAME")
    if not params.get("SRP_A"):
        raise _missing("SRP_A")
    big_a = _parse_srp_a(params["SRP_A"])
    user = _find_user(ctx, pool, typed)
    _check_secret(ctx, client, [typed, user and user["username"]], params.get("SECRET_HASH"))
    state["device_key"] = params.get("DEVICE_KEY")
    if user is None:
        if not _prevents_existence_errors(client):
            raise ServiceError("UserNotFoundException", "User does not exist.")
        return _srp_challenge(ctx, pool, client, None, state, big_a, with_session=False)
    lockout.check(ctx, pool["Id"], user["username"])
    _status_before_password(client, user)
    _pre_authentication(ctx, pool, client, user, meta)
    return _srp_challenge(ctx, pool, client, user, state, big_a, with_session=False)


def _password_start(ctx, pool: dict, client: dict, params: dict, state: dict, meta: dict | None) -> dict:
    typed = params.get("USERNAME")
    if not typed:
        raise _missing("USERNAME")
    password = params.get("PASSWORD")
    if password is None:
        raise _missing("PASSWORD")
    user = _find_user(ctx, pool, typed)
    _check_secret(ctx, client, [typed, user and user["username"]], params.get("SECRET_HASH"))
    state["device_key"] = params.get("DEVICE_KEY")
    if user is None:
        user = _migrate_user(ctx, pool, client, typed, password, meta)
        if user is None:
            if _prevents_existence_errors(client):
                raise ServiceError("NotAuthorizedException", INCORRECT)
            raise ServiceError("UserNotFoundException", "User does not exist.")
    return _check_password_and_continue(ctx, pool, client, user, state, password, meta)


def _check_password_and_continue(ctx, pool: dict, client: dict, user: dict, state: dict, password: str,
                                 meta: dict | None) -> dict:
    lockout.check(ctx, pool["Id"], user["username"])
    _status_before_password(client, user)
    _pre_authentication(ctx, pool, client, user, meta)
    lockout.check(ctx, pool["Id"], user["username"])  # again: concurrent failures during PreAuthentication
    if not passwords.password_matches(pool, user, password):
        raise _password_failed(ctx, pool, user)
    _status_after_password(ctx, pool, client, user)
    lockout.success(ctx, pool["Id"], user["username"])
    state = threat_protection.assess_sign_in(ctx, pool, client, user, state, password=password)
    return continue_sign_in(ctx, pool, client, user, state)


def _refresh_flow(ctx, pool: dict, client: dict, params: dict, meta: dict | None) -> dict:
    token = params.get("REFRESH_TOKEN")
    if not token:
        raise _missing("REFRESH_TOKEN")
    if tokens.rotation(client)[0]:
        raise ServiceError("NotAuthorizedException",
                           "Refresh token rotation is enabled for this app client; use GetTokensFromRefreshToken.")
    info = tokens.refresh_token_info(ctx, token)
    if info is None or info["client_id"] != client["ClientId"]:
        raise ServiceError("NotAuthorizedException", tokens.INVALID_REFRESH)
    user = _find_user(ctx, pool, info["username"])
    names = [params.get("USERNAME"), info["username"]]
    if user is not None:
        attrs = user.get("attributes") or {}
        names += [attrs.get("email"), attrs.get("phone_number"), attrs.get("preferred_username")]
    _check_secret(ctx, client, names, params.get("SECRET_HASH"))
    result, _user = tokens.refresh(ctx, pool, client, token, device_key=params.get("DEVICE_KEY"),
                                   client_metadata=meta)
    return {"ChallengeParameters": {}, "AuthenticationResult": result}


# -- USER_AUTH (choice-based) ------------------------------------------------------------------------------
def _allowed_first_factors(pool: dict) -> list[str]:
    policy = ((pool.get("Policies") or {}).get("SignInPolicy") or {})
    return list(policy.get("AllowedFirstAuthFactors") or ["PASSWORD"])


def _available_factors(ctx, pool: dict, user: dict) -> list[str]:
    allowed = _allowed_first_factors(pool)
    configured = webauthn_ops.configured_auth_factors(ctx, pool, user)
    out: list[str] = []
    for factor in configured:
        if factor not in allowed:
            continue
        if factor == "PASSWORD":
            if passwords.has_password(user):
                out += ["PASSWORD", "PASSWORD_SRP"]
        else:
            out.append(factor)
    return out


def _user_auth_start(ctx, pool: dict, client: dict, params: dict, state: dict, meta: dict | None) -> dict:
    typed = params.get("USERNAME")
    if not typed:
        raise _missing("USERNAME")
    user = _find_user(ctx, pool, typed)
    _check_secret(ctx, client, [typed, user and user["username"]], params.get("SECRET_HASH"))
    state["device_key"] = params.get("DEVICE_KEY")
    if user is None:
        if _prevents_existence_errors(client):
            if params.get("PREFERRED_CHALLENGE") == "PASSWORD_SRP" and params.get("SRP_A"):
                return _srp_challenge(ctx, pool, client, None, state, _parse_srp_a(params["SRP_A"]),
                                      with_session=True)
            raise ServiceError("NotAuthorizedException", INCORRECT)
        raise ServiceError("UserNotFoundException", "User does not exist.")
    state["username"] = user["username"]
    lockout.check(ctx, pool["Id"], user["username"])
    _status_before_password(client, user)
    _pre_authentication(ctx, pool, client, user, meta)
    available = _available_factors(ctx, pool, user)
    preferred = params.get("PREFERRED_CHALLENGE")
    if preferred and preferred in available:
        return _start_factor(ctx, pool, client, user, state, preferred, params, meta)
    state["available"] = available
    return issue_challenge(ctx, client, state, "SELECT_CHALLENGE", {}, available=available)


def _auto_sign_in(ctx, pool: dict, client: dict, params: dict, state: dict, session: str,
                  meta: dict | None) -> dict:
    """USER_AUTH with the Session of SignUp (auto-confirmed user) or ConfirmSignUp: the
    confirmation stands in for the first factor, once, within the session's life."""
    typed = params.get("USERNAME")
    if not typed:
        raise _missing("USERNAME")
    user = _find_user(ctx, pool, typed)
    _check_secret(ctx, client, [typed, user and user["username"]], params.get("SECRET_HASH"))
    saved = auth_sessions.load(ctx, session, client["ClientId"])
    if not saved.get("auto_sign_in") or saved.get("pool_id") != pool["Id"] or user is None \
            or saved.get("username") != user["username"]:
        raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
    auth_sessions.consume(ctx, saved)
    lockout.check(ctx, pool["Id"], user["username"])
    _status_before_password(client, user)
    _status_after_password(ctx, pool, client, user)
    _pre_authentication(ctx, pool, client, user, meta)
    state.update({"username": user["username"], "device_key": params.get("DEVICE_KEY"),
                  "first_factor": "SIGN_UP", "first_factor_otp": True})
    return continue_sign_in(ctx, pool, client, user, state)


def _start_factor(ctx, pool: dict, client: dict, user: dict, state: dict, factor: str, inputs: dict,
                  meta: dict | None) -> dict:
    state = {**state, "first_factor": factor}
    if factor == "PASSWORD":
        if inputs.get("PASSWORD") is None:
            raise _missing("PASSWORD")
        return _check_password_and_continue(ctx, pool, client, user, state, inputs["PASSWORD"], None)
    if factor == "PASSWORD_SRP":
        if not inputs.get("SRP_A"):
            raise _missing("SRP_A")
        return _srp_challenge(ctx, pool, client, user, state, _parse_srp_a(inputs["SRP_A"]), with_session=True)
    if factor in ("EMAIL_OTP", "SMS_OTP"):
        state = {**state, "first_factor_otp": True}
        state, params = _send_otp(ctx, pool, client, user, state, factor)
        return issue_challenge(ctx, client, state, factor, params)
    if factor == "WEB_AUTHN":
        options = webauthn_ops.begin_assertion(ctx, pool, user)
        state = {**state, "webauthn_challenge": options["challenge"]}
        return issue_challenge(ctx, client, state, "WEB_AUTHN",
                               {"CREDENTIAL_REQUEST_OPTIONS": json.dumps(options)})
    raise ServiceError("InvalidParameterException", f"The challenge {factor} is not available for the user.")


# -- RespondToAuthChallenge --------------------------------------------------------------------------------
@registry.handler
def respond_to_auth_challenge(ctx, req):
    client = clients.load_client(ctx.db, req["ClientId"])
    pool = pools.load_pool(ctx.db, client["UserPoolId"])
    return _respond(ctx, pool, client, req, admin=False)


@registry.handler
def admin_respond_to_auth_challenge(ctx, req):
    pool, client = clients.pool_and_client(ctx.db, req)
    return _respond(ctx, pool, client, req, admin=True)


def _load_state(ctx, pool: dict, client: dict, req: dict, admin: bool) -> dict:
    name = req["ChallengeName"]
    responses = req.get("ChallengeResponses") or {}
    if name in ("PASSWORD_VERIFIER", "DEVICE_PASSWORD_VERIFIER"):
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK")
        if not block:
            raise _missing("PASSWORD_CLAIM_SECRET_BLOCK")
        state = auth_sessions.load(ctx, block, client["ClientId"])
    elif name == "DEVICE_SRP_AUTH" and not req.get("Session"):
        state = _pending_device_state(ctx, pool, client, responses)
    else:
        if not req.get("Session"):
            raise _missing("Session")
        state = auth_sessions.load(ctx, req["Session"], client["ClientId"])
    if state.get("pool_id") != pool["Id"] or bool(state.get("admin")) != admin:
        raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
    if state.get("challenge") != name:
        raise ServiceError("InvalidParameterException",
                           f"Invalid challenge name {name}; the session expects {state.get('challenge')}.")
    return state


def _pending_device_state(ctx, pool: dict, client: dict, responses: dict) -> dict:
    """Some clients (pycognito) answer DEVICE_SRP_AUTH without the Session: find the user's
    pending device challenge instead, so the password step still had to succeed."""
    user = _find_user(ctx, pool, responses.get("USERNAME"))
    state = None
    if user is not None:
        state = auth_sessions.find_pending(ctx, pool["Id"], client["ClientId"], user["username"], "DEVICE_SRP_AUTH")
    if state is None:
        raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
    return state


def _respond(ctx, pool: dict, client: dict, req: dict, *, admin: bool) -> dict:
    name = req["ChallengeName"]
    responses = req.get("ChallengeResponses") or {}
    meta = req.get("ClientMetadata")
    state = _load_state(ctx, pool, client, req, admin)
    given = responses.get("USERNAME")
    if not given:
        raise _missing("USERNAME")
    _check_secret(ctx, client, [given, state.get("username"), state.get("typed_username")],
                  responses.get("SECRET_HASH"))
    if state.get("user_not_found") and name == "CUSTOM_CHALLENGE" and CUSTOM_AUTH.get("respond"):
        # PreventUserExistenceErrors: the custom challenge loop runs on for an unknown user.
        if given != state.get("typed_username"):
            raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
        return CUSTOM_AUTH["respond"](ctx, pool, client, None, state, responses, meta)
    if state.get("fake_user"):
        if name == "PASSWORD_VERIFIER":
            auth_sessions.consume(ctx, state)
            _commit(ctx)
            raise ServiceError("NotAuthorizedException", INCORRECT)
        raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
    user = _find_user(ctx, pool, state["username"])
    if user is None:
        raise ServiceError("UserNotFoundException", "User does not exist.")
    if given not in (state.get("username"), state.get("typed_username")):
        other = _find_user(ctx, pool, given)
        if other is None or other["username"] != user["username"]:
            raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
    if name == "CUSTOM_CHALLENGE":
        respond = CUSTOM_AUTH.get("respond")
        if respond is None:
            raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
        return respond(ctx, pool, client, user, state, responses, meta)
    handler = _RESPONDERS.get(name)
    if handler is None:
        raise ServiceError("InvalidParameterException", f"Challenge {name} is not supported here.")
    return handler(ctx, pool, client, user, state, responses, meta)


def _password_verifier(ctx, pool, client, user, state, responses, meta):
    lockout.check(ctx, pool["Id"], user["username"])
    material = passwords.srp_material(user)
    auth_sessions.consume(ctx, state)
    if material is None or not _verify_claim(ctx, state, responses, material[1],
                                             srp.pool_name(pool["Id"]), user["username"]):
        raise _password_failed(ctx, pool, user)
    _status_after_password(ctx, pool, client, user)
    lockout.success(ctx, pool["Id"], user["username"])
    if responses.get("DEVICE_KEY") and not state.get("device_key"):
        # amazon-cognito-identity-js sends the remembered device with the verifier, not with InitiateAuth.
        state = {**state, "device_key": responses["DEVICE_KEY"]}
    if state.get("flow") == "CUSTOM_AUTH" and CUSTOM_AUTH.get("after_password"):
        return CUSTOM_AUTH["after_password"](ctx, pool, client, user, state, meta)
    state = threat_protection.assess_sign_in(ctx, pool, client, user, state)
    return continue_sign_in(ctx, pool, client, user, state, meta)


def _new_password(ctx, pool, client, user, state, responses, meta):
    new_password = responses.get("NEW_PASSWORD")
    if not new_password:
        raise _missing("NEW_PASSWORD")
    updates = {k[len("userAttributes."):]: v for k, v in responses.items() if k.startswith("userAttributes.")}
    current = dict(user.get("attributes") or {})
    if updates:
        for flag in attributes.VERIFIED_FLAGS:
            if flag in updates:  # the challenge never sets verified flags, whatever the client may write
                raise attributes.non_mutable(flag)
        attributes.check_client_write(client, list(updates))
        attributes.validate_values(pool, updates, creating=False, admin=False)
    merged = {**current, **updates}
    missing = [n for n in attributes.required_names(pool) if not merged.get(n)]
    if missing:
        raise ServiceError("InvalidParameterException", f"Invalid attributes given, {missing[0]} is missing")
    passwords.check_policy(pool, new_password, user, prefix=passwords.USER_PREFIX)
    passwords.set_password(ctx.db, pool, user, new_password, temporary=False, now=ctx.now())
    if updates:
        attributes.normalise_flags(merged)
        user["attributes"] = merged
    user["status"] = "CONFIRMED"
    users.save_user(ctx.db, pool, user)
    auth_sessions.consume(ctx, state)
    state = {**state, "new_password_done": True, "source": "TokenGeneration_NewPasswordChallenge"}
    return continue_sign_in(ctx, pool, client, user, state, meta)


def _otp_answer(ctx, pool, client, user, state, responses, meta):
    name = state["challenge"]
    key = CODE_KEYS[name]
    code = responses.get(key)
    if not code:
        raise _missing(key)
    if not hmac.compare_digest(_code_hash(state.get("code_salt", ""), code), state.get("code_hash", "")):
        raise ServiceError("CodeMismatchException", "Invalid code or auth state for the user.")
    auth_sessions.consume(ctx, state)
    state = {k: v for k, v in state.items() if k not in ("code_hash", "code_salt")}
    state["mfa_done"] = True
    if state.get("setup_email"):
        user = _finish_email_setup(ctx, pool, user, state.pop("setup_email"))
    return continue_sign_in(ctx, pool, client, user, state, meta)


def _finish_email_setup(ctx, pool: dict, user: dict, email: str) -> dict:
    """The code sent to the address given at MFA_SETUP came back: the address is the user's
    verified email and email MFA is on."""
    user["attributes"]["email"] = email
    user["attributes"]["email_verified"] = "true"
    users.check_unique_username_attributes(ctx.db, pool, user)
    users.claim_aliases(ctx.db, pool, user, force=False, only=["email"])
    settings = mfa.settings(user)
    settings["email_enabled"] = True
    if not mfa.preferred_factor(user):
        settings["preferred"] = "EMAIL_OTP"
    users.touch(user, ctx.now())
    users.save_user(ctx.db, pool, user)
    return user


def _totp_answer(ctx, pool, client, user, state, responses, meta):
    code = responses.get("SOFTWARE_TOKEN_MFA_CODE")
    if not code:
        raise _missing("SOFTWARE_TOKEN_MFA_CODE")
    if not mfa.consume_totp(ctx.db, pool, user, code, ctx.now()):
        if mfa.totp_already_used(user, code, ctx.now()):
            raise ServiceError("ExpiredCodeException", "Your software token has already been used once.")
        raise ServiceError("CodeMismatchException", "Invalid code received for user")
    auth_sessions.consume(ctx, state)
    user = _find_user(ctx, pool, user["username"]) or user
    return continue_sign_in(ctx, pool, client, user, {**state, "mfa_done": True}, meta)


def _select_mfa(ctx, pool, client, user, state, responses, meta):
    answer = responses.get("ANSWER")
    if not answer:
        raise _missing("ANSWER")
    if answer == "EMAIL_MFA":  # the API reference's name for the email factor; clients send EMAIL_OTP
        answer = "EMAIL_OTP"
    if answer not in (state.get("available") or []):
        raise ServiceError("InvalidParameterException", f"Invalid MFA type {answer} selected.")
    auth_sessions.consume(ctx, state)
    return _mfa_challenge(ctx, pool, client, user, state, answer)


def _mfa_setup(ctx, pool, client, user, state, responses, meta):
    email = responses.get("EMAIL")
    if email is not None and not state.get("mfa_setup_verified"):
        return _email_mfa_setup(ctx, pool, client, user, state, email)
    if not state.get("mfa_setup_verified") and not mfa.enabled_factors(pool, user):
        raise ServiceError("InvalidParameterException", "MFA has not been set up for the user.")
    auth_sessions.consume(ctx, state)
    return continue_sign_in(ctx, pool, client, user, {**state, "mfa_done": True}, meta)


def _email_mfa_setup(ctx, pool: dict, client: dict, user: dict, state: dict, email: str) -> dict:
    """MFA_SETUP answered with an EMAIL address: send an EMAIL_OTP code there; the address
    becomes the user's (verified) email and email MFA when the code comes back."""
    if "EMAIL_OTP" not in _pool_mfa_factors(pool):
        raise ServiceError("InvalidParameterException", "Email MFA is not enabled for the user pool.")
    if not attributes.EMAIL_RE.match(email):
        raise ServiceError("InvalidParameterException", "Invalid email address format.")
    auth_sessions.consume(ctx, state)
    target = {**user, "attributes": {**(user.get("attributes") or {}), "email": email}}
    state = {**state, "setup_email": email, "mfa_factor": "EMAIL_OTP"}
    state, params = _send_otp(ctx, pool, client, target, state, "EMAIL_OTP")
    return issue_challenge(ctx, client, state, "EMAIL_OTP", params)


def _select_challenge(ctx, pool, client, user, state, responses, meta):
    answer = responses.get("ANSWER")
    if not answer:
        raise _missing("ANSWER")
    if answer not in (state.get("available") or []):
        raise ServiceError("InvalidParameterException", f"The challenge {answer} is not available for the user.")
    result = _start_factor(ctx, pool, client, user, state, answer, responses, meta)
    auth_sessions.consume(ctx, state)  # after the factor: a wrong password may be retried
    return result


def _web_authn(ctx, pool, client, user, state, responses, meta):
    credential = responses.get("CREDENTIAL")
    if not credential:
        raise _missing("CREDENTIAL")
    if not webauthn_ops.finish_assertion(ctx, pool, user, credential, state["webauthn_challenge"]):
        _record_event(ctx, pool, user, False, "WebAuthn")
        raise ServiceError("NotAuthorizedException", INCORRECT)
    auth_sessions.consume(ctx, state)
    return continue_sign_in(ctx, pool, client, user, {**state, "first_factor_otp": True}, meta)


def _device_srp(ctx, pool, client, user, state, responses, meta):
    device_key = responses.get("DEVICE_KEY")
    if not device_key:
        raise _missing("DEVICE_KEY")
    if not responses.get("SRP_A"):
        raise _missing("SRP_A")
    big_a = _parse_srp_a(responses["SRP_A"])
    device = _load_device(ctx, pool, user, device_key)
    if device is None or not device.get("verifier"):
        raise ServiceError("ResourceNotFoundException", "Device does not exist.")
    b, big_b = srp.server_challenge(device["verifier"])
    auth_sessions.consume(ctx, state)
    state = {**state, "device_key": device_key, "challenge": "DEVICE_PASSWORD_VERIFIER",
             "srp_A": format(big_a, "x"), "srp_b": format(b, "x"), "srp_B": format(big_b, "x")}
    block = auth_sessions.issue(ctx, state, client)
    return {"ChallengeName": "DEVICE_PASSWORD_VERIFIER", "Session": block, "ChallengeParameters": {
        "SALT": format(device["salt"], "x"), "SRP_B": format(big_b, "x"), "SECRET_BLOCK": block,
        "USERNAME": user["username"], "DEVICE_KEY": device_key}}


def _device_verifier(ctx, pool, client, user, state, responses, meta):
    device_key = state.get("device_key")
    if responses.get("DEVICE_KEY") and responses["DEVICE_KEY"] != device_key:
        raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
    device = _load_device(ctx, pool, user, device_key)
    auth_sessions.consume(ctx, state)
    if device is None or not device.get("verifier") or not _verify_claim(
            ctx, state, responses, device["verifier"], device["DeviceGroupKey"], device_key):
        _commit(ctx)
        raise ServiceError("NotAuthorizedException", INCORRECT)
    state = {**state, "device_done": True, "source": "TokenGeneration_AuthenticateDevice"}
    return continue_sign_in(ctx, pool, client, user, state, meta)


_RESPONDERS: dict[str, Callable[..., dict]] = {
    "PASSWORD_VERIFIER": _password_verifier,
    "NEW_PASSWORD_REQUIRED": _new_password,
    "SMS_MFA": _otp_answer,
    "EMAIL_OTP": _otp_answer,
    "SMS_OTP": _otp_answer,
    "SOFTWARE_TOKEN_MFA": _totp_answer,
    "SELECT_MFA_TYPE": _select_mfa,
    "MFA_SETUP": _mfa_setup,
    "SELECT_CHALLENGE": _select_challenge,
    "WEB_AUTHN": _web_authn,
    "DEVICE_SRP_AUTH": _device_srp,
    "DEVICE_PASSWORD_VERIFIER": _device_verifier,
}
