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

The verification functions are also used by identity pools for SAML logins.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import request
from lxml import etree
from werkzeug.wrappers import Response

from emulator.oauth import common
from emulator.oauth.common import AuthRequest
from emulator.store import register_schema
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

PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion"
METADATA = "urn:oasis:names:tc:SAML:2.0:metadata"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
NS = {"samlp": PROTOCOL, "saml": ASSERTION, "md": METADATA, "ds": DSIG, "xenc": XENC, "xenc11": XENC11}
REDIRECT_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST_BINDING = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

FLOW_TTL = 600.0
HTTP_TIMEOUT = 10.0
MAX_RESPONSE_CHARS = 100_000
SKEW_SECONDS = 60.0
INVALID = "Invalid SAML response received: "
INVALID_RELAY = "Invalid samlResponse or relayState from identity provider"
IDP_NOT_FOUND = "The identity provider could not be found."

_parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)


class SamlError(Exception):
    """A SAML message that cannot be trusted; `message` is what the user is told."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sp_entity_id(pool_id: str) -> str:
    return f"urn:amazon:cognito:sp:{pool_id}"


def acs_url(ctx) -> str:
    return f"{ctx.base_url}/saml2/idpresponse"


# -- IdP metadata ------------------------------------------------------------------------------
@dataclasses.dataclass
class Metadata:
    entity_id: str | None
    certificates: list[x509.Certificate]
    sso: dict[str, str]  # binding -> URL
    slo: dict[str, str]


def _xml(text: str | bytes) -> etree._Element:
    data = text.encode() if isinstance(text, str) else text
    try:
        return etree.fromstring(data, _parser)
    except (etree.XMLSyntaxError, ValueError):
        raise SamlError("Unable to parse the SAML document.") from None


def _certificate(text: str) -> x509.Certificate | None:
    try:
        der = base64.b64decode("".join(text.split()), validate=True)
        return x509.load_der_x509_certificate(der)
    except (binascii.Error, ValueError):
        return None


def parse_metadata(text: str | bytes) -> Metadata:
    """The parts of an IdP's metadata document the SP needs (raises SamlError when unreadable)."""
    root = _xml(text)
    entity = root if etree.QName(root).localname == "EntityDescriptor" else \
        root.find(f".//{{{METADATA}}}EntityDescriptor")
    if entity is None:
        entity = root
    idp = entity.find(f".//{{{METADATA}}}IDPSSODescriptor")
    scope = idp if idp is not None else entity
    certs = []
    for descriptor in scope.iter(f"{{{METADATA}}}KeyDescriptor"):
        if descriptor.get("use") not in (None, "", "signing"):
            continue
        for node in descriptor.iter(f"{{{DSIG}}}X509Certificate"):
            cert = _certificate(node.text or "")
            if cert is not None:
                certs.append(cert)
    sso, slo = {}, {}
    for node in scope.iter(f"{{{METADATA}}}SingleSignOnService"):
        if node.get("Binding") and node.get("Location"):
            sso.setdefault(node.get("Binding"), node.get("Location"))
    for node in scope.iter(f"{{{METADATA}}}SingleLogoutService"):
        if node.get("Binding") and node.get("Location"):
            slo.setdefault(node.get("Binding"), node.get("Location"))
    return Metadata(entity.get("entityID"), certs, sso, slo)


def fetch_text(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT) as answer:  # noqa: S310 (configured URL)
            return answer.read().decode()
    except (urllib.error.URLError, OSError, ValueError, UnicodeDecodeError) as err:
        raise SamlError(f"Unable to retrieve the SAML metadata from {url}: {err}") from None


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


# -- reading and verifying a SAML response ----------------------------------------------------
@dataclasses.dataclass
class Assertion:
    issuer: str | None
    name_id: str
    name_id_format: str | None
    session_index: str | None
    attributes: dict[str, list[str]]
    assertion_id: str
    in_response_to: str | None
    expires: float

    def claims(self) -> dict:
        """Attributes as single values (the first) plus the NameID, for rules and tags."""
        out: dict = {k: (v[0] if len(v) == 1 else list(v)) for k, v in self.attributes.items() if v}
        out["sub"] = self.name_id
        return out


def decode_response(value: str) -> bytes:
    if not value or len(value) > MAX_RESPONSE_CHARS * 2:
        raise SamlError("Invalid base64 SAMLResponse")
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise SamlError("Invalid base64 SAMLResponse") from None


def _instant(value: str | None) -> float | None:
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SamlError(INVALID + f"Invalid time {value}.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def instant(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _allowed_config():
    from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod
    methods = frozenset(m for m in SignatureMethod if "HMAC" not in m.name)
    return SignatureConfiguration(signature_methods=methods, digest_algorithms=frozenset(DigestAlgorithm),
                                  location="./", expect_references=1)


def _verify(element: etree._Element, certificates: list[x509.Certificate], now: float) -> etree._Element:
    """The element `element`'s enveloped signature covers, verified with one of `certificates`."""
    from signxml import InvalidInput, XMLVerifier
    from signxml.exceptions import InvalidSignature
    data = etree.tostring(element)
    config = dataclasses.replace(_allowed_config(), verification_time=dt.datetime.fromtimestamp(now, dt.UTC))
    for cert in certificates:
        pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        try:
            result = XMLVerifier().verify(data, x509_cert=pem, expect_config=config, parser=_parser)
        except (InvalidSignature, InvalidInput, ValueError):
            continue
        signed = result.signed_xml
        if signed is None or etree.QName(signed).localname != etree.QName(element).localname \
                or signed.get("ID") != element.get("ID"):
            continue
        return signed
    raise SamlError(INVALID + "SAML Assertion signature is invalid.")


def _has_signature(element: etree._Element) -> bool:
    return element.find(f"{{{DSIG}}}Signature") is not None


def _only(element: etree._Element, tag: str) -> etree._Element | None:
    found = element.findall(tag, NS)
    if len(found) > 1:
        raise SamlError(INVALID + "More than one assertion.")
    return found[0] if found else None


def verify_response(raw: bytes, *, metadata: Metadata, audiences: Iterable[str], now: float,
                    acs_urls: Iterable[str] | None = None, request_id: str | None = None,
                    unsolicited: bool = True, decrypt_key=None, require_encrypted: bool = False,
                    check_in_response_to: bool = True) -> Assertion:
    """Verify a SAML Response and return its assertion (SamlError, with Cognito's message, when
    anything is wrong). `acs_urls` None skips the Destination/Recipient checks (identity pools);
    `request_id` is the AuthnRequest ID the response must answer, if any; `unsolicited` allows
    responses without InResponseTo; `check_in_response_to` False ignores InResponseTo (a consumer
    that never sends requests)."""
    root = _xml(raw)
    if etree.QName(root).namespace != PROTOCOL or etree.QName(root).localname != "Response":
        raise SamlError(INVALID + "The document is not a SAML 2.0 Response.")
    if not metadata.certificates:
        raise SamlError(INVALID + "The identity provider metadata has no signing certificate.")
    response = root
    response_signed = _has_signature(root)
    if response_signed:
        response = _verify(root, metadata.certificates, now)
    status = response.find("samlp:Status/samlp:StatusCode", NS)
    code = status.get("Value") if status is not None else None
    if code != SUCCESS:
        raise SamlError(INVALID + f"The SAML response status is {code or 'missing'}.")
    encrypted = _only(response, "saml:EncryptedAssertion")
    assertion = _only(response, "saml:Assertion")
    if encrypted is not None and assertion is not None:
        raise SamlError(INVALID + "More than one assertion.")
    if encrypted is not None:
        if decrypt_key is None:
            raise SamlError(INVALID + "Encrypted assertions are not enabled for this identity provider.")
        assertion = decrypt_assertion(encrypted, decrypt_key)
    elif require_encrypted:
        raise SamlError(INVALID + "The assertion is not encrypted.")
    if assertion is None:
        raise SamlError(INVALID + "The SAML response has no assertion.")
    if _has_signature(assertion):
        assertion = _verify(assertion, metadata.certificates, now)
    elif not response_signed:
        raise SamlError(INVALID + "SAML Assertion signature is invalid.")
    return _read_assertion(response, assertion, metadata=metadata, audiences=list(audiences), now=now,
                           acs_urls=None if acs_urls is None else list(acs_urls), request_id=request_id,
                           unsolicited=unsolicited, check_in_response_to=check_in_response_to)


def _read_assertion(response, assertion, *, metadata: Metadata, audiences: list[str], now: float,
                    acs_urls: list[str] | None, request_id: str | None, unsolicited: bool,
                    check_in_response_to: bool) -> Assertion:
    issuer = (assertion.findtext("saml:Issuer", None, NS) or "").strip() or None
    response_issuer = (response.findtext("saml:Issuer", None, NS) or "").strip() or None
    if metadata.entity_id and (issuer != metadata.entity_id or
                               (response_issuer and response_issuer != metadata.entity_id)):
        raise SamlError(INVALID + "Issuer is invalid.")
    destination = response.get("Destination")
    if acs_urls is not None and destination and destination not in acs_urls:
        raise SamlError(INVALID + "Destination is invalid.")
    in_response_to = response.get("InResponseTo")
    # Conditions: validity window and audience.
    conditions = assertion.find("saml:Conditions", NS)
    not_before = _instant(conditions.get("NotBefore")) if conditions is not None else None
    not_after = _instant(conditions.get("NotOnOrAfter")) if conditions is not None else None
    if not_before is not None and now + SKEW_SECONDS < not_before:
        raise SamlError(INVALID + "Assertion is not yet valid.")
    if not_after is not None and now >= not_after:
        raise SamlError(INVALID + "Assertion is expired.")
    found = [a.text.strip() for a in assertion.iterfind("saml:Conditions/saml:AudienceRestriction/saml:Audience", NS)
             if a.text]
    if not any(a in audiences for a in found):
        raise SamlError(INVALID + "Audience is invalid.")
    # Subject: NameID and the bearer confirmation.
    subject = assertion.find("saml:Subject", NS)
    name = subject.find("saml:NameID", NS) if subject is not None else None
    if name is None or not (name.text or "").strip():
        raise SamlError(INVALID + "NameID is missing.")
    expires = not_after
    confirmations = subject.findall("saml:SubjectConfirmation/saml:SubjectConfirmationData", NS)
    for data in confirmations:
        limit = _instant(data.get("NotOnOrAfter"))
        if limit is not None and now >= limit:
            raise SamlError(INVALID + "Assertion is expired.")
        if limit is not None:
            expires = min(expires, limit) if expires is not None else limit
        if acs_urls is not None and data.get("Recipient") and data.get("Recipient") not in acs_urls:
            raise SamlError(INVALID + "Recipient is invalid.")
        if data.get("InResponseTo"):
            if in_response_to and data.get("InResponseTo") != in_response_to:
                raise SamlError(INVALID + "InResponseTo is invalid.")
            in_response_to = data.get("InResponseTo")
    if not check_in_response_to:
        pass
    elif in_response_to:
        if request_id is None or in_response_to != request_id:
            raise SamlError(INVALID + "InResponseTo is invalid.")
    elif request_id is not None and not unsolicited:
        raise SamlError(INVALID + "InResponseTo is invalid.")
    attributes: dict[str, list[str]] = {}
    for attribute in assertion.iterfind("saml:AttributeStatement/saml:Attribute", NS):
        key = attribute.get("Name")
        if not key:
            continue
        values = attribute.findall("saml:AttributeValue", NS)
        attributes.setdefault(key, []).extend((v.text or "").strip() for v in values)
    session = assertion.find("saml:AuthnStatement", NS)
    assertion_id = assertion.get("ID") or ""
    if not assertion_id:
        raise SamlError(INVALID + "The assertion has no ID.")
    return Assertion(issuer=issuer, name_id=name.text.strip(), name_id_format=name.get("Format"),
                     session_index=session.get("SessionIndex") if session is not None else None,
                     attributes=attributes, assertion_id=assertion_id, in_response_to=in_response_to,
                     expires=expires if expires is not None else now + FLOW_TTL)


# -- encrypted assertions (XML Encryption 1.0/1.1) --------------------------------------------
_BLOCK = {f"{XENC}aes128-cbc": 16, f"{XENC}aes192-cbc": 24, f"{XENC}aes256-cbc": 32}
_GCM = {f"{XENC11}aes128-gcm": 16, f"{XENC11}aes192-gcm": 24, f"{XENC11}aes256-gcm": 32}
_DIGESTS = {f"{DSIG}sha1": hashes.SHA1, "http://www.w3.org/2001/04/xmlenc#sha256": hashes.SHA256,
            "http://www.w3.org/2001/04/xmldsig-more#sha384": hashes.SHA384,
            "http://www.w3.org/2001/04/xmlenc#sha512": hashes.SHA512}
_MGF = {f"{XENC11}mgf1sha1": hashes.SHA1, f"{XENC11}mgf1sha224": hashes.SHA224,
        f"{XENC11}mgf1sha256": hashes.SHA256, f"{XENC11}mgf1sha384": hashes.SHA384,
        f"{XENC11}mgf1sha512": hashes.SHA512}


def _cipher_value(element) -> bytes:
    text = element.findtext("xenc:CipherData/xenc:CipherValue", None, NS) if element is not None else None
    if not text:
        raise SamlError(INVALID + "Unable to decrypt the assertion.")
    try:
        return base64.b64decode("".join(text.split()))
    except (binascii.Error, ValueError):
        raise SamlError(INVALID + "Unable to decrypt the assertion.") from None


def _content_key(encrypted_key, private_key) -> bytes:
    method = encrypted_key.find("xenc:EncryptionMethod", NS)
    algorithm = method.get("Algorithm") if method is not None else None
    value = _cipher_value(encrypted_key)
    try:
        if algorithm == f"{XENC}rsa-1_5":
            return private_key.decrypt(value, padding.PKCS1v15())
        if algorithm in (f"{XENC}rsa-oaep-mgf1p", f"{XENC11}rsa-oaep"):
            digest_node = method.find("ds:DigestMethod", NS)
            digest = _DIGESTS.get(digest_node.get("Algorithm") if digest_node is not None else f"{DSIG}sha1")
            mgf_node = method.find("xenc11:MGF", NS)
            mgf = _MGF.get(mgf_node.get("Algorithm")) if mgf_node is not None else hashes.SHA1
            if digest is None or mgf is None:
                raise ValueError("unsupported digest")
            return private_key.decrypt(value, padding.OAEP(mgf=padding.MGF1(mgf()), algorithm=digest(), label=None))
    except ValueError:
        raise SamlError(INVALID + "Unable to decrypt the assertion.") from None
    raise SamlError(INVALID + "Unsupported key transport algorithm.")


def decrypt_assertion(encrypted: etree._Element, private_key) -> etree._Element:
    """The Assertion inside an EncryptedAssertion, decrypted with the SP's key."""
    data = encrypted.find("xenc:EncryptedData", NS)
    if data is None:
        raise SamlError(INVALID + "Unable to decrypt the assertion.")
    method = data.find("xenc:EncryptionMethod", NS)
    algorithm = method.get("Algorithm") if method is not None else None
    encrypted_key = data.find("ds:KeyInfo/xenc:EncryptedKey", NS)
    if encrypted_key is None:
        encrypted_key = encrypted.find("xenc:EncryptedKey", NS)
    if encrypted_key is None:
        raise SamlError(INVALID + "Unable to decrypt the assertion.")
    key = _content_key(encrypted_key, private_key)
    value = _cipher_value(data)
    try:
        if algorithm in _BLOCK and len(key) == _BLOCK[algorithm]:
            iv, body = value[:16], value[16:]
            decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
            plain = decryptor.update(body) + decryptor.finalize()
            pad = plain[-1]
            if not 1 <= pad <= 16:
                raise ValueError("bad padding")
            plain = plain[:-pad]
        elif algorithm in _GCM and len(key) == _GCM[algorithm]:
            plain = AESGCM(key).decrypt(value[:12], value[12:], None)
        else:
            raise SamlError(INVALID + "Unsupported encryption algorithm.")
    except (ValueError, IndexError):
        raise SamlError(INVALID + "Unable to decrypt the assertion.") from None
    except Exception as err:  # cryptography's InvalidTag
        if isinstance(err, SamlError):
            raise
        raise SamlError(INVALID + "Unable to decrypt the assertion.") from None
    try:
        assertion = etree.fromstring(plain, _parser)
    except etree.XMLSyntaxError:
        # The plaintext may rely on namespace prefixes declared around the EncryptedAssertion.
        declared = " ".join(f'xmlns:{p}="{u}"' for p, u in encrypted.nsmap.items() if p)
        try:
            wrapper = etree.fromstring(f"<w {declared}>".encode() + plain + b"</w>", _parser)
        except etree.XMLSyntaxError:
            raise SamlError(INVALID + "Unable to decrypt the assertion.") from None
        assertion = wrapper[0] if len(wrapper) else None
    if assertion is None or etree.QName(assertion).localname != "Assertion":
        raise SamlError(INVALID + "Unable to decrypt the assertion.")
    return assertion


# -- messages the SP sends ---------------------------------------------------------------------
def _deflate(xml: str) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml.encode()) + compressor.flush()).decode()


def _esc(value: str) -> str:
    from xml.sax.saxutils import quoteattr
    return quoteattr(value)


def authn_request(request_id: str, now: float, destination: str, acs: str, sp_entity: str) -> str:
    return (f'<samlp:AuthnRequest xmlns:samlp="{PROTOCOL}" xmlns:saml="{ASSERTION}" ID={_esc(request_id)} '
            f'Version="2.0" IssueInstant="{instant(now)}" Destination={_esc(destination)} '
            f'AssertionConsumerServiceURL={_esc(acs)} ProtocolBinding="{POST_BINDING}">'
            f'<saml:Issuer>{_text(sp_entity)}</saml:Issuer>'
            f'<samlp:NameIDPolicy Format="{NAMEID_UNSPECIFIED}" AllowCreate="true"/></samlp:AuthnRequest>')


def logout_request(request_id: str, now: float, destination: str, sp_entity: str, name_id: str,
                   name_format: str | None, session_index: str | None) -> str:
    fmt = f" Format={_esc(name_format)}" if name_format else ""
    index = f"<samlp:SessionIndex>{_text(session_index)}</samlp:SessionIndex>" if session_index else ""
    return (f'<samlp:LogoutRequest xmlns:samlp="{PROTOCOL}" xmlns:saml="{ASSERTION}" ID={_esc(request_id)} '
            f'Version="2.0" IssueInstant="{instant(now)}" Destination={_esc(destination)}>'
            f'<saml:Issuer>{_text(sp_entity)}</saml:Issuer><saml:NameID{fmt}>{_text(name_id)}</saml:NameID>'
            f'{index}</samlp:LogoutRequest>')


def _text(value: str) -> str:
    from xml.sax.saxutils import escape
    return escape(value)


def redirect_binding_url(ctx, pool: dict, location: str, xml: str, relay_state: str, sign: bool) -> str:
    """`location` with the HTTP-Redirect binding query: SAMLRequest, RelayState and, when `sign`,
    SigAlg and Signature made with the pool's signing key (GetSigningCertificate)."""
    params = [("SAMLRequest", _deflate(xml)), ("RelayState", relay_state)]
    if sign:
        params.append(("SigAlg", RSA_SHA256))
        signed = urlencode(params).encode()
        key = pool_signing_key(ctx, pool)
        params.append(("Signature", base64.b64encode(key.sign(signed, padding.PKCS1v15(), hashes.SHA256())).decode()))
    separator = "&" if "?" in location else "?"
    return location + separator + urlencode(params)


def pool_signing_key(ctx, pool: dict):
    """The private key behind the pool's SAML signing certificate."""
    signing = common._m("signing_certificate")
    signing.signing_certificate(ctx.db, pool, ctx.now())
    _kid, key = common._m("keys").key_for(ctx.db, pool["Id"], "id", ctx.now())
    return key


def _post_form(location: str, fields: dict[str, str]) -> Response:
    from html import escape
    inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())
    body = (f'<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" '
            f'action="{escape(location)}">{inputs}<noscript><input type="submit" value="Continue"></noscript>'
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
    users = common._m("users")
    if users.linked_username(ctx.db, areq.pool["Id"], provider["ProviderName"], assertion.name_id):
        return
    if users.by_username(ctx.db, areq.pool, f"{provider['ProviderName']}_{assertion.name_id}") is not None:
        return
    for name in common._m("attributes").required_names(areq.pool):
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
    providers = common._m("identity_providers")
    key, _cert = providers.saml_encryption_key(ctx.db, provider["UserPoolId"], provider["ProviderName"], ctx.now())
    return key


def sign_in(ctx, areq: AuthRequest, provider: dict, metadata: Metadata, raw: bytes, *,
            request_id: str | None, acs: list[str]) -> Response:
    """Verify the response, sign its user in and redirect to the app (code or tokens)."""
    from emulator.oauth import federation
    details = provider.get("ProviderDetails") or {}
    key = _decrypt_key(ctx, provider)
    assertion = verify_response(raw, metadata=metadata, audiences=[sp_entity_id(areq.pool["Id"])], now=ctx.now(),
                                acs_urls=acs, request_id=request_id,
                                unsolicited=str(details.get("IDPInit") or "").lower() == "true",
                                decrypt_key=key, require_encrypted=key is not None)
    _remember_assertion(ctx, areq.pool["Id"], assertion)
    attrs = mapped_attributes(provider, assertion)
    _check_required(ctx, areq, provider, assertion, attrs)
    user = federation.federated_user(ctx, areq, provider, assertion.claims(), external_id=assertion.name_id,
                                     attrs=attrs, issuer=metadata.entity_id)
    if user.get("enabled") is False:
        raise areq.error_redirect("invalid_request", "User is disabled.")
    common._m("auth")._post_authentication(ctx, areq.pool, areq.client, user, False, None)

    def remember(token: str) -> None:
        ctx.db.execute("DELETE FROM saml_sessions WHERE expires < ?", (ctx.now(),))
        ctx.db.execute("INSERT INTO saml_sessions(token_hash, pool_id, provider, name_id, name_id_format, "
                       "session_index, expires) VALUES(?,?,?,?,?,?,?)",
                       (common.digest(token), areq.pool["Id"], provider["ProviderName"], assertion.name_id,
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
    providers = common._m("identity_providers")
    name = areq.params.get("identity_provider")
    if not name and areq.params.get("idp_identifier"):
        found = providers.provider_by_identifier(ctx.db, areq.pool["Id"], areq.params["idp_identifier"])
        name = found["ProviderName"] if found else None
    if not name:
        saml = [p for p in areq.providers() if p != "COGNITO"]
        name = saml[0] if len(saml) == 1 else None
    if not name or name not in areq.providers():
        raise areq.error_redirect("invalid_request", IDP_NOT_FOUND)
    try:
        provider = providers.load_provider(ctx.db, areq.pool["Id"], name)
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
    row = ctx.db.execute("SELECT * FROM saml_sessions WHERE token_hash = ?", (common.digest(token),)).fetchone()
    if row is None or row["pool_id"] != pool["Id"]:
        return None
    ctx.db.execute("DELETE FROM saml_sessions WHERE token_hash = ?", (row["token_hash"],))
    if ctx.now() >= row["expires"]:
        return None
    try:
        provider = common._m("identity_providers").load_provider(ctx.db, pool["Id"], row["provider"])
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
    pool = common._m("pools").load_pool(ctx.db, flow["pool_id"])
    provider = common._m("identity_providers").load_provider(ctx.db, pool["Id"], flow["data"]["provider"])
    try:
        raw = decode_response(raw_value)
        if not raw.lstrip().startswith(b"<"):
            try:
                raw = zlib.decompress(raw, -15)  # HTTP-Redirect binding
            except zlib.error:
                raise SamlError("Invalid LogoutResponse.") from None
        root = _xml(raw)
        if etree.QName(root).localname != "LogoutResponse":
            raise SamlError("Invalid LogoutResponse.")
        metadata = provider_metadata(ctx, provider.get("ProviderDetails") or {})
        if _has_signature(root):
            root = _verify(root, metadata.certificates, ctx.now())
        issuer = (root.findtext("saml:Issuer", None, NS) or "").strip()
        if metadata.entity_id and issuer and issuer != metadata.entity_id:
            raise SamlError("Invalid LogoutResponse: Issuer is invalid.")
        if root.get("InResponseTo") != flow["data"]["request_id"]:
            raise SamlError("Invalid LogoutResponse: InResponseTo is invalid.")
    except SamlError as err:
        return common.error_page("invalid_request", err.message)
    return common.redirect(flow["data"]["destination"])


# -- routes --------------------------------------------------------------------------------------
def install(emulator) -> None:
    app = emulator.flask

    @app.post("/saml2/idpresponse")
    def saml_idp_response():
        form = request.form
        value = form.get("SAMLResponse") or ""
        relay = form.get("RelayState") or form.get("Relaystate") or ""
        holder: dict = {}

        def begin(ctx):
            if not value or not relay:
                return common.error_page("invalid_request", INVALID_RELAY)
            flow = common.take_flow(ctx, relay, "saml")
            if flow is not None:
                areq = common.validate_authorize(ctx, flow["data"]["params"])
                try:
                    provider = common._m("identity_providers").load_provider(ctx.db, areq.pool["Id"],
                                                                            flow["data"]["provider"])
                except ServiceError:
                    raise areq.error_redirect("invalid_request", IDP_NOT_FOUND) from None
                holder.update(request_id=flow["data"]["request_id"], acs=[flow["data"]["acs"], acs_url(ctx)])
            else:
                params = _unsolicited_params(relay)
                if params is None:
                    return common.error_page("invalid_request", INVALID_RELAY)
                areq = common.validate_authorize(ctx, params)
                provider = _idp_initiated_provider(ctx, areq)
                holder.update(request_id=None, acs=[acs_url(ctx)])
            if len(value) > MAX_RESPONSE_CHARS * 4 // 3 + 4:
                raise areq.error_redirect("server_error", INVALID + "The SAML response is too large.")
            holder.update(params=areq.params, provider=provider)
            return None

        early = common.run_or_error_page(emulator, begin)
        if early is not None:
            return early

        def work(ctx):
            provider = holder["provider"]
            metadata = provider_metadata(ctx, provider.get("ProviderDetails") or {})
            # The metadata may have been fetched with the store released: the app client, the
            # pool and the provider are looked up now, in the transaction that signs the user in.
            areq = common.validate_authorize(ctx, holder["params"])
            provider = common._m("identity_providers").load_provider(ctx.db, areq.pool["Id"],
                                                                    provider["ProviderName"])
            raw = decode_response(value)
            return sign_in(ctx, areq, provider, metadata, raw, request_id=holder["request_id"], acs=holder["acs"])

        try:
            return common.run(emulator, work)
        except SamlError as err:
            return common.fail_redirect(emulator, holder["params"], "server_error", err.message)
        except ServiceError as err:
            return common.fail_redirect(emulator, holder["params"], "invalid_request", err.message)

    @app.route("/saml2/logout", methods=["GET", "POST"])
    def saml_logout():
        values = request.values
        relay = values.get("RelayState") or ""

        def work(ctx):
            flow = common.take_flow(ctx, relay, "saml_logout")
            if flow is None or not values.get("SAMLResponse"):
                return common.error_page("invalid_request", "Invalid SAML logout response or relayState.")
            return _logout_response(ctx, flow, values["SAMLResponse"], relay)

        return common.run_or_error_page(emulator, work)

