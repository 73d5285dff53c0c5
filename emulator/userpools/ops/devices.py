"""devices_ops: split from devices.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import base64
import binascii

from emulator import paging
from emulator.store import dumps
from emulator.userpools import errors, registry
from emulator.userpools.accounts import tokens
from emulator.userpools.model import users
from emulator.userpools.model.devices import MAX_LIMIT, device, device_type, load_device


def _b64_int(value: str | None) -> int | None:
    if not value:
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return int.from_bytes(raw, "big") if raw else None


def _confirmed_device(db, pool_id: str, username: str, device_key: str) -> dict:
    device = load_device(db, pool_id, username, device_key)
    if device is None or not device["confirmed"]:
        raise errors.ResourceNotFoundException("Device does not exist.")
    return device


# What a device operation does once its user is known: the same for the user (access token)
# and for the admin (pool id and username) operation.
def _get(ctx, req, pool: dict, user: dict) -> dict:
    return {"Device": device_type(_confirmed_device(ctx.db, pool["Id"], user["username"], req["DeviceKey"]))}


def _list(ctx, req, pool: dict, user: dict) -> dict:
    limit = MAX_LIMIT if not req.get("Limit") else min(req["Limit"], MAX_LIMIT)
    rows, token = paging.page(
        ctx.db, "SELECT * FROM user_devices WHERE pool_id = ? AND username = ? AND confirmed = 1",
        [pool["Id"], user["username"]], ["created", "device_key"], limit, req.get("PaginationToken"))
    return {"Devices": [device_type(device(r)) for r in rows], "PaginationToken": token}


def _forget(ctx, req, pool: dict, user: dict) -> dict:
    _confirmed_device(ctx.db, pool["Id"], user["username"], req["DeviceKey"])
    ctx.db.execute("DELETE FROM user_devices WHERE pool_id = ? AND device_key = ?", (pool["Id"], req["DeviceKey"]))
    return {}


def _update_status(ctx, req, pool: dict, user: dict) -> dict:
    _confirmed_device(ctx.db, pool["Id"], user["username"], req["DeviceKey"])
    ctx.db.execute("UPDATE user_devices SET remembered = ?, modified = ? "
                   "WHERE pool_id = ? AND device_key = ? AND username = ?",
                   (1 if req.get("DeviceRememberedStatus") == "remembered" else 0, ctx.now(), pool["Id"],
                    req["DeviceKey"], user["username"]))
    return {}


def _admin_user(ctx, req) -> tuple[dict, dict]:
    return users.admin_target(ctx.db, req)


@registry.handler
def confirm_device(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    device = load_device(ctx.db, pool["Id"], user["username"], req["DeviceKey"])
    if device is None:
        raise errors.InvalidParameterException("Invalid device key given.")
    if device["confirmed"]:
        raise errors.DeviceKeyExistsException("Device key already exists.")
    config = req.get("DeviceSecretVerifierConfig") or {}
    salt = _b64_int(config.get("Salt"))
    verifier = _b64_int(config.get("PasswordVerifier"))
    if salt is None or verifier is None:
        raise errors.InvalidParameterException("Invalid device verifier config.")
    on_prompt = bool((pool.get("DeviceConfiguration") or {}).get("DeviceOnlyRememberedOnUserPrompt"))
    now = ctx.now()
    ctx.db.execute(
        "UPDATE user_devices SET confirmed = 1, remembered = ?, salt = ?, verifier = ?, name = ?, "
        "last_ip = COALESCE(last_ip, ?), modified = ?, last_auth = COALESCE(last_auth, ?), data = ? "
        "WHERE pool_id = ? AND device_key = ?",
        (0 if on_prompt else 1, format(salt, "x"), format(verifier, "x"), req.get("DeviceName"),
         ctx.source_ip, now, now, dumps({}), pool["Id"], req["DeviceKey"]))
    return {"UserConfirmationNecessary": on_prompt}


def _token_user(ctx, req) -> tuple[dict, dict]:
    token = req.get("AccessToken")
    if not token:
        raise errors.InvalidParameterException("Missing required parameter ACCESS_TOKEN")
    pool, user, _claims = tokens.authenticate_access_token(ctx, token)
    return pool, user


@registry.handler
def get_device(ctx, req):
    return _get(ctx, req, *_token_user(ctx, req))


@registry.handler
def list_devices(ctx, req):
    return _list(ctx, req, *_token_user(ctx, req))


@registry.handler
def forget_device(ctx, req):
    return _forget(ctx, req, *_token_user(ctx, req))


@registry.handler
def update_device_status(ctx, req):
    return _update_status(ctx, req, *_token_user(ctx, req))


@registry.handler
def admin_get_device(ctx, req):
    return _get(ctx, req, *_admin_user(ctx, req))


@registry.handler
def admin_list_devices(ctx, req):
    return _list(ctx, req, *_admin_user(ctx, req))


@registry.handler
def admin_forget_device(ctx, req):
    return _forget(ctx, req, *_admin_user(ctx, req))


@registry.handler
def admin_update_device_status(ctx, req):
    return _update_status(ctx, req, *_admin_user(ctx, req))
