"""Client ID Metadata Document (CIMD) policies, and CIMD clients at the OAuth endpoints.

A CIMD policy maps up to five HTTPS URL patterns to one app client of the pool. An OAuth client
whose `client_id` is an HTTPS URL matching a policy is a public client whose registration is the
JSON document at that URL: Cognito fetches it during /oauth2/authorize, caches it (CacheDuration,
or the document's Cache-Control max-age when that lies between a day and a year) and uses it with
the app client's settings: a grant or scope is allowed only when both allow it.
"""

from __future__ import annotations

import json
import re
import secrets
import sqlite3
import string
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import clients, pools, registry
from protocol import ServiceError

register_schema("userpools.cimd", [
    """
    CREATE TABLE cimd_policies (
        id TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        created REAL NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX cimd_policies_pool ON cimd_policies(pool_id, created, id);
    CREATE TABLE cimd_documents (
        policy_id TEXT NOT NULL,
        url TEXT NOT NULL,
        pool_id TEXT NOT NULL,
        cached REAL,
        expires REAL,
        document TEXT,
        PRIMARY KEY (policy_id, url)
    );
    CREATE INDEX cimd_documents_pool ON cimd_documents(pool_id);
    """,
])

DEFAULT_CACHE = 86400
MAX_CACHE = 31556952
PAGE = 60
MAX_DOCUMENT = 5 * 1024
FETCH_TIMEOUT = 5.0
_ALPHABET = string.ascii_lowercase + string.digits
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)\s*(?:,|$)", re.I)

TIER_UNAVAILABLE = "Client ID metadata document policies are available only in the ESSENTIALS and PLUS feature plans."


def _not_found(policy_id: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"CIMD policy {policy_id} does not exist.")


# -- URL patterns ----------------------------------------------------------------------------------
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
        raise ServiceError("InvalidParameterException",
                           f"URL pattern {pattern} is not valid. A pattern is an HTTPS URL; the * wildcard may "
                           "stand for the first label of a host name that has at least two more, or for any part "
                           "of the path.")


def _regex(pattern: str) -> re.Pattern:
    parts = urlsplit(pattern)
    netloc = re.escape(parts.netloc).replace(r"\*", "[^./:]+")
    path = re.escape(parts.path).replace(r"\*", ".*")
    return re.compile(f"https://{netloc}{path}")


def matches(pattern: str, url: str) -> bool:
    """Whether a client metadata URL matches a policy's URL pattern."""
    return _regex(pattern).fullmatch(url) is not None


def _valid_metadata_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced [ or ] in the host ("Invalid IPv6 URL")
        return False
    return (parts.scheme == "https" and bool(parts.hostname) and parts.path not in ("", "/")
            and not parts.fragment and "@" not in parts.netloc
            and not any(seg in (".", "..") for seg in parts.path.split("/")))


# -- storage ---------------------------------------------------------------------------------------
def _load(db: sqlite3.Connection, pool_id: str, policy_id: str) -> dict:
    row = db.execute("SELECT * FROM cimd_policies WHERE id = ? AND pool_id = ?", (policy_id, pool_id)).fetchone()
    if row is None:
        raise _not_found(policy_id)
    return {"id": row["id"], "pool_id": row["pool_id"], "client_id": row["client_id"], **loads(row["data"])}


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
        raise ServiceError("FeatureUnavailableInTierException", TIER_UNAVAILABLE)
    clients.load_client(db, req["ClientId"], pool["Id"])
    for pattern in req["URLPatterns"]:
        _check_pattern(pattern)
    if len(set(req["URLPatterns"])) != len(req["URLPatterns"]):
        raise ServiceError("InvalidParameterException", "URLPatterns must not contain duplicates.")


def _taken_patterns(db: sqlite3.Connection, pool_id: str, patterns: list[str], except_id: str | None) -> None:
    for row in db.execute("SELECT id, data FROM cimd_policies WHERE pool_id = ?", (pool_id,)):
        if row["id"] == except_id:
            continue
        clash = set(loads(row["data"])["patterns"]) & set(patterns)
        if clash:
            raise ServiceError("InvalidParameterException",
                               f"URL pattern {sorted(clash)[0]} is already in CIMD policy {row['id']}.")


# -- operations ------------------------------------------------------------------------------------
@registry.handler
def create_cimd_policy(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    _settings(db, pool, req)
    _taken_patterns(db, pool["Id"], req["URLPatterns"], None)
    policy_id = "".join(secrets.choice(_ALPHABET) for _ in range(26))
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
    return {"CIMDPolicy": _described(ctx.db, _load(ctx.db, pool["Id"], req["CIMDPolicyId"]))}


@registry.handler
def update_cimd_policy(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    policy = _load(db, pool["Id"], req["CIMDPolicyId"])
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
    policy = _load(ctx.db, pool["Id"], req["CIMDPolicyId"])
    ctx.db.execute("DELETE FROM cimd_documents WHERE policy_id = ?", (policy["id"],))
    ctx.db.execute("DELETE FROM cimd_policies WHERE id = ?", (policy["id"],))
    return {}


@registry.handler
def list_cimd_policies(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    rows, token = paging.page(ctx.db, "SELECT id, created FROM cimd_policies WHERE pool_id = ?", [pool["Id"]],
                              ["created", "id"], req.get("MaxResults") or PAGE, req.get("NextToken"))
    out = [_described(ctx.db, _load(ctx.db, pool["Id"], r["id"]), summary=True) for r in rows]
    return {"CIMDPolicies": out, "NextToken": token}


@registry.handler
def list_client_metadata_urls(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    policy = _load(ctx.db, pool["Id"], req["CIMDPolicyId"])
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
        raise ServiceError("FeatureUnavailableInTierException", TIER_UNAVAILABLE)
    policy = _load(db, pool["Id"], req["CIMDPolicyId"])
    url = req["URL"]
    row = db.execute("SELECT * FROM cimd_documents WHERE policy_id = ? AND url = ?", (policy["id"], url)).fetchone()
    if row is None or row["document"] is None or row["expires"] <= now:
        raise ServiceError("CachedCIMDURLDoesNotExistException",
                           f"There is no cached client metadata document for URL {url} in CIMD policy "
                           f"{policy['id']}.")
    if req["Action"] == "INVALIDATE":
        db.execute("UPDATE cimd_documents SET document = NULL, cached = NULL, expires = NULL "
                   "WHERE policy_id = ? AND url = ?", (policy["id"], url))
        return {}
    try:
        _fetch_and_cache(ctx, policy, url)
    except MetadataError as err:
        raise ServiceError("InvalidParameterException",
                           f"The client metadata document at {url} could not be retrieved: {err}") from None
    return {}


# -- documents -------------------------------------------------------------------------------------
class MetadataError(Exception):
    """The document at a client metadata URL is unreachable or not a valid CIMD registration."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        raise MetadataError(f"HTTP {code} redirect")


def _fetch(url: str) -> tuple[dict, int | None]:
    opener = urllib.request.build_opener(_NoRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with opener.open(request, timeout=FETCH_TIMEOUT) as response:
            body = response.read(MAX_DOCUMENT + 1)
            cache_control = response.headers.get("Cache-Control") or ""
    except urllib.error.HTTPError as err:
        raise MetadataError(f"HTTP {err.code}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise MetadataError(str(getattr(err, "reason", err))) from None
    if len(body) > MAX_DOCUMENT:
        raise MetadataError(f"the document is larger than {MAX_DOCUMENT} bytes")
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise MetadataError("the document is not JSON") from None
    match = _MAX_AGE.search(cache_control)
    return document, int(match.group(1)) if match else None


def _check_document(url: str, document) -> None:
    if not isinstance(document, dict):
        raise MetadataError("the document is not a JSON object")
    if document.get("client_id") != url:
        raise MetadataError("client_id in the document is not the document's URL")
    if document.get("token_endpoint_auth_method") != "none":
        raise MetadataError("token_endpoint_auth_method must be none")
    if "client_secret" in document or "client_secret_expires_at" in document:
        raise MetadataError("a client metadata document must not contain a client secret")
    uris = document.get("redirect_uris")
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) and u for u in uris):
        raise MetadataError("redirect_uris must be a non-empty list of URLs")
    grants = document.get("grant_types", ["authorization_code"])
    if not isinstance(grants, list) or "client_credentials" in grants:
        raise MetadataError("the client_credentials grant is not supported for CIMD clients")


def _fetch_and_cache(ctx, policy: dict, url: str) -> dict:
    with ctx.emulator.store.suspended():
        document, max_age = _fetch(url)
    # The store was released during the fetch: the policy (and with it the pool) may have been
    # deleted meanwhile; then nothing is cached and no policy admits the client.
    if ctx.db.execute("SELECT 1 FROM cimd_policies WHERE id = ?", (policy["id"],)).fetchone() is None:
        raise MetadataError("the client metadata policy no longer exists")
    _check_document(url, document)
    now = ctx.now()
    lifetime = max_age if max_age is not None and DEFAULT_CACHE <= max_age <= MAX_CACHE else policy["cache"]
    ctx.db.execute("INSERT INTO cimd_documents(policy_id, url, pool_id, cached, expires, document) "
                   "VALUES(?,?,?,?,?,?) ON CONFLICT(policy_id, url) DO UPDATE SET cached = excluded.cached, "
                   "expires = excluded.expires, document = excluded.document",
                   (policy["id"], url, policy["pool_id"], now, now + lifetime, dumps(document)))
    return document


def _policies_for(db: sqlite3.Connection, url: str) -> list[dict]:
    out = []
    for row in db.execute("SELECT id, pool_id FROM cimd_policies ORDER BY created, id").fetchall():
        policy = _load(db, row["pool_id"], row["id"])
        if any(matches(p, url) for p in policy["patterns"]):
            out.append(policy)
    return out


def _client_for(app_client: dict, url: str, document: dict) -> dict:
    """The registration a CIMD client gets: the app client's settings narrowed by its document."""
    client = {k: v for k, v in app_client.items() if k != "ClientSecret"}
    grants = document.get("grant_types", ["authorization_code"])
    responses = document.get("response_types", ["code"])
    allowed = set()
    if "authorization_code" in grants and "code" in responses:
        allowed.add("code")
    if "implicit" in grants and "token" in responses:
        allowed.add("implicit")
    client["AllowedOAuthFlows"] = [f for f in app_client.get("AllowedOAuthFlows") or [] if f in allowed]
    scopes = app_client.get("AllowedOAuthScopes") or []
    if isinstance(document.get("scope"), str):
        wanted = document["scope"].split()
        scopes = [s for s in scopes if s in wanted]
    client["AllowedOAuthScopes"] = scopes
    client["CallbackURLs"] = list(document["redirect_uris"])
    logout = document.get("post_logout_redirect_uris")
    client["LogoutURLs"] = list(logout) if isinstance(logout, list) else []
    client["ClientId"] = url
    client["ClientName"] = document.get("client_name") if isinstance(document.get("client_name"), str) else url
    client["CIMDPolicyId"] = None
    return client


def find_client(ctx, url: str, allows=None) -> tuple[dict, dict] | None:
    """(pool, client) for an HTTPS client_id that a CIMD policy admits, with its metadata document
    fetched or taken from the cache; None when no policy admits it or the document is unusable.
    `allows(pool)` narrows the pools considered (the request's domain)."""
    if not _valid_metadata_url(url):
        return None
    now = ctx.now()
    for policy in _policies_for(ctx.db, url):
        try:
            pool = pools.load_pool(ctx.db, policy["pool_id"])
            app_client = clients.load_client(ctx.db, policy["client_id"], pool["Id"])
        except ServiceError:
            continue
        if allows is not None and not allows(pool):
            continue
        row = ctx.db.execute("SELECT document, expires FROM cimd_documents WHERE policy_id = ? AND url = ?",
                             (policy["id"], url)).fetchone()
        if row is not None and row["document"] is not None and row["expires"] > now:
            document = loads(row["document"])
        else:
            try:
                document = _fetch_and_cache(ctx, policy, url)
                # looked up again after the fetch (store released): the app client may be gone
                app_client = clients.load_client(ctx.db, policy["client_id"], pool["Id"])
            except (MetadataError, ServiceError):
                return None
        client = _client_for(app_client, url, document)
        client["CIMDPolicyId"] = policy["id"]
        return pool, client
    return None


def _delete_pool(db: sqlite3.Connection, pool_id: str) -> None:
    db.execute("DELETE FROM cimd_documents WHERE pool_id = ?", (pool_id,))
    db.execute("DELETE FROM cimd_policies WHERE pool_id = ?", (pool_id,))


pools.on_pool_deleted.append(_delete_pool)
