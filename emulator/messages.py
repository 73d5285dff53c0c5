"""The outbox: every email, SMS and push message the emulator "sends".

Messages are rows in the store (so every worker sees them) and a log line each; they
are read and emptied over HTTP at /_emulator/messages.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from emulator.store import dumps, loads, register_schema

log = logging.getLogger("cognito_emulator.messages")

register_schema("messages", [
    """
    CREATE TABLE outbox_messages (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        created REAL NOT NULL,
        pool_id TEXT,
        username TEXT,
        channel TEXT NOT NULL,
        destination TEXT,
        kind TEXT NOT NULL,
        code TEXT,
        subject TEXT,
        body TEXT,
        data TEXT
    );
    CREATE INDEX outbox_pool ON outbox_messages(pool_id, seq);
    CREATE INDEX outbox_user ON outbox_messages(username, seq);
    CREATE INDEX outbox_destination ON outbox_messages(destination, seq);
    """,
])

def send(db, clock, *, channel: str, kind: str, pool_id: str | None = None,
         username: str | None = None, destination: str | None = None, code: str | None = None,
         subject: str | None = None, body: str | None = None,
         data: dict[str, Any] | None = None) -> str:
    """Put a message in the outbox and log it; returns its id."""
    message_id = str(uuid.uuid4())
    db.execute(
        "INSERT INTO outbox_messages(id, created, pool_id, username, channel, destination, kind, code,"
        " subject, body, data) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
        (message_id, clock.now(), pool_id, username, channel, destination, kind, code, subject, body,
         dumps(data) if data is not None else None))
    log.info("%s %s to %s (pool %s, user %s): %s", channel, kind, destination, pool_id, username,
             body if body is not None else subject)
    return message_id


def _row(row) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "created", "pool_id", "username", "channel", "destination", "kind",
                               "code", "subject", "body")}
    out["data"] = loads(row["data"])
    return out


def list_messages(db, *, pool_id: str | None = None, username: str | None = None,
                  destination: str | None = None, kind: str | None = None,
                  channel: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Messages newest first, filtered by the given fields."""
    where, args = [], []
    for column, value in (("pool_id", pool_id), ("username", username), ("destination", destination),
                          ("kind", kind), ("channel", channel)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    sql = "SELECT * FROM outbox_messages"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY seq DESC LIMIT ?"
    args.append(max(0, int(limit)))
    return [_row(r) for r in db.execute(sql, args)]


def clear(db) -> None:
    db.execute("DELETE FROM outbox_messages")
