"""Describe/SetRiskConfiguration: threat-protection settings for a pool or one of its clients.

A client's configuration, when set, replaces the pool's for that client. Threat protection
(threat_protection.py) reads the effective one with `risk_configuration`.
"""

from __future__ import annotations

import sqlite3

from emulator.store import loads, register_schema

register_schema("userpools.risk", [
    """
    CREATE TABLE user_pool_risk_configurations (
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, client_id)
    );
    """,
], owned={"user_pool": ("user_pool_risk_configurations",), "app_client": ("user_pool_risk_configurations",)})

SECTIONS = ("CompromisedCredentialsRiskConfiguration", "AccountTakeoverRiskConfiguration",
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


