"""Sign-in through an external OIDC / OAuth 2.0 identity provider (CreateIdentityProvider).

/oauth2/authorize sends the browser to the provider's authorize_url; the provider returns to
/oauth2/idpresponse, where the code is exchanged at its token_url, the ID token is verified
against its jwks_uri (issuer, audience, nonce), attributes are mapped by AttributeMapping and
the user `{ProviderName}_{id}` (status EXTERNAL_PROVIDER) is created or updated, unless the
identity is linked to a native user (AdminLinkProviderForUser). SAML providers are handled by
emulator.oauth.saml.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlencode

import jwt
from flask import request
from werkzeug.wrappers import Response

from emulator.oauth import common
from emulator.oauth.common import AuthRequest
from protocol import ServiceError

FLOW_TTL = 600.0
HTTP_TIMEOUT = 10.0
_WITH_ID_TOKEN = ("OIDC", "Google", "SignInWithApple")


class FederationError(Exception):
    pass


def _callback(ctx) -> str:
    return f"{ctx.base_url}/oauth2/idpresponse"


def start(ctx, areq: AuthRequest, provider_name: str) -> Response:
    """Redirect the browser to the identity provider's sign-in."""
    try:
        provider = common._m("identity_providers").load_provider(ctx.db, areq.pool["Id"], provider_name)
    except ServiceError:
        raise areq.error_redirect("invalid_request", "The identity provider could not be found.") from None
    ptype = provider["ProviderType"]
    if ptype == "SAML":
        from emulator.oauth import saml
        return saml.start(ctx, areq, provider)
    details = provider["ProviderDetails"]
    nonce = common.new_token()
    state = common.start_flow(ctx, areq.pool, areq.client, None, "idp",
                              {"provider": provider_name, "params": areq.params, "nonce": nonce}, ttl=FLOW_TTL)
    params = {"client_id": details.get("client_id"), "redirect_uri": _callback(ctx), "response_type": "code",
              "scope": " ".join(str(details.get("authorize_scopes") or "openid").replace(",", " ").split()),
              "state": state}
    if ptype in _WITH_ID_TOKEN:
        params["nonce"] = nonce
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


def _provider_claims(provider: dict, code: str, callback: str, nonce: str) -> dict:
    """Exchange the code and return the identity's claims (verified ID token + attributes)."""
    details = provider["ProviderDetails"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": callback,
            "client_id": details.get("client_id")}
    if details.get("client_secret"):
        form["client_secret"] = details["client_secret"]
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
    access = answer.get("access_token")
    if access and details.get("attributes_url") and (provider["ProviderType"] != "OIDC" or not claims
                                                     or details.get("attributes_url_add_attributes") == "true"
                                                     or _userinfo_wanted(provider)):
        method = (details.get("attributes_request_method") or "GET").upper()
        try:
            extra = _http_json(details["attributes_url"], {} if method == "POST" else None,
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


# -- the federated user ----------------------------------------------------------------------------
def _string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _mapped_attributes(provider: dict, claims: dict) -> dict[str, str]:
    out = {}
    for attribute, claim in (provider.get("AttributeMapping") or {}).items():
        if attribute == "username" or claim not in claims or claims[claim] is None:
            continue
        value = _string(claims[claim])
        out[attribute] = value.lower() if attribute.endswith("_verified") else value
    return out


def federated_user(ctx, areq: AuthRequest, provider: dict, claims: dict, *, external_id: str | None = None,
                   attrs: dict[str, str] | None = None, issuer: str | None = None) -> dict:
    """The user this external identity signs in as: a linked native user, or the
    `{ProviderName}_{id}` user created (PreSignUp_ExternalProvider) or refreshed here.
    `external_id` and `attrs` default to what the provider's AttributeMapping finds in `claims`."""
    users = common._m("users")
    pool, client = areq.pool, areq.client
    name = provider["ProviderName"]
    if external_id is None:
        id_claim = (provider.get("AttributeMapping") or {}).get("username") or "sub"
        external_id = claims.get(id_claim)
        if external_id in (None, ""):
            raise FederationError(f"identity provider returned no {id_claim}")
        external_id = _string(external_id)
    attrs = dict(attrs) if attrs is not None else _mapped_attributes(provider, claims)
    if issuer is None:
        issuer = (provider.get("ProviderDetails") or {}).get("oidc_issuer")
    username = f"{name}_{external_id}"
    user = _existing_user(ctx, pool, name, external_id, username, attrs)
    if user is not None:
        return user
    now = ctx.now()
    response = common._m("triggers").run_trigger(
        ctx, pool, "PreSignUp", "PreSignUp_ExternalProvider", username=username, client_id=client["ClientId"],
        request={"userAttributes": dict(attrs), "validationData": None, "clientMetadata": {}},
        response={"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}) or {}
    # PreSignUp ran with the store released: a concurrent sign-in of the same identity may have
    # created its user (or an admin linked the identity) meanwhile. Sign in as that user.
    user = _existing_user(ctx, pool, name, external_id, username, attrs)
    if user is not None:
        return user
    if response.get("autoVerifyEmail") and attrs.get("email"):
        attrs["email_verified"] = "true"
    if response.get("autoVerifyPhone") and attrs.get("phone_number"):
        attrs["phone_number_verified"] = "true"
    identity = {"userId": external_id, "providerName": name, "providerType": provider["ProviderType"],
                "issuer": issuer, "primary": "true",
                "dateCreated": str(int(now * 1000))}
    attrs["identities"] = json.dumps([identity], separators=(",", ":"))
    user = users.new_user(pool, username, attrs, status="EXTERNAL_PROVIDER", now=now)
    users.save_user(ctx.db, pool, user)
    users.run_post_confirmation(ctx, pool, user, "PostConfirmation_ConfirmSignUp", client["ClientId"], None)
    return user


def _existing_user(ctx, pool: dict, provider_name: str, external_id: str, username: str,
                   attrs: dict[str, str]) -> dict | None:
    """The native user the identity is linked to, else its federated user refreshed with `attrs`,
    else None."""
    users = common._m("users")
    linked = users.linked_username(ctx.db, pool["Id"], provider_name, external_id)
    if linked:
        user = users.by_username(ctx.db, pool, linked)
        if user is not None:
            return user
    user = users.by_username(ctx.db, pool, username)
    if user is None:
        return None
    user["attributes"].update(attrs)
    users.touch(user, ctx.now())
    return users.save_user(ctx.db, pool, user)


def install(emulator) -> None:
    app = emulator.flask

    @app.route("/oauth2/idpresponse", methods=["GET", "POST"])
    def idp_response():
        values = request.values
        holder: dict = {}

        def begin(ctx):
            flow = common.take_flow(ctx, values.get("state"), "idp")
            if flow is None:
                return common.error_page("invalid_request", "Invalid or expired state.")
            areq = common.validate_authorize(ctx, flow["data"]["params"])
            if values.get("error"):
                raise areq.error_redirect(values.get("error") or "access_denied", values.get("error_description"))
            if not values.get("code"):
                raise areq.error_redirect("invalid_request", "The identity provider returned no code.")
            provider = common._m("identity_providers").load_provider(ctx.db, areq.pool["Id"],
                                                                    flow["data"]["provider"])
            holder.update(params=areq.params, provider=provider, nonce=flow["data"]["nonce"],
                          callback=_callback(ctx))
            return None

        early = common.run_or_error_page(emulator, begin)
        if early is not None:
            return early
        try:
            claims = _provider_claims(holder["provider"], values["code"], holder["callback"], holder["nonce"])
        except FederationError as err:
            return common.fail_redirect(emulator, holder["params"], "invalid_request", str(err))

        def finish(ctx):
            areq = common.validate_authorize(ctx, holder["params"])
            user = federated_user(ctx, areq, holder["provider"], claims)
            if user.get("enabled") is False:
                raise areq.error_redirect("invalid_request", "User is disabled.")
            auth = common._m("auth")
            auth._post_authentication(ctx, areq.pool, areq.client, user, False, None)
            return common.finish(ctx, areq, user, ctx.now())

        try:
            return common.run(emulator, finish)
        except FederationError as err:
            return common.fail_redirect(emulator, holder["params"], "invalid_request", str(err))
        except ServiceError as err:
            return common.fail_redirect(emulator, holder["params"], "invalid_request", err.message)
