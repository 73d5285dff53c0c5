"""Sign-in through an external OIDC / OAuth 2.0 identity provider (CreateIdentityProvider).

/oauth2/authorize sends the browser to the provider's authorize_url; the provider returns to
/oauth2/idpresponse, where the code is exchanged at its token_url, the ID token is verified
against its jwks_uri (issuer, audience, nonce), attributes are mapped by AttributeMapping and
the user `{ProviderName}_{id}` (status EXTERNAL_PROVIDER) is created or updated, unless the
identity is linked to a native user (AdminLinkProviderForUser) (emulator.oauth.federated_users).
SAML providers are handled by emulator.oauth.saml.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

from flask import Blueprint, request
from werkzeug.wrappers import Response

from emulator.lazy import jwt
from emulator.oauth import common, federated_users, saml
from emulator.oauth.common import AuthRequest
from emulator.oauth.federated_users import FederationError
from emulator.social import pages as social_pages
from emulator.social import providers as social
from emulator.userpools.model import identity_providers
from emulator.userpools.signin import engine
from protocol import ServiceError

blueprint = Blueprint("oauth2_federation", __name__)

FLOW_TTL = 600.0
HTTP_TIMEOUT = 10.0
_WITH_ID_TOKEN = ("OIDC", "Google", "SignInWithApple")


def _callback(ctx) -> str:
    return f"{ctx.base_url}/oauth2/idpresponse"


def _details(ctx, provider: dict) -> dict:
    """The provider's ProviderDetails with the endpoints this sign-in uses: the social sandbox's
    when `--social` sends this provider there, and the provider's published keys otherwise."""
    details = dict(provider["ProviderDetails"])
    known = social.BY_TYPE.get(provider["ProviderType"])
    if known is not None and known.real_jwks_uri:
        details.setdefault("jwks_uri", known.real_jwks_uri)
    sandboxed = social.sandboxed_idp(ctx.config.social, provider["ProviderType"], details)
    if sandboxed is not None:
        details.update(social_pages.endpoints(sandboxed, ctx.base_url))
    return details


def start(ctx, areq: AuthRequest, provider_name: str) -> Response:
    """Redirect the browser to the identity provider's sign-in."""
    try:
        provider = identity_providers.load_provider(ctx.db, areq.pool["Id"], provider_name)
    except ServiceError:
        raise areq.error_redirect("invalid_request", common.IDP_NOT_FOUND) from None
    ptype = provider["ProviderType"]
    if ptype == "SAML":
        return saml.start(ctx, areq, provider)
    details = _details(ctx, provider)
    nonce = common.new_token()
    state = common.start_flow(ctx, areq.pool, areq.client, None, "idp",
                              {"provider": provider_name, "params": areq.params, "nonce": nonce}, ttl=FLOW_TTL)
    params = {"client_id": details.get("client_id"), "redirect_uri": _callback(ctx), "response_type": "code",
              "scope": " ".join(str(details.get("authorize_scopes") or "openid").replace(",", " ").split()),
              "state": state}
    if ptype in _WITH_ID_TOKEN:
        params["nonce"] = nonce
    if ptype == "SignInWithApple" and {"name", "email"} & set(params["scope"].split()):
        params["response_mode"] = "form_post"  # Apple's rule when the name or email is asked for
    return common.redirect(common.with_query(details["authorize_url"], params))


# -- talking to the provider ----------------------------------------------------------------------
def _http_json(url: str, data: dict | None = None, headers: dict | None = None, method: str | None = None) -> dict:
    body = urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    if body is not None:
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
    req.add_header("Accept", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as response:
            payload = json.loads(response.read().decode() or "{}")
    except urllib.error.HTTPError as err:
        raise FederationError(f"identity provider answered HTTP {err.code} at {url}") from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise FederationError(f"identity provider unreachable at {url}: {err}") from None
    if not isinstance(payload, dict):
        raise FederationError(f"identity provider answered an unexpected document at {url}")
    return payload


def _apple_client_secret(details: dict, now: float) -> str:
    """The client secret Sign in with Apple wants: a JWT signed (ES256) with the app's key.
    Test values that are no EC key sign with a throwaway key (only the sandbox accepts that)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = serialization.load_pem_private_key(str(details.get("private_key") or "").encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        key = ec.generate_private_key(ec.SECP256R1())
    claims = {"iss": details.get("team_id"), "iat": int(now), "exp": int(now) + 300,
              "aud": "https://appleid.apple.com", "sub": details.get("client_id")}
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": details.get("key_id") or "", "alg": "ES256"})


def _attributes_url(provider: dict, details: dict) -> str:
    """Facebook answers the fields named in the URL (only id and name without): the mapped ones
    are appended."""
    url = details["attributes_url"]
    if provider["ProviderType"] == "Facebook" and details.get("attributes_url_add_attributes") == "true" \
            and url.endswith("="):
        fields = ["id"]
        for claim in (provider.get("AttributeMapping") or {}).values():
            if claim not in fields and claim != "sub":
                fields.append(claim)
        url += ",".join(fields)
    return url


def _provider_claims(provider: dict, details: dict, code: str, callback: str, nonce: str, now: float,
                     apple_user: str | None = None) -> dict:
    """Exchange the code and return the identity's claims (verified ID token + attributes)."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback,
            "client_id": details.get("client_id")}
    if details.get("client_secret"):
        form["client_secret"] = details["client_secret"]
    if provider["ProviderType"] == "SignInWithApple":
        form["client_secret"] = _apple_client_secret(details, now)
    if (details.get("token_request_method") or "POST").upper() == "GET":
        answer = _http_json(common.with_query(details["token_url"], form), method="GET")
    else:
        answer = _http_json(details["token_url"], form)
    claims: dict = {}
    id_token = answer.get("id_token")
    if provider["ProviderType"] in _WITH_ID_TOKEN:
        if not id_token:
            raise FederationError("identity provider returned no id_token")
        claims = _verify_id_token(details, id_token, nonce)
        if apple_user:
            claims = {**_apple_user_claims(apple_user), **claims}
    access = answer.get("access_token")
    if access and details.get("attributes_url") and (provider["ProviderType"] != "OIDC" or not claims
                                                     or details.get("attributes_url_add_attributes") == "true"
                                                     or _userinfo_wanted(provider)):
        method = (details.get("attributes_request_method") or "GET").upper()
        try:
            extra = _http_json(_attributes_url(provider, details), {} if method == "POST" else None,
                               {"Authorization": f"Bearer {access}"}, method=method)
        except FederationError:
            if not claims:
                raise
            extra = {}
        if claims.get("sub") and extra.get("sub") and extra["sub"] != claims["sub"]:
            raise FederationError("userinfo subject does not match the ID token")
        claims = {**extra, **claims}
    if not claims:
        raise FederationError("identity provider returned no user information")
    return claims


def _apple_user_claims(posted: str) -> dict:
    """The `user` form field Apple posts with a first authorization: the name it gives only then."""
    try:
        user = json.loads(posted)
    except ValueError:
        return {}
    name = user.get("name") if isinstance(user, dict) else None
    if not isinstance(name, dict):
        return {}
    first, last = str(name.get("firstName") or ""), str(name.get("lastName") or "")
    out = {"firstName": first, "lastName": last, "name": " ".join(p for p in (first, last) if p)}
    return {k: v for k, v in out.items() if v}


def _userinfo_wanted(provider: dict) -> bool:
    """Mapped attributes the ID token may not carry are read from the userinfo endpoint."""
    return bool(set((provider.get("AttributeMapping") or {}).values()) - {"sub"})


def _verify_id_token(details: dict, token: str, nonce: str) -> dict:
    try:
        jwks = jwt.PyJWKClient(details["jwks_uri"], cache_keys=False, timeout=int(HTTP_TIMEOUT))
        key = jwks.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key.key, algorithms=["RS256", "RS384", "RS512", "ES256", "ES384"],
                            audience=details.get("client_id"), issuer=details.get("oidc_issuer"),
                            options={"require": ["exp", "iat", "sub"]}, leeway=300)
    except (jwt.PyJWTError, KeyError) as err:
        raise FederationError(f"invalid ID token from the identity provider: {err}") from None
    if claims.get("nonce") is not None and claims["nonce"] != nonce:
        raise FederationError("invalid ID token from the identity provider: nonce mismatch")
    return claims


# -- the route ------------------------------------------------------------------------------------
def _idp_error(err: Exception) -> str:
    return err.message if isinstance(err, ServiceError) else str(err)


@blueprint.route("/oauth2/idpresponse", methods=["GET", "POST"])
@common.unit_of_work(on_error=common.invalid_request_page)
def idp_response(ctx) -> Response:
    """The provider sends the browser back with a code: exchange it (with the store released),
    sign the identity's user in and redirect to the app; a failure from here on is an OAuth error
    redirect to the app."""
    values = request.values
    flow = common.take_flow(ctx, values.get("state"), "idp")
    if flow is None:
        return common.error_page("invalid_request", "Invalid or expired state.")
    params = flow["data"]["params"]
    areq = common.validate_authorize(ctx, params)
    if values.get("error"):
        raise areq.error_redirect(values.get("error") or "access_denied", values.get("error_description"))
    if not values.get("code"):
        raise areq.error_redirect("invalid_request", "The identity provider returned no code.")
    provider = identity_providers.load_provider(ctx.db, areq.pool["Id"], flow["data"]["provider"])
    try:
        details = _details(ctx, provider)
        with ctx.emulator.store.suspended():
            claims = _provider_claims(provider, details, values["code"], _callback(ctx), flow["data"]["nonce"],
                                      ctx.now(), values.get("user"))
        # The store was released: the app client and pool are looked up again.
        areq = common.validate_authorize(ctx, params)
        user = federated_users.federated_user(ctx, areq, provider, claims)
        if user.get("enabled") is False:
            raise areq.error_redirect("invalid_request", "User is disabled.")
        engine.post_authentication(ctx, areq.pool, areq.client, user)
        return common.finish(ctx, areq, user, ctx.now())
    except (FederationError, ServiceError) as err:
        raise common.validate_authorize(ctx, params).error_redirect("invalid_request", _idp_error(err)) from None
