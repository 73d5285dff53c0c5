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
import sqlite3
import string
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors
from emulator.userpools.model import clients, pools
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
], owned={"user_pool": ("cimd_documents", "cimd_policies")})

DEFAULT_CACHE = 86400
MAX_CACHE = 31556952
PAGE = 60
MAX_DOCUMENT = 5 * 1024
FETCH_TIMEOUT = 5.0
ALPHABET = string.ascii_lowercase + string.digits
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)\s*(?:,|$)", re.I)

TIER_UNAVAILABLE = "Client ID metadata document policies are available only in the ESSENTIALS and PLUS feature plans."


def _not_found(policy_id: str) -> ServiceError:
    return errors.ResourceNotFoundException(f"CIMD policy {policy_id} does not exist.")


# -- URL patterns ----------------------------------------------------------------------------------


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
def load(db: sqlite3.Connection, pool_id: str, policy_id: str) -> dict:
    row = db.execute("SELECT * FROM cimd_policies WHERE id = ? AND pool_id = ?", (policy_id, pool_id)).fetchone()
    if row is None:
        raise _not_found(policy_id)
    return {"id": row["id"], "pool_id": row["pool_id"], "client_id": row["client_id"], **loads(row["data"])}


# -- operations ------------------------------------------------------------------------------------


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


def fetch_and_cache(ctx, policy: dict, url: str) -> dict:
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
        policy = load(db, row["pool_id"], row["id"])
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
                document = fetch_and_cache(ctx, policy, url)
                # looked up again after the fetch (store released): the app client may be gone
                app_client = clients.load_client(ctx.db, policy["client_id"], pool["Id"])
            except (MetadataError, ServiceError):
                return None
        client = _client_for(app_client, url, document)
        client["CIMDPolicyId"] = policy["id"]
        return pool, client
    return None


