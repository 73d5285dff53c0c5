"""Resource servers: identifiers and their custom OAuth scopes (`{identifier}/{scope}`)."""

from __future__ import annotations

import sqlite3

from emulator.store import loads, register_schema
from emulator.userpools import errors

register_schema("userpools.resource_servers", [
    """
    CREATE TABLE user_pool_resource_servers (
        pool_id TEXT NOT NULL,
        identifier TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, identifier)
    );
    """,
], owned={"user_pool": ("user_pool_resource_servers",)})

MAX_RESOURCE_SERVERS = 25


def scopes_of_pool(db: sqlite3.Connection, pool_id: str) -> set[str]:
    """Every custom scope of the pool, as clients name it: `{identifier}/{scope name}`."""
    out = set()
    for row in db.execute("SELECT identifier, data FROM user_pool_resource_servers WHERE pool_id = ?",
                          (pool_id,)):
        for scope in loads(row["data"]).get("Scopes") or []:
            out.add(f"{row['identifier']}/{scope['ScopeName']}")
    return out


def load_resource_server(db: sqlite3.Connection, pool_id: str, identifier: str) -> dict:
    row = db.execute("SELECT data FROM user_pool_resource_servers WHERE pool_id = ? AND identifier = ?",
                     (pool_id, identifier)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException(f"Resource server {identifier} does not exist in user pool {pool_id}.")
    return loads(row["data"])


