"""User pool trigger functions as Python callables (mapped by the emulator's config file in tests).

Each appends the event it received to the file named by LAMBDA_FIXTURE_LOG (one JSON a line).
"""

from __future__ import annotations

import json
import os


def _log(event, context) -> None:
    path = os.environ.get("LAMBDA_FIXTURE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"event": event, "function": context.function_name}) + "\n")


def auto_confirm(event, context):
    """PreSignUp: confirm the user and verify the email it signs up with."""
    _log(event, context)
    event["response"]["autoConfirmUser"] = True
    event["response"]["autoVerifyEmail"] = "email" in event["request"]["userAttributes"]
    return event


def deny(event, context):
    _log(event, context)
    raise Exception("Sign-ups from this domain are closed")


def not_an_event(event, context):
    _log(event, context)
    return ["not", "an", "event"]


def passthrough(event, context):
    _log(event, context)
    return event
