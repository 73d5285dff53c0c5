"""The sandbox's pages and endpoints under /_emulator/social/{provider}/: the provider's sign-in
page (pick a test identity or make one), its token endpoint, user documents and keys, each in
that provider's shape; and /users to declare test identities ahead."""

from __future__ import annotations

import html
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from flask import Blueprint, current_app, jsonify, request
from werkzeug.wrappers import Response

from emulator.lazy import jwt
from emulator.social import sandbox
from emulator.social.providers import (
    AMAZON,
    APPLE,
    BY_SLUG,
    FACEBOOK,
    GOOGLE,
    SANDBOX_PREFIX,
    Provider,
    parse_setting,
)

blueprint = Blueprint("social_sandbox", __name__)
EMULATOR = "cognito_emulator_social"
_templates = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
                                autoescape=True)
TITLES = {GOOGLE.slug: "Sign in with Google", FACEBOOK.slug: "Log in with Facebook",
          AMAZON.slug: "Login with Amazon", APPLE.slug: "Sign in with Apple"}


def install(emulator) -> None:
    """Mount the sandbox; a --social value that names no mode or provider stops the start."""
    parse_setting(emulator.config.social)
    app = emulator.flask
    if EMULATOR not in app.extensions:
        app.extensions[EMULATOR] = emulator
        app.register_blueprint(blueprint)


class Refused(Exception):
    """Answer `response` with the unit of work rolled back."""

    def __init__(self, response: Response) -> None:
        super().__init__("refused")
        self.response = response


def _work(view: Callable[..., Response]) -> Callable[..., Response]:
    """The view as view(ctx, provider, ...) in one unit of work; unknown providers get 404."""
    def route(slug: str, **kwargs: Any) -> Response:
        provider = BY_SLUG.get(slug)
        if provider is None:
            return _json({"message": f"No such provider: {slug}"}, 404)
        emulator = current_app.extensions[EMULATOR]
        try:
            with emulator.unit_of_work(request._get_current_object(), operation=request.path,
                                       service="social") as ctx:
                return view(ctx, provider, **kwargs)
        except Refused as refused:
            return refused.response
    route.__name__ = view.__name__
    return route


def _json(document: Any, status: int = 200, headers: dict | None = None) -> Response:
    response = jsonify(document)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _page(template: str, status: int = 200, **values: Any) -> Response:
    response = Response(_templates.get_template(template).render(**values), status,
                        content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


# -- declared test identities --------------------------------------------------------------------------
@blueprint.route(f"{SANDBOX_PREFIX}/<slug>/users", methods=["GET", "POST"])
@_work
def users(ctx, provider: Provider) -> Response:
    """GET lists the provider's test identities; POST declares one (or a list) and answers them."""
    if request.method == "GET":
        return _json({"users": sandbox.identities(ctx.db, provider)})
    body = request.get_json(silent=True)
    items = body if isinstance(body, list) else [body]
    try:
        declared = [sandbox.declare_identity(ctx.db, provider, item, ctx.now()) for item in items]
    except sandbox.IdentityError as err:  # a list applies whole or not at all
        raise Refused(_json({"__type": "BadRequest", "message": str(err)}, 400)) from None
    return _json({"users": declared})


# -- the sign-in page -----------------------------------------------------------------------------------
def _authorize_error(provider: Provider, message: str) -> Response:
    return _page("error.html", 400, title=TITLES[provider.slug], message=message)


@blueprint.route(f"{SANDBOX_PREFIX}/<slug>/authorize", methods=["GET", "POST"])
@_work
def authorize(ctx, provider: Provider) -> Response:
    """The provider's consent page: the app's request is checked, then the user picks a test
    identity (or describes a new one) and is sent back to the app with a code."""
    params = request.values
    client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
    if not client_id:
        return _authorize_error(provider, "The request is missing client_id.")
    parts = urlsplit(redirect_uri or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return _authorize_error(provider, "The request's redirect_uri is missing or not an absolute URL.")
    if params.get("response_type") != "code":
        return _authorize_error(provider, "Only response_type=code is supported.")
    carried = {k: params.get(k) for k in ("client_id", "redirect_uri", "response_type", "scope", "state",
                                          "nonce", "response_mode") if params.get(k) is not None}
    if request.method == "GET":
        return _page("authorize.html", title=TITLES[provider.slug], provider=provider, carried=carried,
                     identities=sandbox.identities(ctx.db, provider), error=None)
    chosen = request.form.get("identity")
    found = sandbox.identity(ctx.db, provider, chosen) if chosen else None
    if found is None:
        fields = {k: request.form.get(k) for k in ("email", "name", "given_name", "family_name", "picture")
                  if request.form.get(k)}
        try:
            extra = json.loads(request.form.get("attributes") or "{}")
            if extra:
                fields["attributes"] = extra
            found = sandbox.declare_identity(ctx.db, provider, fields, ctx.now())
        except (ValueError, sandbox.IdentityError) as err:
            return _page("authorize.html", 400, title=TITLES[provider.slug], provider=provider, carried=carried,
                         identities=sandbox.identities(ctx.db, provider), error=str(err))
    scope = " ".join((params.get("scope") or "").replace(",", " ").split())
    code = sandbox.issue_code(ctx.db, provider, found["id"], client_id, redirect_uri, scope,
                              params.get("nonce"), ctx.now())
    answer = {"code": code, "state": params.get("state")}
    if provider is GOOGLE:
        answer.update({"scope": scope, "authuser": "0", "prompt": "consent"})
    if provider is AMAZON:
        answer["scope"] = scope
    if provider is APPLE and sandbox.remember_client(ctx.db, provider, found, client_id) \
            and ({"name", "email"} & set(scope.split())):
        # Apple tells the app the user's name once, with the first authorization.
        first, _, last = (found.get("name") or "").partition(" ")
        answer["user"] = json.dumps({"name": {"firstName": found.get("given_name") or first,
                                              "lastName": found.get("family_name") or last},
                                     "email": found["email"]}, separators=(",", ":"))
    if provider is APPLE and params.get("response_mode") == "form_post":
        return _page("form_post.html", action=redirect_uri, fields={k: v for k, v in answer.items() if v is not None})
    location = redirect_uri + ("&" if parts.query else "?") + urlencode({k: v for k, v in answer.items() if v is not None})
    if provider is FACEBOOK:
        location += "#_=_"  # as Facebook sends it
    response = Response(f'<a href="{html.escape(location)}">continue</a>', 302, content_type="text/html")
    response.headers["Location"] = location
    return response


# -- the token endpoint ---------------------------------------------------------------------------------
def _token_error(provider: Provider, error: str, description: str, status: int = 400) -> Response:
    if provider is FACEBOOK:
        return _json({"error": {"message": description, "type": "OAuthException", "code": 100,
                                "fbtrace_id": secrets.token_urlsafe(8)}}, status)
    if provider is AMAZON:
        return _json({"error_description": description, "error": error}, status)
    if provider is GOOGLE:
        return _json({"error": error, "error_description": description}, status)
    return _json({"error": error}, status)


def _client_credentials() -> tuple[str | None, str | None]:
    auth = request.authorization
    if auth is not None and auth.type == "basic":
        return auth.username, auth.password
    return request.values.get("client_id"), request.values.get("client_secret")


def _apple_client_secret_ok(secret: str | None, client_id: str) -> bool:
    """Apple's client secret is a JWT the app signs with its key (ES256): iss its team, sub the
    client id, aud Apple. The sandbox has no app registry, so it checks the claims, not the key."""
    try:
        claims = jwt.decode(secret or "", options={"verify_signature": False, "verify_exp": False})
        header = jwt.get_unverified_header(secret or "")
    except jwt.PyJWTError:
        return False
    return (header.get("alg") == "ES256" and bool(header.get("kid")) and claims.get("sub") == client_id
            and claims.get("aud") == "https://appleid.apple.com" and bool(claims.get("iss")))


@blueprint.route(f"{SANDBOX_PREFIX}/<slug>/token", methods=["GET", "POST"])
@_work
def token(ctx, provider: Provider) -> Response:
    """The code (or refresh token) for tokens, each provider's answer shape."""
    if (provider is FACEBOOK) != (request.method == "GET"):
        return _token_error(provider, "invalid_request", "Unsupported method.", 405)
    values = request.values
    client_id, client_secret = _client_credentials()
    if not client_id:
        return _token_error(provider, "invalid_client", "Missing client_id.", 401 if provider is GOOGLE else 400)
    if provider is APPLE and not _apple_client_secret_ok(client_secret, client_id):
        return _token_error(provider, "invalid_client", "invalid client secret")
    if provider in (GOOGLE, FACEBOOK, AMAZON) and not client_secret:
        return _token_error(provider, "invalid_client", "Missing client_secret.", 401 if provider is GOOGLE else 400)
    grant_type = values.get("grant_type") or ("authorization_code" if provider is FACEBOOK else None)
    now = ctx.now()
    if grant_type == "refresh_token" and provider is not FACEBOOK:
        grant = sandbox.token_grant(ctx.db, provider, values.get("refresh_token"), now, kind="refresh")
        if grant is None or grant["client_id"] != client_id:
            return _token_error(provider, "invalid_grant", "The refresh token is invalid.")
        access = sandbox.issue_token(ctx.db, provider, "access", grant["identity_id"], client_id, grant["scope"], now)
        answer = {"access_token": access, "token_type": "bearer" if provider is AMAZON else "Bearer",
                  "expires_in": sandbox.ACCESS_SECONDS[provider.slug]}
        if provider is APPLE:
            found = sandbox.identity(ctx.db, provider, grant["identity_id"])
            answer["id_token"] = sandbox.id_token(ctx.db, provider, found, client_id, None, now, access)
        return _json(answer)
    if grant_type != "authorization_code":
        return _token_error(provider, "unsupported_grant_type", "Invalid grant_type.")
    grant = sandbox.redeem_code(ctx.db, provider, values.get("code"), now)
    if grant is None or grant["client_id"] != client_id or grant["redirect_uri"] != values.get("redirect_uri"):
        descriptions = {FACEBOOK.slug: "This authorization code has been used.", GOOGLE.slug: "Bad Request",
                        AMAZON.slug: "The request has an invalid grant parameter : code"}
        return _token_error(provider, "invalid_grant", descriptions.get(provider.slug, "invalid_grant"))
    found = sandbox.identity(ctx.db, provider, grant["identity_id"])
    if found is None:
        return _token_error(provider, "invalid_grant", "The user no longer exists.")
    access = sandbox.issue_token(ctx.db, provider, "access", found["id"], client_id, grant["scope"], now)
    expires = sandbox.ACCESS_SECONDS[provider.slug]
    if provider is FACEBOOK:
        return _json({"access_token": access, "token_type": "bearer", "expires_in": expires})
    if provider is AMAZON:
        refresh = sandbox.issue_token(ctx.db, provider, "refresh", found["id"], client_id, grant["scope"], now)
        return _json({"access_token": access, "refresh_token": refresh, "token_type": "bearer", "expires_in": expires})
    answer = {"access_token": access, "expires_in": expires, "token_type": "Bearer"}
    if provider is GOOGLE:
        answer["scope"] = grant["scope"]
    else:
        answer["refresh_token"] = sandbox.issue_token(ctx.db, provider, "refresh", found["id"], client_id,
                                                      grant["scope"], now)
    answer["id_token"] = sandbox.id_token(ctx.db, provider, found, client_id, grant["nonce"], now, access)
    return _json(answer)


# -- user documents ---------------------------------------------------------------------------------------
def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return request.args.get("access_token")


def _unauthorized(provider: Provider) -> Response:
    if provider is FACEBOOK:
        return _json({"error": {"message": "Invalid OAuth access token data.", "type": "OAuthException", "code": 190,
                                "fbtrace_id": secrets.token_urlsafe(8)}}, 400)
    if provider is AMAZON:
        return _json({"error_description": "The request has an invalid parameter : access_token",
                      "error": "invalid_token"}, 400)
    return _json({"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                            "status": "UNAUTHENTICATED"}}, 401,
                 {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'})


@blueprint.route(f"{SANDBOX_PREFIX}/<slug>/userinfo", methods=["GET", "POST"])
@_work
def userinfo(ctx, provider: Provider) -> Response:
    """Google's People API people/me (and OIDC userinfo), Facebook's /me, Amazon's user profile."""
    grant = sandbox.token_grant(ctx.db, provider, _bearer(), ctx.now())
    found = sandbox.identity(ctx.db, provider, grant["identity_id"]) if grant else None
    if found is None or provider is APPLE:
        return _unauthorized(provider)
    if provider is GOOGLE:
        return _json(sandbox.google_userinfo(found) if request.args.get("oidc") else sandbox.google_person(found))
    if provider is FACEBOOK:
        fields = [f.strip() for f in (request.args.get("fields") or "").split(",") if f.strip()]
        return _json(sandbox.facebook_user(found, fields))
    return _json(sandbox.amazon_profile(found, grant["scope"]))


@blueprint.route(f"{SANDBOX_PREFIX}/<slug>/tokeninfo", methods=["GET"])
@_work
def tokeninfo(ctx, provider: Provider) -> Response:
    """Amazon's tokeninfo and Facebook's debug_token: who a token belongs to, and for which app."""
    now = ctx.now()
    if provider is FACEBOOK:
        grant = sandbox.token_grant(ctx.db, provider, request.args.get("input_token"), now)
        if grant is None:
            return _json({"data": {"is_valid": False, "error": {"code": 190, "message": "Invalid OAuth access token."}}})
        return _json({"data": {"app_id": grant["client_id"], "type": "USER", "application": "sandbox",
                               "expires_at": int(grant["expires"]), "is_valid": True,
                               "scopes": grant["scope"].split(), "user_id": grant["identity_id"]}})
    grant = sandbox.token_grant(ctx.db, provider, request.args.get("access_token"), now)
    if grant is None or provider is not AMAZON:
        return _unauthorized(provider)
    return _json({"iss": "https://www.amazon.com", "user_id": grant["identity_id"], "aud": grant["client_id"],
                  "app_id": grant["client_id"], "exp": int(grant["expires"] - now), "iat": int(grant["created"])})


# -- keys and discovery (Google and Apple) ----------------------------------------------------------------------
@blueprint.route(f"{SANDBOX_PREFIX}/<slug>/keys", methods=["GET"])
@_work
def keys(ctx, provider: Provider) -> Response:
    if not provider.issuer:
        return _json({"message": "Not found"}, 404)
    return _json(sandbox.jwks(ctx.db, provider))


@blueprint.route(f"{SANDBOX_PREFIX}/<slug>/.well-known/openid-configuration", methods=["GET"])
@_work
def discovery(ctx, provider: Provider) -> Response:
    if not provider.issuer:
        return _json({"message": "Not found"}, 404)
    base = provider.sandbox_base(ctx.base_url)
    return _json({"issuer": provider.issuer, "authorization_endpoint": base + "/authorize",
                  "token_endpoint": base + "/token", "jwks_uri": base + "/keys",
                  **({"userinfo_endpoint": base + "/userinfo?oidc=1"} if provider is GOOGLE else {}),
                  "response_types_supported": ["code"], "subject_types_supported": ["public" if provider is GOOGLE
                                                                                    else "pairwise"],
                  "id_token_signing_alg_values_supported": ["RS256"],
                  "scopes_supported": ["openid", "email", "profile"] if provider is GOOGLE else ["openid", "email", "name"]})


def endpoints(provider: Provider, base_url: str) -> dict[str, str]:
    """The sandbox's URLs for a provider, by the ProviderDetails names Cognito uses."""
    base = provider.sandbox_base(base_url)
    out = {"authorize_url": base + "/authorize", "token_url": base + "/token"}
    if provider is not APPLE:
        out["attributes_url"] = base + "/userinfo" + ("?fields=" if provider is FACEBOOK else "")
    if provider.issuer:
        out["jwks_uri"] = base + "/keys"
    return out

