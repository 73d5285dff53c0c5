"""Hosted UI look: classic UI customization (CSS + logo) and managed login branding styles.

Classic customization exists for the whole pool (ClientId "ALL") and per client; a
client's own wins. The logo is served by the emulator at the ImageUrl it answers.
"""

from __future__ import annotations

import base64
import copy
import sqlite3
import uuid

from flask import Response

from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors, registry
from emulator.userpools.model import clients, pools

register_schema("userpools.branding", [
    """
    CREATE TABLE user_pool_ui_customizations (
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        image TEXT,
        image_type TEXT,
        data TEXT NOT NULL,
        PRIMARY KEY (pool_id, client_id)
    );
    CREATE TABLE user_pool_managed_login_brandings (
        branding_id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE UNIQUE INDEX user_pool_managed_login_brandings_client
        ON user_pool_managed_login_brandings(pool_id, client_id);
    """,
], owned={"user_pool": ("user_pool_ui_customizations", "user_pool_managed_login_brandings"), "app_client": ("user_pool_ui_customizations", "user_pool_managed_login_brandings")})

ALL = "ALL"
MAX_IMAGE_BYTES = 100 * 1024


# -- classic UI customization -----------------------------------------------------------------
def ui_customization(db: sqlite3.Connection, pool_id: str, client_id: str | None) -> dict:
    """The UICustomizationType in effect for a client (its own, else the pool's)."""
    for key in ([client_id] if client_id else []) + [ALL]:
        row = db.execute("SELECT data FROM user_pool_ui_customizations WHERE pool_id = ? AND client_id = ?",
                         (pool_id, key)).fetchone()
        if row is not None:
            return loads(row["data"])
    return {"UserPoolId": pool_id, "ClientId": client_id or ALL}


def _image_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    raise errors.InvalidParameterException("The image file must be a PNG or JPEG image.")


@registry.handler
def get_ui_customization(ctx, req):
    clients.pool_and_client(ctx.db, req)
    return {"UICustomization": ui_customization(ctx.db, req["UserPoolId"], req.get("ClientId"))}


@registry.handler
def set_ui_customization(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    client_id = req.get("ClientId") or ALL
    if client_id != ALL:
        clients.load_client(db, client_id, pool["Id"])
    if client_id == ALL and not pool.get("Domain") and not pool.get("CustomDomain"):
        raise errors.InvalidParameterException("There has to be an existing domain associated with this user pool")
    image = req.get("ImageFile")
    image_type = None
    if image is not None:
        if isinstance(image, str):
            image = base64.b64decode(image)
        if len(image) > MAX_IMAGE_BYTES:
            raise errors.InvalidParameterException("The image file must not exceed 100 KB.")
        image_type = _image_type(image)
    now = ctx.now()
    row = db.execute("SELECT data FROM user_pool_ui_customizations WHERE pool_id = ? AND client_id = ?",
                     (pool["Id"], client_id)).fetchone()
    created = loads(row["data"])["CreationDate"] if row else now
    custom = {"UserPoolId": pool["Id"], "ClientId": client_id, "CreationDate": created,
              "LastModifiedDate": now, "CSSVersion": str(int(now * 1000))}
    if req.get("CSS") is not None:
        custom["CSS"] = req["CSS"]
    if image is not None:
        custom["ImageUrl"] = f"{ctx.base_url}/_emulator/ui-customization/{pool['Id']}/{client_id}/logo"
    db.execute("INSERT INTO user_pool_ui_customizations(pool_id, client_id, image, image_type, data) "
               "VALUES(?,?,?,?,?) ON CONFLICT(pool_id, client_id) DO UPDATE SET image = excluded.image, "
               "image_type = excluded.image_type, data = excluded.data",
               (pool["Id"], client_id, base64.b64encode(image).decode() if image is not None else None,
                image_type, dumps(custom)))
    return {"UICustomization": custom}


def install(emulator) -> None:
    @emulator.flask.get("/_emulator/ui-customization/<pool_id>/<client_id>/logo")
    def ui_customization_logo(pool_id: str, client_id: str):
        with emulator.store.transaction() as db:
            row = db.execute("SELECT image, image_type FROM user_pool_ui_customizations "
                             "WHERE pool_id = ? AND client_id = ?", (pool_id, client_id)).fetchone()
        if row is None or row["image"] is None:
            return Response("Not found", 404, content_type="text/plain")
        return Response(base64.b64decode(row["image"]), 200, content_type=row["image_type"])


# -- managed login branding ---------------------------------------------------------------------
def branding_for_client(db: sqlite3.Connection, pool_id: str, client_id: str) -> dict | None:
    row = db.execute("SELECT data FROM user_pool_managed_login_brandings WHERE pool_id = ? AND client_id = ?",
                     (pool_id, client_id)).fetchone()
    return loads(row["data"]) if row else None


def _load_branding(db, pool_id: str, branding_id: str) -> tuple[dict, str]:
    row = db.execute("SELECT data, client_id FROM user_pool_managed_login_brandings "
                     "WHERE pool_id = ? AND branding_id = ?", (pool_id, branding_id)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException(f"Managed login branding {branding_id} does not exist.")
    return loads(row["data"]), row["client_id"]


def _style(req: dict, current: dict | None = None) -> dict:
    use_defaults = req.get("UseCognitoProvidedValues")
    settings = req.get("Settings")
    if use_defaults and settings is not None:
        raise errors.InvalidParameterException("Settings cannot be provided when UseCognitoProvidedValues is true.")
    if use_defaults:
        return {"UseCognitoProvidedValues": True, "Settings": {}, "Assets": []}
    out = {"UseCognitoProvidedValues": False,
           "Settings": copy.deepcopy(settings if settings is not None else (current or {}).get("Settings") or {}),
           "Assets": _assets(req["Assets"]) if req.get("Assets") is not None
           else copy.deepcopy((current or {}).get("Assets") or [])}
    if current is None and settings is None and req.get("UseCognitoProvidedValues") is None:
        out["UseCognitoProvidedValues"] = True
    return out


def _assets(assets: list[dict]) -> list[dict]:
    out = []
    seen = set()
    for asset in assets:
        key = (asset["Category"], asset["ColorMode"])
        if key in seen:
            raise errors.InvalidParameterException(f"Duplicate asset for category {key[0]} and color mode {key[1]}.")
        seen.add(key)
        item = dict(asset)
        if isinstance(item.get("Bytes"), bytes):
            item["Bytes"] = base64.b64encode(item["Bytes"]).decode()
        out.append(item)
    return out


def _wire(branding: dict) -> dict:
    out = copy.deepcopy(branding)
    for asset in out.get("Assets") or []:
        if isinstance(asset.get("Bytes"), str):
            asset["Bytes"] = base64.b64decode(asset["Bytes"])
    return out


@registry.handler
def create_managed_login_branding(ctx, req):
    db = ctx.db
    pool, client = clients.pool_and_client(db, req)
    if branding_for_client(db, pool["Id"], client["ClientId"]) is not None:
        raise errors.ManagedLoginBrandingExistsException("A managed login branding style already exists for this app client.")
    now = ctx.now()
    branding = {"ManagedLoginBrandingId": str(uuid.uuid4()), "UserPoolId": pool["Id"],
                **_style(req), "CreationDate": now, "LastModifiedDate": now}
    db.execute("INSERT INTO user_pool_managed_login_brandings(branding_id, pool_id, client_id, data) "
               "VALUES(?,?,?,?)", (branding["ManagedLoginBrandingId"], pool["Id"], client["ClientId"],
                                   dumps(branding)))
    return {"ManagedLoginBranding": _wire(branding)}


@registry.handler
def describe_managed_login_branding(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    branding, _client = _load_branding(ctx.db, req["UserPoolId"], req["ManagedLoginBrandingId"])
    return {"ManagedLoginBranding": _wire(branding)}


@registry.handler
def describe_managed_login_branding_by_client(ctx, req):
    clients.pool_and_client(ctx.db, req)
    branding = branding_for_client(ctx.db, req["UserPoolId"], req["ClientId"])
    if branding is None:
        raise errors.ResourceNotFoundException(f"Managed login branding for client {req['ClientId']} does not exist.")
    return {"ManagedLoginBranding": _wire(branding)}


@registry.handler
def update_managed_login_branding(ctx, req):
    pool_id = req.get("UserPoolId")
    branding_id = req.get("ManagedLoginBrandingId")
    if not pool_id or not branding_id:
        raise errors.InvalidParameterException("UserPoolId and ManagedLoginBrandingId are required.")
    pools.load_pool(ctx.db, pool_id)
    branding, _client = _load_branding(ctx.db, pool_id, branding_id)
    branding.update(_style(req, branding))
    branding["LastModifiedDate"] = ctx.now()
    ctx.db.execute("UPDATE user_pool_managed_login_brandings SET data = ? WHERE branding_id = ?",
                   (dumps(branding), branding_id))
    return {"ManagedLoginBranding": _wire(branding)}


@registry.handler
def delete_managed_login_branding(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    _load_branding(ctx.db, req["UserPoolId"], req["ManagedLoginBrandingId"])
    ctx.db.execute("DELETE FROM user_pool_managed_login_brandings WHERE branding_id = ?",
                   (req["ManagedLoginBrandingId"],))
    return {}
