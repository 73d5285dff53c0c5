"""Push sync: devices, dataset subscriptions, and the silent push each change sends.

A push goes to the outbox (channel PUSH, kind "PushSync", destination = the device token)
with the payload Cognito Sync sends through SNS; the mobile SDKs read its string fields
source, identityPoolId, identityId, datasetName and syncCount.
"""

from __future__ import annotations

import json
import uuid

from emulator.sync import errors, registry
from emulator.sync._access import check_identity
from emulator.sync.configuration import pool_config


def _require_push_sync(db, pool_id: str) -> None:
    push = pool_config(db, pool_id)["push_sync"]
    if not push or not push.get("ApplicationArns"):
        raise errors.InvalidConfigurationException(f"Push sync is not configured for identity pool {pool_id}.")


def _device(db, pool_id: str, identity_id: str, device_id: str):
    row = db.execute("SELECT * FROM sync_devices WHERE device_id = ? AND pool_id = ? AND identity_id = ?",
                     (device_id, pool_id, identity_id)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException(f"Device '{device_id}' not found.")
    return row


@registry.handler
def register_device(ctx, req):
    pool_id, identity_id = req["IdentityPoolId"], req["IdentityId"]
    check_identity(ctx, pool_id, identity_id, identity_only=True)
    _require_push_sync(ctx.db, pool_id)
    row = ctx.db.execute(
        "SELECT device_id FROM sync_devices WHERE pool_id = ? AND identity_id = ? AND platform = ? AND token = ?",
        (pool_id, identity_id, req["Platform"], req["Token"])).fetchone()
    if row is not None:
        return {"DeviceId": row["device_id"]}
    device_id = str(uuid.uuid4())
    ctx.db.execute("INSERT INTO sync_devices(device_id, pool_id, identity_id, platform, token, created)"
                   " VALUES(?,?,?,?,?,?)",
                   (device_id, pool_id, identity_id, req["Platform"], req["Token"], ctx.now()))
    return {"DeviceId": device_id}


def _subscriber(ctx, req) -> tuple[str, str]:
    """(pool id, identity id) of a (un)subscription whose identity, pool and device all check out."""
    pool_id, identity_id = req["IdentityPoolId"], req["IdentityId"]
    check_identity(ctx, pool_id, identity_id, identity_only=True)
    _require_push_sync(ctx.db, pool_id)
    _device(ctx.db, pool_id, identity_id, req["DeviceId"])
    return pool_id, identity_id


@registry.handler
def subscribe_to_dataset(ctx, req):
    pool_id, identity_id = _subscriber(ctx, req)
    ctx.db.execute("INSERT INTO sync_subscriptions(pool_id, identity_id, dataset, device_id, created)"
                   " VALUES(?,?,?,?,?) ON CONFLICT DO NOTHING",
                   (pool_id, identity_id, req["DatasetName"], req["DeviceId"], ctx.now()))
    return {}


@registry.handler
def unsubscribe_from_dataset(ctx, req):
    pool_id, identity_id = _subscriber(ctx, req)
    ctx.db.execute("DELETE FROM sync_subscriptions WHERE pool_id = ? AND identity_id = ? AND dataset = ?"
                   " AND device_id = ?", (pool_id, identity_id, req["DatasetName"], req["DeviceId"]))
    return {}


def notify_subscribers(ctx, pool_id: str, identity_id: str, dataset: str, sync_count: int,
                       source_device: str | None) -> int:
    """Send the silent push to every device subscribed to the dataset but the writer's."""
    if not pool_config(ctx.db, pool_id)["push_sync"]:
        return 0
    rows = ctx.db.execute(
        "SELECT d.device_id, d.platform, d.token FROM sync_subscriptions s JOIN sync_devices d"
        " ON d.device_id = s.device_id WHERE s.pool_id = ? AND s.identity_id = ? AND s.dataset = ?"
        " ORDER BY s.created", (pool_id, identity_id, dataset)).fetchall()
    payload = {"source": "cognito-sync", "identityPoolId": pool_id, "identityId": identity_id,
               "datasetName": dataset, "syncCount": str(sync_count)}
    sent = 0
    for row in rows:
        if row["device_id"] == source_device:
            continue
        ctx.send_message(channel="PUSH", kind="PushSync", pool_id=pool_id, username=identity_id,
                         destination=row["token"], subject=row["platform"], body=json.dumps(payload),
                         data={"platform": row["platform"], "deviceId": row["device_id"], "payload": payload})
        sent += 1
    return sent
