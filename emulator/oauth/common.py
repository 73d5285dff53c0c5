"""What every managed-login page and OAuth endpoint shares: the store tables, the unit of work
every route runs in, finding the pool from client_id, validating authorize parameters, rendering
pages, and finishing a sign-in (authorization code or implicit tokens, session cookie).
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import html
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from flask import current_app, request
from werkzeug.wrappers import Response

from emulator.digests import digest
from emulator.store import dumps, loads, register_schema
from emulator.userpools.accounts import cimd, tokens
from emulator.userpools.model import clients, domains, pools, secret_hash, users
from protocol import ServiceError

register_schema("oauth", [
    """
    CREATE TABLE oauth_codes (
        code_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        username TEXT NOT NULL,
        sub TEXT,
        redirect_uri TEXT NOT NULL,
        scopes TEXT NOT NULL,
        code_challenge TEXT,
        code_challenge_method TEXT,
        nonce TEXT,
        auth_time REAL NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        used REAL
    );
    CREATE INDEX oauth_codes_pool ON oauth_codes(pool_id);
    CREATE TABLE oauth_sessions (
        token_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        sub TEXT,
        auth_time REAL NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX oauth_sessions_user ON oauth_sessions(pool_id, username);
    CREATE TABLE oauth_flows (
        token_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        client_id TEXT NOT NULL,
        username TEXT,
        step TEXT NOT NULL,
        data TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL
    );
    CREATE INDEX oauth_flows_pool ON oauth_flows(pool_id);
    """,
], owned={"user_pool": ("oauth_codes", "oauth_sessions", "oauth_flows", "saml_assertions", "saml_sessions")})

CODE_TTL = 300.0
SESSION_TTL = 3600.0
SESSION_COOKIE = "cognito"
XSRF_COOKIE = "XSRF-TOKEN"
HOSTED_SOURCE = "TokenGeneration_HostedAuth"
AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "state", "scope", "nonce", "code_challenge",
                    "code_challenge_method", "identity_provider", "idp_identifier", "lang", "prompt", "login_hint")
RESERVED_SCOPES = ("openid", "email", "phone", "profile", "aws.cognito.signin.user.admin")
IDP_NOT_FOUND = "The identity provider could not be found."

_templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(Path(__file__).parent / "templates")),
    autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)


# -- small helpers ------------------------------------------------------------------------------
def new_token() -> str:
    return secrets.token_urlsafe(32)


def with_query(url: str, params: dict[str, Any], fragment: bool = False) -> str:
    """`url` with `params` appended to its query (or put in the fragment)."""
    encoded = urlencode({k: v for k, v in params.items() if v is not None})
    if fragment:
        return f"{url}#{encoded}"
    return f"{url}{'&' if urlsplit(url).query else '?'}{encoded}"


def redirect(url: str, cookies: list[tuple] | None = None) -> Response:
    response = Response(f'<a href="{html.escape(url)}">{html.escape(url)}</a>', 302,
                        content_type="text/html; charset=utf-8")
    response.headers["Location"] = url
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    for cookie in cookies or []:
        _apply_cookie(response, cookie)
    return response


def _apply_cookie(response: Response, cookie: tuple) -> None:
    name, value, max_age = cookie
    if value is None:
        response.delete_cookie(name, path="/")
    else:
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="Lax",
                            secure=request.scheme == "https")


def render(template: str, status: int = 200, cookies: list[tuple] | None = None, **values: Any) -> Response:
    body = _templates.get_template(template).render(**values)
    response = Response(body, status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    response.headers["X-Frame-Options"] = "DENY"
    for cookie in cookies or []:
        _apply_cookie(response, cookie)
    return response


def error_page(error: str, description: str | None = None, status: int = 400) -> Response:
    """Cognito's own error page: shown instead of redirecting to an untrusted redirect_uri."""
    return render("error.html", status=status, error=error, description=description)


class Outcome(Exception):
    """Stop and answer `response` (an error page or a redirect carrying an OAuth error)."""

    def __init__(self, response: Response) -> None:
        super().__init__("outcome")
        self.response = response


# -- the unit of work ----------------------------------------------------------------------------
EMULATOR = "cognito_emulator"  # the key of the emulator in the Flask app's extensions


def _in_transaction(work: Callable[[Any], Response]) -> Response:
    """`work(ctx)` in one of the emulator's units of work (rolled back when it raises); an Outcome
    raised by it is answered as is."""
    emulator = current_app.extensions[EMULATOR]
    try:
        with emulator.unit_of_work(request._get_current_object(), operation=request.path, service="oauth") as ctx:
            return work(ctx)
    except Outcome as outcome:
        return outcome.response


def unit_of_work(on_error: Callable[[Any, ServiceError], Response] | None = None):
    """Decorator of every managed-login page and OAuth endpoint: the view runs as `view(ctx, ...)`
    in one unit of work (a store transaction, the emulator clock, the request's context). An
    Outcome it raises is its answer (its work rolled back). A ServiceError it raises is answered
    by `on_error(ctx, error)` in a fresh unit of work (the failed one rolled back), or propagates
    when there is no `on_error`."""
    def decorate(view: Callable[..., Response]) -> Callable[..., Response]:
        @functools.wraps(view)
        def route(*args: Any, **kwargs: Any) -> Response:
            try:
                return _in_transaction(lambda ctx: view(ctx, *args, **kwargs))
            except ServiceError as err:
                if on_error is None:
                    raise
                failure = err
            return _in_transaction(lambda ctx: on_error(ctx, failure))
        return route
    return decorate


def invalid_request_page(_ctx, err: ServiceError) -> Response:
    """`on_error` answering a ServiceError (unknown pool, client, provider, ...) with an invalid_request page."""
    return error_page("invalid_request", err.message)


# -- pools, clients, domains ------------------------------------------------------------------
def find_client(ctx, client_id: str | None) -> tuple[dict, dict] | None:
    """(pool, client) for a client id, or None when there is no such client."""
    if not client_id:
        return None
    if client_id.startswith("https://"):
        # A Client ID Metadata Document URL, admitted by a CIMD policy of the pool.
        return cimd.find_client(ctx, client_id, lambda pool: host_allows(ctx, pool))
    try:
        client = clients.load_client(ctx.db, client_id)
        pool = pools.load_pool(ctx.db, client["UserPoolId"])
    except ServiceError:
        return None
    if not host_allows(ctx, pool):
        return None
    return pool, client


def host_allows(ctx, pool: dict) -> bool:
    """A request addressed to a pool domain (Host `{prefix}.auth.{region}.amazoncognito.com`,
    `{prefix}.auth.{region}.localhost` or a custom domain) only serves that pool's clients."""
    host = (request.host or "").split(":", 1)[0].lower()
    owner = domains.pool_for_domain(ctx.db, host)
    if owner is None and ".auth." in host:
        owner = domains.pool_for_domain(ctx.db, host.split(".auth.", 1)[0])
    return owner is None or owner == pool["Id"]


def has_domain(pool: dict) -> bool:
    return bool(pool.get("Domain") or pool.get("CustomDomain"))


def client_secrets(ctx, client: dict) -> list[str]:
    found = clients.client_secrets(ctx.db, client["ClientId"])
    if not found and client.get("ClientSecret"):
        found = [client["ClientSecret"]]
    return list(found)


def secret_hash_for(ctx, client: dict, username: str) -> str | None:
    """The SECRET_HASH the managed login computes for its own API calls (it knows the secret)."""
    found = client_secrets(ctx, client)
    if not found:
        return None
    return secret_hash.compute(found[0], username, client["ClientId"])


# -- the authorize request --------------------------------------------------------------------
@dataclasses.dataclass
class AuthRequest:
    pool: dict
    client: dict
    params: dict[str, str]
    scopes: list[str]

    @property
    def redirect_uri(self) -> str:
        return self.params["redirect_uri"]

    @property
    def response_type(self) -> str:
        return self.params["response_type"]

    @property
    def state(self) -> str | None:
        return self.params.get("state")

    def query(self, **extra: str) -> str:
        return urlencode({**{k: v for k, v in self.params.items() if v}, **extra})

    def providers(self) -> list[str]:
        return list(self.client.get("SupportedIdentityProviders") or [])

    def error_redirect(self, error: str, description: str | None = None) -> Outcome:
        return Outcome(redirect(with_query(self.redirect_uri, {"error_description": description,
                                                               "error": error, "state": self.state})))


def authorize_params(source) -> dict[str, str]:
    return {k: source.get(k) for k in AUTHORIZE_PARAMS if source.get(k) is not None}


def validate_authorize(ctx, params: dict[str, str]) -> AuthRequest:
    """The checked authorize request, or an Outcome: Cognito's error page while the client or
    redirect_uri cannot be trusted, a redirect with `?error=` afterwards."""
    found = find_client(ctx, params.get("client_id"))
    if found is None:
        raise Outcome(redirect(with_query("/error", {"error": "Client does not exist.",
                                                     "client_id": params.get("client_id")})))
    pool, client = found
    if not has_domain(pool):
        raise Outcome(error_page("invalid_request", f"User pool {pool['Id']} has no domain. Create one with "
                                 "CreateUserPoolDomain to use managed login and the OAuth endpoints."))
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri or redirect_uri not in (client.get("CallbackURLs") or []):
        raise Outcome(redirect(with_query("/error", {"error": "redirect_mismatch",
                                                     "client_id": client["ClientId"]})))
    areq = AuthRequest(pool, client, dict(params), [])
    response_type = params.get("response_type")
    if response_type not in ("code", "token"):
        raise areq.error_redirect("invalid_request" if not response_type else "unsupported_response_type")
    flows = client.get("AllowedOAuthFlows") or []
    if not client.get("AllowedOAuthFlowsUserPoolClient") or \
            ("code" if response_type == "code" else "implicit") not in flows:
        raise areq.error_redirect("unauthorized_client")
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if (challenge or method) and response_type == "code":
        if not challenge or method != "S256":
            raise areq.error_redirect("invalid_request")
    allowed = client.get("AllowedOAuthScopes") or []
    requested = (params.get("scope") or "").split()
    if requested:
        if any(s not in allowed for s in requested):
            raise areq.error_redirect("invalid_scope")
        areq.scopes = list(dict.fromkeys(requested))
    else:
        areq.scopes = list(allowed)
    return areq


# -- flows between pages (new password, MFA, federation) --------------------------------------
def start_flow(ctx, pool: dict, client: dict, username: str | None, step: str, data: dict,
               ttl: float | None = None) -> str:
    token = new_token()
    if ttl is None:
        ttl = 60.0 * float(client.get("AuthSessionValidity") or 3)
    ctx.db.execute("INSERT INTO oauth_flows(token_hash, pool_id, client_id, username, step, data, created, "
                   "expires) VALUES(?,?,?,?,?,?,?,?)",
                   (digest(token), pool["Id"], client["ClientId"], username, step, dumps(data), ctx.now(),
                    ctx.now() + ttl))
    return token


def take_flow(ctx, token: str | None, step: str, client_id: str | None = None) -> dict | None:
    """The flow a page continues (single use), or None when unknown, expired or of another step."""
    if not token:
        return None
    row = ctx.db.execute("SELECT * FROM oauth_flows WHERE token_hash = ?", (digest(token),)).fetchone()
    if row is None or row["step"] != step or (client_id and row["client_id"] != client_id):
        return None
    ctx.db.execute("DELETE FROM oauth_flows WHERE token_hash = ?", (row["token_hash"],))
    if ctx.now() >= row["expires"]:
        return None
    return {"pool_id": row["pool_id"], "client_id": row["client_id"], "username": row["username"],
            "data": loads(row["data"], {})}


# -- finishing a sign-in -------------------------------------------------------------------------
def session_user(ctx, pool: dict) -> tuple[dict, float] | None:
    """(user, auth_time) of the browser's managed-login session for `pool`, if still valid."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    row = ctx.db.execute("SELECT * FROM oauth_sessions WHERE token_hash = ?", (digest(token),)).fetchone()
    if row is None or row["pool_id"] != pool["Id"] or ctx.now() >= row["expires"]:
        return None
    user = users.by_username(ctx.db, pool, row["username"])
    if user is None or user.get("sub") != row["sub"] or user.get("enabled") is False:
        return None
    return user, row["auth_time"]


def new_session(ctx, pool: dict, user: dict, auth_time: float) -> tuple:
    token = new_token()
    now = ctx.now()
    ctx.db.execute("INSERT INTO oauth_sessions(token_hash, pool_id, username, sub, auth_time, created, expires) "
                   "VALUES(?,?,?,?,?,?,?)", (digest(token), pool["Id"], user["username"], user.get("sub"),
                                             auth_time, now, now + SESSION_TTL))
    return (SESSION_COOKIE, token, int(SESSION_TTL))


def end_session(ctx) -> tuple:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        ctx.db.execute("DELETE FROM oauth_sessions WHERE token_hash = ?", (digest(token),))
    return (SESSION_COOKIE, None, 0)


def finish(ctx, areq: AuthRequest, user: dict, auth_time: float, *, start_session: bool = True,
           on_session: Callable[[str], None] | None = None) -> Response:
    """Redirect to the app with a code (code grant) or tokens in the fragment (implicit).
    `on_session(token)` learns the new session's cookie value (SAML remembers it for logout)."""
    cookies = [new_session(ctx, areq.pool, user, auth_time)] if start_session else []
    if cookies and on_session is not None:
        on_session(cookies[0][1])
    params = areq.params
    if areq.response_type == "code":
        code = str(uuid.uuid4())
        now = ctx.now()
        ctx.db.execute(
            "INSERT INTO oauth_codes(code_hash, pool_id, client_id, username, sub, redirect_uri, scopes, "
            "code_challenge, code_challenge_method, nonce, auth_time, created, expires, used) "
            "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)",
            (digest(code), areq.pool["Id"], areq.client["ClientId"], user["username"], user.get("sub"),
             areq.redirect_uri, " ".join(areq.scopes), params.get("code_challenge"),
             params.get("code_challenge_method"), params.get("nonce"), auth_time, now, now + CODE_TTL))
        return redirect(with_query(areq.redirect_uri, {"code": code, "state": areq.state}), cookies)
    result = tokens.issue_tokens(ctx, areq.pool, areq.client, user, auth_time=auth_time, scopes=areq.scopes,
                                 source=HOSTED_SOURCE, refresh=False, nonce=params.get("nonce"), oauth=True,
                                 id_token="openid" in areq.scopes)
    fragment = {"access_token": str(result["AccessToken"]),
                "id_token": str(result["IdToken"]) if result.get("IdToken") else None,
                "token_type": "Bearer", "expires_in": result["ExpiresIn"], "state": areq.state}
    return redirect(with_query(areq.redirect_uri, fragment, fragment=True), cookies)


def pkce_matches(verifier: str, challenge: str) -> bool:
    computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    # Bytes: compare_digest refuses a str with non-ASCII characters, and the challenge is the caller's.
    return secrets.compare_digest(computed.encode(), challenge.encode())


def xsrf_token() -> tuple[str, tuple]:
    """The `_csrf` value for a form and the matching XSRF-TOKEN cookie."""
    token = request.cookies.get(XSRF_COOKIE) or new_token()
    return token, (XSRF_COOKIE, token, None)


def xsrf_ok(form) -> bool:
    cookie = request.cookies.get(XSRF_COOKIE)
    given = form.get("_csrf")
    return bool(cookie and given and secrets.compare_digest(cookie.encode(), given.encode()))
