"""replicas_ops: split from replicas.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import sqlite3

from emulator import paging
from emulator.store import dumps
from emulator.userpools import errors, registry
from emulator.userpools.model import pools
from emulator.userpools.model.replicas import (
    MAX_SECONDARY,
    PAGE,
    PRIMARY_ONLY,
    TIER_UNAVAILABLE,
    known_regions,
    primary_region,
    replica,
    settled,
)
from protocol import ServiceError


def _cleanup(db: sqlite3.Connection, now: float, pool_id: str) -> None:
    for row in db.execute("SELECT * FROM user_pool_replicas WHERE pool_id = ? AND status = 'DELETING'",
                          (pool_id,)).fetchall():
        if settled(row, now) is None:
            db.execute("DELETE FROM user_pool_replicas WHERE pool_id = ? AND region = ?", (pool_id, row["region"]))


def _answer(ctx, pool_id: str, region: str, status: str, role: str = "SECONDARY") -> dict:
    return {"RegionName": region, "Status": status, "Role": role, "UserPoolArn": pools.pool_arn(region, ctx.account_id, pool_id)}


def _check_primary(ctx, pool: dict) -> None:
    primary = primary_region(pool)
    if ctx.region != primary:
        raise errors.OperationNotEnabledException(PRIMARY_ONLY.format(region=primary, pool=pool["Id"]))


def _not_found(pool_id: str, region: str) -> ServiceError:
    return errors.ResourceNotFoundException(f"User pool {pool_id} has no replica in Region {region}.")


@registry.handler
def create_user_pool_replica(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    pool_id, region = pool["Id"], req["RegionName"]
    _check_primary(ctx, pool)
    if pool.get("UserPoolTier") not in ("ESSENTIALS", "PLUS"):
        raise errors.FeatureUnavailableInTierException(TIER_UNAVAILABLE)
    if region not in known_regions():
        raise errors.InvalidParameterException(f"{region} is not a valid Region for a user pool replica.")
    if region == primary_region(pool):
        raise errors.InvalidParameterException(f"Region {region} is the primary Region of user pool {pool_id}.")
    _cleanup(db, now, pool_id)
    existing = [r for r in db.execute("SELECT * FROM user_pool_replicas WHERE pool_id = ?", (pool_id,))]
    if any(r["region"] == region for r in existing):
        raise errors.InvalidParameterException(f"User pool {pool_id} already has a replica in Region {region}.")
    if len(existing) >= MAX_SECONDARY:
        raise errors.LimitExceededException(f"User pool {pool_id} can have at most {MAX_SECONDARY} secondary replica.")
    tags = dict(req.get("UserPoolTags") or {})
    if len(tags) > pools.MAX_TAGS:
        raise errors.UserPoolTaggingException(f"A user pool can have at most {pools.MAX_TAGS} tags.")
    db.execute("INSERT INTO user_pool_replicas(pool_id, region, status, created, changed, data) "
               "VALUES(?,?,?,?,?,?)", (pool_id, region, "CREATING", now, now, dumps(tags)))
    return {"UserPoolReplica": _answer(ctx, pool_id, region, "CREATING")}


def _secondary(db, pool: dict, region: str, now: float, action: str) -> dict:
    """The pool's secondary replica in `region`, which is to be `action` (for the message naming the
    primary Region)."""
    if region == primary_region(pool):
        raise errors.InvalidParameterException(f"Region {region} is the primary Region of user pool {pool['Id']}; only a secondary "
                           f"replica can be {action}.")
    found = replica(db, pool["Id"], region, now)
    if found is None:
        raise _not_found(pool["Id"], region)
    return found


@registry.handler
def update_user_pool_replica(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    pool_id, region = pool["Id"], req["RegionName"]
    found = _secondary(db, pool, region, now, "activated or deactivated")
    if found["Status"] not in ("ACTIVE", "INACTIVE"):
        raise errors.InvalidParameterException(f"The replica of user pool {pool_id} in Region {region} can't be updated in status "
                           f"{found['Status']}.")
    db.execute("UPDATE user_pool_replicas SET status = ?, changed = ? WHERE pool_id = ? AND region = ?",
               (req["Status"], now, pool_id, region))
    return {"UserPoolReplica": _answer(ctx, pool_id, region, req["Status"])}


@registry.handler
def delete_user_pool_replica(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    pool_id, region = pool["Id"], req["RegionName"]
    _check_primary(ctx, pool)
    found = _secondary(db, pool, region, now, "deleted")
    if found["Status"] != "INACTIVE":
        raise errors.InvalidParameterException(f"Only an INACTIVE replica can be deleted; the replica of user pool {pool_id} in "
                           f"Region {region} is {found['Status']}.")
    db.execute("UPDATE user_pool_replicas SET status = 'DELETING', changed = ? WHERE pool_id = ? AND region = ?",
               (now, pool_id, region))
    return {"UserPoolReplica": _answer(ctx, pool_id, region, "DELETING")}


@registry.handler
def list_user_pool_replicas(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    pool_id = pool["Id"]
    _cleanup(db, now, pool_id)
    primary = primary_region(pool)
    rows, token = paging.page(db, "SELECT * FROM user_pool_replicas WHERE pool_id = ?", [pool_id], ["region"],
                              PAGE, req.get("NextToken"))
    out = [] if req.get("NextToken") else [_answer(ctx, pool_id, primary, "ACTIVE", "PRIMARY")]
    for row in rows:
        status = settled(row, now)
        if status is not None:
            out.append(_answer(ctx, pool_id, row["region"], status))
    return {"UserPoolReplicas": out, "NextToken": token}
