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

from typing import Any

from emulator.userpools import auth, auth_sessions, tokens, triggers
from protocol import ServiceError

CHALLENGE_TRIGGERS = ("DefineAuthChallenge", "CreateAuthChallenge", "VerifyAuthChallengeResponse")
NOT_CONFIGURED = "Custom auth lambda trigger is not configured for the user pool."
CUSTOM_CHALLENGE = "CUSTOM_CHALLENGE"


def _user_attributes(pool: dict, user: dict | None) -> dict:
    if user is None:
        return {}
    return tokens.event_user_attributes(pool, user)


def _request(pool: dict, user: dict | None, state: dict, meta: dict | None, **extra: Any) -> dict:
    request: dict[str, Any] = {"userAttributes": _user_attributes(pool, user)}
    request.update(extra)
    if meta is not None:
        request["clientMetadata"] = dict(meta)
    request["userNotFound"] = bool(state.get("user_not_found"))
    return request


def _run(ctx, pool: dict, client: dict, trigger: str, state: dict, request: dict, response: dict) -> dict:
    return triggers.run_trigger(ctx, pool, trigger, f"{trigger}_Authentication", username=state["username"],
                                client_id=client["ClientId"], request=request, response=response) or {}


def start(ctx, pool: dict, client: dict, req: dict, state: dict) -> dict:
    """InitiateAuth / AdminInitiateAuth with AuthFlow CUSTOM_AUTH."""
    if not all(triggers.has_trigger(pool, t) for t in CHALLENGE_TRIGGERS):
        raise ServiceError("InvalidParameterException", NOT_CONFIGURED)
    params = req.get("AuthParameters") or {}
    typed = params["USERNAME"]
    user = auth._find_user(ctx, pool, typed)
    auth._check_secret(ctx, client, [typed, user and user["username"]], params.get("SECRET_HASH"))
    state = dict(state)
    state["device_key"] = params.get("DEVICE_KEY")
    with_srp = params.get("CHALLENGE_NAME") == "SRP_A"
    if with_srp:
        if not params.get("SRP_A"):
            raise auth._missing("SRP_A")
        state["srp_A"] = format(auth._parse_srp_a(params["SRP_A"]), "x")
    if user is None:
        if not auth._prevents_existence_errors(client):
            raise ServiceError("UserNotFoundException", "User does not exist.")
        state.update(username=typed, user_not_found=True)
    else:
        state["username"] = user["username"]
        auth._status_before_password(client, user)
        auth._pre_authentication(ctx, pool, client, user, req.get("ClientMetadata"))
        if user.get("enabled") is False:
            raise ServiceError("NotAuthorizedException", "User is disabled.")
        if user.get("status") == "UNCONFIRMED":
            raise ServiceError("UserNotConfirmedException", "User is not confirmed.")
    state["custom_session"] = ([{"challengeName": "SRP_A", "challengeResult": True, "challengeMetadata": None}]
                               if with_srp else [])
    return _next_round(ctx, pool, client, user, state, None)


def _next_round(ctx, pool: dict, client: dict, user: dict | None, state: dict, meta: dict | None) -> dict:
    """Ask DefineAuthChallenge what follows the rounds so far, and do it."""
    history = list(state.get("custom_session") or [])
    response = _run(ctx, pool, client, "DefineAuthChallenge", state,
                    _request(pool, user, state, meta, session=history),
                    {"challengeName": None, "issueTokens": None, "failAuthentication": None})
    if response.get("failAuthentication") is True:
        raise ServiceError("NotAuthorizedException", auth.INCORRECT)
    if response.get("issueTokens") is True:
        if user is None:
            raise ServiceError("NotAuthorizedException", auth.INCORRECT)
        # The challenge functions ran with the store released: no tokens for a user deleted or
        # disabled meanwhile, and what follows (MFA, device, tokens) sees the current record.
        auth._reload_after_trigger(ctx, pool, client, user)
        # A password proved in this flow (custom auth with SRP) is a password sign-in: a
        # FORCE_CHANGE_PASSWORD user must still choose a new one.
        password_proved = any(r.get("challengeName") == "PASSWORD_VERIFIER" and r.get("challengeResult")
                              for r in history)
        done = {k: v for k, v in state.items() if k not in ("custom_private", "custom_metadata")}
        done.update(mfa_done=True, new_password_done=not password_proved)
        return auth.continue_sign_in(ctx, pool, client, user, done, meta)
    name = response.get("challengeName")
    if name == CUSTOM_CHALLENGE:
        return _create_challenge(ctx, pool, client, user, state, meta, history)
    if name == "PASSWORD_VERIFIER" and state.get("srp_A") and not state.get("password_verified"):
        return _password_verifier_challenge(ctx, pool, client, user, state)
    raise triggers.invalid_response()


def _create_challenge(ctx, pool: dict, client: dict, user: dict | None, state: dict, meta: dict | None,
                      history: list[dict]) -> dict:
    response = _run(ctx, pool, client, "CreateAuthChallenge", state,
                    _request(pool, user, state, meta, challengeName=CUSTOM_CHALLENGE, session=history),
                    {"publicChallengeParameters": None, "privateChallengeParameters": None,
                     "challengeMetadata": None})
    public = response.get("publicChallengeParameters") or {}
    private = response.get("privateChallengeParameters") or {}
    metadata = response.get("challengeMetadata")
    if not isinstance(public, dict) or not isinstance(private, dict) \
            or not (metadata is None or isinstance(metadata, str)):
        raise triggers.invalid_response()
    parameters = {str(k): _text(v) for k, v in public.items()}
    parameters["USERNAME"] = state["username"]
    state = {**state, "custom_private": {str(k): _text(v) for k, v in private.items()},
             "custom_metadata": metadata}
    return auth.issue_challenge(ctx, client, state, CUSTOM_CHALLENGE, parameters)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json
    return json.dumps(value)


def _password_verifier_challenge(ctx, pool: dict, client: dict, user: dict | None, state: dict) -> dict:
    big_a = int(state["srp_A"], 16)
    if user is None:
        # Made-up SRP material: the verifier step then fails like a wrong password.
        return auth._srp_challenge(ctx, pool, client, None, state, big_a, with_session=True)
    return auth._srp_challenge(ctx, pool, client, user, state, big_a, with_session=True)


def respond(ctx, pool: dict, client: dict, user: dict, state: dict, responses: dict,
            meta: dict | None) -> dict:
    """RespondToAuthChallenge with ChallengeName CUSTOM_CHALLENGE."""
    if state.get("flow") != "CUSTOM_AUTH" or "custom_private" not in state:
        raise ServiceError("NotAuthorizedException", auth_sessions.INVALID)
    answer = responses.get("ANSWER")
    if answer is None:
        raise auth._missing("ANSWER")
    found = None if state.get("user_not_found") else user
    response = _run(ctx, pool, client, "VerifyAuthChallengeResponse", state,
                    _request(pool, found, state, meta, privateChallengeParameters=state["custom_private"],
                             challengeAnswer=answer),
                    {"answerCorrect": None})
    correct = response.get("answerCorrect")
    if correct is not None and not isinstance(correct, bool):
        raise triggers.invalid_response()
    # Verify ran with the store released: when a concurrent answer used this session first,
    # consuming it fails ("session can only be used once").
    auth_sessions.consume(ctx, state)
    history = list(state.get("custom_session") or [])
    history.append({"challengeName": CUSTOM_CHALLENGE, "challengeResult": bool(correct),
                    "challengeMetadata": state.get("custom_metadata")})
    state = {k: v for k, v in state.items() if k not in ("custom_private", "custom_metadata")}
    state["custom_session"] = history
    return _next_round(ctx, pool, client, found, state, meta)


def after_password(ctx, pool: dict, client: dict, user: dict, state: dict, meta: dict | None) -> dict:
    """The SRP PASSWORD_VERIFIER of a custom flow succeeded: back to DefineAuthChallenge."""
    history = list(state.get("custom_session") or [])
    history.append({"challengeName": "PASSWORD_VERIFIER", "challengeResult": True, "challengeMetadata": None})
    state = {k: v for k, v in state.items() if not k.startswith("srp_") or k == "srp_A"}
    state.update(custom_session=history, password_verified=True)
    return _next_round(ctx, pool, client, user, state, meta)


auth.CUSTOM_AUTH.update(start=start, respond=respond, after_password=after_password)
