"""How a Lambda ARN from a pool's LambdaConfig (or a Sync trigger) is invoked.

Interface used by every caller: `invoke(config, function_arn, payload, timeout=5.0) -> dict`
returns the function's JSON response, or raises LambdaError whose `kind` says what went
wrong: "not_found" (no way to invoke that ARN), "function_error" (the function threw; `message`
is its error message), "unreachable", "timeout", "bad_response" (not a JSON object).
"""

from __future__ import annotations


class LambdaError(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def invoke(config, function_arn: str, payload: dict, timeout: float = 5.0) -> dict:
    """Invoke the function named by `function_arn` with `payload` (RequestResponse)."""
    raise LambdaError("not_found", f"Function not found: {function_arn}")
