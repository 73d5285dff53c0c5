"""The provisioned request rates of the user pool API categories, per account and Region
(UpdateProvisionedLimit writes them; throttling reads them)."""

from __future__ import annotations

import sqlite3

from emulator.store import register_schema

register_schema("userpools.provisioned_limits", [
    """
    CREATE TABLE provisioned_limits (
        account_id TEXT NOT NULL,
        region TEXT NOT NULL,
        category TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (account_id, region, category)
    );
    """,
])


def provisioned(db: sqlite3.Connection, account_id: str, region: str, category: str) -> int | None:
    """The provisioned rate of `category`, or None when the account never raised it."""
    row = db.execute("SELECT value FROM provisioned_limits WHERE account_id = ? AND region = ? AND category = ?",
                     (account_id, region, category)).fetchone()
    return None if row is None else row["value"]


def provision(db: sqlite3.Connection, account_id: str, region: str, category: str, value: int) -> None:
    db.execute("INSERT INTO provisioned_limits(account_id, region, category, value) VALUES(?,?,?,?) "
               "ON CONFLICT(account_id, region, category) DO UPDATE SET value = excluded.value",
               (account_id, region, category, value))
