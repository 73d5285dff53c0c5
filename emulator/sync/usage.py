"""Usage: DescribeIdentityUsage, DescribeIdentityPoolUsage, ListIdentityPoolUsage."""

from __future__ import annotations

from typing import Any

from emulator import paging
from emulator.identitypools.pools import list_identity_pool_ids
from emulator.sync import (
    _store,  # noqa: F401  (declares the tables)
    errors,
    registry,
)
from emulator.sync._access import check_identity, check_pool, principal
from emulator.sync.datasets import INVALID_NEXT_TOKEN, _page_size

DEFAULT_POOLS_PAGE = 60


@registry.handler
def describe_identity_usage(ctx, req):
    pool_id, identity_id = req["IdentityPoolId"], req["IdentityId"]
    check_identity(ctx, pool_id, identity_id)
    row = ctx.db.execute(
        "SELECT COUNT(*) AS datasets, COALESCE(SUM(data_storage), 0) AS storage, MAX(last_modified) AS modified"
        " FROM sync_datasets WHERE pool_id = ? AND identity_id = ? AND exists_now = 1",
        (pool_id, identity_id)).fetchone()
    return {"IdentityUsage": {"IdentityId": identity_id, "IdentityPoolId": pool_id,
                              "LastModifiedDate": row["modified"], "DatasetCount": row["datasets"],
                              "DataStorage": row["storage"]}}


def pool_usage(db, pool_id: str) -> dict[str, Any]:
    usage = db.execute("SELECT * FROM sync_pool_usage WHERE pool_id = ?", (pool_id,)).fetchone()
    storage = db.execute("SELECT COALESCE(SUM(data_storage), 0) FROM sync_datasets WHERE pool_id = ?"
                         " AND exists_now = 1", (pool_id,)).fetchone()[0]
    return {"IdentityPoolId": pool_id, "SyncSessionsCount": usage["sync_sessions"] if usage else 0,
            "DataStorage": storage, "LastModifiedDate": usage["last_modified"] if usage else None}


@registry.handler
def describe_identity_pool_usage(ctx, req):
    pool_id = req["IdentityPoolId"]
    check_pool(ctx, pool_id)
    return {"IdentityPoolUsage": pool_usage(ctx.db, pool_id)}


def _known_pool_ids(db) -> list[str]:
    """Every identity pool, and any Sync still holds data of."""
    ids = set(list_identity_pool_ids(db))
    for row in db.execute("SELECT pool_id FROM sync_pool_usage UNION SELECT pool_id FROM sync_datasets"):
        ids.add(row[0])
    return sorted(ids)


@registry.handler
def list_identity_pool_usage(ctx, req):
    if not principal(ctx).is_developer:
        raise errors.NotAuthorizedException("This API can only be called with developer credentials.")
    size = _page_size(req.get("MaxResults"), DEFAULT_POOLS_PAGE)
    after = paging.decode_token(req.get("NextToken"), 1, INVALID_NEXT_TOKEN)
    ids = [p for p in _known_pool_ids(ctx.db) if after is None or p > after[0]]
    page = ids[:size]
    out: dict[str, Any] = {"IdentityPoolUsages": [pool_usage(ctx.db, p) for p in page],
                           "MaxResults": size, "Count": len(page)}
    if len(ids) > size:
        out["NextToken"] = paging.encode_token([page[-1]])
    return out
