"""Datasets and records: ListDatasets, DescribeDataset, DeleteDataset, ListRecords, UpdateRecords.

Each dataset has a sync count that grows by one with every UpdateRecords that writes; each
written record takes the new count. A client sends, per patch, the record's count it last
saw: anything else is a conflict and nothing of the request is written. Removed records
stay as tombstones (no value) so other devices learn of the removal. ListRecords hands out
a SyncSessionToken that UpdateRecords must present for the same identity and dataset.
"""

from __future__ import annotations

import secrets
from typing import Any

from emulator import paging
from emulator.sync import (
    _store,  # noqa: F401  (declares the tables)
    errors,
    registry,
)
from emulator.sync._access import Principal, check_identity
from emulator.sync.configuration import stream_sync
from emulator.sync.events import run_sync_trigger, sync_trigger_arn
from emulator.sync.merges import merged_dataset_names
from emulator.sync.push import notify_subscribers

SESSION_TTL = 3600.0
MAX_DATASETS_PER_IDENTITY = 20
MAX_RECORDS_PER_DATASET = 1024
MAX_DATASET_BYTES = 1024 * 1024
MAX_IDENTITY_BYTES = 20 * 1024 * 1024
DEFAULT_DATASETS_PAGE = 20
DEFAULT_RECORDS_PAGE = 1024
INVALID_NEXT_TOKEN = "Invalid NextToken"


# -- rows ------------------------------------------------------------------------------------
def dataset_row(db, pool_id: str, identity_id: str, name: str):
    return db.execute("SELECT * FROM sync_datasets WHERE pool_id = ? AND identity_id = ? AND name = ?",
                      (pool_id, identity_id, name)).fetchone()


def dataset_shape(row) -> dict[str, Any]:
    return {"IdentityId": row["identity_id"], "DatasetName": row["name"], "CreationDate": row["created"],
            "LastModifiedDate": row["last_modified"], "LastModifiedBy": row["last_modified_by"],
            "DataStorage": row["data_storage"], "NumRecords": row["num_records"]}


def record_shape(row) -> dict[str, Any]:
    return {"Key": row["key"], "Value": row["value"], "SyncCount": row["sync_count"],
            "LastModifiedDate": row["last_modified"], "LastModifiedBy": row["last_modified_by"],
            "DeviceLastModifiedDate": row["device_last_modified"]}


def record_size(key: str, value: str | None) -> int:
    return len(key.encode()) + (len(value.encode()) if value is not None else 0)


def _existing(db, pool_id: str, identity_id: str, name: str):
    row = dataset_row(db, pool_id, identity_id, name)
    if row is None or not row["exists_now"]:
        raise errors.ResourceNotFoundException(f"Dataset '{name}' not found.")
    return row


def _page_size(value: int | None, default: int) -> int:
    if value is None:
        return default
    if value < 1:
        raise errors.InvalidParameterException("MaxResults must be greater than 0")
    return value


# -- datasets ----------------------------------------------------------------------------------
@registry.handler
def list_datasets(ctx, req):
    pool_id, identity_id = req["IdentityPoolId"], req["IdentityId"]
    check_identity(ctx, pool_id, identity_id)
    size = _page_size(req.get("MaxResults"), DEFAULT_DATASETS_PAGE)
    rows, token = paging.page(
        ctx.db, "SELECT * FROM sync_datasets WHERE pool_id = ? AND identity_id = ? AND exists_now = 1",
        (pool_id, identity_id), ["name"], size, req.get("NextToken"), message=INVALID_NEXT_TOKEN)
    return {"Datasets": [dataset_shape(r) for r in rows], "Count": len(rows), "NextToken": token}


@registry.handler
def describe_dataset(ctx, req):
    pool_id, identity_id = req["IdentityPoolId"], req["IdentityId"]
    check_identity(ctx, pool_id, identity_id)
    return {"Dataset": dataset_shape(_existing(ctx.db, pool_id, identity_id, req["DatasetName"]))}


@registry.handler
def delete_dataset(ctx, req):
    pool_id, identity_id, name = req["IdentityPoolId"], req["IdentityId"], req["DatasetName"]
    check_identity(ctx, pool_id, identity_id)
    row = _existing(ctx.db, pool_id, identity_id, name)
    now = ctx.now()
    ctx.db.execute("DELETE FROM sync_records WHERE pool_id = ? AND identity_id = ? AND dataset = ?",
                   (pool_id, identity_id, name))
    ctx.db.execute(
        "UPDATE sync_datasets SET exists_now = 0, deleted_at_count = sync_count, num_records = 0,"
        " data_storage = 0, last_modified = ? WHERE pool_id = ? AND identity_id = ? AND name = ?",
        (now, pool_id, identity_id, name))
    _touch_pool(ctx.db, pool_id, now)
    stream_sync(ctx, pool_id, identity_id, name, "remove", [], row["sync_count"], now)
    return {"Dataset": dataset_shape(row)}


# -- records ------------------------------------------------------------------------------------
def _new_session(ctx, pool_id: str, identity_id: str, dataset: str) -> str:
    now = ctx.now()
    ctx.db.execute("DELETE FROM sync_sessions WHERE pool_id = ? AND created < ?", (pool_id, now - SESSION_TTL))
    token = secrets.token_urlsafe(24)
    ctx.db.execute("INSERT INTO sync_sessions(token, pool_id, identity_id, dataset, created) VALUES(?,?,?,?,?)",
                   (token, pool_id, identity_id, dataset, now))
    ctx.db.execute("INSERT INTO sync_pool_usage(pool_id, sync_sessions, last_modified) VALUES(?, 1, NULL)"
                   " ON CONFLICT(pool_id) DO UPDATE SET sync_sessions = sync_pool_usage.sync_sessions + 1",
                   (pool_id,))
    return token


def _check_session(ctx, token: str, pool_id: str, identity_id: str, dataset: str) -> None:
    row = ctx.db.execute("SELECT * FROM sync_sessions WHERE token = ?", (token,)).fetchone()
    if (row is None or row["pool_id"] != pool_id or row["identity_id"] != identity_id
            or row["dataset"] != dataset or row["created"] + SESSION_TTL < ctx.now()):
        raise errors.InvalidParameterException("SyncSessionToken not valid for these inputs")


def _touch_pool(db, pool_id: str, now: float) -> None:
    db.execute("INSERT INTO sync_pool_usage(pool_id, sync_sessions, last_modified) VALUES(?, 0, ?)"
               " ON CONFLICT(pool_id) DO UPDATE SET last_modified = excluded.last_modified", (pool_id, now))


@registry.handler
def list_records(ctx, req):
    pool_id, identity_id, name = req["IdentityPoolId"], req["IdentityId"], req["DatasetName"]
    check_identity(ctx, pool_id, identity_id)
    if req.get("SyncSessionToken"):
        _check_session(ctx, req["SyncSessionToken"], pool_id, identity_id, name)
    row = dataset_row(ctx.db, pool_id, identity_id, name)
    exists = row is not None and bool(row["exists_now"])
    last = req.get("LastSyncCount")
    if last is not None and last < 0:
        raise errors.InvalidParameterException(f"No such SyncCount: {last} exists for this Dataset")
    if exists and last is not None and last > row["sync_count"]:
        raise errors.InvalidParameterException(f"No such SyncCount: {last} exists for this Dataset")
    size = _page_size(req.get("MaxResults"), DEFAULT_RECORDS_PAGE)
    page, token = [], None
    if exists:
        page, token = paging.page(
            ctx.db, "SELECT * FROM sync_records WHERE pool_id = ? AND identity_id = ? AND dataset = ?"
            " AND sync_count > ?", (pool_id, identity_id, name, last or 0), ["sync_count", "key"], size,
            req.get("NextToken"), message=INVALID_NEXT_TOKEN)
    else:
        paging.decode_token(req.get("NextToken"), 2, INVALID_NEXT_TOKEN)
    # the dataset was deleted after the state this client last saw
    deleted_after = (row is not None and row["deleted_at_count"] is not None and last is not None
                     and 0 < last <= row["deleted_at_count"])
    out: dict[str, Any] = {
        "Records": [record_shape(r) for r in page],
        "Count": len(page),
        "DatasetSyncCount": row["sync_count"] if exists else 0,
        "LastModifiedBy": row["last_modified_by"] if exists else None,
        "MergedDatasetNames": merged_dataset_names(ctx.db, pool_id, identity_id, name) or None,
        "DatasetExists": exists,
        "DatasetDeletedAfterRequestedSyncCount": bool(deleted_after),
        "SyncSessionToken": req.get("SyncSessionToken") or _new_session(ctx, pool_id, identity_id, name),
        "NextToken": token,
    }
    return out


def _current_records(db, pool_id: str, identity_id: str, name: str, keys: list[str]) -> dict[str, Any]:
    found = {}
    for key in keys:
        row = db.execute("SELECT * FROM sync_records WHERE pool_id = ? AND identity_id = ? AND dataset = ?"
                         " AND key = ?", (pool_id, identity_id, name, key)).fetchone()
        if row is not None:
            found[key] = row
    return found


def _check_conflicts(patches: list[dict], current: dict[str, Any]) -> None:
    for patch in patches:
        row = current.get(patch["Key"])
        server = row["sync_count"] if row is not None else 0
        if patch["SyncCount"] != server:
            raise errors.ResourceConflictException(f"Current SyncCount for: {patch['Key']} is: {server} not: {patch['SyncCount']}")


def _validate_patches(patches: list[dict]) -> None:
    seen = set()
    for patch in patches:
        if patch["Key"] in seen:
            raise errors.InvalidParameterException(f"Duplicate key in RecordPatches: {patch['Key']}")
        seen.add(patch["Key"])
        if patch["Op"] == "replace" and patch.get("Value") is None:
            raise errors.InvalidParameterException(f"Value is required to replace the record: {patch['Key']}")
        if patch["SyncCount"] < 0:
            raise errors.InvalidParameterException(f"Invalid SyncCount for: {patch['Key']}")


@registry.handler
def update_records(ctx, req):
    pool_id, identity_id, name = req["IdentityPoolId"], req["IdentityId"], req["DatasetName"]
    who = check_identity(ctx, pool_id, identity_id)
    _check_session(ctx, req["SyncSessionToken"], pool_id, identity_id, name)
    patches = req.get("RecordPatches") or []
    _validate_patches(patches)
    keys = [p["Key"] for p in patches]
    current = _current_records(ctx.db, pool_id, identity_id, name, keys)
    _check_conflicts(patches, current)

    # what will be written: key -> (value or None for a removal, device date)
    writes: dict[str, tuple[str | None, float | None]] = {
        p["Key"]: (p.get("Value") if p["Op"] == "replace" else None, p.get("DeviceLastModifiedDate"))
        for p in patches}
    arn = sync_trigger_arn(ctx.db, pool_id) if patches else None
    if arn and not who.is_developer:  # AWS runs the trigger for Cognito Identity credentials only
        event_records = {}
        for p in patches:
            old = current.get(p["Key"])
            event_records[p["Key"]] = {"oldValue": old["value"] if old is not None else None,
                                       "newValue": writes[p["Key"]][0], "op": p["Op"]}
        returned = run_sync_trigger(ctx, arn, pool_id, identity_id, name, event_records)
        # the store lock was released during the call: what was checked must still hold (the
        # identity, the session, and every record's SyncCount: a concurrent sync of the same
        # SyncCount that wrote first makes this one a ResourceConflictException)
        check_identity(ctx, pool_id, identity_id)
        _check_session(ctx, req["SyncSessionToken"], pool_id, identity_id, name)
        current = _current_records(ctx.db, pool_id, identity_id, name, list({*keys, *returned}))
        _check_conflicts(patches, current)
        devices = {k: v[1] for k, v in writes.items()}
        writes = {key: (rec.get("newValue") if rec["op"] == "replace" else None, devices.get(key))
                  for key, rec in returned.items()}
    written = _apply(ctx, who, pool_id, identity_id, name, writes, current)
    if written:
        dataset = dataset_row(ctx.db, pool_id, identity_id, name)
        stream_sync(ctx, pool_id, identity_id, name, "replace", written, dataset["sync_count"],
                    dataset["last_modified"])
        notify_subscribers(ctx, pool_id, identity_id, name, dataset["sync_count"], req.get("DeviceId"))
    return {"Records": written}


def _apply(ctx, who: Principal, pool_id: str, identity_id: str, name: str,
           writes: dict[str, tuple[str | None, float | None]], current: dict[str, Any]) -> list[dict]:
    """Write the records (all or nothing, within the limits) and return them as written."""
    db, now = ctx.db, ctx.now()
    row = dataset_row(db, pool_id, identity_id, name)
    exists = row is not None and bool(row["exists_now"])
    if not exists:
        count = db.execute("SELECT COUNT(*) FROM sync_datasets WHERE pool_id = ? AND identity_id = ?"
                           " AND exists_now = 1", (pool_id, identity_id)).fetchone()[0]
        if count >= MAX_DATASETS_PER_IDENTITY:
            raise errors.LimitExceededException(f"Cannot create more than {MAX_DATASETS_PER_IDENTITY} datasets per identity.")
    num_records = row["num_records"] if exists else 0
    storage = row["data_storage"] if exists else 0
    for key, (value, _device) in writes.items():
        old = current.get(key)
        if old is not None and old["value"] is not None:
            num_records -= 1
            storage -= record_size(key, old["value"])
        if value is not None:
            num_records += 1
            storage += record_size(key, value)
    if num_records > MAX_RECORDS_PER_DATASET:
        raise errors.LimitExceededException(f"Dataset {name} cannot have more than {MAX_RECORDS_PER_DATASET} records.")
    if storage > MAX_DATASET_BYTES:
        raise errors.LimitExceededException(f"Dataset {name} cannot be larger than 1 MB.")
    others = db.execute("SELECT COALESCE(SUM(data_storage), 0) FROM sync_datasets WHERE pool_id = ?"
                        " AND identity_id = ? AND name != ? AND exists_now = 1",
                        (pool_id, identity_id, name)).fetchone()[0]
    if others + storage > MAX_IDENTITY_BYTES:
        raise errors.LimitExceededException("The data of an identity cannot be larger than 20 MB.")

    sync_count = (row["sync_count"] if row is not None else 0) + (1 if writes else 0)
    if row is None:
        db.execute("INSERT INTO sync_datasets(pool_id, identity_id, name, exists_now, created, last_modified,"
                   " last_modified_by, sync_count, deleted_at_count, num_records, data_storage)"
                   " VALUES(?,?,?,1,?,?,?,?,NULL,?,?)",
                   (pool_id, identity_id, name, now, now, who.name, sync_count, num_records, storage))
    elif not exists:
        db.execute("UPDATE sync_datasets SET exists_now = 1, created = ?, last_modified = ?, last_modified_by = ?,"
                   " sync_count = ?, num_records = ?, data_storage = ? WHERE pool_id = ? AND identity_id = ?"
                   " AND name = ?", (now, now, who.name, sync_count, num_records, storage, pool_id, identity_id,
                                     name))
    elif writes:
        db.execute("UPDATE sync_datasets SET last_modified = ?, last_modified_by = ?, sync_count = ?,"
                   " num_records = ?, data_storage = ? WHERE pool_id = ? AND identity_id = ? AND name = ?",
                   (now, who.name, sync_count, num_records, storage, pool_id, identity_id, name))
    written = []
    for key, (value, device) in writes.items():
        db.execute("INSERT INTO sync_records(pool_id, identity_id, dataset, key, value, sync_count, last_modified,"
                   " last_modified_by, device_last_modified) VALUES(?,?,?,?,?,?,?,?,?)"
                   " ON CONFLICT(pool_id, identity_id, dataset, key) DO UPDATE SET value = excluded.value,"
                   " sync_count = excluded.sync_count, last_modified = excluded.last_modified,"
                   " last_modified_by = excluded.last_modified_by,"
                   " device_last_modified = excluded.device_last_modified",
                   (pool_id, identity_id, name, key, value, sync_count, now, who.name, device))
        written.append({"Key": key, "Value": value, "SyncCount": sync_count, "LastModifiedDate": now,
                        "LastModifiedBy": who.name, "DeviceLastModifiedDate": device})
    if writes:
        _touch_pool(db, pool_id, now)
    return written
