"""Identity pool configuration (push sync, Cognito Streams) and the stream records themselves.

Every committed change to a dataset of a pool whose CognitoStreams is ENABLED becomes one
stream record (AWS's format). It is kept in the store, readable at GET /_emulator/streams,
and, after the operation commits, put to the Kinesis endpoint (`--kinesis-endpoint`).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from flask import jsonify, request

from emulator import kinesis
from emulator.store import dumps, loads
from emulator.sync import errors, registry
from emulator.sync._access import check_pool

if TYPE_CHECKING:
    from emulator.app import Emulator

log = logging.getLogger("cognito_emulator.sync.streams")

INLINE_LIMIT = 50 * 1024  # larger syncs go by URL (S3Url on AWS)


# -- the pool's sync configuration row ---------------------------------------------------
def pool_config(db, pool_id: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM sync_pool_config WHERE pool_id = ?", (pool_id,)).fetchone()
    if row is None:
        return {"push_sync": None, "cognito_streams": None, "events": {}, "bulk_status": None,
                "bulk_started": None, "bulk_completed": None, "bulk_failure": None}
    return {"push_sync": loads(row["push_sync"]), "cognito_streams": loads(row["cognito_streams"]),
            "events": loads(row["events"], {}), "bulk_status": row["bulk_status"],
            "bulk_started": row["bulk_started"], "bulk_completed": row["bulk_completed"],
            "bulk_failure": row["bulk_failure"]}


def save_pool_config(db, pool_id: str, **fields: Any) -> None:
    """Update some columns of the pool's row (JSON columns given as Python values)."""
    db.execute("INSERT INTO sync_pool_config(pool_id) VALUES(?) ON CONFLICT(pool_id) DO NOTHING", (pool_id,))
    for column, value in fields.items():
        if column in ("push_sync", "cognito_streams", "events"):
            value = dumps(value) if value is not None else None
        db.execute(f"UPDATE sync_pool_config SET {column} = ? WHERE pool_id = ?", (value, pool_id))


def _configuration(pool_id: str, config: dict) -> dict:
    out: dict[str, Any] = {"IdentityPoolId": pool_id}
    if config["push_sync"] is not None:
        out["PushSync"] = config["push_sync"]
    if config["cognito_streams"] is not None:
        out["CognitoStreams"] = config["cognito_streams"]
    return out


@registry.handler
def get_identity_pool_configuration(ctx, req):
    pool_id = req["IdentityPoolId"]
    check_pool(ctx, pool_id)
    return _configuration(pool_id, pool_config(ctx.db, pool_id))


@registry.handler
def set_identity_pool_configuration(ctx, req):
    pool_id = req["IdentityPoolId"]
    check_pool(ctx, pool_id)
    changes: dict[str, Any] = {}
    if req.get("PushSync") is not None:
        push = {k: v for k, v in req["PushSync"].items() if v is not None}
        if push.get("ApplicationArns") and not push.get("RoleArn"):
            raise errors.InvalidParameterException("RoleArn is required when ApplicationArns is set.")
        changes["push_sync"] = push
    if req.get("CognitoStreams") is not None:
        streams = {k: v for k, v in req["CognitoStreams"].items() if v is not None}
        streams.setdefault("StreamingStatus", "ENABLED")
        if streams["StreamingStatus"] == "ENABLED" and not (streams.get("StreamName") and streams.get("RoleArn")):
            raise errors.InvalidParameterException("StreamName and RoleArn are required to enable Cognito Streams.")
        changes["cognito_streams"] = streams
    if changes:
        save_pool_config(ctx.db, pool_id, **changes)
    return _configuration(pool_id, pool_config(ctx.db, pool_id))


# -- stream records ------------------------------------------------------------------------
def _millis(seconds: float | None) -> int | None:
    return None if seconds is None else int(round(seconds * 1000))


def stream_sync(ctx, pool_id: str, identity_id: str, dataset: str, operation: str,
                records: list[dict], sync_count: int, last_modified: float, *,
                schedule: bool = True) -> str | None:
    """Record one synchronization for the pool's stream (if enabled); deliver it after commit.

    `records` are the written records: {Key, Value (None for a removal), SyncCount,
    LastModifiedDate, DeviceLastModifiedDate}. Returns the stream record's id, or None when
    the pool has no enabled stream. With `schedule` False the caller delivers it (`deliver`).
    """
    streams = pool_config(ctx.db, pool_id)["cognito_streams"]
    if not streams or streams.get("StreamingStatus") != "ENABLED" or not streams.get("StreamName"):
        return None
    record_id = str(uuid.uuid4())
    sync_records = [{
        "key": r["Key"], "value": r.get("Value"), "syncCount": r["SyncCount"],
        "lastModifiedDate": _millis(r.get("LastModifiedDate")),
        "deviceLastModifiedDate": _millis(r.get("DeviceLastModifiedDate")),
        "op": "remove" if r.get("Value") is None else "replace",
    } for r in records]
    data: dict[str, Any] = {
        "identityPoolId": pool_id, "identityId": identity_id, "dataSetName": dataset,
        "operation": operation, "kinesisSyncRecords": sync_records,
        "lastModifiedDate": _millis(last_modified), "kinesisSyncRecordsURL": None,
        "payloadType": "Inline", "syncCount": sync_count,
    }
    if len(json.dumps(sync_records)) > INLINE_LIMIT:
        data["kinesisSyncRecords"] = None
        data["payloadType"] = "S3Url"
        data["kinesisSyncRecordsURL"] = f"{ctx.base_url}/_emulator/streams/{record_id}/records"
    ctx.db.execute(
        "INSERT INTO sync_stream_records(id, pool_id, stream_name, partition_key, created, data, records,"
        " delivery) VALUES(?,?,?,?,?,?,?,?)",
        (record_id, pool_id, streams["StreamName"], identity_id, ctx.now(), dumps(data), dumps(sync_records),
         "pending"))
    if schedule:
        emulator, endpoint = ctx.emulator, ctx.config.kinesis_endpoint
        region = pool_id.split(":", 1)[0] or ctx.region
        ctx.after_commit.append(lambda: deliver(emulator, endpoint, region, record_id))
    return record_id


def deliver(emulator: Emulator, endpoint: str | None, region: str, record_id: str) -> str:
    """Put one stored stream record to Kinesis; returns and stores its delivery state."""
    with emulator.store.transaction() as db:
        row = db.execute("SELECT * FROM sync_stream_records WHERE id = ?", (record_id,)).fetchone()
    if row is None:
        return "missing"
    if not endpoint:
        state = "stored"
    else:
        try:
            kinesis.put_record(endpoint, region, row["stream_name"], row["data"].encode(),
                               row["partition_key"])
            state = "delivered"
        except kinesis.KinesisError as err:
            log.warning("Cognito Streams: %s", err)
            state = f"failed: {err}"
    with emulator.store.transaction() as db:
        db.execute("UPDATE sync_stream_records SET delivery = ? WHERE id = ?", (state, record_id))
    return state


def _stream_row(row) -> dict[str, Any]:
    return {"id": row["id"], "identityPoolId": row["pool_id"], "streamName": row["stream_name"],
            "partitionKey": row["partition_key"], "created": row["created"], "delivery": row["delivery"],
            "data": loads(row["data"])}


def install(emulator: Emulator) -> None:
    app = emulator.flask

    @app.get("/_emulator/streams")
    def get_streams():
        args = request.args
        try:
            limit = max(0, int(args.get("limit", 100)))
        except ValueError:
            response = jsonify({"__type": "BadRequest", "message": "limit must be a whole number"})
            response.status_code = 400
            return response
        where, params = [], []
        for column, name in (("pool_id", "identity_pool_id"), ("stream_name", "stream_name"),
                             ("partition_key", "identity_id")):
            if args.get(name):
                where.append(f"{column} = ?")
                params.append(args[name])
        sql = "SELECT * FROM sync_stream_records"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY seq DESC LIMIT ?"
        with emulator.store.transaction() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return jsonify({"records": [_stream_row(r) for r in rows]})

    @app.get("/_emulator/streams/<record_id>/records")
    def get_stream_records(record_id: str):
        with emulator.store.transaction() as db:
            row = db.execute("SELECT records FROM sync_stream_records WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            response = jsonify({"__type": "NotFound", "message": f"No stream record {record_id}"})
            response.status_code = 404
            return response
        return jsonify(loads(row["records"], []))
