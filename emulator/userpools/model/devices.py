"""Remembered devices: the device record and verifier the sign-in engine uses for
DEVICE_SRP_AUTH, and ConfirmDevice, Get/List/Forget/UpdateDeviceStatus with their Admin forms.

A device is created unconfirmed when a sign-in hands out NewDeviceMetadata; ConfirmDevice
stores its SRP verifier (salt + v, from DeviceGroupKey/DeviceKey/random password on the
client) and makes it a device of the user.
"""

from __future__ import annotations

import secrets
import string
import uuid
from typing import Any

from emulator.store import loads, register_schema

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
], owned={"user_pool": ("user_devices",), "user": ("user_devices",)})

MAX_LIMIT = 60
_ALNUM = string.ascii_letters + string.digits


# -- records ---------------------------------------------------------------------------
def device(row) -> dict:
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
    return device(row) if row else None


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


# -- operations ------------------------------------------------------------------------


