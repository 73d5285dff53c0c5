"""Answers to challenges: RespondToAuthChallenge / AdminRespondToAuthChallenge, and the managed
login's pages, which answer the same challenges through `answer`.

`answer` checks what every answer must carry (the challenge the session waits for, USERNAME,
SECRET_HASH) and hands the ChallengeResponses to the challenge's responder (RESPONDERS): SRP
PASSWORD_VERIFIER, NEW_PASSWORD_REQUIRED, the MFA codes (SMS_MFA, EMAIL_OTP, SOFTWARE_TOKEN_MFA),
SELECT_MFA_TYPE, MFA_SETUP, USER_AUTH's SELECT_CHALLENGE, SMS_OTP and WEB_AUTHN, the device steps
(DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER) and CUSTOM_CHALLENGE (signin.custom).
"""

from __future__ import annotations

from collections.abc import Callable

from emulator.userpools import errors
from emulator.userpools.accounts import mfa, threat_protection
from emulator.userpools.accounts import webauthn as webauthn_ops
from emulator.userpools.model import attributes, codes, lockout, mfa_config, passwords, srp, users
from emulator.userpools.signin import custom, sessions
from emulator.userpools.signin.engine import INCORRECT, USER_NOT_FOUND, SignIn, Step, missing
from emulator.userpools.signin.flows import start_factor
from emulator.userpools.signin.srp_auth import claim_verified, parse_srp_a
from protocol import ServiceError

# The ChallengeResponses member that carries the code of each code challenge.
CODE_KEYS = {"SMS_MFA": "SMS_MFA_CODE", "EMAIL_OTP": "EMAIL_OTP_CODE", "SMS_OTP": "SMS_OTP_CODE",
             "SOFTWARE_TOKEN_MFA": "SOFTWARE_TOKEN_MFA_CODE"}
_VERIFIERS = ("PASSWORD_VERIFIER", "DEVICE_PASSWORD_VERIFIER")


def _invalid_session() -> ServiceError:
    return errors.NotAuthorizedException(sessions.INVALID)


def respond(ctx, pool: dict, client: dict, req: dict, *, admin: bool) -> Step:
    """RespondToAuthChallenge (`admin` False) or AdminRespondToAuthChallenge."""
    name = req["ChallengeName"]
    responses = req.get("ChallengeResponses") or {}
    if name in _VERIFIERS:
        # The SRP secret block is the session of a verifier step.
        block = responses.get("PASSWORD_CLAIM_SECRET_BLOCK")
        if not block:
            raise missing("PASSWORD_CLAIM_SECRET_BLOCK")
        state = sessions.load(ctx, block, client["ClientId"])
    elif name == "DEVICE_SRP_AUTH" and not req.get("Session"):
        state = _pending_device_state(ctx, pool, client, responses)
    else:
        if not req.get("Session"):
            raise missing("Session")
        state = sessions.load(ctx, req["Session"], client["ClientId"])
    sign_in = SignIn.resume(ctx, pool, client, state, admin=admin, hosted=False)
    return answer(sign_in, name, responses, req.get("ClientMetadata"))


def _pending_device_state(ctx, pool: dict, client: dict, responses: dict) -> dict:
    """Some clients (pycognito) answer DEVICE_SRP_AUTH without the Session: find the user's
    pending device challenge instead, so the password step still had to succeed."""
    name = responses.get("USERNAME")
    user = users.find_user(ctx.db, pool, name) if name else None
    state = None
    if user is not None:
        state = sessions.find_pending(ctx, pool["Id"], client["ClientId"], user["username"], "DEVICE_SRP_AUTH")
    if state is None:
        raise _invalid_session()
    return state


def resume_hosted(ctx, pool: dict, client: dict, session: str | None) -> SignIn:
    """The managed-login sign-in a page's `session` continues, with its user loaded
    (NotAuthorizedException when the session is unknown, spent, expired or the API's)."""
    state = sessions.load(ctx, session, client["ClientId"])
    sign_in = SignIn.resume(ctx, pool, client, state, admin=False, hosted=True)
    sign_in.load_user()
    return sign_in


def answer(sign_in: SignIn, name: str, responses: dict, client_metadata: dict | None = None) -> Step:
    """Answer the challenge `name` of a resumed sign-in with `responses` (ChallengeResponses)."""
    state = sign_in.state
    if state.get("challenge") != name:
        raise errors.InvalidParameterException(
            f"Invalid challenge name {name}; the session expects {state.get('challenge')}.")
    given = responses.get("USERNAME")
    if not given:
        raise missing("USERNAME")
    sign_in.check_secret([given, state.get("username"), state.get("typed_username")], responses.get("SECRET_HASH"))
    if state.get("user_not_found") and name == "CUSTOM_CHALLENGE":
        # PreventUserExistenceErrors: the custom challenge loop runs on for an unknown user.
        if given != state.get("typed_username"):
            raise _invalid_session()
        return custom.respond(sign_in, responses, client_metadata)
    if state.get("fake_user"):
        if name == "PASSWORD_VERIFIER":
            sign_in.consume()
            sign_in.ctx.commit_now()
            raise errors.NotAuthorizedException(INCORRECT)
        raise _invalid_session()
    user = sign_in.load_user()
    if user is None:
        raise errors.UserNotFoundException(USER_NOT_FOUND)
    if given not in (state.get("username"), state.get("typed_username")):
        other = sign_in.find_user(given)
        if other is None or other["username"] != user["username"]:
            raise _invalid_session()
    responder = RESPONDERS.get(name)
    if responder is None:
        raise errors.InvalidParameterException(f"Challenge {name} is not supported here.")
    return responder(sign_in, responses, client_metadata)


# -- responders ----------------------------------------------------------------------------------------
def _password_verifier(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    pool, user = sign_in.pool, sign_in.user
    sign_in.check_lockout()
    material = passwords.srp_material(user)
    sign_in.consume()
    if material is None or not claim_verified(sign_in, responses, material[1], srp.pool_name(pool["Id"]),
                                              user["username"]):
        raise sign_in.password_failed()
    sign_in.status_after_password()
    lockout.success(sign_in.ctx, pool["Id"], user["username"])
    if responses.get("DEVICE_KEY") and not sign_in.state.get("device_key"):
        # amazon-cognito-identity-js sends the remembered device with the verifier, not with InitiateAuth.
        sign_in.state["device_key"] = responses["DEVICE_KEY"]
    if sign_in.state.get("flow") == "CUSTOM_AUTH":
        return custom.after_password(sign_in, meta)
    sign_in.state = threat_protection.assess_sign_in(sign_in.ctx, pool, sign_in.client, user, sign_in.state)
    return sign_in.proceed(meta)


def _new_password(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    pool, client, user = sign_in.pool, sign_in.client, sign_in.user
    new_password = responses.get("NEW_PASSWORD")
    if not new_password:
        raise missing("NEW_PASSWORD")
    updates = {k[len("userAttributes."):]: v for k, v in responses.items() if k.startswith("userAttributes.")}
    current = dict(user.get("attributes") or {})
    if updates:
        for flag in attributes.VERIFIED_FLAGS:
            if flag in updates:  # the challenge never sets verified flags, whatever the client may write
                raise attributes.non_mutable(flag)
        attributes.check_client_write(client, list(updates))
        attributes.validate_values(pool, updates, creating=False, admin=False)
    merged = {**current, **updates}
    absent = [n for n in attributes.required_names(pool) if not merged.get(n)]
    if absent:
        raise errors.InvalidParameterException(f"Invalid attributes given, {absent[0]} is missing")
    passwords.check_policy(pool, new_password, user, prefix=passwords.USER_PREFIX)
    passwords.set_password(sign_in.ctx.db, pool, user, new_password, temporary=False, now=sign_in.ctx.now())
    if updates:
        attributes.normalise_flags(merged)
        user["attributes"] = merged
    user["status"] = "CONFIRMED"
    users.save_user(sign_in.ctx.db, pool, user)
    sign_in.consume()
    sign_in.state.update(new_password_done=True, source="TokenGeneration_NewPasswordChallenge")
    return sign_in.proceed(meta)


def _given_code(sign_in: SignIn, responses: dict) -> str:
    key = CODE_KEYS[sign_in.state["challenge"]]
    code = responses.get(key)
    if not code:
        raise missing(key)
    return code


def _otp_answer(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    state = sign_in.state
    code = _given_code(sign_in, responses)
    if not codes.code_matches(state.get("code_salt", ""), code, state.get("code_hash", "")):
        raise errors.CodeMismatchException("Invalid code or auth state for the user.")
    sign_in.consume()
    state.pop("code_hash", None)
    state.pop("code_salt", None)
    state["mfa_done"] = True
    if state.get("setup_email"):
        _finish_email_setup(sign_in, state.pop("setup_email"))
    return sign_in.proceed(meta)


def _finish_email_setup(sign_in: SignIn, email: str) -> None:
    """The code sent to the address given at MFA_SETUP came back: the address is the user's
    verified email and email MFA is on."""
    ctx, pool, user = sign_in.ctx, sign_in.pool, sign_in.user
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


def _totp_answer(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    ctx, user = sign_in.ctx, sign_in.user
    code = _given_code(sign_in, responses)
    if not mfa.consume_totp(ctx.db, sign_in.pool, user, code, ctx.now()):
        if mfa.totp_already_used(user, code, ctx.now()):
            raise errors.ExpiredCodeException("Your software token has already been used once.")
        raise errors.CodeMismatchException("Invalid code received for user")
    sign_in.consume()
    sign_in.user = sign_in.find_user(user["username"]) or user
    sign_in.state["mfa_done"] = True
    return sign_in.proceed(meta)


def _chosen(sign_in: SignIn, responses: dict, refusal: str) -> str:
    """The ANSWER of a choice (SELECT_MFA_TYPE, SELECT_CHALLENGE) among the state's `available`."""
    choice = responses.get("ANSWER")
    if not choice:
        raise missing("ANSWER")
    if choice == "EMAIL_MFA" and sign_in.challenge == "SELECT_MFA_TYPE":
        choice = "EMAIL_OTP"  # the API reference's name for the email factor; clients send EMAIL_OTP
    if choice not in (sign_in.state.get("available") or []):
        raise errors.InvalidParameterException(refusal.format(choice))
    return choice


def _select_mfa(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    choice = _chosen(sign_in, responses, "Invalid MFA type {} selected.")
    sign_in.consume()
    return sign_in.mfa_challenge(choice)


def _mfa_setup(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    verified = sign_in.state.get("mfa_setup_verified")
    email = responses.get("EMAIL")
    if email is not None and not verified:
        return _email_mfa_setup(sign_in, email)
    if not verified and not mfa.enabled_factors(sign_in.pool, sign_in.user):
        raise errors.InvalidParameterException("MFA has not been set up for the user.")
    sign_in.consume()
    sign_in.state["mfa_done"] = True
    return sign_in.proceed(meta)


def _email_mfa_setup(sign_in: SignIn, email: str) -> Step:
    """MFA_SETUP answered with an EMAIL address: send an EMAIL_OTP code there; the address
    becomes the user's (verified) email and email MFA when the code comes back."""
    if "EMAIL_OTP" not in mfa_config.enabled_factors(sign_in.pool):
        raise errors.InvalidParameterException("Email MFA is not enabled for the user pool.")
    if not attributes.EMAIL_RE.match(email):
        raise errors.InvalidParameterException("Invalid email address format.")
    sign_in.consume()
    user = sign_in.user
    target = {**user, "attributes": {**(user.get("attributes") or {}), "email": email}}
    sign_in.state.update(setup_email=email, mfa_factor="EMAIL_OTP")
    return sign_in.issue("EMAIL_OTP", sign_in.send_otp("EMAIL_OTP", target))


def _select_challenge(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    choice = _chosen(sign_in, responses, "The challenge {} is not available for the user.")
    step = start_factor(sign_in, choice, responses)
    sign_in.consume()  # after the factor: a wrong password may be retried
    return step


def _web_authn(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    credential = responses.get("CREDENTIAL")
    if not credential:
        raise missing("CREDENTIAL")
    if not webauthn_ops.finish_assertion(sign_in.ctx, sign_in.pool, sign_in.user, credential,
                                         sign_in.state["webauthn_challenge"]):
        sign_in.record_event(False, "WebAuthn")
        raise errors.NotAuthorizedException(INCORRECT)
    sign_in.consume()
    sign_in.state["first_factor_otp"] = True
    return sign_in.proceed(meta)


def _device_srp(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    device_key = responses.get("DEVICE_KEY")
    if not device_key:
        raise missing("DEVICE_KEY")
    if not responses.get("SRP_A"):
        raise missing("SRP_A")
    big_a = parse_srp_a(responses["SRP_A"])
    device = sign_in.load_device(device_key)
    if device is None or not device.get("verifier"):
        raise errors.ResourceNotFoundException("Device does not exist.")
    b, big_b = srp.server_challenge(device["verifier"])
    sign_in.consume()
    sign_in.state.update({"device_key": device_key, "challenge": "DEVICE_PASSWORD_VERIFIER",
                          "srp_A": format(big_a, "x"), "srp_b": format(b, "x"), "srp_B": format(big_b, "x")})
    block = sessions.issue(sign_in.ctx, sign_in.state, sign_in.client)
    return Step("DEVICE_PASSWORD_VERIFIER", {
        "SALT": format(device["salt"], "x"), "SRP_B": format(big_b, "x"), "SECRET_BLOCK": block,
        "USERNAME": sign_in.user["username"], "DEVICE_KEY": device_key}, session=block)


def _device_verifier(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    device_key = sign_in.state.get("device_key")
    if responses.get("DEVICE_KEY") and responses["DEVICE_KEY"] != device_key:
        raise _invalid_session()
    device = sign_in.load_device(device_key)
    sign_in.consume()
    if device is None or not device.get("verifier") or not claim_verified(
            sign_in, responses, device["verifier"], device["DeviceGroupKey"], device_key):
        sign_in.ctx.commit_now()
        raise errors.NotAuthorizedException(INCORRECT)
    sign_in.state.update(device_done=True, source="TokenGeneration_AuthenticateDevice")
    return sign_in.proceed(meta)


RESPONDERS: dict[str, Callable[[SignIn, dict, dict | None], Step]] = {
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
    "CUSTOM_CHALLENGE": custom.respond,
}
