"""What happens to Sync data when cognito-identity merges or deletes identities.

Merge: each dataset of the merged identity moves to the survivor as `{name}.{mergedIdentityId}`;
ListRecords of `{name}` on the survivor lists those in MergedDatasetNames so the SDK can
merge them and delete them. Delete: the identity's data, devices and subscriptions go.
"""

from __future__ import annotations

from emulator.identitypools import identities as _identities
from emulator.sync import _store  # noqa: F401  (declares the tables)


def merged_dataset_names(db, pool_id: str, identity_id: str, name: str) -> list[str]:
    rows = db.execute("SELECT name FROM sync_datasets WHERE pool_id = ? AND identity_id = ? AND exists_now = 1"
                      " AND merged_from IS NOT NULL AND name LIKE ? ESCAPE '\\' ORDER BY name",
                      (pool_id, identity_id, _like_prefix(name + "."))).fetchall()
    return [r["name"] for r in rows]


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def on_merged(db, pool_id: str, source: str, survivor: str) -> None:
    for row in db.execute("SELECT name FROM sync_datasets WHERE pool_id = ? AND identity_id = ? AND exists_now = 1",
                          (pool_id, source)).fetchall():
        new_name = f"{row['name']}.{source}"
        db.execute("DELETE FROM sync_datasets WHERE pool_id = ? AND identity_id = ? AND name = ?",
                   (pool_id, survivor, new_name))
        db.execute("DELETE FROM sync_records WHERE pool_id = ? AND identity_id = ? AND dataset = ?",
                   (pool_id, survivor, new_name))
        db.execute("UPDATE sync_datasets SET identity_id = ?, name = ?, merged_from = ? WHERE pool_id = ?"
                   " AND identity_id = ? AND name = ?", (survivor, new_name, source, pool_id, source, row["name"]))
        db.execute("UPDATE sync_records SET identity_id = ?, dataset = ? WHERE pool_id = ? AND identity_id = ?"
                   " AND dataset = ?", (survivor, new_name, pool_id, source, row["name"]))
    _forget(db, pool_id, [source])


def _forget(db, pool_id: str, identity_ids: list[str]) -> None:
    for identity_id in identity_ids:
        db.execute("DELETE FROM sync_subscriptions WHERE pool_id = ? AND identity_id = ?", (pool_id, identity_id))
        db.execute("DELETE FROM sync_devices WHERE pool_id = ? AND identity_id = ?", (pool_id, identity_id))
        db.execute("DELETE FROM sync_sessions WHERE pool_id = ? AND identity_id = ?", (pool_id, identity_id))


_identities.on_identities_merged.append(on_merged)
