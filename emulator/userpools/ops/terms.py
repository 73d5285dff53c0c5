"""Terms documents (terms of use, privacy policy) per app client, shown by managed login."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors, registry
from emulator.userpools.model import clients, pools

register_schema("userpools.terms", [
    """
    CREATE TABLE user_pool_terms (
        terms_id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX user_pool_terms_pool ON user_pool_terms(pool_id, created, terms_id);
    """,
], owned={"user_pool": ("user_pool_terms",), "app_client": ("user_pool_terms",)})


def _check_links(links: dict | None) -> None:
    # Links is optional in the model, but TermsSource LINK (its only value) needs the default link.
    if not links or "cognito:default" not in links:
        raise errors.InvalidParameterException("Links must include a cognito:default link.")
    for url in links.values():
        try:
            parts = urlsplit(url)
        except ValueError:  # an unbalanced [ or ] in the host ("Invalid IPv6 URL")
            parts = None
        if parts is None or parts.scheme != "https" or not parts.netloc:
            raise errors.InvalidParameterException(f"Link {url} must be an https URL.")


def _load(db, pool_id: str, terms_id: str) -> dict:
    row = db.execute("SELECT data FROM user_pool_terms WHERE pool_id = ? AND terms_id = ?",
                     (pool_id, terms_id)).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException(f"Terms {terms_id} does not exist.")
    return loads(row["data"])


def _exists(db, pool_id: str, client_id: str, name: str, other_than: str | None = None) -> None:
    row = db.execute("SELECT terms_id FROM user_pool_terms WHERE pool_id = ? AND client_id = ? AND name = ?",
                     (pool_id, client_id, name)).fetchone()
    if row is not None and row["terms_id"] != other_than:
        raise errors.TermsExistsException(f"Terms {name} already exist for this app client.")


@registry.handler
def create_terms(ctx, req):
    db = ctx.db
    pool, client = clients.pool_and_client(db, req)
    _exists(db, pool["Id"], client["ClientId"], req["TermsName"])
    _check_links(req.get("Links"))
    now = ctx.now()
    terms = {"TermsId": str(uuid.uuid4()), "UserPoolId": pool["Id"], "ClientId": client["ClientId"],
             "TermsName": req["TermsName"], "TermsSource": req["TermsSource"],
             "Enforcement": req["Enforcement"], "Links": dict(req["Links"]),
             "CreationDate": now, "LastModifiedDate": now}
    db.execute("INSERT INTO user_pool_terms(terms_id, pool_id, client_id, name, created, data) "
               "VALUES(?,?,?,?,?,?)", (terms["TermsId"], pool["Id"], client["ClientId"], terms["TermsName"],
                                       now, dumps(terms)))
    return {"Terms": terms}


@registry.handler
def describe_terms(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    return {"Terms": _load(ctx.db, req["UserPoolId"], req["TermsId"])}


@registry.handler
def update_terms(ctx, req):
    db = ctx.db
    pools.load_pool(db, req["UserPoolId"])
    terms = _load(db, req["UserPoolId"], req["TermsId"])
    if req.get("TermsName") is not None and req["TermsName"] != terms["TermsName"]:
        _exists(db, terms["UserPoolId"], terms["ClientId"], req["TermsName"], terms["TermsId"])
        terms["TermsName"] = req["TermsName"]
    for key in ("TermsSource", "Enforcement"):
        if req.get(key) is not None:
            terms[key] = req[key]
    if req.get("Links") is not None:
        _check_links(req["Links"])
        terms["Links"] = dict(req["Links"])
    terms["LastModifiedDate"] = ctx.now()
    db.execute("UPDATE user_pool_terms SET name = ?, data = ? WHERE terms_id = ?",
               (terms["TermsName"], dumps(terms), terms["TermsId"]))
    return {"Terms": terms}


@registry.handler
def delete_terms(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    terms = _load(ctx.db, req["UserPoolId"], req["TermsId"])
    ctx.db.execute("DELETE FROM user_pool_terms WHERE terms_id = ?", (terms["TermsId"],))
    return {}


@registry.handler
def list_terms(ctx, req):
    pools.load_pool(ctx.db, req["UserPoolId"])
    rows, token = paging.page(ctx.db, "SELECT terms_id, created, data FROM user_pool_terms WHERE pool_id = ?",
                              [req["UserPoolId"]], ["created", "terms_id"], req.get("MaxResults") or 60,
                              req.get("NextToken"))
    items = []
    for row in rows:
        t = loads(row["data"])
        items.append({k: t[k] for k in ("TermsId", "TermsName", "Enforcement", "CreationDate",
                                        "LastModifiedDate")})
    return {"Terms": items, "NextToken": token}


@registry.handler
def describe_terms_by_client(ctx, req):
    _pool, client = clients.pool_and_client(ctx.db, req)
    row = ctx.db.execute("SELECT data FROM user_pool_terms WHERE pool_id = ? AND client_id = ? AND name = ?",
                         (req["UserPoolId"], client["ClientId"], req["TermsName"])).fetchone()
    if row is None:
        raise errors.ResourceNotFoundException(f"Terms {req['TermsName']} do not exist for app client {client['ClientId']}.")
    return {"Terms": loads(row["data"])}
