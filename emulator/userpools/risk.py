"""Describe/SetRiskConfiguration: threat-protection settings for a pool or one of its clients.

A client's configuration, when set, replaces the pool's for that client. Threat protection
(threat_protection.py) reads the effective one with `risk_configuration`.
"""

from __future__ import annotations

import copy
import ipaddress
import sqlite3

from emulator.store import dumps, loads, register_schema
from emulator.userpools import clients, pools, registry
from protocol import ServiceError

register_schema("userpools.risk", [
    """
    CREATE TABLE user_pool_risk_configurations (
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, client_id)
    );
    """,
])

_SECTIONS = ("CompromisedCredentialsRiskConfiguration", "AccountTakeoverRiskConfiguration",
             "RiskExceptionConfiguration")


def risk_configuration(db: sqlite3.Connection, pool_id: str, client_id: str | None = None) -> dict:
    """The effective RiskConfigurationType for a client (its own, else the pool's)."""
    for key in ([client_id] if client_id else []) + ["ALL"]:
        row = db.execute("SELECT data FROM user_pool_risk_configurations WHERE pool_id = ? AND client_id = ?",
                         (pool_id, key)).fetchone()
        if row is not None:
            return loads(row["data"])
    out = {"UserPoolId": pool_id}
    if client_id:
        out["ClientId"] = client_id
    return out


def _delete_pool(db: sqlite3.Connection, pool_id: str) -> None:
    db.execute("DELETE FROM user_pool_risk_configurations WHERE pool_id = ?", (pool_id,))


def _delete_client(db: sqlite3.Connection, pool_id: str, client_id: str) -> None:
    db.execute("DELETE FROM user_pool_risk_configurations WHERE pool_id = ? AND client_id = ?",
               (pool_id, client_id))


pools.on_pool_deleted.append(_delete_pool)
clients.on_client_deleted.append(_delete_client)


def _check(req: dict) -> None:
    takeover = req.get("AccountTakeoverRiskConfiguration")
    if takeover is not None:
        actions = takeover.get("Actions") or {}
        notifies = any((actions.get(level) or {}).get("Notify") for level in
                       ("LowAction", "MediumAction", "HighAction"))
        if notifies and not takeover.get("NotifyConfiguration"):
            raise ServiceError("InvalidParameterException",
                               "NotifyConfiguration is required when a notify action is configured.")
    exceptions = req.get("RiskExceptionConfiguration") or {}
    for key in ("BlockedIPRangeList", "SkippedIPRangeList"):
        for cidr in exceptions.get(key) or []:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ServiceError("InvalidParameterException", f"Invalid IP range {cidr} in {key}.") from None


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
    for key in _SECTIONS:
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
