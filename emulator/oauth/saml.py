"""SAML 2.0 federation: user pools as a service provider (SP) to SAML identity providers.

- SP-initiated sign-in: /oauth2/authorize with a SAML provider sends the browser to the IdP's
  SingleSignOnService (HTTP-Redirect binding: deflated, base64 AuthnRequest and an opaque
  RelayState; signed with the pool's signing key when the provider has RequestSigningAlgorithm).
- /saml2/idpresponse (ACS, HTTP-POST binding) verifies the SAMLResponse: XML signature on the
  Response or the Assertion with a certificate of the IdP metadata, Issuer = the metadata's
  entityID, Audience = `urn:amazon:cognito:sp:{poolId}`, Destination/Recipient = the ACS URL,
  NotBefore/NotOnOrAfter against the emulator clock, InResponseTo = the AuthnRequest, each
  assertion used once; encrypted assertions (EncryptedResponses) are decrypted with the
  provider's encryption key. The user `{ProviderName}_{NameID}` is then signed in like any
  federated user (AttributeMapping, PreSignUp_ExternalProvider, links).
- IdP-initiated sign-in (IDPInit): the RelayState carries the authorize parameters.
- Single logout (IDPSignout): /logout sends a signed LogoutRequest to the IdP, whose
  LogoutResponse comes back to /saml2/logout.

The SAML protocol itself (metadata, verifying responses, the messages the SP sends) is in
emulator.oauth.saml_protocol, which identity pools use for SAML logins too.
"""

from __future__ import annotations

import base64
import html
import uuid
import zlib
from urllib.parse import parse_qsl, urlencode

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from flask import Blueprint, request
from werkzeug.wrappers import Response

from emulator import digests
from emulator.oauth import common, federated_users
from emulator.oauth.common import IDP_NOT_FOUND, AuthRequest
from emulator.oauth.saml_protocol import (
    INVALID,
    MAX_RESPONSE_CHARS,
    NS,
    POST_BINDING,
    REDIRECT_BINDING,
    RSA_SHA256,
    Assertion,
    Metadata,
    SamlError,
    authn_request,
    decode_response,
    deflate,
    etree,
    fetch_text,
    has_signature,
    logout_request,
    parse_metadata,
    parse_xml,
    sp_entity_id,
    verify_response,
    verify_signature,
)
from emulator.store import register_schema
from emulator.userpools.model import (
    attributes,
    identity_providers,
    keys,
    pools,
    signing_certificate,
    users,
)
from emulator.userpools.signin import engine
from protocol import ServiceError

register_schema("oauth.saml", [
    """
    CREATE TABLE saml_assertions (
        pool_id TEXT NOT NULL,
        assertion_id TEXT NOT NULL,
        expires REAL NOT NULL,
        PRIMARY KEY (pool_id, assertion_id)
    );
    CREATE INDEX saml_assertions_expires ON saml_assertions(expires);
    CREATE TABLE saml_sessions (
        token_hash TEXT PRIMARY KEY,
        pool_id TEXT NOT NULL,
        provider TEXT NOT NULL,
        name_id TEXT NOT NULL,
        name_id_format TEXT,
        session_index TEXT,
        expires REAL NOT NULL
    );
    CREATE INDEX saml_sessions_pool ON saml_sessions(pool_id);
    CREATE INDEX saml_sessions_expires ON saml_sessions(expires);
    """,
])

blueprint = Blueprint("saml", __name__)

FLOW_TTL = 600.0
INVALID_RELAY = "Invalid samlResponse or relayState from identity provider"


def acs_url(ctx) -> str:
    return f"{ctx.base_url}/saml2/idpresponse"


def provider_metadata(ctx, details: dict) -> Metadata:
    """The metadata of a user pool SAML provider: its MetadataFile, or its MetadataURL fetched now
    (with the store released, since the URL may be served by a caller of this emulator)."""
    if details.get("MetadataFile"):
        return parse_metadata(details["MetadataFile"])
    url = details.get("MetadataURL")
    if not url:
        raise SamlError("The identity provider has no SAML metadata.")
    with ctx.emulator.store.suspended():
        text = fetch_text(url)
    return parse_metadata(text)


def redirect_binding_url(ctx, pool: dict, location: str, xml: str, relay_state: str, sign: bool) -> str:
    """`location` with the HTTP-Redirect binding query: SAMLRequest, RelayState and, when `sign`,
    SigAlg and Signature made with the pool's signing key (GetSigningCertificate)."""
    params = [("SAMLRequest", deflate(xml)), ("RelayState", relay_state)]
    if sign:
        params.append(("SigAlg", RSA_SHA256))
        signed = urlencode(params).encode()
        key = pool_signing_key(ctx, pool)
        params.append(("Signature", base64.b64encode(key.sign(signed, padding.PKCS1v15(), hashes.SHA256())).decode()))
    separator = "&" if "?" in location else "?"
    return location + separator + urlencode(params)


def pool_signing_key(ctx, pool: dict):
    """The private key behind the pool's SAML signing certificate."""
    signing_certificate.signing_certificate(ctx.db, pool, ctx.now())
    _kid, key = keys.key_for(ctx.db, pool["Id"], "id", ctx.now())
    return key


def _post_form(location: str, fields: dict[str, str]) -> Response:
    inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in fields.items())
    body = (f'<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" '
            f'action="{html.escape(location)}">{inputs}<noscript><input type="submit" value="Continue"></noscript>'
            f'</form></body></html>')
    response = Response(body, 200, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache, no-store, max-age=0, must-revalidate"
    return response


# -- SP-initiated sign-in ---------------------------------------------------------------------
def start(ctx, areq: AuthRequest, provider: dict) -> Response:
    """Send the browser to the IdP with an AuthnRequest (from /oauth2/authorize)."""
    details = provider.get("ProviderDetails") or {}
    try:
        metadata = provider_metadata(ctx, details)
    except SamlError as err:
        raise areq.error_redirect("invalid_request", err.message) from None
    location = metadata.sso.get(REDIRECT_BINDING) or details.get("SSORedirectBindingURI")
    post_location = metadata.sso.get(POST_BINDING)
    if not location and not post_location:
        raise areq.error_redirect("invalid_request", "The SAML metadata has no SingleSignOnService.")
    request_id = "_" + uuid.uuid4().hex
    acs = acs_url(ctx)
    relay = common.start_flow(ctx, areq.pool, areq.client, None, "saml",
                              {"provider": provider["ProviderName"], "params": areq.params,
                               "request_id": request_id, "acs": acs}, ttl=FLOW_TTL)
    sign = str(details.get("RequestSigningAlgorithm") or "").lower() == "rsa-sha256"
    xml = authn_request(request_id, ctx.now(), location or post_location, acs, sp_entity_id(areq.pool["Id"]))
    if location:
        return common.redirect(redirect_binding_url(ctx, areq.pool, location, xml, relay, sign))
    return _post_form(post_location, {"SAMLRequest": base64.b64encode(xml.encode()).decode(), "RelayState": relay})


# -- attributes and users -----------------------------------------------------------------------
def mapped_attributes(provider: dict, assertion: Assertion) -> dict[str, str]:
    """User pool attributes from the assertion's attributes by the provider's AttributeMapping
    (several values are kept as `[a, b]`)."""
    out = {}
    for attribute, source in (provider.get("AttributeMapping") or {}).items():
        if attribute == "username":
            continue
        values = assertion.attributes.get(source)
        if not values:
            continue
        value = values[0] if len(values) == 1 else "[" + ", ".join(values) + "]"
        out[attribute] = value.lower() if attribute.endswith("_verified") else value
    return out


def _check_required(ctx, areq: AuthRequest, provider: dict, assertion: Assertion, attrs: dict) -> None:
    if users.linked_username(ctx.db, areq.pool["Id"], provider["ProviderName"], assertion.name_id):
        return
    if users.by_username(ctx.db, areq.pool, f"{provider['ProviderName']}_{assertion.name_id}") is not None:
        return
    for name in attributes.required_names(areq.pool):
        if not attrs.get(name):
            raise SamlError(INVALID + f"Invalid user attributes: {name}: The attribute is required")


def _remember_assertion(ctx, pool_id: str, assertion: Assertion) -> None:
    now = ctx.now()
    ctx.db.execute("DELETE FROM saml_assertions WHERE expires < ?", (now,))
    seen = ctx.db.execute("SELECT 1 FROM saml_assertions WHERE pool_id = ? AND assertion_id = ?",
                          (pool_id, assertion.assertion_id)).fetchone()
    if seen is not None:
        raise SamlError(INVALID + "The assertion has already been used.")
    ctx.db.execute("INSERT INTO saml_assertions(pool_id, assertion_id, expires) VALUES(?,?,?)",
                   (pool_id, assertion.assertion_id, max(assertion.expires, now + FLOW_TTL)))


def _decrypt_key(ctx, provider: dict):
    details = provider.get("ProviderDetails") or {}
    if str(details.get("EncryptedResponses") or "").lower() != "true":
        return None
    key, _cert = identity_providers.saml_encryption_key(ctx.db, provider["UserPoolId"], provider["ProviderName"], ctx.now())
    return key


def sign_in(ctx, areq: AuthRequest, provider: dict, metadata: Metadata, raw: bytes, *,
            request_id: str | None, acs: list[str]) -> Response:
    """Verify the response, sign its user in and redirect to the app (code or tokens)."""
    details = provider.get("ProviderDetails") or {}
    key = _decrypt_key(ctx, provider)
    assertion = verify_response(raw, metadata=metadata, audiences=[sp_entity_id(areq.pool["Id"])], now=ctx.now(),
                                acs_urls=acs, request_id=request_id,
                                unsolicited=str(details.get("IDPInit") or "").lower() == "true",
                                decrypt_key=key, require_encrypted=key is not None)
    _remember_assertion(ctx, areq.pool["Id"], assertion)
    attrs = mapped_attributes(provider, assertion)
    _check_required(ctx, areq, provider, assertion, attrs)
    user = federated_users.federated_user(ctx, areq, provider, assertion.claims(), external_id=assertion.name_id,
                                     attrs=attrs, issuer=metadata.entity_id)
    if user.get("enabled") is False:
        raise areq.error_redirect("invalid_request", "User is disabled.")
    engine.post_authentication(ctx, areq.pool, areq.client, user)

    def remember(token: str) -> None:
        ctx.db.execute("DELETE FROM saml_sessions WHERE expires < ?", (ctx.now(),))
        ctx.db.execute("INSERT INTO saml_sessions(token_hash, pool_id, provider, name_id, name_id_format, "
                       "session_index, expires) VALUES(?,?,?,?,?,?,?)",
                       (digests.digest(token), areq.pool["Id"], provider["ProviderName"], assertion.name_id,
                        assertion.name_id_format, assertion.session_index, ctx.now() + common.SESSION_TTL))

    return common.finish(ctx, areq, user, ctx.now(), on_session=remember)


def _unsolicited_params(relay: str) -> dict[str, str] | None:
    """The authorize parameters an IdP-initiated RelayState carries, if it carries any."""
    try:
        pairs = parse_qsl(relay, keep_blank_values=False, strict_parsing=True)
    except ValueError:
        return None
    params = common.authorize_params(dict(pairs))
    return params if params.get("client_id") and params.get("response_type") else None


def _idp_initiated_provider(ctx, areq: AuthRequest) -> dict:
    name = areq.params.get("identity_provider")
    if not name and areq.params.get("idp_identifier"):
        found = identity_providers.provider_by_identifier(ctx.db, areq.pool["Id"], areq.params["idp_identifier"])
        name = found["ProviderName"] if found else None
    if not name:
        saml = [p for p in areq.providers() if p != "COGNITO"]
        name = saml[0] if len(saml) == 1 else None
    if not name or name not in areq.providers():
        raise areq.error_redirect("invalid_request", IDP_NOT_FOUND)
    try:
        provider = identity_providers.load_provider(ctx.db, areq.pool["Id"], name)
    except ServiceError:
        raise areq.error_redirect("invalid_request", IDP_NOT_FOUND) from None
    if provider["ProviderType"] != "SAML":
        raise areq.error_redirect("invalid_request", IDP_NOT_FOUND)
    if str((provider.get("ProviderDetails") or {}).get("IDPInit") or "").lower() != "true":
        raise areq.error_redirect("invalid_request", "IdP-initiated SAML sign-in is not enabled for the "
                                                     f"identity provider {name}.")
    return provider


# -- logout -------------------------------------------------------------------------------------
def logout_redirect(ctx, pool: dict, client: dict, destination: str) -> Response | None:
    """When the browser's session came from a SAML provider with IDPSignout, the redirect to the
    IdP's SingleLogoutService (a signed LogoutRequest); None otherwise. The session ends either way."""
    token = request.cookies.get(common.SESSION_COOKIE)
    if not token:
        return None
    row = ctx.db.execute("SELECT * FROM saml_sessions WHERE token_hash = ?", (digests.digest(token),)).fetchone()
    if row is None or row["pool_id"] != pool["Id"]:
        return None
    ctx.db.execute("DELETE FROM saml_sessions WHERE token_hash = ?", (row["token_hash"],))
    if ctx.now() >= row["expires"]:
        return None
    try:
        provider = identity_providers.load_provider(ctx.db, pool["Id"], row["provider"])
    except ServiceError:
        return None
    details = provider.get("ProviderDetails") or {}
    if str(details.get("IDPSignout") or "").lower() != "true":
        return None
    try:
        metadata = provider_metadata(ctx, details)
    except SamlError:
        return None
    location = metadata.slo.get(REDIRECT_BINDING) or details.get("SLORedirectBindingURI")
    if not location:
        return None
    request_id = "_" + uuid.uuid4().hex
    relay = common.start_flow(ctx, pool, client, None, "saml_logout",
                              {"provider": provider["ProviderName"], "request_id": request_id,
                               "destination": destination}, ttl=FLOW_TTL)
    xml = logout_request(request_id, ctx.now(), location, sp_entity_id(pool["Id"]), row["name_id"],
                         row["name_id_format"], row["session_index"])
    return common.redirect(redirect_binding_url(ctx, pool, location, xml, relay, True), [common.end_session(ctx)])


def _logout_response(ctx, flow: dict, raw_value: str, relay: str) -> Response:
    pool = pools.load_pool(ctx.db, flow["pool_id"])
    provider = identity_providers.load_provider(ctx.db, pool["Id"], flow["data"]["provider"])
    try:
        raw = decode_response(raw_value)
        if not raw.lstrip().startswith(b"<"):
            try:
                raw = zlib.decompress(raw, -15)  # HTTP-Redirect binding
            except zlib.error:
                raise SamlError("Invalid LogoutResponse.") from None
        root = parse_xml(raw)
        if etree.QName(root).localname != "LogoutResponse":
            raise SamlError("Invalid LogoutResponse.")
        metadata = provider_metadata(ctx, provider.get("ProviderDetails") or {})
        if has_signature(root):
            root = verify_signature(root, metadata.certificates, ctx.now())
        issuer = (root.findtext("saml:Issuer", None, NS) or "").strip()
        if metadata.entity_id and issuer and issuer != metadata.entity_id:
            raise SamlError("Invalid LogoutResponse: Issuer is invalid.")
        if root.get("InResponseTo") != flow["data"]["request_id"]:
            raise SamlError("Invalid LogoutResponse: InResponseTo is invalid.")
    except SamlError as err:
        return common.error_page("invalid_request", err.message)
    return common.redirect(flow["data"]["destination"])


# -- routes --------------------------------------------------------------------------------------
@blueprint.post("/saml2/idpresponse")
@common.unit_of_work(on_error=common.invalid_request_page)
def saml_idp_response(ctx) -> Response:
    """The IdP posts a SAMLResponse: the RelayState is spent, then the response is verified and
    its user signed in; a failure from there on is an OAuth error redirect to the app."""
    form = request.form
    value = form.get("SAMLResponse") or ""
    relay = form.get("RelayState") or form.get("Relaystate") or ""
    if not value or not relay:
        return common.error_page("invalid_request", INVALID_RELAY)
    flow = common.take_flow(ctx, relay, "saml")
    if flow is not None:
        areq = common.validate_authorize(ctx, flow["data"]["params"])
        try:
            provider = identity_providers.load_provider(ctx.db, areq.pool["Id"], flow["data"]["provider"])
        except ServiceError:
            raise areq.error_redirect("invalid_request", IDP_NOT_FOUND) from None
        request_id, acs = flow["data"]["request_id"], [flow["data"]["acs"], acs_url(ctx)]
    else:
        params = _unsolicited_params(relay)
        if params is None:
            return common.error_page("invalid_request", INVALID_RELAY)
        areq = common.validate_authorize(ctx, params)
        provider = _idp_initiated_provider(ctx, areq)
        request_id, acs = None, [acs_url(ctx)]
    if len(value) > MAX_RESPONSE_CHARS * 4 // 3 + 4:
        raise areq.error_redirect("server_error", INVALID + "The SAML response is too large.")
    params = areq.params
    ctx.commit_now()  # the RelayState is spent, whatever follows
    try:
        metadata = provider_metadata(ctx, provider.get("ProviderDetails") or {})
        # The metadata may have been fetched with the store released: the app client, the pool and
        # the provider are looked up again, in the transaction that signs the user in.
        areq = common.validate_authorize(ctx, params)
        provider = identity_providers.load_provider(ctx.db, areq.pool["Id"], provider["ProviderName"])
        return sign_in(ctx, areq, provider, metadata, decode_response(value), request_id=request_id, acs=acs)
    except SamlError as err:
        raise common.validate_authorize(ctx, params).error_redirect("server_error", err.message) from None
    except ServiceError as err:
        raise common.validate_authorize(ctx, params).error_redirect("invalid_request", err.message) from None


@blueprint.route("/saml2/logout", methods=["GET", "POST"])
@common.unit_of_work(on_error=common.invalid_request_page)
def saml_logout(ctx) -> Response:
    values = request.values
    relay = values.get("RelayState") or ""
    flow = common.take_flow(ctx, relay, "saml_logout")
    if flow is None or not values.get("SAMLResponse"):
        return common.error_page("invalid_request", "Invalid SAML logout response or relayState.")
    return _logout_response(ctx, flow, values["SAMLResponse"], relay)
