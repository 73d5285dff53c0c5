"""Challenge Session strings (and SRP secret blocks): opaque, single use, short-lived.

A session is a random string handed to the client; the state it stands for is kept in the
store under the string's SHA-256, so the string reveals nothing and cannot be forged.
Lifetime is the app client's AuthSessionValidity (minutes, 3-15, default 3).

State keys the sign-in engine writes (others may read them, and add their own):
  pool_id, client_id, username (canonical), typed_username (what the client sent as
  USERNAME), challenge (the ChallengeName the client must answer next), flow (AuthFlow),
  admin (bool: started by AdminInitiateAuth), hosted (bool: started by the managed login;
  its sessions answer only the managed login's pages), device_key, auth_time, source
  (PreTokenGeneration trigger source), and per challenge: srp_b/srp_B/srp_A (hex),
  code_hash (SMS/email codes), mfa_factor, available (USER_AUTH factors),
  mfa_setup_verified (set by VerifySoftwareToken during MFA_SETUP), setup_email (the address
  an MFA_SETUP answer gave for email MFA, adopted when its EMAIL_OTP code comes back).
"""

from __future__ import annotations

import base64
import os

from emulator.digests import digest
from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors

register_schema("userpools.auth_sessions", [
    """
    CREATE TABLE auth_sessions (
        id_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        username TEXT,
        state TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        used REAL
    );
    CREATE INDEX auth_sessions_expires ON auth_sessions(expires);
    CREATE INDEX auth_sessions_pool ON auth_sessions(pool_id, username);
    """,
], owned={"user_pool": ("auth_sessions",)})

INVALID = "Invalid session for the user."
EXPIRED = "Invalid session for the user, session is expired."
REUSED = "Invalid session for the user, session can only be used once."

DEFAULT_VALIDITY_MINUTES = 3
# Used sessions are kept a while so reuse is reported as reuse, then purged.
_KEEP_AFTER_EXPIRY = 3600.0


def validity_seconds(client: dict | None) -> float:
    minutes = (client or {}).get("AuthSessionValidity") or DEFAULT_VALIDITY_MINUTES
    return float(minutes) * 60.0


def new_session_string() -> str:
    # AWS sessions are long standard-base64 strings; SDKs also base64-decode secret blocks.
    return base64.b64encode(b"\x01\x00" + os.urandom(190)).decode()


def issue(ctx, state: dict, client: dict, *, lifetime: float | None = None) -> str:
    """Store `state` and return the Session string standing for it."""
    now = ctx.now()
    session = new_session_string()
    ttl = validity_seconds(client) if lifetime is None else lifetime
    clean = {k: v for k, v in state.items() if not k.startswith("_")}
    clean.setdefault("client_id", client["ClientId"])
    ctx.db.execute("DELETE FROM auth_sessions WHERE expires < ?", (now - _KEEP_AFTER_EXPIRY,))
    ctx.db.execute(
        "INSERT INTO auth_sessions(id_hash, pool_id, client_id, username, state, created, expires, used) "
        "VALUES(?,?,?,?,?,?,?,NULL)",
        (digest(session), clean.get("pool_id", client.get("UserPoolId")), clean["client_id"],
         clean.get("username"), dumps(clean), now, now + ttl))
    return session


def load(ctx, session: str | None, client_id: str | None = None) -> dict:
    """The state of a live, unused session; NotAuthorizedException with AWS's messages otherwise.

    The returned dict carries `_session` (the string) so it can be consumed later.
    """
    if not session:
        raise errors.NotAuthorizedException(INVALID)
    row = ctx.db.execute("SELECT * FROM auth_sessions WHERE id_hash = ?", (digest(session),)).fetchone()
    if row is None or (client_id is not None and row["client_id"] != client_id):
        raise errors.NotAuthorizedException(INVALID)
    if row["used"] is not None:
        raise errors.NotAuthorizedException(REUSED)
    if ctx.now() >= row["expires"]:
        raise errors.NotAuthorizedException(EXPIRED)
    state = loads(row["state"], {})
    state["_session"] = session
    state["_expires"] = row["expires"]
    return state


def find_pending(ctx, pool_id: str, client_id: str, username: str, challenge: str) -> dict | None:
    """The newest live, unused session of a user awaiting `challenge` (for clients that answer
    DEVICE_SRP_AUTH without echoing the Session, as pycognito does)."""
    rows = ctx.db.execute(
        "SELECT id_hash, state, expires FROM auth_sessions WHERE pool_id = ? AND username = ? AND client_id = ? "
        "AND used IS NULL AND expires > ? ORDER BY created DESC LIMIT 20",
        (pool_id, username, client_id, ctx.now())).fetchall()
    for row in rows:
        state = loads(row["state"], {})
        if state.get("challenge") == challenge:
            state["_id_hash"] = row["id_hash"]
            state["_expires"] = row["expires"]
            return state
    return None


def consume(ctx, session: str | dict) -> None:
    """Mark a session used (it then answers 'can only be used once').

    The session was found unused when loaded, but an operation that called out since (custom
    challenge functions, CustomMessage, ...) released the store meanwhile: when a concurrent
    request used it first, this one loses with AWS's reuse error.
    """
    if isinstance(session, dict):
        id_hash = session.get("_id_hash") or (digest(session["_session"]) if session.get("_session") else None)
    else:
        id_hash = digest(session) if session else None
    if not id_hash:
        return
    done = ctx.db.execute("UPDATE auth_sessions SET used = ? WHERE id_hash = ? AND used IS NULL",
                          (ctx.now(), id_hash))
    if done.rowcount == 0:
        row = ctx.db.execute("SELECT used FROM auth_sessions WHERE id_hash = ?", (id_hash,)).fetchone()
        raise errors.NotAuthorizedException(REUSED if row is not None else INVALID)


