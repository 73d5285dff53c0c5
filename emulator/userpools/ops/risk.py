"""risk_ops: split from risk.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import copy
import ipaddress

from emulator.store import dumps
from emulator.userpools import errors, registry
from emulator.userpools.model import clients
from emulator.userpools.model.risk import SECTIONS, risk_configuration


def _check(req: dict) -> None:
    takeover = req.get("AccountTakeoverRiskConfiguration")
    if takeover is not None:
        actions = takeover.get("Actions") or {}
        notifies = any((actions.get(level) or {}).get("Notify") for level in
                       ("LowAction", "MediumAction", "HighAction"))
        if notifies and not takeover.get("NotifyConfiguration"):
            raise errors.InvalidParameterException("NotifyConfiguration is required when a notify action is configured.")
    exceptions = req.get("RiskExceptionConfiguration") or {}
    for key in ("BlockedIPRangeList", "SkippedIPRangeList"):
        for cidr in exceptions.get(key) or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise errors.InvalidParameterException(f"Invalid IP range {cidr} in {key}.") from None


@registry.handler
def describe_risk_configuration(ctx, req):
    clients.pool_and_client(ctx.db, req)
    return {"RiskConfiguration": risk_configuration(ctx.db, req["UserPoolId"], req.get("ClientId"))}


@registry.handler
def set_risk_configuration(ctx, req):
    pool, _client = clients.pool_and_client(ctx.db, req)
    client_id = req.get("ClientId")
    _check(req)
    config: dict = {"UserPoolId": pool["Id"]}
    if client_id:
        config["ClientId"] = client_id
    for key in SECTIONS:
        if req.get(key) is not None:
            config[key] = copy.deepcopy(req[key])
    if len(config) == (2 if client_id else 1):
        # Nothing to set: the configuration is removed (how the AWS Terraform provider deletes one);
        # a client then follows the pool's configuration again.
        ctx.db.execute("DELETE FROM user_pool_risk_configurations WHERE pool_id = ? AND client_id = ?",
                       (pool["Id"], client_id or "ALL"))
        return {"RiskConfiguration": config}
    config["LastModifiedDate"] = ctx.now()
    ctx.db.execute("INSERT INTO user_pool_risk_configurations(pool_id, client_id, data) VALUES(?,?,?) "
                   "ON CONFLICT(pool_id, client_id) DO UPDATE SET data = excluded.data",
                   (pool["Id"], client_id or "ALL", dumps(config)))
    return {"RiskConfiguration": config}
