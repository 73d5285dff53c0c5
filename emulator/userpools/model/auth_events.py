"""Authentication events (threat protection): storage, listing, feedback.

Threat protection (threat_protection.py) records events with `record_auth_event` and updates
them (`load_event` / `save_event`) as a sign-in goes on; AdminListUserAuthEvents lists them
newest first. Events are kept only for pools with threat protection
(UserPoolAddOns.AdvancedSecurityMode AUDIT or ENFORCED), as on AWS.
"""

from __future__ import annotations

import copy
import hmac
import secrets
import sqlite3
import uuid

from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors
from emulator.userpools.model import pools, users
from protocol import ServiceError

register_schema("userpools.auth_events", [
    """
    CREATE TABLE user_pool_auth_events (
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        event_id TEXT NOT NULL,
        created REAL NOT NULL,
        feedback_token TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, event_id)
    );
    CREATE INDEX user_pool_auth_events_user ON user_pool_auth_events(pool_id, username, created);
    """,
], owned={"user_pool": ("user_pool_auth_events",), "user": ("user_pool_auth_events",)})

PAGE = 60
# EventFeedback.Provider: "Admin" for AdminUpdateAuthEventFeedback (the API reference: feedback given
# in the console shows "Admin"); the user's own feedback (token from the email) shows "User".
ADMIN_PROVIDER = "Admin"
USER_PROVIDER = "User"
_ADD_ON_OFF = ("UserPoolAddOnNotEnabledException",
               "Threat protection (advanced security features) is not enabled for this user pool.")


def threat_protection_enabled(pool: dict) -> bool:
    mode = (pool.get("UserPoolAddOns") or {}).get("AdvancedSecurityMode") or "OFF"
    return mode in ("AUDIT", "ENFORCED")


def record_auth_event(db: sqlite3.Connection, pool_id: str, username: str, event: dict,
                      now: float | None = None) -> str | None:
    """Store an AuthEventType-shaped dict for a user; returns its EventId (None when not kept).

    EventId and CreationDate are filled in when absent (pass `now` from ctx.now()).
    """
    try:
        pool = pools.load_pool(db, pool_id)
    except ServiceError:
        return None
    if not threat_protection_enabled(pool):
        return None
    event = copy.deepcopy(event)
    event.setdefault("EventId", str(uuid.uuid4()))
    if event.get("CreationDate") is None:
        event["CreationDate"] = now if now is not None else 0.0
    event.setdefault("EventRisk", {"RiskDecision": "NoRisk", "CompromisedCredentialsDetected": False})
    event.setdefault("ChallengeResponses", [])
    db.execute("INSERT INTO user_pool_auth_events(pool_id, username, event_id, created, feedback_token, data) "
               "VALUES(?,?,?,?,?,?)", (pool_id, username, event["EventId"], float(event["CreationDate"]),
                                       secrets.token_urlsafe(32), dumps(event)))
    return event["EventId"]


def load_event(db: sqlite3.Connection, pool_id: str, event_id: str) -> dict | None:
    """An event as stored (AuthEventType), or None."""
    row = db.execute("SELECT data FROM user_pool_auth_events WHERE pool_id = ? AND event_id = ?",
                     (pool_id, event_id)).fetchone()
    return loads(row["data"]) if row else None


def save_event(db: sqlite3.Connection, pool_id: str, event: dict) -> None:
    """Write back an event from load_event (its response, risk or challenges changed)."""
    db.execute("UPDATE user_pool_auth_events SET data = ? WHERE pool_id = ? AND event_id = ?",
               (dumps(event), pool_id, event["EventId"]))


def feedback_token(db: sqlite3.Connection, pool_id: str, event_id: str) -> str | None:
    """The token a user presents to UpdateAuthEventFeedback for an event (sent in risk emails)."""
    row = db.execute("SELECT feedback_token FROM user_pool_auth_events WHERE pool_id = ? AND event_id = ?",
                     (pool_id, event_id)).fetchone()
    return row["feedback_token"] if row else None


def resolve(db, pool: dict, username: str) -> str:
    user = users.get_user(db, pool, username)
    return user.get("username") or user["Username"]


def pool_with_add_on(db, pool_id: str) -> dict:
    pool = pools.load_pool(db, pool_id)
    if not threat_protection_enabled(pool):
        raise ServiceError(*_ADD_ON_OFF)
    return pool


def set_feedback(ctx, pool: dict, username: str, event_id: str, value: str, provider: str,
                  token: str | None = None) -> None:
    row = ctx.db.execute("SELECT data, feedback_token FROM user_pool_auth_events "
                         "WHERE pool_id = ? AND username = ? AND event_id = ?",
                         (pool["Id"], username, event_id)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException("Auth event not found.")
    if token is not None and not hmac.compare_digest(token.encode(), row["feedback_token"].encode()):
        raise errors.NotAuthorizedException("Invalid feedback token.")
    event = loads(row["data"])
    event["EventFeedback"] = {"FeedbackValue": value, "Provider": provider, "FeedbackDate": ctx.now()}
    save_event(ctx.db, pool["Id"], event)


def submit_user_feedback(ctx, pool_id: str, username: str, event_id: str, token: str, value: str) -> None:
    """UpdateAuthEventFeedback: the user's answer, with the token from the notification email
    (also what the email's one-click links record)."""
    pool = pool_with_add_on(ctx.db, pool_id)
    set_feedback(ctx, pool, resolve(ctx.db, pool, username), event_id, value, USER_PROVIDER, token=token)


