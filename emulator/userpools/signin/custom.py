"""CUSTOM_AUTH: the DefineAuthChallenge / CreateAuthChallenge / VerifyAuthChallengeResponse loop.

Cognito keeps the history of the sign-in (`session`: challengeName, challengeResult,
challengeMetadata per round) and asks DefineAuthChallenge what comes next after every
step: another CUSTOM_CHALLENGE (whose content CreateAuthChallenge makes), the SRP
PASSWORD_VERIFIER (only when the client started with CHALLENGE_NAME=SRP_A), tokens, or
failure. A wrong answer is a round with challengeResult false; Define decides what follows.

ClientMetadata of InitiateAuth reaches PreAuthentication only (as validationData); the
ClientMetadata of RespondToAuthChallenge reaches Verify, Define, Create and the triggers
after them. With PreventUserExistenceErrors ENABLED an unknown user still runs the loop
(`userNotFound: true`, no attributes) and can never get tokens.
"""

from __future__ import annotations

import json
from typing import Any

from emulator.userpools import errors
from emulator.userpools.model import users
from emulator.userpools.outbound import triggers
from emulator.userpools.signin import sessions
from emulator.userpools.signin.engine import INCORRECT, USER_NOT_FOUND, SignIn, Step, missing
from emulator.userpools.signin.srp_auth import parse_srp_a, password_verifier_challenge

CHALLENGE_TRIGGERS = ("DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse")
NOT_CONFIGURED = "Custom auth lambda trigger is not configured for the user pool."
CUSTOM_CHALLENGE = "CUSTOM_CHALLENGE"
_ROUND_KEYS = ("custom_private", "custom_metadata")


def _request(sign_in: SignIn, meta: dict | None, **extra: Any) -> dict:
    user = sign_in.user
    request: dict[str, Any] = {"userAttributes": users.event_user_attributes(sign_in.pool, user) if user else {}}
    request.update(extra)
    if meta is not None:
        request["clientMetadata"] = dict(meta)
    request["userNotFound"] = bool(sign_in.state.get("user_not_found"))
    return request


def _run(sign_in: SignIn, trigger: str, request: dict, response: dict) -> dict:
    return triggers.run_trigger(sign_in.ctx, sign_in.pool, trigger, f"{trigger}_Authentication",
                                username=sign_in.state["username"], client_id=sign_in.client["ClientId"],
                                request=request, response=response) or {}


def start(sign_in: SignIn, params: dict, client_metadata: dict | None) -> Step:
    """InitiateAuth / AdminInitiateAuth with AuthFlow CUSTOM_AUTH."""
    if not all(triggers.has_trigger(sign_in.pool, t) for t in CHALLENGE_TRIGGERS):
        raise errors.InvalidParameterException(NOT_CONFIGURED)
    typed = params["USERNAME"]
    user = sign_in.identify(params)
    state = sign_in.state
    state["device_key"] = params.get("DEVICE_KEY")
    with_srp = params.get("CHALLENGE_NAME") == "SRP_A"
    if with_srp:
        if not params.get("SRP_A"):
            raise missing("SRP_A")
        state["srp_A"] = format(parse_srp_a(params["SRP_A"]), "x")
    if user is None:
        if not sign_in.prevents_existence_errors:
            raise errors.UserNotFoundException(USER_NOT_FOUND)
        state.update(username=typed, user_not_found=True)
    else:
        state["username"] = user["username"]
        sign_in.status_before_password()
        sign_in.pre_authentication(client_metadata)
        if user.get("enabled") is False:
            raise errors.NotAuthorizedException("User is disabled.")
        if user.get("status") == "UNCONFIRMED":
            raise errors.UserNotConfirmedException("User is not confirmed.")
    state["custom_session"] = ([{"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None}]
                               if with_srp else [])
    return _next_round(sign_in, None)


def _next_round(sign_in: SignIn, meta: dict | None) -> Step:
    """Ask DefineAuthChallenge what follows the rounds so far, and do it."""
    state = sign_in.state
    history = list(state.get("custom_session") or [])
    response = _run(sign_in, "DefineAuthChallenge", _request(sign_in, meta, session=history),
                    {"challengeName": None, "issueTokens": None, "failAuthentication": None})
    if response.get("failAuthentication") is True:
        raise errors.NotAuthorizedException(INCORRECT)
    if response.get("issueTokens") is True:
        if sign_in.user is None:
            raise errors.NotAuthorizedException(INCORRECT)
        # The challenge functions ran with the store released: no tokens for a user deleted or
        # disabled meanwhile, and what follows (MFA, device, tokens) sees the current record.
        sign_in.reload_after_trigger()
        # A password proved in this flow (custom auth with SRP) is a password sign-in: a
        # FORCE_CHANGE_PASSWORD user must still choose a new one.
        password_proved = any(r.get("challengeName") == "PASSWORD_VERIFIER" and r.get("challengeResult")
                              for r in history)
        sign_in.state = {k: v for k, v in state.items() if k not in _ROUND_KEYS}
        sign_in.state.update(mfa_done=True, new_password_done=not password_proved)
        return sign_in.proceed(meta)
    name = response.get("challengeName")
    if name == CUSTOM_CHALLENGE:
        return _create_challenge(sign_in, meta, history)
    if name == "PASSWORD_VERIFIER" and state.get("srp_A") and not state.get("password_verified"):
        return password_verifier_challenge(sign_in, int(state["srp_A"], 16), with_session=True)
    raise triggers.invalid_response()


def _create_challenge(sign_in: SignIn, meta: dict | None, history: list[dict]) -> Step:
    response = _run(sign_in, "CreateAuthChallenge",
                    _request(sign_in, meta, challengeName=CUSTOM_CHALLENGE, session=history),
                    {"publicChallengeParameters": None, "privateChallengeParameters": None,
                     "challengeMetadata": None})
    public = response.get("publicChallengeParameters") or {}
    private = response.get("privateChallengeParameters") or {}
    metadata = response.get("challengeMetadata")
    if not isinstance(public, dict) or not isinstance(private, dict) \
            or not (metadata is None or isinstance(metadata, str)):
        raise triggers.invalid_response()
    parameters = {str(k): _text(v) for k, v in public.items()}
    parameters["USERNAME"] = sign_in.state["username"]
    sign_in.state.update(custom_private={str(k): _text(v) for k, v in private.items()}, custom_metadata=metadata)
    return sign_in.issue(CUSTOM_CHALLENGE, parameters)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def respond(sign_in: SignIn, responses: dict, meta: dict | None) -> Step:
    """RespondToAuthChallenge with ChallengeName CUSTOM_CHALLENGE (the sign-in's user is None for
    an unknown user under PreventUserExistenceErrors)."""
    state = sign_in.state
    if state.get("flow") != "CUSTOM_AUTH" or "custom_private" not in state:
        raise errors.NotAuthorizedException(sessions.INVALID)
    answer = responses.get("ANSWER")
    if answer is None:
        raise missing("ANSWER")
    if state.get("user_not_found"):
        sign_in.user = None
    response = _run(sign_in, "VerifyAuthChallengeResponse",
                    _request(sign_in, meta, privateChallengeParameters=state["custom_private"], challengeAnswer=answer),
                    {"answerCorrect": None})
    correct = response.get("answerCorrect")
    if correct is not None and not isinstance(correct, bool):
        raise triggers.invalid_response()
    # Verify ran with the store released: when a concurrent answer used this session first,
    # consuming it fails ("session can only be used once").
    sign_in.consume()
    history = list(state.get("custom_session") or [])
    history.append({"challengeName": CUSTOM_CHALLENGE, "challengeResult": bool(correct),
                    "challengeMetadata": state.get("custom_metadata")})
    sign_in.state = {k: v for k, v in state.items() if k not in _ROUND_KEYS}
    sign_in.state["custom_session"] = history
    return _next_round(sign_in, meta)


def after_password(sign_in: SignIn, meta: dict | None) -> Step:
    """The SRP PASSWORD_VERIFIER of a custom flow succeeded: back to DefineAuthChallenge."""
    history = list(sign_in.state.get("custom_session") or [])
    history.append({"challengeName": "PASSWORD_VERIFIER", "challengeResult": True, "challengeMetadata": None})
    sign_in.state = {k: v for k, v in sign_in.state.items() if not k.startswith("srp_") or k == "srp_A"}
    sign_in.state.update(custom_session=history, password_verified=True)
    return _next_round(sign_in, meta)
