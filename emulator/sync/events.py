"""Cognito Events: the SyncTrigger Lambda function that sees (and may change) each sync.

The function receives
`{version: 2, eventType: "SyncTrigger", region, identityPoolId, identityId, datasetName,
datasetRecords: {key: {oldValue, newValue, op}}}` and returns the event; the records in
its `datasetRecords` are what gets written. Throwing rejects the whole sync.
"""

from __future__ import annotations

import copy
from typing import Any

from emulator import lambdas
from emulator.sync import errors, registry
from emulator.sync._access import check_pool
from emulator.sync.configuration import pool_config, save_pool_config
from protocol import ServiceError

EVENT_TYPES = ("SyncTrigger",)


@registry.handler
def get_cognito_events(ctx, req):
    pool_id = req["IdentityPoolId"]
    check_pool(ctx, pool_id)
    return {"Events": pool_config(ctx.db, pool_id)["events"] or {}}


@registry.handler
def set_cognito_events(ctx, req):
    pool_id = req["IdentityPoolId"]
    check_pool(ctx, pool_id)
    events = dict(pool_config(ctx.db, pool_id)["events"] or {})
    for name, arn in req["Events"].items():
        if name not in EVENT_TYPES:
            raise errors.InvalidParameterException(f"Invalid event type: {name}")
        if arn:
            if not lambdas.is_function_arn(arn):
                raise errors.InvalidParameterException(f"Invalid Lambda function ARN: {arn}")
            events[name] = arn
        else:
            events.pop(name, None)
    save_pool_config(ctx.db, pool_id, events=events)
    return {}


def sync_trigger_arn(db, pool_id: str) -> str | None:
    return (pool_config(db, pool_id)["events"] or {}).get("SyncTrigger")


def run_sync_trigger(ctx, arn: str, pool_id: str, identity_id: str, dataset: str,
                     records: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Invoke the SyncTrigger with `records` ({key: {oldValue, newValue, op}}); return its records.

    Called before anything of the sync is written, outside the store lock (the function may
    call back into the emulator).
    """
    event = {
        "version": 2,
        "eventType": "SyncTrigger",
        "region": pool_id.split(":", 1)[0] or ctx.region,
        "identityPoolId": pool_id,
        "identityId": identity_id,
        "datasetName": dataset,
        "datasetRecords": copy.deepcopy(records),
    }
    with ctx.emulator.store.suspended():
        try:
            result = lambdas.invoke(ctx.config, arn, event)
        except lambdas.LambdaError as err:
            raise _mapped(err) from None
    returned = result.get("datasetRecords")
    if not isinstance(returned, dict) or any(
            not isinstance(v, dict) or v.get("op") not in ("replace", "remove")
            or (v.get("op") == "replace" and not isinstance(v.get("newValue"), str))
            for v in returned.values()):
        raise errors.InvalidLambdaFunctionOutputException("The Lambda function returned invalid output: datasetRecords must map each key"
                           " to {newValue, oldValue, op} with op replace or remove.")
    if result.get("identityId", identity_id) != identity_id or result.get("datasetName", dataset) != dataset \
            or result.get("identityPoolId", pool_id) != pool_id:
        raise errors.InvalidLambdaFunctionOutputException("The Lambda function may not change identityPoolId, identityId or datasetName.")
    return returned


def _mapped(err: lambdas.LambdaError) -> ServiceError:
    if err.kind == "timeout":
        return errors.LambdaSocketTimeoutException(f"Lambda function timed out: {err.message}")
    if err.kind == "throttled":
        return errors.LambdaThrottledException(f"The Lambda function was throttled: {err.message}")
    if err.kind == "function_error":
        return errors.InvalidLambdaFunctionOutputException(f"The Lambda function returned an error: {err.message}")
    if err.kind == "bad_response":
        return errors.InvalidLambdaFunctionOutputException(f"The Lambda function returned invalid output: {err.message}")
    return errors.InvalidLambdaFunctionOutputException(f"The Lambda function could not be invoked: {err.message}")
