"""User pool domains: Cognito prefix domains and custom domains (with a certificate).

A prefix is unique across every pool; each pool has at most one prefix domain and one
custom domain. The hosted UI finds a pool from a domain with `pool_for_domain`.
"""

from __future__ import annotations

import sqlite3

from emulator.store import register_schema

register_schema("userpools.domains", [
    """
    CREATE TABLE user_pool_domains (
        domain TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        custom INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX user_pool_domains_pool ON user_pool_domains(pool_id);
    """,
], owned={"user_pool": ("user_pool_domains",)})

RESERVED_WORDS = ("aws", "amazon", "cognito")


def pool_for_domain(db: sqlite3.Connection, domain: str) -> str | None:
    """The pool id a domain (prefix or custom host name) belongs to."""
    row = db.execute("SELECT pool_id FROM user_pool_domains WHERE domain = ?", (domain.lower(),)).fetchone()
    return row["pool_id"] if row else None


