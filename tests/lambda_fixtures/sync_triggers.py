"""SyncTrigger functions, mapped to ARNs through the emulator's --config-file in tests.

Each appends the event it received to the file named by LAMBDA_FIXTURE_LOG (one JSON a line).
"""

from __future__ import annotations

import json
import os
import time


def _log(event, context) -> None:
    path = os.environ.get("LAMBDA_FIXTURE_LOG")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"event": event, "function": context.function_name,
                                "arn": context.invoked_function_arn}) + "\n")


def award(event, context):
    """Doubles any `score`, and adds a `badge` record when the score reaches 100."""
    _log(event, context)
    records = event["datasetRecords"]
    score = records.get("score")
    if score and score["op"] == "replace":
        score["newValue"] = str(int(score["newValue"]) * 2)
        if int(score["newValue"]) >= 100:
            records["badge"] = {"oldValue": None, "newValue": "gold", "op": "replace"}
    return event


def reject(event, context):
    _log(event, context)
    raise ValueError("cheating detected")


def drop_everything(event, context):
    _log(event, context)
    event["datasetRecords"] = {}
    return event


def not_an_event(event, context):
    _log(event, context)
    return ["not", "an", "object"]


def slow(event, context):
    time.sleep(10)
    return event


def garble(event, context):
    """Answers records that are not {newValue, oldValue, op}."""
    _log(event, context)
    event["datasetRecords"] = {"k": {"op": "rename"}}
    return event


def move(event, context):
    """Tries to write the records to another dataset."""
    _log(event, context)
    event["datasetName"] = "elsewhere"
    return event
