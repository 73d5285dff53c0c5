"""domains_ops: split from domains.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import datetime as dt

from emulator import digests
from emulator.store import dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.model import pools
from emulator.userpools.model.domains import RESERVED_WORDS, pool_for_domain


def _cloudfront(domain: str) -> str:
    digest = digests.digest(domain)
    letters = "".join(c for c in digest if c.isalpha() or c.isdigit())[:13]
    return f"d{letters}.cloudfront.net"


def _check_prefix(domain: str) -> None:
    for word in RESERVED_WORDS:
        if word in domain:
            raise errors.InvalidParameterException(f"Domain name cannot contain reserved word: {word}")


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
        raise errors.InvalidParameterException("Domain already associated with another user pool.")
    if (custom and pool.get("CustomDomain")) or (not custom and pool.get("Domain")):
        raise errors.InvalidParameterException("User pool already has a domain configured.")
    version = req.get("ManagedLoginVersion") or 1
    if version not in (1, 2):
        raise errors.InvalidParameterException("ManagedLoginVersion must be 1 or 2.")
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
        raise errors.InvalidParameterException("No such domain or user pool exists.")
    return loads(row["data"])


@registry.handler
def update_user_pool_domain(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    description = _own_domain(ctx.db, pool, req["Domain"])
    if req.get("ManagedLoginVersion") is not None:
        if req["ManagedLoginVersion"] not in (1, 2):
            raise errors.InvalidParameterException("ManagedLoginVersion must be 1 or 2.")
        description["ManagedLoginVersion"] = req["ManagedLoginVersion"]
    config = req.get("CustomDomainConfig")
    if config is not None:
        if not description.get("CustomDomainConfig"):
            raise errors.InvalidParameterException("CustomDomainConfig can only be updated for a custom domain.")
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
