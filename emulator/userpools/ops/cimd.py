"""cimd_ops: split from cimd.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import secrets
import sqlite3
from urllib.parse import urlsplit

from emulator import paging
from emulator.store import dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.accounts.cimd import (
    ALPHABET,
    DEFAULT_CACHE,
    PAGE,
    TIER_UNAVAILABLE,
    MetadataError,
    fetch_and_cache,
    load,
    matches,
)
from emulator.userpools.model import clients, pools
from protocol import ServiceError


def _check_pattern(pattern: str) -> None:
    try:
        parts = urlsplit(pattern)
    except ValueError:  # an unbalanced [ or ] in the host ("Invalid IPv6 URL")
        parts = urlsplit("")
    host, _, port = parts.netloc.partition(":")
    labels = host.split(".")
    bad = (parts.scheme != "https" or not host or bool(parts.query) or bool(parts.fragment) or "@" in parts.netloc
           or (port != "" and not port.isdigit())
           or any("*" in label and label != "*" for label in labels)
           or any(label == "*" for label in labels[1:])
           or (labels[0] == "*" and len(labels) < 3))
    if bad:
        raise errors.InvalidParameterException(f"URL pattern {pattern} is not valid. A pattern is an HTTPS URL; the * wildcard may "
                           "stand for the first label of a host name that has at least two more, or for any part "
                           "of the path.")


def _save(db: sqlite3.Connection, policy: dict) -> None:
    data = {k: policy[k] for k in ("name", "cache", "patterns", "created", "modified")}
    db.execute("UPDATE cimd_policies SET client_id = ?, data = ? WHERE id = ?",
               (policy["client_id"], dumps(data), policy["id"]))


def _client_exists(db: sqlite3.Connection, pool_id: str, client_id: str) -> bool:
    try:
        clients.load_client(db, client_id, pool_id)
    except ServiceError:
        return False
    return True


def _described(db: sqlite3.Connection, policy: dict, summary: bool = False) -> dict:
    out = {"UserPoolId": policy["pool_id"], "CIMDPolicyId": policy["id"], "PolicyName": policy["name"],
           "CacheDuration": policy["cache"], "CreationDate": policy["created"],
           "LastModifiedDate": policy["modified"]}
    if _client_exists(db, policy["pool_id"], policy["client_id"]):
        out["ClientId"] = policy["client_id"]
    if not summary:
        out["URLPatterns"] = list(policy["patterns"])
    else:
        out.pop("UserPoolId")
    return out


def _settings(db: sqlite3.Connection, pool: dict, req: dict) -> None:
    """Check the settings Create and Update share: the client, the patterns."""
    if pool.get("UserPoolTier") == "LITE":
        raise errors.FeatureUnavailableInTierException(TIER_UNAVAILABLE)
    clients.load_client(db, req["ClientId"], pool["Id"])
    for pattern in req["URLPatterns"]:
        _check_pattern(pattern)
    if len(set(req["URLPatterns"])) != len(req["URLPatterns"]):
        raise errors.InvalidParameterException("URLPatterns must not contain duplicates.")


def _taken_patterns(db: sqlite3.Connection, pool_id: str, patterns: list[str], except_id: str | None) -> None:
    for row in db.execute("SELECT id, data FROM cimd_policies WHERE pool_id = ?", (pool_id,)):
        if row["id"] == except_id:
            continue
        clash = set(loads(row["data"])["patterns"]) & set(patterns)
        if clash:
            raise errors.InvalidParameterException(f"URL pattern {sorted(clash)[0]} is already in CIMD policy {row['id']}.")


@registry.handler
def create_cimd_policy(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    _settings(db, pool, req)
    _taken_patterns(db, pool["Id"], req["URLPatterns"], None)
    policy_id = "".join(secrets.choice(ALPHABET) for _ in range(26))
    policy = {"id": policy_id, "pool_id": pool["Id"], "client_id": req["ClientId"], "name": req["PolicyName"],
              "cache": req.get("CacheDuration") or DEFAULT_CACHE, "patterns": list(req["URLPatterns"]),
              "created": now, "modified": now}
    db.execute("INSERT INTO cimd_policies(id, pool_id, client_id, created, data) VALUES(?,?,?,?,?)",
               (policy_id, pool["Id"], req["ClientId"], now, "{}"))
    _save(db, policy)
    return {"CIMDPolicy": _described(db, policy)}


@registry.handler
def describe_cimd_policy(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    return {"CIMDPolicy": _described(ctx.db, load(ctx.db, pool["Id"], req["CIMDPolicyId"]))}


@registry.handler
def update_cimd_policy(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    policy = load(db, pool["Id"], req["CIMDPolicyId"])
    _settings(db, pool, req)
    _taken_patterns(db, pool["Id"], req["URLPatterns"], policy["id"])
    policy.update(client_id=req["ClientId"], patterns=list(req["URLPatterns"]), modified=ctx.now())
    if req.get("PolicyName") is not None:
        policy["name"] = req["PolicyName"]
    if req.get("CacheDuration") is not None:
        policy["cache"] = req["CacheDuration"]
    _save(db, policy)
    # URLs the new patterns no longer admit lose their cached documents.
    for row in db.execute("SELECT url FROM cimd_documents WHERE policy_id = ?", (policy["id"],)).fetchall():
        if not any(matches(p, row["url"]) for p in policy["patterns"]):
            db.execute("DELETE FROM cimd_documents WHERE policy_id = ? AND url = ?", (policy["id"], row["url"]))
    return {"CIMDPolicy": _described(db, policy)}


@registry.handler
def delete_cimd_policy(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    policy = load(ctx.db, pool["Id"], req["CIMDPolicyId"])
    ctx.db.execute("DELETE FROM cimd_documents WHERE policy_id = ?", (policy["id"],))
    ctx.db.execute("DELETE FROM cimd_policies WHERE id = ?", (policy["id"],))
    return {}


@registry.handler
def list_cimd_policies(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    rows, token = paging.page(ctx.db, "SELECT id, created FROM cimd_policies WHERE pool_id = ?", [pool["Id"]],
                              ["created", "id"], req.get("MaxResults") or PAGE, req.get("NextToken"))
    out = [_described(ctx.db, load(ctx.db, pool["Id"], r["id"]), summary=True) for r in rows]
    return {"CIMDPolicies": out, "NextToken": token}


@registry.handler
def list_client_metadata_urls(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    policy = load(ctx.db, pool["Id"], req["CIMDPolicyId"])
    rows, token = paging.page(ctx.db, "SELECT * FROM cimd_documents WHERE policy_id = ?", [policy["id"]], ["url"],
                              req.get("MaxResults") or PAGE, req.get("NextToken"))
    now = ctx.now()
    out = []
    for row in rows:
        item = {"URL": row["url"]}
        if row["document"] is not None and row["expires"] > now:
            item.update(CachedDate=row["cached"], ExpirationDate=row["expires"])
        out.append(item)
    return {"ClientMetadataURLs": out, "NextToken": token}


@registry.handler
def update_client_metadata_url_state(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    if pool.get("UserPoolTier") == "LITE":
        raise errors.FeatureUnavailableInTierException(TIER_UNAVAILABLE)
    policy = load(db, pool["Id"], req["CIMDPolicyId"])
    url = req["URL"]
    row = db.execute("SELECT * FROM cimd_documents WHERE policy_id = ? AND url = ?", (policy["id"], url)).fetchone()
    if row is None or row["document"] is None or row["expires"] <= now:
        raise errors.CachedCIMDURLDoesNotExistException(f"There is no cached client metadata document for URL {url} in CIMD policy "
                           f"{policy['id']}.")
    if req["Action"] == "INVALIDATE":
        db.execute("UPDATE cimd_documents SET document = NULL, cached = NULL, expires = NULL "
                   "WHERE policy_id = ? AND url = ?", (policy["id"], url))
        return {}
    try:
        fetch_and_cache(ctx, policy, url)
    except MetadataError as err:
        raise errors.InvalidParameterException(f"The client metadata document at {url} could not be retrieved: {err}") from None
    return {}
