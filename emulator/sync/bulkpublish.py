"""BulkPublish and GetBulkPublishDetails: replay a pool's whole data to its Cognito stream.

One stream record per dataset (every live record, operation "replace"). The publish runs
when the request commits, before the answer is sent, so GetBulkPublishDetails afterwards
reports SUCCEEDED (or FAILED with the Kinesis error). One successful publish per 24 hours.
"""

from __future__ import annotations

from emulator.sync import errors, registry
from emulator.sync._access import check_pool
from emulator.sync.configuration import deliver, pool_config, save_pool_config, stream_sync
from emulator.sync.datasets import record_shape

REPUBLISH_AFTER = 24 * 3600.0


@registry.handler
def bulk_publish(ctx, req):
    pool_id = req["IdentityPoolId"]
    check_pool(ctx, pool_id)
    config = pool_config(ctx.db, pool_id)
    streams = config["cognito_streams"]
    if not streams or streams.get("StreamingStatus") != "ENABLED":
        raise errors.InvalidParameterException(f"Cognito Streams is not enabled for identity pool {pool_id}.")
    now = ctx.now()
    if config["bulk_status"] == "IN_PROGRESS":
        raise errors.DuplicateRequestException(f"A bulk publish is already in progress for identity pool {pool_id}.")
    if config["bulk_status"] == "SUCCEEDED" and config["bulk_completed"] is not None \
            and now - config["bulk_completed"] < REPUBLISH_AFTER:
        raise errors.AlreadyStreamedException(f"Identity pool {pool_id} was already bulk published in the last 24 hours.")
    record_ids = []
    datasets = ctx.db.execute("SELECT * FROM sync_datasets WHERE pool_id = ? AND exists_now = 1"
                              " ORDER BY identity_id, name", (pool_id,)).fetchall()
    for dataset in datasets:
        rows = ctx.db.execute("SELECT * FROM sync_records WHERE pool_id = ? AND identity_id = ? AND dataset = ?"
                              " AND value IS NOT NULL ORDER BY key",
                              (pool_id, dataset["identity_id"], dataset["name"])).fetchall()
        record_id = stream_sync(ctx, pool_id, dataset["identity_id"], dataset["name"], "replace",
                                [record_shape(r) for r in rows], dataset["sync_count"], dataset["last_modified"],
                                schedule=False)
        record_ids.append(record_id)
    save_pool_config(ctx.db, pool_id, bulk_status="IN_PROGRESS", bulk_started=now, bulk_completed=None,
                     bulk_failure=None)
    emulator, endpoint, clock = ctx.emulator, ctx.config.kinesis_endpoint, ctx.clock
    region = pool_id.split(":", 1)[0] or ctx.region

    def publish() -> None:
        failures = [state for state in (deliver(emulator, endpoint, region, rid) for rid in record_ids)
                    if state.startswith("failed")]
        with emulator.store.transaction() as db:
            clock.load(db)
            if failures:
                save_pool_config(db, pool_id, bulk_status="FAILED", bulk_completed=clock.now(),
                                 bulk_failure=failures[0].removeprefix("failed: "))
            else:
                save_pool_config(db, pool_id, bulk_status="SUCCEEDED", bulk_completed=clock.now())

    ctx.after_commit.append(publish)
    return {"IdentityPoolId": pool_id}


@registry.handler
def get_bulk_publish_details(ctx, req):
    pool_id = req["IdentityPoolId"]
    check_pool(ctx, pool_id)
    config = pool_config(ctx.db, pool_id)
    return {"IdentityPoolId": pool_id, "BulkPublishStatus": config["bulk_status"] or "NOT_STARTED",
            "BulkPublishStartTime": config["bulk_started"], "BulkPublishCompleteTime": config["bulk_completed"],
            "FailureMessage": config["bulk_failure"]}
