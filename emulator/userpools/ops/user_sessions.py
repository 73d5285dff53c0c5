"""User session management: session tracking settings (pool and client), listing and revoking a
user's token sessions, and the per-user limit of token sessions.

A token session is a sign-in origin of `tokens` (every token minted from one sign-in, refreshes
included) started while the pool tracks sessions. Its SessionId is derived from the origin, so
nothing else is stored per session; revoking one revokes its origin (its access, ID and refresh
tokens). With tracking on, a sign-in that would exceed MaxPerUser first evicts the user's least
recently used sessions. SSO (managed login cookie) sessions are not listed.
"""

from __future__ import annotations

import hashlib
import string

from emulator import paging
from emulator.store import register_schema
from emulator.userpools import errors, registry
from emulator.userpools.accounts import tokens
from emulator.userpools.model import clients, pools, users
from protocol import ServiceError

register_schema("userpools.user_sessions", [
    """
    CREATE TABLE user_session_config (
        pool_id TEXT PRIMARY KEY,
        tracking TEXT NOT NULL,
        max_per_user INTEGER NOT NULL,
        enabled_at REAL
    );
    CREATE TABLE client_session_config (
        client_id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        sso_max_validity_minutes INTEGER NOT NULL
    );
    CREATE INDEX client_session_config_pool ON client_session_config(pool_id);
    """,
], owned={"user_pool": ("user_session_config", "client_session_config"), "app_client": ("client_session_config",)})

DEFAULT_MAX_PER_USER = 20
DEFAULT_SSO_MAX_VALIDITY_MINUTES = 60
PAGE_SIZE = 125
TIER_UNAVAILABLE = "This feature is not available in the current tier of the user pool."
TRACKING_OFF = "Session tracking is not enabled for the user pool."
CURRENT_SESSION = "The current session cannot be revoked; use GlobalSignOut or RevokeToken to end it."
_ALPHABET = string.digits + string.ascii_lowercase


# -- configuration -------------------------------------------------------------------------------------
def pool_config(db, pool_id: str) -> dict:
    """{"tracking": "ENABLED"|"DISABLED", "max_per_user": int, "enabled_at": float|None}."""
    row = db.execute("SELECT tracking, max_per_user, enabled_at FROM user_session_config WHERE pool_id = ?",
                     (pool_id,)).fetchone()
    if row is None:
        return {"tracking": "DISABLED", "max_per_user": DEFAULT_MAX_PER_USER, "enabled_at": None}
    return dict(row)


def _check_tier(pool: dict) -> None:
    if pool.get("UserPoolTier") not in ("ESSENTIALS", "PLUS"):
        raise errors.FeatureUnavailableInTierException(TIER_UNAVAILABLE)


def _pool_answer(pool_id: str, config: dict) -> dict:
    return {"UserPoolId": pool_id, "UserSessionTracking": config["tracking"],
            "TokenSession": {"MaxPerUser": config["max_per_user"]}}


@registry.handler
def get_user_pool_session_configuration(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    return _pool_answer(pool["Id"], pool_config(ctx.db, pool["Id"]))


@registry.handler
def set_user_pool_session_configuration(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    _check_tier(pool)
    before = pool_config(ctx.db, pool["Id"])
    tracking = req["UserSessionTracking"]
    enabled_at = None
    if tracking == "ENABLED":
        # Sessions are tracked from when tracking was (last) turned on.
        enabled_at = before["enabled_at"] if before["tracking"] == "ENABLED" else ctx.now()
    ctx.db.execute("DELETE FROM user_session_config WHERE pool_id = ?", (pool["Id"],))
    ctx.db.execute("INSERT INTO user_session_config(pool_id, tracking, max_per_user, enabled_at) VALUES(?,?,?,?)",
                   (pool["Id"], tracking, req["TokenSession"]["MaxPerUser"], enabled_at))
    return _pool_answer(pool["Id"], pool_config(ctx.db, pool["Id"]))


def _client_answer(db, pool_id: str, client_id: str) -> dict:
    row = db.execute("SELECT sso_max_validity_minutes FROM client_session_config WHERE client_id = ?",
                     (client_id,)).fetchone()
    minutes = row["sso_max_validity_minutes"] if row is not None else DEFAULT_SSO_MAX_VALIDITY_MINUTES
    return {"UserPoolId": pool_id, "ClientId": client_id, "SSOSession": {"MaxValidityMinutes": minutes}}


@registry.handler
def get_user_pool_client_session_configuration(ctx, req):
    pool, client = clients.pool_and_client(ctx.db, req)
    return _client_answer(ctx.db, pool["Id"], client["ClientId"])


@registry.handler
def set_user_pool_client_session_configuration(ctx, req):
    pool, client = clients.pool_and_client(ctx.db, req)
    _check_tier(pool)
    if pool_config(ctx.db, pool["Id"])["tracking"] != "ENABLED":
        raise errors.InvalidParameterException(TRACKING_OFF)
    ctx.db.execute("DELETE FROM client_session_config WHERE client_id = ?", (client["ClientId"],))
    ctx.db.execute("INSERT INTO client_session_config(client_id, pool_id, sso_max_validity_minutes) VALUES(?,?,?)",
                   (client["ClientId"], pool["Id"], req["SSOSession"]["MaxValidityMinutes"]))
    return _client_answer(ctx.db, pool["Id"], client["ClientId"])


# -- sessions ---------------------------------------------------------------------------------------------
def session_id(origin_jti: str) -> str:
    """The token session's id: "tkn" and 25 lowercase letters and digits, stable for the origin."""
    number = int.from_bytes(hashlib.sha256(origin_jti.encode()).digest(), "big")
    chars = []
    for _ in range(25):
        number, digit = divmod(number, 36)
        chars.append(_ALPHABET[digit])
    return "tkn" + "".join(chars)


def _live(ctx, origin: dict, client_cache: dict) -> bool:
    now = ctx.now()
    if origin["refresh_expires"] is not None:
        return origin["refresh_expires"] > now
    client = client_cache.get(origin["client_id"])
    if origin["client_id"] not in client_cache:
        try:
            client = clients.load_client(ctx.db, origin["client_id"])
        except ServiceError:
            client = None
        client_cache[origin["client_id"]] = client
    if client is None:
        return False
    return origin["last_active"] + tokens.validity_seconds(client, "AccessToken") > now


def active_sessions(ctx, pool_id: str, user: dict, config: dict | None = None) -> list[dict]:
    """The user's active token sessions (newest first) while the pool tracks sessions; [] otherwise.
    Each is a tokens.user_origins row with its `session_id`. `config`: the pool's, when read already."""
    config = config or pool_config(ctx.db, pool_id)
    if config["tracking"] != "ENABLED":
        return []
    cache: dict = {}
    out = []
    for origin in tokens.user_origins(ctx, pool_id, user["username"], since=config["enabled_at"]):
        if user.get("sub") and origin["sub"] and origin["sub"] != user["sub"]:
            continue  # an earlier user of the same name
        if _live(ctx, origin, cache):
            out.append({**origin, "session_id": session_id(origin["origin_jti"])})
    return out


def _enforce_limit(ctx, pool: dict, client: dict, user: dict) -> None:
    """Before a new sign-in: evict least recently used sessions so the new one fits MaxPerUser."""
    config = pool_config(ctx.db, pool["Id"])
    limit = config["max_per_user"]
    sessions = active_sessions(ctx, pool["Id"], user, config)
    excess = len(sessions) - (limit - 1)
    if excess <= 0:
        return
    for origin in sorted(sessions, key=lambda s: (s["last_active"], s["created"]))[:excess]:
        tokens.revoke_origin(ctx, origin["origin_jti"])


tokens.on_new_origin.append(_enforce_limit)


def _listing(ctx, pool_id: str, user: dict, next_token: str | None, current: str | None) -> dict:
    sessions = sorted(active_sessions(ctx, pool_id, user), key=lambda s: (s["created"], s["session_id"]))
    after = paging.decode_token(next_token, 2)
    if after is not None:
        sessions = [s for s in sessions if (s["created"], s["session_id"]) > (after[0], after[1])]
    page = sessions[:PAGE_SIZE]
    items = [{"SessionId": s["session_id"], "SessionType": "TOKEN", "ClientId": s["client_id"],
              "CreateDate": s["created"], "LastActiveDate": s["last_active"], "DeviceType": "unknown",
              "LastLocation": {"Country": "unknown"}, "IsCurrentSession": s["origin_jti"] == current}
             for s in page]
    out: dict = {"Sessions": items}
    if len(sessions) > PAGE_SIZE:
        out["NextToken"] = paging.encode_token([page[-1]["created"], page[-1]["session_id"]])
    return out


def _require_tracking(db, pool_id: str) -> None:
    if pool_config(db, pool_id)["tracking"] != "ENABLED":
        raise errors.InvalidParameterException(TRACKING_OFF)


def _find(ctx, pool_id: str, user: dict, wanted: str) -> dict:
    for session in active_sessions(ctx, pool_id, user):
        if session["session_id"] == wanted:
            return session
    raise errors.ResourceNotFoundException(f"Session {wanted} does not exist.")


@registry.handler
def list_user_sessions(ctx, req):
    pool, user, claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    _require_tracking(ctx.db, pool["Id"])
    return _listing(ctx, pool["Id"], user, req.get("NextToken"), tokens.token_origin(ctx, claims))


@registry.handler
def admin_list_user_sessions(ctx, req):
    pool, user = users.admin_target(ctx.db, req)
    _require_tracking(ctx.db, pool["Id"])
    return _listing(ctx, pool["Id"], user, req.get("NextToken"), None)


@registry.handler
def revoke_user_session(ctx, req):
    pool, user, claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    _require_tracking(ctx.db, pool["Id"])
    session = _find(ctx, pool["Id"], user, req["SessionId"])
    if session["origin_jti"] == tokens.token_origin(ctx, claims):
        raise errors.InvalidParameterException(CURRENT_SESSION)
    tokens.revoke_origin(ctx, session["origin_jti"])
    return {}


@registry.handler
def admin_revoke_user_session(ctx, req):
    pool, user = users.admin_target(ctx.db, req)
    _require_tracking(ctx.db, pool["Id"])
    session = _find(ctx, pool["Id"], user, req["SessionId"])
    tokens.revoke_origin(ctx, session["origin_jti"])
    return {}
