"""Console pages for the start page (regions, user pools, identity pools), identity pools, their
identities and the identities' Cognito Sync datasets and records."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

from emulator.console.common import blueprint, call, fail, page, region_of, render
from protocol import ServiceError

IDENTITY = "cognito-identity"
SYNC = "cognito-sync"


def _region(kwargs: dict) -> str:
    return region_of(kwargs["identity_pool_id"])


def regions(ctx) -> list[str]:
    """Regions holding a user pool or an identity pool, and the default one."""
    found = {ctx.config.region}
    for table in ("user_pools", "identity_pools"):
        found.update(r[0] for r in ctx.db.execute(f"SELECT DISTINCT region FROM {table}"))
    return sorted(found)


def _listed(ctx, service: str, operation: str, key: str, **req) -> list[dict]:
    found, token = [], None
    while True:
        listed = call(ctx, service, operation, **req, NextToken=token)
        found.extend(listed.get(key, []))
        token = listed.get("NextToken")
        if not token:
            return found


@blueprint.get("/")
@page()
def home(ctx) -> Response:
    region = request.args.get("region") or ctx.config.region
    return render("home.html", region=region, regions=regions(ctx),
                  pools=_listed(ctx, "cognito-idp", "ListUserPools", "UserPools", MaxResults=60),
                  identity_pools=_listed(ctx, IDENTITY, "ListIdentityPools", "IdentityPools", MaxResults=60))


@blueprint.get("/identity-pools/<identity_pool_id>")
@page(region=_region)
def identity_pool_page(ctx, identity_pool_id: str) -> Response:
    try:
        pool = call(ctx, IDENTITY, "DescribeIdentityPool", IdentityPoolId=identity_pool_id)
    except ServiceError as err:
        raise fail(f"{err.code}: {err.message}") from None
    roles = call(ctx, IDENTITY, "GetIdentityPoolRoles", IdentityPoolId=identity_pool_id)
    identities = _listed(ctx, IDENTITY, "ListIdentities", "Identities", IdentityPoolId=identity_pool_id,
                         MaxResults=60)
    return render("identity_pool.html", pool=pool, roles=roles, identities=identities)


@blueprint.get("/identity-pools/<identity_pool_id>/identities/<identity_id>")
@page(region=_region)
def identity_page(ctx, identity_pool_id: str, identity_id: str) -> Response:
    try:
        identity = call(ctx, IDENTITY, "DescribeIdentity", IdentityId=identity_id)
    except ServiceError as err:
        raise fail(f"{err.code}: {err.message}") from None
    datasets = []
    for dataset in _listed(ctx, SYNC, "ListDatasets", "Datasets", IdentityPoolId=identity_pool_id,
                           IdentityId=identity_id, MaxResults=60):
        records = _listed(ctx, SYNC, "ListRecords", "Records", IdentityPoolId=identity_pool_id,
                          IdentityId=identity_id, DatasetName=dataset["DatasetName"], MaxResults=1024)
        datasets.append({**dataset, "Records": records})
    return render("identity.html", identity_pool_id=identity_pool_id, identity=identity, datasets=datasets)
