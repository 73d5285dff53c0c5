"""Cognito Sync tables and the small helpers every sync module shares."""

from __future__ import annotations

from emulator.store import register_schema

register_schema("sync", [
    """
    CREATE TABLE sync_datasets (
        pool_id TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        name TEXT NOT NULL,
        exists_now INTEGER NOT NULL,
        created REAL NOT NULL,
        last_modified REAL NOT NULL,
        last_modified_by TEXT,
        sync_count INTEGER NOT NULL,
        deleted_at_count INTEGER,
        num_records INTEGER NOT NULL,
        data_storage INTEGER NOT NULL,
        merged_from TEXT,
        PRIMARY KEY (pool_id, identity_id, name)
    );
    CREATE INDEX sync_datasets_pool ON sync_datasets(pool_id, exists_now);
    CREATE TABLE sync_records (
        pool_id TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        dataset TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT,
        sync_count INTEGER NOT NULL,
        last_modified REAL NOT NULL,
        last_modified_by TEXT,
        device_last_modified REAL,
        PRIMARY KEY (pool_id, identity_id, dataset, key)
    );
    CREATE INDEX sync_records_count ON sync_records(pool_id, identity_id, dataset, sync_count);
    CREATE TABLE sync_sessions (
        token TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        dataset TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX sync_sessions_pool ON sync_sessions(pool_id, created);
    CREATE TABLE sync_pool_usage (
        pool_id TEXT PRIMARY KEY,
        sync_sessions INTEGER NOT NULL,
        last_modified REAL
    );
    CREATE TABLE sync_pool_config (
        pool_id TEXT PRIMARY KEY,
        push_sync TEXT,
        cognito_streams TEXT,
        events TEXT,
        bulk_status TEXT,
        bulk_started REAL,
        bulk_completed REAL,
        bulk_failure TEXT
    );
    CREATE TABLE sync_devices (
        device_id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        platform TEXT NOT NULL,
        token TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE UNIQUE INDEX sync_devices_token ON sync_devices(pool_id, identity_id, platform, token);
    CREATE TABLE sync_subscriptions (
        pool_id TEXT NOT NULL,
        identity_id TEXT NOT NULL,
        dataset TEXT NOT NULL,
        device_id TEXT NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (pool_id, identity_id, dataset, device_id)
    );
    CREATE TABLE sync_stream_records (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        pool_id TEXT NOT NULL,
        stream_name TEXT NOT NULL,
        partition_key TEXT NOT NULL,
        created REAL NOT NULL,
        data TEXT NOT NULL,
        records TEXT,
        delivery TEXT NOT NULL
    );
    CREATE INDEX sync_stream_records_pool ON sync_stream_records(pool_id, seq);
    """,
], owned={"identity_pool": ("sync_records", "sync_datasets", "sync_subscriptions", "sync_devices", "sync_sessions"), "identity": ("sync_records", "sync_datasets", "sync_subscriptions", "sync_devices", "sync_sessions")})
