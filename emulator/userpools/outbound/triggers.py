"""Where user pool Lambda triggers are called: the event envelope, the pool's
LambdaConfig lookup and AWS's error mapping. Call sites live in the operations.

`run_trigger` returns None when the pool has no function for the trigger, else the
`response` object the function returned.
"""

from __future__ import annotations

import copy
from typing import Any

from emulator import lambdas
from emulator.userpools import errors
from protocol import ServiceError

CLIENT_ID_NOT_APPLICABLE = "CLIENT_ID_NOT_APPLICABLE"
AWS_SDK_VERSION = "aws-sdk-unknown-unknown"
INVALID_OUTPUT = "Unrecognizable lambda output"
# Cognito invokes a trigger synchronously (lambda_timeout, 5 s on AWS) and tries a timed out,
# throttled or service-failed invocation up to three times in all; a function error is final.
ATTEMPTS = 3

# trigger name -> LambdaConfig key (PreTokenGeneration also via PreTokenGenerationConfig)
LAMBDA_CONFIG_KEYS = {
    "PreSignUp": "PreSignUp",
    "PostConfirmation": "PostConfirmation",
    "PreAuthentication": "PreAuthentication",
    "PostAuthentication": "PostAuthentication",
    "PreTokenGeneration": "PreTokenGeneration",
    "CustomMessage": "CustomMessage",
    "DefineAuthChallenge": "DefineAuthChallenge",
    "CreateAuthChallenge": "CreateAuthChallenge",
    "VerifyAuthChallengeResponse": "VerifyAuthChallengeResponse",
    "UserMigration": "UserMigration",
    "CustomEmailSender": "CustomEmailSender",
    "CustomSMSSender": "CustomSMSSender",
}


def trigger_arn(pool: dict, trigger: str) -> str | None:
    """The function configured for `trigger` on `pool` (a UserPoolType dict), or None."""
    config = pool.get("LambdaConfig") or {}
    if trigger == "PreTokenGeneration":
        ptg = config.get("PreTokenGenerationConfig") or {}
        return ptg.get("LambdaArn") or config.get("PreTokenGeneration")
    if trigger in ("CustomEmailSender", "CustomSMSSender"):
        return (config.get(trigger) or {}).get("LambdaArn")
    return config.get(LAMBDA_CONFIG_KEYS[trigger])


def pre_token_generation_version(pool: dict) -> str:
    """'1', '2' or '3' (event version of PreTokenGeneration)."""
    ptg = (pool.get("LambdaConfig") or {}).get("PreTokenGenerationConfig") or {}
    return {"V2_0": "2", "V3_0": "3"}.get(ptg.get("LambdaVersion", "V1_0"), "1")


def has_trigger(pool: dict, trigger: str) -> bool:
    return trigger_arn(pool, trigger) is not None


def run_trigger(ctx, pool: dict, trigger: str, source: str, *, username: str | None,
                request: dict[str, Any], client_id: str | None = None,
                response: dict[str, Any] | None = None, version: str = "1") -> dict | None:
    """Invoke the pool's function for `trigger` with AWS's event; return its `response`.

    `client_id` None means an admin call (callerContext.clientId CLIENT_ID_NOT_APPLICABLE).
    The operation's work so far is committed before the call (the function may call back
    into the emulator) and a new transaction continues afterwards: other requests ran
    meanwhile, so the caller re-checks what it checked before (see Store.suspended).
    """
    arn = trigger_arn(pool, trigger)
    if arn is None:
        return None
    event = build_event(ctx, pool, source, username=username, request=request, client_id=client_id,
                        response=response, version=version)
    with ctx.emulator.store.suspended():
        try:
            result = lambdas.invoke(ctx.config, arn, event, attempts=ATTEMPTS)
        except lambdas.LambdaError as err:
            raise _mapped(trigger, err) from None
    if not isinstance(result, dict) or not isinstance(result.get("response") or {}, dict):
        raise invalid_response()
    return result.get("response") or {}


def invalid_response() -> ServiceError:
    """What AWS answers when a function's output is not what its trigger expects."""
    return errors.InvalidLambdaResponseException(INVALID_OUTPUT)


def build_event(ctx, pool: dict, source: str, *, username: str | None, request: dict[str, Any],
                client_id: str | None = None, response: dict[str, Any] | None = None,
                version: str = "1") -> dict:
    """The event envelope every user pool trigger receives."""
    return {
        "version": version,
        "triggerSource": source,
        "region": pool.get("Id", "").split("_", 1)[0] or ctx.region,
        "userPoolId": pool["Id"],
        "userName": username,
        "callerContext": {"awsSdkVersion": AWS_SDK_VERSION,
                          "clientId": client_id or CLIENT_ID_NOT_APPLICABLE},
        "request": copy.deepcopy(request),
        "response": copy.deepcopy(response) if response is not None else {},
    }


def _mapped(trigger: str, err: lambdas.LambdaError) -> ServiceError:
    if err.kind == "function_error":
        return errors.UserLambdaValidationException(f"{trigger} failed with error {err.message}.")
    if err.kind == "bad_response":
        return invalid_response()
    if err.kind == "timeout":
        return errors.UnexpectedLambdaException(f"{trigger} invocation failed due to error Socket timeout while invoking Lambda function.")
    if err.kind == "not_found":
        return errors.UnexpectedLambdaException(f"{trigger} invocation failed due to error ResourceNotFoundException.")
    return errors.UnexpectedLambdaException(f"{trigger} invocation failed due to error {err.message}.")
