"""User pool domains: Cognito prefix domains and custom domains (with a certificate).

A prefix is unique across every pool; each pool has at most one prefix domain and one
custom domain. The hosted UI finds a pool from a domain with `pool_for_domain`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3

from emulator.store import dumps, loads, register_schema
from emulator.userpools import pools, registry
from protocol import ServiceError

register_schema("userpools.domains", [
    """
    CREATE TABLE user_pool_domains (
        domain TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        custom INTEGER NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX user_pool_domains_pool ON user_pool_domains(pool_id);
    """,
])

RESERVED_WORDS = ("aws", "amazon", "cognito")


def pool_for_domain(db: sqlite3.Connection, domain: str) -> str | None:
    """The pool id a domain (prefix or custom host name) belongs to."""
    row = db.execute("SELECT pool_id FROM user_pool_domains WHERE domain = ?", (domain.lower(),)).fetchone()
    return row["pool_id"] if row else None


def _delete_pool(db: sqlite3.Connection, pool_id: str) -> None:
    db.execute("DELETE FROM user_pool_domains WHERE pool_id = ?", (pool_id,))


pools.on_pool_deleted.append(_delete_pool)


def _cloudfront(domain: str) -> str:
    digest = hashlib.sha256(domain.encode()).hexdigest()
    letters = "".join(c for c in digest if c.isalpha() or c.isdigit())[:13]
    return f"d{letters}.cloudfront.net"


def _check_prefix(domain: str) -> None:
    for word in RESERVED_WORDS:
        if word in domain:
            raise ServiceError("InvalidParameterException",
                               f"Domain name cannot contain reserved word: {word}")


@registry.handler
def create_user_pool_domain(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    domain = req["Domain"]
    custom_config = req.get("CustomDomainConfig")
    custom = custom_config is not None
    if not custom:
        _check_prefix(domain)
    if pool_for_domain(db, domain) is not None:
        raise ServiceError("InvalidParameterException", "Domain already associated with another user pool.")
    if (custom and pool.get("CustomDomain")) or (not custom and pool.get("Domain")):
        raise ServiceError("InvalidParameterException", "User pool already has a domain configured.")
    version = req.get("ManagedLoginVersion") or 1
    if version not in (1, 2):
        raise ServiceError("InvalidParameterException", "ManagedLoginVersion must be 1 or 2.")
    # Version is the creation time as AWS prints it; a prefix domain has an empty CustomDomainConfig.
    description = {"UserPoolId": pool["Id"], "AWSAccountId": ctx.account_id, "Domain": domain,
                   "CloudFrontDistribution": _cloudfront(domain),
                   "Version": dt.datetime.fromtimestamp(ctx.now(), dt.UTC).strftime("%Y%m%d%H%M%S"),
                   "Status": "ACTIVE", "CustomDomainConfig": {}, "ManagedLoginVersion": version}
    if custom:
        description["CustomDomainConfig"] = {"CertificateArn": custom_config["CertificateArn"]}
        if custom_config.get("SecurityPolicy"):
            description["CustomDomainConfig"]["SecurityPolicy"] = custom_config["SecurityPolicy"]
    db.execute("INSERT INTO user_pool_domains(domain, pool_id, custom, data) VALUES(?,?,?,?)",
               (domain, pool["Id"], int(custom), dumps(description)))
    pool["CustomDomain" if custom else "Domain"] = domain
    pools.save_pool(db, pool)
    out: dict = {"ManagedLoginVersion": version}
    if custom:
        out["CloudFrontDomain"] = description["CloudFrontDistribution"]
    return out


@registry.handler
def describe_user_pool_domain(ctx, req):
    row = ctx.db.execute("SELECT data FROM user_pool_domains WHERE domain = ?", (req["Domain"],)).fetchone()
    return {"DomainDescription": loads(row["data"]) if row else {}}


def _own_domain(db, pool: dict, domain: str) -> dict:
    row = db.execute("SELECT data FROM user_pool_domains WHERE domain = ? AND pool_id = ?",
                     (domain, pool["Id"])).fetchone()
    if row is None:
        raise ServiceError("InvalidParameterException", "No such domain or user pool exists.")
    return loads(row["data"])


@registry.handler
def update_user_pool_domain(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    description = _own_domain(ctx.db, pool, req["Domain"])
    if req.get("ManagedLoginVersion") is not None:
        if req["ManagedLoginVersion"] not in (1, 2):
            raise ServiceError("InvalidParameterException", "ManagedLoginVersion must be 1 or 2.")
        description["ManagedLoginVersion"] = req["ManagedLoginVersion"]
    config = req.get("CustomDomainConfig")
    if config is not None:
        if not description.get("CustomDomainConfig"):
            raise ServiceError("InvalidParameterException",
                               "CustomDomainConfig can only be updated for a custom domain.")
        description["CustomDomainConfig"] = {k: v for k, v in config.items() if v is not None}
    ctx.db.execute("UPDATE user_pool_domains SET data = ? WHERE domain = ?", (dumps(description), req["Domain"]))
    out: dict = {"ManagedLoginVersion": description["ManagedLoginVersion"]}
    if description.get("CustomDomainConfig"):
        out["CloudFrontDomain"] = description["CloudFrontDistribution"]
    return out


@registry.handler
def delete_user_pool_domain(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    description = _own_domain(ctx.db, pool, req["Domain"])
    ctx.db.execute("DELETE FROM user_pool_domains WHERE domain = ?", (req["Domain"],))
    key = "CustomDomain" if description.get("CustomDomainConfig") else "Domain"
    if pool.get(key) == req["Domain"]:
        pool.pop(key)
        pools.save_pool(ctx.db, pool)
    return {}
