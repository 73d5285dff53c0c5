"""A tiny SAML 2.0 identity provider for the tests: its own key and self-signed certificate,
metadata served over HTTP on loopback, and signed (optionally encrypted) responses built with
signxml, as a real IdP would post them to the ACS."""

from __future__ import annotations

import base64
import datetime as dt
import os
import threading
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape, quoteattr

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml import XMLSigner

PROTOCOL = "urn:oasis:names:tc:SAML:2.0:protocol"
ASSERTION = "urn:oasis:names:tc:SAML:2.0:assertion"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XENC11 = "http://www.w3.org/2009/xmlenc11#"
DSIG = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"


def iso(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_key_and_cert(name: str = "test-idp", days: int = 3650):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + dt.timedelta(days=days)).sign(key, hashes.SHA256()))
    return key, cert


def cert_b64(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def inflate_request(encoded: str) -> etree._Element:
    return etree.fromstring(zlib.decompress(base64.b64decode(encoded), -15))


class SamlIdp:
    def __init__(self, entity_id: str | None = None) -> None:
        self.key, self.cert = new_key_and_cert()
        self.entity_id = entity_id or f"http://idp.example/{uuid.uuid4().hex[:8]}"
        self.sso_url = "https://idp.example/sso"
        self.slo_url = "https://idp.example/slo"
        self.extra_certs: list[x509.Certificate] = []
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if urlsplit(self.path).path == "/metadata":
                    body = idp.metadata().encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_response(404)
                    self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.metadata_url = f"http://127.0.0.1:{self.server.server_port}/metadata"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()

    def metadata(self, slo: bool = True) -> str:
        keys = "".join(
            f'<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="{DSIG}"><ds:X509Data><ds:X509Certificate>'
            f'{cert_b64(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>'
            for c in [*self.extra_certs, self.cert])
        logout = (f'<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
                  f'Location="{self.slo_url}"/>') if slo else ""
        return (f'<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{self.entity_id}">'
                f'<md:IDPSSODescriptor protocolSupportEnumeration="{PROTOCOL}">{keys}{logout}'
                f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" '
                f'Location="{self.sso_url}"/>'
                f'<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
                f'Location="{self.sso_url}"/></md:IDPSSODescriptor></md:EntityDescriptor>')

    # -- responses --------------------------------------------------------------------------
    def response(self, *, now: float, audience: str, acs: str, name_id: str = "jdoe@corp.example",
                 attributes: dict | None = None, in_response_to: str | None = None, issuer: str | None = None,
                 lifetime: float = 300, sign: str = "assertion", key=None, encrypt_for: str | None = None,
                 status: str = "urn:oasis:names:tc:SAML:2.0:status:Success", destination: str | None = None,
                 recipient: str | None = None, assertion_id: str | None = None, session_index: str = "sess-1",
                 encryption: str = "aes256-gcm") -> str:
        """A base64 SAMLResponse. `sign`: "assertion", "response", "both" or "none"; `encrypt_for`:
        the SP's base64 encryption certificate."""
        issuer = issuer or self.entity_id
        irt = f" InResponseTo={quoteattr(in_response_to)}" if in_response_to else ""
        assertion_id = assertion_id or "_a" + uuid.uuid4().hex
        attrs = "".join(
            f'<saml:Attribute Name={quoteattr(k)}>' +
            "".join(f"<saml:AttributeValue>{escape(v)}</saml:AttributeValue>"
                    for v in (vs if isinstance(vs, list) else [vs])) + "</saml:Attribute>"
            for k, vs in (attributes or {}).items())
        statement = f"<saml:AttributeStatement>{attrs}</saml:AttributeStatement>" if attrs else ""
        assertion = (
            f'<saml:Assertion xmlns:saml="{ASSERTION}" ID="{assertion_id}" Version="2.0" IssueInstant="{iso(now)}">'
            f"<saml:Issuer>{escape(issuer)}</saml:Issuer>"
            f'<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">'
            f"{escape(name_id)}</saml:NameID>"
            f'<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">'
            f'<saml:SubjectConfirmationData NotOnOrAfter="{iso(now + lifetime)}" '
            f"Recipient={quoteattr(recipient or acs)}{irt}/></saml:SubjectConfirmation></saml:Subject>"
            f'<saml:Conditions NotBefore="{iso(now - 5)}" NotOnOrAfter="{iso(now + lifetime)}">'
            f"<saml:AudienceRestriction><saml:Audience>{escape(audience)}</saml:Audience>"
            f"</saml:AudienceRestriction></saml:Conditions>"
            f'<saml:AuthnStatement AuthnInstant="{iso(now)}" SessionIndex="{session_index}"><saml:AuthnContext>'
            f"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
            f"</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>{statement}</saml:Assertion>")
        assertion_el = etree.fromstring(assertion)
        if sign in ("assertion", "both"):
            assertion_el = self._sign(assertion_el, key)
        inner = etree.tostring(assertion_el).decode()
        if encrypt_for:
            inner = self._encrypt(inner, encrypt_for, encryption)
        response_id = "_r" + uuid.uuid4().hex
        response = (
            f'<samlp:Response xmlns:samlp="{PROTOCOL}" xmlns:saml="{ASSERTION}" ID="{response_id}" Version="2.0" '
            f'IssueInstant="{iso(now)}" Destination={quoteattr(destination or acs)}{irt}>'
            f"<saml:Issuer>{escape(issuer)}</saml:Issuer>"
            f'<samlp:Status><samlp:StatusCode Value="{status}"/></samlp:Status>{inner}</samlp:Response>')
        element = etree.fromstring(response)
        if sign in ("response", "both"):
            element = self._sign(element, key)
        return base64.b64encode(etree.tostring(element)).decode()

    def _sign(self, element, key=None):
        signer = XMLSigner(c14n_algorithm=EXC_C14N)
        signed = signer.sign(element, key=key or self.key, cert=[self.cert], reference_uri=element.get("ID"))
        # SAML wants the Signature right after the Issuer.
        signature = signed.find(f"{{{DSIG}}}Signature")
        signed.remove(signature)
        signed.insert(1, signature)
        return signed

    @staticmethod
    def _encrypt(xml: str, certificate_b64: str, encryption: str) -> str:
        cert = x509.load_der_x509_certificate(base64.b64decode(certificate_b64))
        if encryption == "aes256-gcm":
            content_key = AESGCM.generate_key(bit_length=256)
            iv = os.urandom(12)
            cipher = iv + AESGCM(content_key).encrypt(iv, xml.encode(), None)
            algorithm = f"{XENC11}aes256-gcm"
        else:
            content_key = os.urandom(16)
            iv = os.urandom(16)
            pad = 16 - len(xml.encode()) % 16
            plain = xml.encode() + bytes([pad]) * pad
            encryptor = Cipher(algorithms.AES(content_key), modes.CBC(iv)).encryptor()
            cipher = iv + encryptor.update(plain) + encryptor.finalize()
            algorithm = f"{XENC}aes128-cbc"
        wrapped = cert.public_key().encrypt(content_key, padding.OAEP(mgf=padding.MGF1(hashes.SHA1()),
                                                                      algorithm=hashes.SHA1(), label=None))
        return (f'<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="{XENC}" '
                f'Type="{XENC}Element"><xenc:EncryptionMethod Algorithm="{algorithm}"/>'
                f'<ds:KeyInfo xmlns:ds="{DSIG}"><xenc:EncryptedKey><xenc:EncryptionMethod '
                f'Algorithm="{XENC}rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="{DSIG}sha1"/>'
                f"</xenc:EncryptionMethod><xenc:CipherData><xenc:CipherValue>"
                f"{base64.b64encode(wrapped).decode()}</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>"
                f"</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>{base64.b64encode(cipher).decode()}"
                f"</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml:EncryptedAssertion>")

    def logout_response(self, in_response_to: str, destination: str) -> str:
        xml = (f'<samlp:LogoutResponse xmlns:samlp="{PROTOCOL}" xmlns:saml="{ASSERTION}" ID="_l{uuid.uuid4().hex}" '
               f'Version="2.0" IssueInstant="{iso(0)}" Destination={quoteattr(destination)} '
               f'InResponseTo={quoteattr(in_response_to)}><saml:Issuer>{escape(self.entity_id)}</saml:Issuer>'
               f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/>'
               f"</samlp:Status></samlp:LogoutResponse>")
        signed = self._sign(etree.fromstring(xml))
        return base64.b64encode(etree.tostring(signed)).decode()


def request_from_redirect(location: str) -> tuple[etree._Element, dict]:
    """(AuthnRequest/LogoutRequest element, query) of an HTTP-Redirect binding URL."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return inflate_request(query["SAMLRequest"]), query
