"""Remembered devices: the device record and verifier the sign-in engine uses for
DEVICE_SRP_AUTH, and ConfirmDevice, Get/List/Forget/UpdateDeviceStatus with their Admin forms.

A device is created unconfirmed when a sign-in hands out NewDeviceMetadata; ConfirmDevice
stores its SRP verifier (salt + v, from DeviceGroupKey/DeviceKey/random password on the
client) and makes it a device of the user.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
import uuid
from typing import Any

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import pools, registry, tokens, users
from protocol import ServiceError

register_schema("userpools.devices", [
    """
    CREATE TABLE user_devices (
        pool_id TEXT NOT NULL,
        device_key TEXT NOT NULL,
        username TEXT NOT NULL,
        group_key TEXT NOT NULL,
        confirmed INTEGER NOT NULL DEFAULT 0,
        remembered INTEGER NOT NULL DEFAULT 0,
        salt TEXT,
        verifier TEXT,
        name TEXT,
        last_ip TEXT,
        created REAL NOT NULL,
        modified REAL NOT NULL,
        last_auth REAL,
        data TEXT,
        PRIMARY KEY (pool_id, device_key)
    );
    CREATE INDEX user_devices_user ON user_devices(pool_id, username, created, device_key);
    """,
])

MAX_LIMIT = 60
_ALNUM = string.ascii_letters + string.digits


# -- records ---------------------------------------------------------------------------
def _device(row) -> dict:
    return {
        "DeviceKey": row["device_key"],
        "DeviceGroupKey": row["group_key"],
        "username": row["username"],
        "confirmed": bool(row["confirmed"]),
        "remembered": bool(row["remembered"]),
        "salt": int(row["salt"], 16) if row["salt"] else None,
        "verifier": int(row["verifier"], 16) if row["verifier"] else None,
        "name": row["name"],
        "last_ip": row["last_ip"],
        "created": row["created"],
        "modified": row["modified"],
        "last_auth": row["last_auth"],
        "attributes": loads(row["data"], {}),
    }


def load_device(db, pool_id: str, username: str, device_key: str) -> dict | None:
    """The user's device (confirmed or not) with `salt`/`verifier` as ints, or None."""
    row = db.execute("SELECT * FROM user_devices WHERE pool_id = ? AND device_key = ? AND username = ?",
                     (pool_id, device_key, username)).fetchone()
    return _device(row) if row else None


def new_device(db, pool: dict, user: dict, now: float) -> dict:
    """A new, unconfirmed device for NewDeviceMetadata: {DeviceKey, DeviceGroupKey}."""
    region = pool["Id"].split("_", 1)[0]
    device_key = f"{region}_{uuid.uuid4()}"
    group_key = "-" + "".join(secrets.choice(_ALNUM) for _ in range(9))
    db.execute("INSERT INTO user_devices(pool_id, device_key, username, group_key, created, modified)"
               " VALUES(?,?,?,?,?,?)", (pool["Id"], device_key, user["username"], group_key, now, now))
    return {"DeviceKey": device_key, "DeviceGroupKey": group_key}


def touch(db, pool_id: str, username: str, device_key: str, now: float, ip: str | None) -> None:
    """Record a sign-in from the device (DeviceLastAuthenticatedDate, last_ip_used)."""
    db.execute("UPDATE user_devices SET last_auth = ?, last_ip = COALESCE(?, last_ip) "
               "WHERE pool_id = ? AND device_key = ? AND username = ?",
               (now, ip, pool_id, device_key, username))


def delete_user_data(db, pool_id: str, username: str) -> None:
    """Forget every device of a user (the user is being deleted)."""
    db.execute("DELETE FROM user_devices WHERE pool_id = ? AND username = ?", (pool_id, username))


def delete_pool_data(db, pool_id: str) -> None:
    db.execute("DELETE FROM user_devices WHERE pool_id = ?", (pool_id,))


def device_type(device: dict) -> dict:
    """DeviceType as the API returns it."""
    attrs = [{"Name": "device_status", "Value": "valid"}]
    if device.get("name"):
        attrs.append({"Name": "device_name", "Value": device["name"]})
    if device.get("last_ip"):
        attrs.append({"Name": "last_ip_used", "Value": device["last_ip"]})
    attrs.append({"Name": "dev:device_remembered_status",
                  "Value": "remembered" if device["remembered"] else "not_remembered"})
    out: dict[str, Any] = {"DeviceKey": device["DeviceKey"], "DeviceAttributes": attrs,
                           "DeviceCreateDate": device["created"],
                           "DeviceLastModifiedDate": device["modified"]}
    if device.get("last_auth") is not None:
        out["DeviceLastAuthenticatedDate"] = device["last_auth"]
    return out


pools.on_pool_deleted.append(delete_pool_data)


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
        raise ServiceError("ResourceNotFoundException", "Device does not exist.")
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
    return {"Devices": [device_type(_device(r)) for r in rows], "PaginationToken": token}


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


# -- operations ------------------------------------------------------------------------
@registry.handler
def confirm_device(ctx, req):
    pool, user, _claims = tokens.authenticate_access_token(ctx, req["AccessToken"])
    device = load_device(ctx.db, pool["Id"], user["username"], req["DeviceKey"])
    if device is None:
        raise ServiceError("InvalidParameterException", "Invalid device key given.")
    if device["confirmed"]:
        raise ServiceError("DeviceKeyExistsException", "Device key already exists.")
    config = req.get("DeviceSecretVerifierConfig") or {}
    salt = _b64_int(config.get("Salt"))
    verifier = _b64_int(config.get("PasswordVerifier"))
    if salt is None or verifier is None:
        raise ServiceError("InvalidParameterException", "Invalid device verifier config.")
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
        raise ServiceError("InvalidParameterException", "Missing required parameter ACCESS_TOKEN")
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
