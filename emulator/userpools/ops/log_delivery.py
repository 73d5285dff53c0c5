"""Get/SetLogDeliveryConfiguration: where a pool would export its logs (kept, not shipped)."""

from __future__ import annotations

import copy

from emulator.userpools import errors, registry
from emulator.userpools.model import pools

_KEY = "_LogDelivery"
_DESTINATIONS = ("CloudWatchLogsConfiguration", "S3Configuration", "FirehoseConfiguration")


def _check(configs: list[dict], pool: dict) -> None:
    sources = [c["EventSource"] for c in configs]
    if len(set(sources)) != len(sources):
        raise errors.InvalidParameterException("Only one log configuration is allowed per event source.")
    for config in configs:
        destinations = [d for d in _DESTINATIONS if config.get(d)]
        if len(destinations) != 1:
            raise errors.InvalidParameterException("Each log configuration must have exactly one destination.")
        if config["EventSource"] == "userNotification":
            if config["LogLevel"] != "ERROR":
                raise errors.InvalidParameterException("userNotification logs support only the ERROR log level.")
            if destinations[0] != "CloudWatchLogsConfiguration":
                raise errors.InvalidParameterException("userNotification logs can only be delivered to CloudWatch Logs.")
        if config["EventSource"] == "userAuthEvents":
            if config["LogLevel"] != "INFO":
                raise errors.InvalidParameterException("userAuthEvents logs support only the INFO log level.")
            if pool.get("UserPoolTier") != "PLUS":
                raise errors.FeatureUnavailableInTierException("Exporting user authentication events requires the PLUS feature plan.")


@registry.handler
def get_log_delivery_configuration(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    return {"LogDeliveryConfiguration": {"UserPoolId": pool["Id"],
                                         "LogConfigurations": copy.deepcopy(pool.get(_KEY) or [])}}


@registry.handler
def set_log_delivery_configuration(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    configs = copy.deepcopy(req.get("LogConfigurations") or [])
    _check(configs, pool)
    pool[_KEY] = configs
    pools.save_pool(ctx.db, pool)
    return {"LogDeliveryConfiguration": {"UserPoolId": pool["Id"], "LogConfigurations": configs}}
