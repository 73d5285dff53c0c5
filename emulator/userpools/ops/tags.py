"""TagResource, UntagResource, ListTagsForResource on user pools (by ARN).

A pool's tags are its `UserPoolTags`, so CreateUserPool/UpdateUserPool and these
operations see the same set.
"""

from __future__ import annotations

import re

from emulator.userpools import errors, registry
from emulator.userpools.model import pools
from protocol import ServiceError

_ARN = re.compile(r"^arn:aws[\w-]*:cognito-idp:([\w-]+):(\d{12}):userpool/([\w-]+_[0-9a-zA-Z]+)$")


def _pool_for_arn(ctx, arn: str) -> dict:
    match = _ARN.match(arn)
    if match is None:
        raise errors.InvalidParameterException(f"Invalid ARN: {arn}")
    pool_id = match.group(3)
    try:
        pool = pools.load_pool(ctx.db, pool_id)
    except ServiceError:
        raise errors.ResourceNotFoundException(f"User pool {pool_id} does not exist.") from None
    if pool.get("Arn") != arn:
        raise errors.ResourceNotFoundException(f"User pool {pool_id} does not exist.")
    return pool


@registry.handler
def tag_resource(ctx, req):
    pool = _pool_for_arn(ctx, req["ResourceArn"])
    tags = {**(pool.get("UserPoolTags") or {}), **req["Tags"]}
    if len(tags) > pools.MAX_TAGS:
        raise errors.LimitExceededException(f"A resource can have at most {pools.MAX_TAGS} tags.")
    pool["UserPoolTags"] = tags
    pools.save_pool(ctx.db, pool)
    return {}


@registry.handler
def untag_resource(ctx, req):
    pool = _pool_for_arn(ctx, req["ResourceArn"])
    tags = dict(pool.get("UserPoolTags") or {})
    for key in req["TagKeys"]:
        tags.pop(key, None)
    pool["UserPoolTags"] = tags
    pools.save_pool(ctx.db, pool)
    return {}


@registry.handler
def list_tags_for_resource(ctx, req):
    pool = _pool_for_arn(ctx, req["ResourceArn"])
    return {"Tags": dict(pool.get("UserPoolTags") or {})}
