"""Threat protection around the operations AWS evaluates (sign-up, password changes, code requests):\nIP blocks and compromised-password checks before them, auth events after; and the steering\nendpoints tests use (/_emulator/risk) with the one-click feedback page."""

from __future__ import annotations

import functools
import html
import ipaddress
import uuid
from typing import Any

from flask import Response, jsonify, request

from emulator import digests
from emulator.store import dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.accounts.threat_protection import (
    ALL_POOLS,
    COMPROMISED,
    FEEDBACK_PATH,
    LEVELS,
    NOT_ALLOWED,
    REFRESH_FLOWS,
    REQUEST,
    block,
    client_ip,
    compromised_action,
    exceptions,
    in_ranges,
    mode,
    new_event,
    password_compromised,
    record,
    risk_config,
)
from emulator.userpools.model import auth_events, clients, keys, passwords, pools, users
from protocol import ServiceError

# -- the other operations AWS evaluates ------------------------------------------------------------------
_PUBLIC = ("SignUp", "ConfirmSignUp", "ResendConfirmationCode", "ForgotPassword", "ConfirmForgotPassword",
           "InitiateAuth", "RespondToAuthChallenge")
_ADMIN = ("AdminInitiateAuth", "AdminRespondToAuthChallenge")
# Operation -> (compromised-credentials event filter, input member with the new password).
_PASSWORDS = {"SignUp": ("SIGN_UP", "Password"), "ConfirmForgotPassword": ("PASSWORD_CHANGE", "Password"),
              "ChangePassword": ("PASSWORD_CHANGE", "ProposedPassword"),
              "AdminSetUserPassword": ("PASSWORD_CHANGE", "Password")}
# Operation -> the EventType AdminListUserAuthEvents shows for it.
_EVENT_TYPES = {"SignUp": "SignUp", "ForgotPassword": "ForgotPassword", "ResendConfirmationCode": "ResendCode",
                "ConfirmForgotPassword": "PasswordChange", "ChangePassword": "PasswordChange"}
_WRAPPED = (*_PUBLIC, *_ADMIN, "ChangePassword", "AdminSetUserPassword")


def _token_claims(token: Any) -> dict:
    claims = keys.unverified_claims(token) if isinstance(token, str) else None
    return claims if isinstance(claims, dict) else {}


def _target_pool(ctx, operation: str, req: dict) -> dict | None:
    """The pool an operation addresses (None when it names none that exists: the handler answers
    that error)."""
    params = {"AccessToken": req.get("AccessToken")} if operation == "ChangePassword" else req
    pool_id = clients.pool_id_of(ctx.db, params)
    try:
        return pools.load_pool(ctx.db, pool_id) if pool_id else None
    except ServiceError:
        return None


def _target_client(ctx, operation: str, req: dict, pool: dict) -> tuple[dict | None, bool]:
    """(the app client of the request or of ChangePassword's token, whether it names none or
    one of the pool's): a request naming another client is the handler's to refuse."""
    client_id = _token_claims(req.get("AccessToken")).get("client_id") if operation == "ChangePassword" \
        else req.get("ClientId")
    if not client_id:
        return None, True
    try:
        return clients.load_client(ctx.db, client_id, pool["Id"]), True
    except ServiceError:
        return None, False


def _new_password(operation: str, req: dict) -> tuple[str | None, str | None]:
    if operation in _PASSWORDS:
        event, member = _PASSWORDS[operation]
        return event, req.get(member)
    if operation in ("RespondToAuthChallenge", "AdminRespondToAuthChallenge") \
            and req.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
        return "PASSWORD_CHANGE", (req.get("ChallengeResponses") or {}).get("NEW_PASSWORD")
    return None, None


def _policy_allows(pool: dict, password: str) -> bool:
    try:
        passwords.check_policy(pool, password)
    except ServiceError:
        return False
    return True


def _before(ctx, operation: str, pool: dict, client: dict | None, req: dict) -> dict:
    """Checks ahead of the operation; returns what `_after` records."""
    config = risk_config(ctx.db, pool, client)
    admin = operation in _ADMIN
    enforced = mode(pool) == "ENFORCED"
    if enforced and operation in (*_PUBLIC, *_ADMIN) and req.get("AuthFlow") not in REFRESH_FLOWS:
        ip = client_ip(ctx, client, admin)
        if in_ranges(ip, exceptions(config).get("BlockedIPRangeList")):
            user = None
            if operation in ("InitiateAuth", "AdminInitiateAuth"):
                user = users.find_user(ctx.db, pool, (req.get("AuthParameters") or {}).get("USERNAME") or "")
            if user is not None:
                block(ctx, pool, user, new_event(ctx, "SignIn", client, admin, {}, None, False), NOT_ALLOWED)
            raise errors.NotAuthorizedException(NOT_ALLOWED)
    event_filter, password = _new_password(operation, req)
    compromised = bool(password) and _policy_allows(pool, password) and password_compromised(ctx, pool, password)
    if compromised and enforced and compromised_action(config, event_filter) == "BLOCK":
        raise errors.InvalidPasswordException(COMPROMISED)
    return {"compromised": compromised}


def _after(ctx, operation: str, pool: dict, client: dict | None, req: dict, result: Any, found: dict) -> None:
    event_type = _EVENT_TYPES.get(operation)
    if event_type is None:
        return
    if operation == "SignUp":
        user = users.by_sub(ctx.db, pool["Id"], (result or {}).get("UserSub") or "")
    elif operation == "ChangePassword":
        user = users.find_user(ctx.db, pool, _token_claims(req.get("AccessToken")).get("username") or "")
    else:
        user = users.find_user(ctx.db, pool, req.get("Username") or "")
    if user is not None:
        record(ctx, pool, user, new_event(ctx, event_type, client, False, {}, None, found["compromised"]))


def _around(operation: str, handler):
    @functools.wraps(handler)
    def wrapper(ctx, req):
        token = REQUEST.set(req)
        try:
            # Most pools have threat protection off: their client is not even loaded.
            pool = _target_pool(ctx, operation, req)
            active = pool is not None and mode(pool) != "OFF"
            client = None
            if active:
                client, active = _target_client(ctx, operation, req, pool)
            found = _before(ctx, operation, pool, client, req) if active else {}
            result = handler(ctx, req)
            if active:
                _after(ctx, operation, pool, client, req, result, found)
            return result
        finally:
            REQUEST.reset(token)
    wrapper.threat_protection = True  # type: ignore[attr-defined]
    return wrapper


def _wrap_handlers() -> None:
    for operation in _WRAPPED:
        handler = registry.get(operation)
        if handler is not None and not getattr(handler, "threat_protection", False):
            registry.handler(_around(operation, handler))


# -- test steering and the one-click feedback page over HTTP -----------------------------------------------
def _json_error(code: str, message: str, status: int):
    response = jsonify({"__type": code, "message": message})
    response.status_code = status
    return response


def _steering_row(row) -> dict:
    level = row["level"]
    return {"id": row["id"], "pool": row["pool_id"], "username": row["username"], "ip": row["ip"],
            "level": level.lower() if level else "none", "compromised": bool(row["compromised"]),
            "remaining": row["remaining"], **loads(row["data"], {})}


def _arm(db, now: float, body: dict):
    """Validate and store one POST /_emulator/risk body; (entry, None) or (None, error response)."""
    pool_id = body.get("pool") or body.get("pool_id") or body.get("UserPoolId")
    if not isinstance(pool_id, str) or not pool_id:
        return None, _json_error("BadRequest", "pool (the UserPoolId) is required", 400)
    if not pools.pool_exists(db, pool_id):
        return None, _json_error("ResourceNotFoundException", f"User pool {pool_id} does not exist.", 404)
    compromised = body.get("compromised", False)
    level = body.get("level", "none" if compromised else None)
    if not isinstance(level, str) or level.lower() not in LEVELS:
        return None, _json_error("BadRequest", "level must be one of low, medium, high, none", 400)
    if not isinstance(compromised, bool):
        return None, _json_error("BadRequest", "compromised must be true or false", 400)
    ip = body.get("ip")
    if ip is not None:
        try:
            ipaddress.ip_network(ip, strict=False)
        except (TypeError, ValueError):
            return None, _json_error("BadRequest", "ip must be an IP address or a CIDR range", 400)
    username = body.get("username")
    if username is not None and (not isinstance(username, str) or not username):
        return None, _json_error("BadRequest", "username must be a non-empty string", 400)
    times = 1 if body.get("once") is True else body.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        return None, _json_error("BadRequest", "times must be a whole number of at least 1", 400)
    extra = {}
    for key in ("city", "country", "device_name", "timezone"):
        if body.get(key) is not None:
            if not isinstance(body[key], str):
                return None, _json_error("BadRequest", f"{key} must be a string", 400)
            extra[key] = body[key]
    entry_id = str(uuid.uuid4())
    db.execute("INSERT INTO risk_steering(id, pool_id, username, ip, level, compromised, remaining, data, created) "
               "VALUES(?,?,?,?,?,?,?,?,?)", (entry_id, pool_id, username, ip, LEVELS[level.lower()],
                                             int(compromised), times, dumps(extra), now))
    row = db.execute("SELECT * FROM risk_steering WHERE id = ?", (entry_id,)).fetchone()
    return _steering_row(row), None


def _feedback_page(title: str, text: str, status: int):
    page = (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>")
    return Response(page, status=status, mimetype="text/html")


def install(emulator) -> None:
    _wrap_handlers()
    app = emulator.flask
    store, clock = emulator.store, emulator.clock

    @app.post("/_emulator/risk")
    def risk_arm():
        body = request.get_json(silent=True, force=True)
        if not isinstance(body, dict):
            return _json_error("BadRequest", 'Send JSON: {"pool": "<UserPoolId>", "level": "high", ...}', 400)
        with store.transaction() as db:
            clock.load(db)
            entry, error = _arm(db, clock.now(), body)
        return error if error is not None else jsonify(entry)

    @app.get("/_emulator/risk")
    def risk_list():
        pool_id = request.args.get("pool") or request.args.get("pool_id")
        sql, args = "SELECT * FROM risk_steering", []
        if pool_id:
            sql, args = sql + " WHERE pool_id = ?", [pool_id]
        with store.transaction() as db:
            rows = db.execute(sql + " ORDER BY seq", args).fetchall()
        return jsonify({"risks": [_steering_row(r) for r in rows]})

    @app.delete("/_emulator/risk")
    def risk_clear():
        where, args = [], []
        for column, name in (("pool_id", "pool"), ("id", "id"), ("username", "username")):
            value = request.args.get(name) or (request.args.get("pool_id") if name == "pool" else None)
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        with store.transaction() as db:
            deleted = db.execute("DELETE FROM risk_steering" + (" WHERE " + " AND ".join(where) if where else ""),
                                 args).rowcount
        return jsonify({"deleted": deleted})

    @app.post("/_emulator/risk/compromised-passwords")
    def risk_add_compromised():
        body = request.get_json(silent=True, force=True)
        given = []
        if isinstance(body, dict):
            given = body.get("passwords") if body.get("passwords") is not None else [body.get("password")]
        if not isinstance(given, list) or not given or not all(isinstance(p, str) and p for p in given):
            return _json_error("BadRequest", 'Send JSON: {"pool": "<UserPoolId>", "password": "..."} '
                               '(or "passwords": [...]; without "pool", for every pool)', 400)
        pool_id = body.get("pool") or body.get("pool_id") or ALL_POOLS
        with store.transaction() as db:
            if pool_id != ALL_POOLS and not pools.pool_exists(db, pool_id):
                return _json_error("ResourceNotFoundException", f"User pool {pool_id} does not exist.", 404)
            for password in given:
                db.execute("INSERT INTO compromised_passwords(pool_id, digest) VALUES(?,?) ON CONFLICT DO NOTHING",
                           (pool_id, digests.digest(password)))
            count = db.execute("SELECT COUNT(*) FROM compromised_passwords WHERE pool_id = ?",
                               (pool_id,)).fetchone()[0]
        return jsonify({"pool": pool_id if pool_id != ALL_POOLS else None, "count": count})

    @app.get("/_emulator/risk/compromised-passwords")
    def risk_count_compromised():
        pool_id = request.args.get("pool") or request.args.get("pool_id") or ALL_POOLS
        with store.transaction() as db:
            count = db.execute("SELECT COUNT(*) FROM compromised_passwords WHERE pool_id = ?",
                               (pool_id,)).fetchone()[0]
        return jsonify({"pool": pool_id if pool_id != ALL_POOLS else None, "count": count})

    @app.delete("/_emulator/risk/compromised-passwords")
    def risk_clear_compromised():
        pool_id = request.args.get("pool") or request.args.get("pool_id")
        with store.transaction() as db:
            if pool_id:
                deleted = db.execute("DELETE FROM compromised_passwords WHERE pool_id = ?", (pool_id,)).rowcount
            else:
                deleted = db.execute("DELETE FROM compromised_passwords").rowcount
        return jsonify({"deleted": deleted})

    @app.get(FEEDBACK_PATH)
    def risk_feedback_link():
        args = request.args
        value = args.get("feedback_value")
        fields = [args.get(k) for k in ("user_pool_id", "username", "event_id", "feedback_token")]
        if value not in ("Valid", "Invalid") or not all(fields):
            return _feedback_page("Invalid link", "This feedback link is incomplete.", 400)
        pool_id, username, event_id, token = fields
        try:
            with emulator.unit_of_work(request, operation="UpdateAuthEventFeedback", service="cognito-idp") as ctx:
                auth_events.submit_user_feedback(ctx, pool_id, username, event_id, token, value)
        except ServiceError as error:
            return _feedback_page("Feedback not recorded", f"{error.code}: {error.message}", 400)
        if value == "Valid":
            return _feedback_page("Thank you", "You told us this sign-in was you.", 200)
        return _feedback_page("Thank you", "You told us this sign-in was not you. Change your password.", 200)
