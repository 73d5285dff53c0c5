"""The machine side: /oauth2/token (its grant types in GRANTS, keyed by grant_type:
authorization_code, refresh_token, client_credentials), /oauth2/userInfo and /oauth2/revoke.
Errors are OAuth JSON bodies (`{"error": ...}`)."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import ClassVar
from urllib.parse import unquote

from flask import Blueprint, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from emulator import digests
from emulator.oauth import common
from emulator.userpools import errors
from emulator.userpools.accounts import tokens
from emulator.userpools.model import attributes, clients, keys, pools, users
from emulator.userpools.outbound import triggers
from protocol import ServiceError

blueprint = Blueprint("oauth2_endpoints", __name__)

CC_SOURCE = "TokenGeneration_ClientCredentials"
USERINFO_BAD_REQUEST = "Bad OAuth2 request at UserInfo Endpoint"
USERINFO_BAD_TOKEN = "Access token is expired, disabled, or deleted, or the user has globally signed out."
_PROFILE = ("name", "family_name", "given_name", "middle_name", "nickname", "preferred_username", "profile",
            "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at")
_PROTECTED_ACCESS = {"acr", "amr", "aud", "at_hash", "auth_time", "azp", "client_id", "exp", "iat", "iss", "jti",
                     "nbf", "origin_jti", "scope", "sub", "token_use", "version", "event_id", "username"}


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(json.dumps(body), status, content_type="application/json;charset=UTF-8")
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    response.headers["Pragma"] = "no-cache"
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


class OAuthError(common.Outcome):
    """Stop and answer an OAuth error body (`{"error": ..., "error_description": ...}`)."""

    def __init__(self, error: str, status: int = 400, description: str | None = None,
                 headers: dict | None = None) -> None:
        body = {"error": error}
        if description:
            body["error_description"] = description
        super().__init__(json_response(body, status, headers))
        self.error = error


# -- client authentication -------------------------------------------------------------------
def authenticate_client(ctx, form, status: int = 400) -> tuple[dict, dict]:
    """(pool, client) of the calling client: Basic credentials, or client_id/client_secret in
    the body. invalid_client otherwise: HTTP 400 at the token endpoint, Basic or not (Cognito
    documents 400 there, unlike RFC 6749's 401), `status` elsewhere."""
    header = request.headers.get("Authorization") or ""
    basic = header[:6].lower() == "basic "
    failure = OAuthError("invalid_client", status)
    if basic:
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise failure from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise failure
        client_id, secret = unquote(client_id), unquote(secret)
        if form.get("client_id") and form["client_id"] != client_id:
            raise failure
    else:
        client_id, secret = form.get("client_id"), form.get("client_secret")
    found = common.find_client(ctx, client_id)
    if found is None:
        raise failure
    pool, client = found
    secrets = common.client_secrets(ctx, client)
    if secrets and (not secret or secret not in secrets):
        raise failure
    if not secrets and secret:
        raise failure
    if not common.has_domain(pool):
        raise OAuthError("invalid_request", description=f"User pool {pool['Id']} has no domain.")
    return pool, client


def _form():
    content_type = (request.content_type or "").split(";", 1)[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise OAuthError("invalid_request")
    return request.form


def _required(form, name: str) -> str:
    value = form.get(name)
    if not value:
        raise OAuthError("invalid_request")
    return value


def _invalid_request(_ctx, err: ServiceError) -> Response:
    return OAuthError("invalid_request", description=err.message).response


# -- /oauth2/token ---------------------------------------------------------------------------
def _require_flow(client: dict, flow: str) -> None:
    if not client.get("AllowedOAuthFlowsUserPoolClient") or flow not in (client.get("AllowedOAuthFlows") or []):
        raise OAuthError("unauthorized_client")


def _token_response(result: dict) -> Response:
    body = {}
    if result.get("IdToken"):
        body["id_token"] = str(result["IdToken"])
    body["access_token"] = str(result["AccessToken"])
    if result.get("RefreshToken"):
        body["refresh_token"] = result["RefreshToken"]
    body["expires_in"] = result["ExpiresIn"]
    body["token_type"] = "Bearer"
    return json_response(body)


class Grant:
    """One grant_type of the token endpoint: `issue` answers the authenticated client's request."""

    grant_type: ClassVar[str]

    def issue(self, ctx, pool: dict, client: dict, form: MultiDict) -> Response:
        raise NotImplementedError


class AuthorizationCode(Grant):
    """A code from /oauth2/authorize (single use, five minutes, PKCE checked) for the user's tokens."""

    grant_type = "authorization_code"

    def issue(self, ctx, pool, client, form):
        _require_flow(client, "code")
        code, redirect_uri = form.get("code"), form.get("redirect_uri")
        if not code or not redirect_uri:
            raise OAuthError("invalid_request")
        row = ctx.db.execute("SELECT * FROM oauth_codes WHERE code_hash = ?", (digests.digest(code),)).fetchone()
        if row is None or row["client_id"] != client["ClientId"] or row["used"] is not None \
                or ctx.now() >= row["expires"]:
            raise OAuthError("invalid_grant")
        # A code is spent by any attempt to redeem it.
        ctx.db.execute("UPDATE oauth_codes SET used = ? WHERE code_hash = ?", (ctx.now(), row["code_hash"]))
        ctx.commit_now()
        if row["redirect_uri"] != redirect_uri:
            raise OAuthError("invalid_grant")
        if row["code_challenge"]:
            verifier = form.get("code_verifier")
            if not verifier or not common.pkce_matches(verifier, row["code_challenge"]):
                raise OAuthError("invalid_grant")
        user = users.by_username(ctx.db, pool, row["username"])
        if user is None or user.get("sub") != row["sub"] or user.get("enabled") is False:
            raise OAuthError("invalid_grant")
        scopes = row["scopes"].split()
        result = tokens.issue_tokens(ctx, pool, client, user, auth_time=row["auth_time"], scopes=scopes,
                                     source=common.HOSTED_SOURCE, nonce=row["nonce"], oauth=True,
                                     id_token="openid" in scopes)
        return _token_response(result)


class RefreshToken(Grant):
    """A refresh token for new tokens (rotated when the client rotates them); no ID token when
    the tokens were granted without `openid`."""

    grant_type = "refresh_token"

    def issue(self, ctx, pool, client, form):
        token = _required(form, "refresh_token")
        info = tokens.refresh_token_info(ctx, token)
        try:
            result, _user = tokens.refresh(ctx, pool, client, token, rotate=tokens.rotation(client)[0], oauth=True)
        except ServiceError as err:
            if err.code in ("UserLambdaValidationException", "InvalidLambdaResponseException",
                            "UnexpectedLambdaException"):
                raise OAuthError("invalid_request", description=err.message) from None
            raise OAuthError("invalid_grant") from None
        if info is not None and "openid" not in (info.get("scopes") or "").split() and \
                tokens.ADMIN_SCOPE != (info.get("scopes") or ""):
            result.pop("IdToken", None)
        return _token_response(result)


class ClientCredentials(Grant):
    """Machine to machine: an access token for the client itself, with custom scopes only."""

    grant_type = "client_credentials"

    def issue(self, ctx, pool, client, form):
        _require_flow(client, "client_credentials")
        allowed = [s for s in client.get("AllowedOAuthScopes") or [] if s not in common.RESERVED_SCOPES]
        requested = (form.get("scope") or "").split()
        if requested:
            if any(s not in allowed for s in requested):
                raise OAuthError("invalid_scope")
            scopes = list(dict.fromkeys(requested))
        else:
            scopes = allowed
        metadata = {}
        if form.get("aws_client_metadata"):
            try:
                metadata = json.loads(form["aws_client_metadata"])
            except ValueError:
                raise OAuthError("invalid_request") from None
            if not isinstance(metadata, dict):
                raise OAuthError("invalid_request")
        token, ttl = client_credentials_token(ctx, pool, client, scopes, metadata)
        return json_response({"access_token": token, "expires_in": ttl, "token_type": "Bearer"})


GRANTS: dict[str, Grant] = {grant.grant_type: grant for grant in (AuthorizationCode(), RefreshToken(),
                                                                   ClientCredentials())}


@blueprint.post("/oauth2/token")
@common.unit_of_work(on_error=_invalid_request)
def token_endpoint(ctx) -> Response:
    form = _form()
    grant_type = _required(form, "grant_type")
    pool, client = authenticate_client(ctx, form)
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise OAuthError("unsupported_grant_type")
    return grant.issue(ctx, pool, client, form)


def client_credentials_token(ctx, pool: dict, client: dict, scopes: list[str],
                             client_metadata: dict | None = None) -> tuple[str, int]:
    """A machine-to-machine access token (sub = client id, custom scopes only)."""
    iat = int(ctx.now())
    ttl = tokens.validity_seconds(client, "AccessToken")
    claims = {"sub": client["ClientId"], "token_use": "access", "scope": "", "auth_time": iat,
              "iss": keys.issuer(ctx.config, ctx.base_url, tokens.pool_region(pool), pool["Id"]),
              "exp": iat + ttl, "iat": iat, "version": 2, "jti": str(uuid.uuid4()),
              "client_id": client["ClientId"]}
    if triggers.has_trigger(pool, "PreTokenGeneration") and triggers.pre_token_generation_version(pool) == "3":
        scopes = _m2m_trigger(ctx, pool, client, claims, list(scopes), client_metadata or {})
    claims["scope"] = " ".join(scopes)
    return keys.sign(ctx.db, pool["Id"], "access", claims), ttl


def _m2m_trigger(ctx, pool: dict, client: dict, claims: dict, scopes: list[str], metadata: dict) -> list[str]:
    bad = errors.InvalidLambdaResponseException("Invalid lambda response from PreTokenGeneration trigger.")
    response = triggers.run_trigger(
        ctx, pool, "PreTokenGeneration", CC_SOURCE, username=None, client_id=client["ClientId"], version="3",
        request={"userAttributes": {}, "groupConfiguration": {"groupsToOverride": [], "iamRolesToOverride": [],
                                                              "preferredRole": None},
                 "scopes": list(scopes), "clientMetadata": dict(metadata)},
        response={"claimsAndScopeOverrideDetails": None}) or {}
    details = response.get("claimsAndScopeOverrideDetails")
    if details is None:
        return scopes
    access = details.get("accessTokenGeneration") if isinstance(details, dict) else None
    if access is None:
        return scopes
    if not isinstance(access, dict):
        raise bad
    add, suppress = access.get("claimsToAddOrOverride") or {}, access.get("claimsToSuppress") or []
    add_scopes, drop_scopes = access.get("scopesToAdd") or [], access.get("scopesToSuppress") or []
    if not isinstance(add, dict) or not all(isinstance(x, list) for x in (suppress, add_scopes, drop_scopes)):
        raise bad
    for name, value in add.items():
        if name not in _PROTECTED_ACCESS:
            claims[name] = value
    for name in suppress:
        if name not in _PROTECTED_ACCESS:
            claims.pop(name, None)
    scopes = [s for s in scopes if s not in drop_scopes]
    return scopes + [s for s in add_scopes if isinstance(s, str) and s not in scopes]


# -- /oauth2/userInfo ---------------------------------------------------------------------------
def _userinfo_error(status: int, error: str, description: str) -> Response:
    return json_response({"error": error, "error_description": description}, status,
                         {"WWW-Authenticate": f'error="{error}", error_description="{description}"'})


@blueprint.route("/oauth2/userInfo", methods=["GET", "POST"])
@common.unit_of_work(on_error=_invalid_request)
def userinfo(ctx) -> Response:
    header = request.headers.get("Authorization") or ""
    if header[:7].lower() != "bearer " or not header[7:].strip():
        return _userinfo_error(400, "invalid_request", USERINFO_BAD_REQUEST)
    token = header[7:].strip()
    pool_id = keys.token_pool_id(token)
    bad = _userinfo_error(401, "invalid_token", USERINFO_BAD_TOKEN)
    if not pool_id:
        return bad
    try:
        claims = tokens.verify_token(ctx, pool_id, token, "access", check_revocation=True)
    except tokens.TokenInvalid:
        return bad
    scopes = str(claims.get("scope") or "").split()
    if "openid" not in scopes or not claims.get("username"):
        return bad
    pool = pools.load_pool(ctx.db, pool_id)
    user = users.by_username(ctx.db, pool, claims["username"])
    if user is None or user.get("sub") != claims.get("sub") or user.get("enabled") is False:
        return bad
    try:
        client = clients.load_client(ctx.db, claims.get("client_id") or "")
    except ServiceError:
        client = None
    readable = attributes.readable(client, dict(user.get("attributes") or {}))
    readable = {k: v for k, v in readable.items() if v is not None}
    narrowing = [s for s in ("profile", "email", "phone") if s in scopes]
    if narrowing:
        wanted = set()
        if "profile" in scopes:
            wanted |= set(_PROFILE) | {k for k in readable if k.startswith("custom:")}
        if "email" in scopes:
            wanted |= {"email", "email_verified"}
        if "phone" in scopes:
            wanted |= {"phone_number", "phone_number_verified"}
        readable = {k: v for k, v in readable.items() if k in wanted}
    # Attribute values go out as stored strings ("email_verified": "true", "identities": "[{...}]").
    body = {"sub": user["sub"], **{k: v for k, v in readable.items() if k != "sub"}, "username": user["username"]}
    return json_response(body)


# -- /oauth2/revoke -----------------------------------------------------------------------------
@blueprint.post("/oauth2/revoke")
@common.unit_of_work(on_error=_invalid_request)
def revoke(ctx) -> Response:
    form = _form()
    token = _required(form, "token")
    _pool, client = authenticate_client(ctx, form, status=401)
    if keys.unverified_claims(token) is not None:
        raise OAuthError("unsupported_token_type")
    if not tokens.revocation_enabled(client):
        raise OAuthError("invalid_request")
    info = tokens.refresh_token_info(ctx, token)
    if info is None:
        return Response("", 200)
    if info["client_id"] != client["ClientId"]:
        raise OAuthError("invalid_request")
    tokens.revoke_origin(ctx, info["origin_jti"])
    return Response("", 200)
