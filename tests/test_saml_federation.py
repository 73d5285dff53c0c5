"""SAML 2.0 federation of user pools through the managed login: SP-initiated and IdP-initiated
sign-in at /saml2/idpresponse, every refusal, attribute mapping, linking, encrypted assertions,
signed AuthnRequests and single logout. The IdP is a tiny one in the test process."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import unique
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from helpers import claims, error, query_of
from saml_idp import SamlIdp, new_key_and_cert, request_from_redirect

CALLBACK = "http://localhost:3000/callback"
LOGOUT = "http://localhost:3000/signed-out"
SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"]
EMAIL_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress"
NAME_CLAIM = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname"
GROUPS_CLAIM = "http://schemas.xmlsoap.org/claims/Group"


@pytest.fixture
def saml_idp():
    provider = SamlIdp()
    yield provider
    provider.close()


class Setup:
    def __init__(self, idp, endpoint: str, saml_idp: SamlIdp, *, name: str = "Corp", details: dict | None = None,
                 mapping: dict | None = None, required_email: bool = False) -> None:
        self.idp, self.endpoint, self.saml = idp, endpoint, saml_idp
        self.name = name
        schema = [{"Name": "groups", "AttributeDataType": "String", "Mutable": True}]
        args = {}
        if required_email:
            schema.append({"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True})
        self.pool_id = idp.create_user_pool(PoolName=unique("saml"), Schema=schema, **args)["UserPool"]["Id"]
        idp.create_user_pool_domain(UserPoolId=self.pool_id, Domain=unique("login"))
        provider_details = {"MetadataURL": saml_idp.metadata_url} if details is None else details
        self.provider = idp.create_identity_provider(
            UserPoolId=self.pool_id, ProviderName=name, ProviderType="SAML", ProviderDetails=provider_details,
            AttributeMapping=mapping if mapping is not None else {"email": EMAIL_CLAIM, "given_name": NAME_CLAIM,
                                                                  "custom:groups": GROUPS_CLAIM},
            IdpIdentifiers=["corp.example"])["IdentityProvider"]
        self.client = idp.create_user_pool_client(
            UserPoolId=self.pool_id, ClientName=unique("app"), GenerateSecret=False,
            AllowedOAuthFlows=["code", "implicit"], AllowedOAuthScopes=SCOPES, AllowedOAuthFlowsUserPoolClient=True,
            SupportedIdentityProviders=["COGNITO", name], CallbackURLs=[CALLBACK],
            LogoutURLs=[LOGOUT])["UserPoolClient"]
        self.audience = f"urn:amazon:cognito:sp:{self.pool_id}"
        self.acs = endpoint + "/saml2/idpresponse"
        self.session = requests.Session()

    def authorize(self, **extra):
        params = {"response_type": "code", "client_id": self.client["ClientId"], "redirect_uri": CALLBACK,
                  "state": "st-1", "identity_provider": self.name, **extra}
        params = {k: v for k, v in params.items() if v is not None}
        return self.session.get(self.endpoint + "/oauth2/authorize?" + urlencode(params), allow_redirects=False,
                                timeout=30)

    def start(self, **extra) -> tuple:
        """(AuthnRequest element, RelayState, redirect query) of an SP-initiated sign-in."""
        r = self.authorize(**extra)
        assert r.status_code == 302, r.text
        location = r.headers["Location"]
        assert location.startswith(self.saml.sso_url + "?"), location
        request, query = request_from_redirect(location)
        return request, query["RelayState"], query

    def post(self, saml_response: str, relay: str | None):
        data = {"SAMLResponse": saml_response}
        if relay is not None:
            data["RelayState"] = relay
        return self.session.post(self.endpoint + "/saml2/idpresponse", data=data, allow_redirects=False, timeout=30)

    def now(self) -> float:
        return requests.get(self.endpoint + "/_emulator/clock", timeout=10).json()["epoch"]

    def respond(self, request=None, **kw) -> str:
        kw.setdefault("audience", self.audience)
        kw.setdefault("acs", self.acs)
        kw.setdefault("now", self.now())
        if request is not None:
            kw.setdefault("in_response_to", request.get("ID"))
        return self.saml.response(**kw)

    def tokens(self, code: str) -> dict:
        r = requests.post(self.endpoint + "/oauth2/token", timeout=30, data={
            "grant_type": "authorization_code", "client_id": self.client["ClientId"], "code": code,
            "redirect_uri": CALLBACK})
        assert r.status_code == 200, r.text
        return r.json()


def _sign_in(setup: Setup, **kw) -> dict:
    request, relay, _query = setup.start()
    r = setup.post(setup.respond(request, **kw), relay)
    assert r.status_code == 302, r.text
    result = query_of(r.headers["Location"])
    assert r.headers["Location"].startswith(CALLBACK), r.headers["Location"]
    assert "code" in result, result
    return result


# -- SP-initiated sign-in ------------------------------------------------------------------------
def test_sp_initiated_round_trip(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, query = setup.start()
    assert request.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}AuthnRequest"
    assert request.get("AssertionConsumerServiceURL") == setup.acs
    assert request.get("Destination") == saml_idp.sso_url
    assert request.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}Issuer") == setup.audience
    assert "Signature" not in query
    r = setup.post(setup.respond(request, attributes={EMAIL_CLAIM: "jdoe@corp.example", NAME_CLAIM: "Jane",
                                                      GROUPS_CLAIM: ["admins", "devs"]}), relay)
    assert r.status_code == 302, r.text
    result = query_of(r.headers["Location"])
    assert result["state"] == "st-1"
    body = setup.tokens(result["code"])
    id_claims = claims(body["id_token"])
    assert id_claims["cognito:username"] == "Corp_jdoe@corp.example"
    assert id_claims["email"] == "jdoe@corp.example" and id_claims["given_name"] == "Jane"
    assert id_claims["custom:groups"] == "[admins, devs]"
    identity = id_claims["identities"][0]
    assert identity["providerName"] == "Corp" and identity["providerType"] == "SAML"
    assert identity["userId"] == "jdoe@corp.example" and identity["issuer"] == saml_idp.entity_id
    user = idp.admin_get_user(UserPoolId=setup.pool_id, Username="Corp_jdoe@corp.example")
    assert user["UserStatus"] == "EXTERNAL_PROVIDER"
    # The managed-login session now skips the IdP.
    again = setup.authorize(identity_provider=None)
    assert again.status_code == 302 and "code=" in again.headers["Location"]


def test_signed_response_and_metadata_file(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, details={"MetadataFile": saml_idp.metadata()})
    assert setup.provider["ProviderDetails"]["SSORedirectBindingURI"] == saml_idp.sso_url
    assert setup.provider["ProviderDetails"]["SLORedirectBindingURI"] == saml_idp.slo_url
    for sign in ("response", "both"):
        setup.session = requests.Session()
        _sign_in(setup, sign=sign)


def test_idp_identifier_selects_saml_provider(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start(identity_provider=None, idp_identifier="corp.example")
    r = setup.post(setup.respond(request), relay)
    assert "code" in query_of(r.headers["Location"])


def test_implicit_grant(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start(response_type="token")
    r = setup.post(setup.respond(request), relay)
    location = r.headers["Location"]
    assert location.startswith(CALLBACK + "#") and "access_token=" in location


def test_attributes_updated_on_next_sign_in(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    _sign_in(setup, attributes={EMAIL_CLAIM: "old@corp.example"})
    setup.session = requests.Session()
    _sign_in(setup, attributes={EMAIL_CLAIM: "new@corp.example"})
    user = idp.admin_get_user(UserPoolId=setup.pool_id, Username="Corp_jdoe@corp.example")
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attrs["email"] == "new@corp.example"


def test_linked_to_native_user(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    idp.admin_create_user(UserPoolId=setup.pool_id, Username="native", MessageAction="SUPPRESS")
    idp.admin_link_provider_for_user(
        UserPoolId=setup.pool_id, DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": "native"},
        SourceUser={"ProviderName": "Corp", "ProviderAttributeName": "Cognito_Subject",
                    "ProviderAttributeValue": "jdoe@corp.example"})
    result = _sign_in(setup)
    assert claims(setup.tokens(result["code"])["id_token"])["cognito:username"] == "native"


def test_required_attribute_missing(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, required_email=True)
    request, relay, _ = setup.start()
    r = setup.post(setup.respond(request, attributes={NAME_CLAIM: "Jane"}), relay)
    result = query_of(r.headers["Location"])
    assert result["error"] == "server_error"
    assert result["error_description"] == ("Invalid SAML response received: Invalid user attributes: email: "
                                           "The attribute is required")


def test_multiple_signing_certificates_in_metadata(idp, endpoint, saml_idp):
    _other_key, other_cert = new_key_and_cert("old-idp-cert")
    saml_idp.extra_certs.append(other_cert)
    setup = Setup(idp, endpoint, saml_idp)
    _sign_in(setup)


# -- refusals -------------------------------------------------------------------------------------
def _refused(setup: Setup, description: str, **kw) -> None:
    request, relay, _ = setup.start()
    r = setup.post(setup.respond(request, **kw), relay)
    assert r.status_code == 302, r.text
    assert r.headers["Location"].startswith(CALLBACK + "?"), r.headers["Location"]
    result = query_of(r.headers["Location"])
    assert result == {"error": "server_error", "error_description": description, "state": "st-1"}


def test_bad_signature_refused(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    other_key, _cert = new_key_and_cert("intruder")
    for kw in ({"key": other_key}, {"key": other_key, "sign": "response"}, {"sign": "none"}):
        _refused(setup, "Invalid SAML response received: SAML Assertion signature is invalid.", **kw)
    assert idp.list_users(UserPoolId=setup.pool_id)["Users"] == []


def test_tampered_assertion_refused(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start()
    xml = base64.b64decode(setup.respond(request)).replace(b"jdoe@corp.example", b"admin@corp.example")
    r = setup.post(base64.b64encode(xml).decode(), relay)
    assert query_of(r.headers["Location"])["error_description"] == \
        "Invalid SAML response received: SAML Assertion signature is invalid."


def test_wrong_audience_issuer_destination_refused(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    _refused(setup, "Invalid SAML response received: Audience is invalid.", audience="urn:amazon:cognito:sp:other")
    _refused(setup, "Invalid SAML response received: Issuer is invalid.", issuer="http://other.example/idp")
    _refused(setup, "Invalid SAML response received: Destination is invalid.",
             destination="https://elsewhere.example/saml2/idpresponse")
    _refused(setup, "Invalid SAML response received: Recipient is invalid.",
             recipient="https://elsewhere.example/saml2/idpresponse")
    _refused(setup, "Invalid SAML response received: InResponseTo is invalid.", in_response_to="_not-our-request")
    _refused(setup, "Invalid SAML response received: The SAML response status is "
                    "urn:oasis:names:tc:SAML:2.0:status:Requester.",
             status="urn:oasis:names:tc:SAML:2.0:status:Requester")


def test_unsolicited_response_refused_without_idp_init(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start()
    r = setup.post(setup.respond(None), relay)
    assert query_of(r.headers["Location"])["error_description"] == \
        "Invalid SAML response received: InResponseTo is invalid."


def test_expired_response_refused(idp, endpoint, saml_idp, clock):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start()
    response = setup.respond(request, lifetime=300)
    clock.advance(301)
    r = setup.post(response, relay)
    assert query_of(r.headers["Location"])["error_description"] == \
        "Invalid SAML response received: Assertion is expired."


def test_not_yet_valid_response_refused(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start()
    r = setup.post(setup.respond(request, now=setup.now() + 3600), relay)
    assert query_of(r.headers["Location"])["error_description"] == \
        "Invalid SAML response received: Assertion is not yet valid."


def test_replayed_response_refused(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start()
    response = setup.respond(request)
    assert "code" in query_of(setup.post(response, relay).headers["Location"])
    again = setup.post(response, relay)
    assert again.status_code == 400
    assert "Invalid samlResponse or relayState from identity provider" in again.text


def test_bad_relay_state_and_body(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    for relay in (None, "not-a-flow", "client_id=&x=1"):
        r = setup.post(setup.respond(None), relay)
        assert r.status_code == 400
        assert "Invalid samlResponse or relayState from identity provider" in r.text
    _request, relay, _ = setup.start()
    r = setup.post("%%%not-base64", relay)
    assert query_of(r.headers["Location"]) == {"error": "server_error", "state": "st-1",
                                               "error_description": "Invalid base64 SAMLResponse"}


def test_unknown_provider_refused(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    r = setup.authorize(identity_provider="Nope")
    assert query_of(r.headers["Location"]) == {"error": "invalid_request", "state": "st-1",
                                               "error_description": "The identity provider could not be found."}


def test_provider_deleted_mid_flow(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    request, relay, _ = setup.start()
    idp.delete_identity_provider(UserPoolId=setup.pool_id, ProviderName="Corp")
    r = setup.post(setup.respond(request), relay)
    assert query_of(r.headers["Location"])["error_description"] == "The identity provider could not be found."


def test_unreachable_metadata_url(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, details={"MetadataURL": "http://127.0.0.1:9/metadata"})
    r = setup.authorize()
    result = query_of(r.headers["Location"])
    assert result["error"] == "invalid_request"
    assert result["error_description"].startswith("Unable to retrieve the SAML metadata from "
                                                  "http://127.0.0.1:9/metadata")


# -- IdP-initiated sign-in -----------------------------------------------------------------------
def _relay(setup: Setup, **extra) -> str:
    return urlencode({"identity_provider": setup.name, "client_id": setup.client["ClientId"],
                      "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid email", **extra})


def test_idp_initiated_sign_in(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, details={"MetadataURL": saml_idp.metadata_url, "IDPInit": "true"})
    response = setup.respond(None, attributes={EMAIL_CLAIM: "jdoe@corp.example"})
    r = setup.post(response, _relay(setup))
    result = query_of(r.headers["Location"])
    body = setup.tokens(result["code"])
    assert claims(body["access_token"])["scope"] == "openid email"
    assert claims(body["id_token"])["email"] == "jdoe@corp.example"
    # The same assertion cannot be used twice.
    again = setup.post(response, _relay(setup))
    assert query_of(again.headers["Location"]) == {
        "error": "server_error", "error_description": "Invalid SAML response received: The assertion has already "
                                                      "been used."}
    # An unsolicited response that claims to answer a request is refused.
    r = setup.post(setup.respond(None, in_response_to="_forged"), _relay(setup))
    assert query_of(r.headers["Location"])["error_description"] == \
        "Invalid SAML response received: InResponseTo is invalid."


def test_idp_initiated_needs_idp_init(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    r = setup.post(setup.respond(None), _relay(setup))
    assert query_of(r.headers["Location"]) == {
        "error": "invalid_request",
        "error_description": "IdP-initiated SAML sign-in is not enabled for the identity provider Corp."}
    r = setup.post(setup.respond(None), _relay(setup, redirect_uri="https://evil.example/cb"))
    assert r.status_code == 302 and r.headers["Location"].startswith("/error?error=redirect_mismatch")


def test_sp_initiated_still_checked_with_idp_init(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, details={"MetadataURL": saml_idp.metadata_url, "IDPInit": "true"})
    _sign_in(setup)
    setup.session = requests.Session()
    _refused(setup, "Invalid SAML response received: InResponseTo is invalid.", in_response_to="_other")


# -- encryption and request signing --------------------------------------------------------------
def test_encrypted_assertions(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, details={"MetadataURL": saml_idp.metadata_url,
                                                    "EncryptedResponses": "true"})
    certificate = setup.provider["ProviderDetails"]["ActiveEncryptionCertificate"]
    described = idp.describe_identity_provider(UserPoolId=setup.pool_id, ProviderName="Corp")["IdentityProvider"]
    assert described["ProviderDetails"]["ActiveEncryptionCertificate"] == certificate
    for encryption in ("aes256-gcm", "aes128-cbc"):
        setup.session = requests.Session()
        _sign_in(setup, encrypt_for=certificate, encryption=encryption)
    for sign in ("response", "both"):
        setup.session = requests.Session()
        _sign_in(setup, encrypt_for=certificate, sign=sign)
    # Plain assertions are refused once encryption is on; so is one encrypted for another key.
    setup.session = requests.Session()
    _refused(setup, "Invalid SAML response received: The assertion is not encrypted.")
    other = idp.create_identity_provider(
        UserPoolId=setup.pool_id, ProviderName="Other", ProviderType="SAML",
        ProviderDetails={"MetadataURL": saml_idp.metadata_url, "EncryptedResponses": "true"})["IdentityProvider"]
    _refused(setup, "Invalid SAML response received: Unable to decrypt the assertion.",
             encrypt_for=other["ProviderDetails"]["ActiveEncryptionCertificate"])


def test_encrypted_assertion_without_encryption_enabled(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    other = idp.create_identity_provider(
        UserPoolId=setup.pool_id, ProviderName="Other", ProviderType="SAML",
        ProviderDetails={"MetadataURL": saml_idp.metadata_url, "EncryptedResponses": "true"})["IdentityProvider"]
    _refused(setup, "Invalid SAML response received: Encrypted assertions are not enabled for this identity "
                    "provider.", encrypt_for=other["ProviderDetails"]["ActiveEncryptionCertificate"])


def test_signed_authn_request(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, details={"MetadataURL": saml_idp.metadata_url,
                                                    "RequestSigningAlgorithm": "rsa-sha256"})
    r = setup.authorize()
    location = r.headers["Location"]
    _request, query = request_from_redirect(location)
    assert query["SigAlg"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    signed = location.split("?", 1)[1].rsplit("&Signature=", 1)[0].encode()
    cert = x509.load_der_x509_certificate(base64.b64decode(
        idp.get_signing_certificate(UserPoolId=setup.pool_id)["Certificate"]))
    cert.public_key().verify(base64.b64decode(query["Signature"]), signed, padding.PKCS1v15(), hashes.SHA256())


def test_saml_provider_details_validation(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    cases = [({"MetadataURL": saml_idp.metadata_url, "RequestSigningAlgorithm": "rsa-sha1"},
              ("InvalidParameterException", "RequestSigningAlgorithm must be rsa-sha256.")),
             ({"MetadataURL": saml_idp.metadata_url, "IDPInit": "yes"},
              ("InvalidParameterException", "IDPInit must be true or false.")),
             ({"MetadataFile": "<not xml"}, ("InvalidParameterException", "Unable to parse the SAML metadata file."))]
    for details, expected in cases:
        with pytest.raises(ClientError) as exc:
            idp.create_identity_provider(UserPoolId=setup.pool_id, ProviderName=unique("S"), ProviderType="SAML",
                                         ProviderDetails=details)
        assert error(exc) == expected
    # Turning encryption off withdraws the certificate.
    updated = idp.update_identity_provider(
        UserPoolId=setup.pool_id, ProviderName="Corp",
        ProviderDetails={"MetadataURL": saml_idp.metadata_url, "EncryptedResponses": "true"})["IdentityProvider"]
    assert updated["ProviderDetails"]["ActiveEncryptionCertificate"]
    updated = idp.update_identity_provider(
        UserPoolId=setup.pool_id, ProviderName="Corp",
        ProviderDetails={"MetadataURL": saml_idp.metadata_url, "EncryptedResponses": "false"})["IdentityProvider"]
    assert "ActiveEncryptionCertificate" not in updated["ProviderDetails"]


# -- single logout --------------------------------------------------------------------------------
def test_single_logout(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp, details={"MetadataURL": saml_idp.metadata_url, "IDPSignout": "true"})
    _sign_in(setup, session_index="idx-42")
    r = setup.session.get(endpoint + "/logout?" + urlencode({"client_id": setup.client["ClientId"],
                                                             "logout_uri": LOGOUT}), allow_redirects=False, timeout=30)
    location = r.headers["Location"]
    assert location.startswith(saml_idp.slo_url + "?")
    request, query = request_from_redirect(location)
    assert request.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutRequest"
    assert request.findtext("{urn:oasis:names:tc:SAML:2.0:assertion}NameID") == "jdoe@corp.example"
    assert request.findtext("{urn:oasis:names:tc:SAML:2.0:protocol}SessionIndex") == "idx-42"
    signed = location.split("?", 1)[1].rsplit("&Signature=", 1)[0].encode()
    cert = x509.load_der_x509_certificate(base64.b64decode(
        idp.get_signing_certificate(UserPoolId=setup.pool_id)["Certificate"]))
    cert.public_key().verify(base64.b64decode(query["Signature"]), signed, padding.PKCS1v15(), hashes.SHA256())
    # The managed-login session is over already.
    again = setup.authorize(identity_provider=None)
    assert again.headers["Location"].startswith("/login?")
    # A LogoutResponse for another request is refused; the right one goes on to logout_uri.
    bad = setup.session.post(endpoint + "/saml2/logout", data={
        "SAMLResponse": saml_idp.logout_response("_other", endpoint + "/saml2/logout"),
        "RelayState": query["RelayState"]}, allow_redirects=False, timeout=30)
    assert bad.status_code == 400 and "InResponseTo is invalid" in bad.text
    _sign_in(setup)
    r = setup.session.get(endpoint + "/logout?" + urlencode({"client_id": setup.client["ClientId"],
                                                             "logout_uri": LOGOUT}), allow_redirects=False, timeout=30)
    request, query = request_from_redirect(r.headers["Location"])
    done = setup.session.post(endpoint + "/saml2/logout", data={
        "SAMLResponse": saml_idp.logout_response(request.get("ID"), endpoint + "/saml2/logout"),
        "RelayState": query["RelayState"]}, allow_redirects=False, timeout=30)
    assert done.status_code == 302 and done.headers["Location"] == LOGOUT
    replay = setup.session.post(endpoint + "/saml2/logout", data={
        "SAMLResponse": saml_idp.logout_response(request.get("ID"), endpoint + "/saml2/logout"),
        "RelayState": query["RelayState"]}, allow_redirects=False, timeout=30)
    assert replay.status_code == 400


def test_logout_without_idp_signout_stays_local(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    _sign_in(setup)
    r = setup.session.get(endpoint + "/logout?" + urlencode({"client_id": setup.client["ClientId"],
                                                             "logout_uri": LOGOUT}), allow_redirects=False, timeout=30)
    assert r.headers["Location"] == LOGOUT


def test_identities_attribute_json(idp, endpoint, saml_idp):
    setup = Setup(idp, endpoint, saml_idp)
    _sign_in(setup)
    user = idp.admin_get_user(UserPoolId=setup.pool_id, Username="Corp_jdoe@corp.example")
    identities = json.loads({a["Name"]: a["Value"] for a in user["UserAttributes"]}["identities"])
    assert identities[0]["providerType"] == "SAML" and identities[0]["primary"] == "true"


# -- managed login: a TOTP code is accepted once ------------------------------------------------
def test_hosted_mfa_page_refuses_reused_totp_code(idp, endpoint, clock):
    import re

    import pyotp
    pool_id = idp.create_user_pool(PoolName=unique("mfa"))["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("login"))
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True},
                                 MfaConfiguration="OPTIONAL")
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName=unique("app"), AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid"],
        AllowedOAuthFlowsUserPoolClient=True, SupportedIdentityProviders=["COGNITO"], CallbackURLs=[CALLBACK],
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    idp.admin_create_user(UserPoolId=pool_id, Username="mfa-user", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username="mfa-user", Password="Passw0rd!Secure", Permanent=True)
    token = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "mfa-user", "PASSWORD": "Passw0rd!Secure"})["AuthenticationResult"]["AccessToken"]
    totp = pyotp.TOTP(idp.associate_software_token(AccessToken=token)["SecretCode"])
    idp.verify_software_token(AccessToken=token, UserCode=totp.at(clock.now()))
    idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    clock.freeze()
    clock.advance(90)
    code = totp.at(clock.now())
    query = urlencode({"response_type": "code", "client_id": client["ClientId"], "redirect_uri": CALLBACK})

    def mfa_page(session: requests.Session):
        page = session.get(endpoint + "/login?" + query, timeout=30)
        xsrf = re.search(r'name="_csrf" value="([^"]+)"', page.text).group(1)
        r = session.post(endpoint + "/login?" + query, allow_redirects=False, timeout=30, data={
            "_csrf": xsrf, "username": "mfa-user", "password": "Passw0rd!Secure"})
        assert r.status_code == 200 and "authenticator app" in r.text
        return re.search(r'name="session" value="([^"]*)"', r.text).group(1)

    first = requests.Session()
    r = first.post(endpoint + "/mfa?" + query, data={"session": mfa_page(first), "code": code},
                   allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "code=" in r.headers["Location"]
    second = requests.Session()
    r = second.post(endpoint + "/mfa?" + query, data={"session": mfa_page(second), "code": code},
                    allow_redirects=False, timeout=30)
    assert r.status_code == 400 and "Your software token has already been used once." in r.text
