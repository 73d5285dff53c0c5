"""Passkeys with a software authenticator (EC P-256, attestation "none" and "packed"):
StartWebAuthnRegistration, CompleteWebAuthnRegistration, ListWebAuthnCredentials,
DeleteWebAuthnCredential, GetUserAuthFactors, and a USER_AUTH passkey sign-in."""

from __future__ import annotations

import base64
import hashlib
import json
import os

import cbor2
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from helpers import AUTH_FLOWS, admin_sign_in, b64url, error, make_user, pool_and_client

RP_ID = "localhost"
ORIGIN = "http://localhost:3000"


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Authenticator:
    """A platform authenticator in software: one P-256 credential."""

    def __init__(self, origin: str = ORIGIN) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(16)
        self.origin = origin
        self.sign_count = 0

    def _cose(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                            -3: numbers.y.to_bytes(32, "big")})

    def _sign(self, data: bytes) -> bytes:
        return self.key.sign(data, ec.ECDSA(hashes.SHA256()))

    def register(self, options: dict, fmt: str = "none", rp_id: str | None = None,
                 origin: str | None = None) -> dict:
        rp_id = rp_id or options["rp"]["id"]
        client_data = json.dumps({"type": "webauthn.create", "challenge": options["challenge"],
                                  "origin": origin or self.origin, "crossOrigin": False}).encode()
        auth_data = (hashlib.sha256(rp_id.encode()).digest() + bytes([0x45]) + (0).to_bytes(4, "big")
                     + bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id + self._cose())
        if fmt == "packed":
            statement = {"alg": -7, "sig": self._sign(auth_data + hashlib.sha256(client_data).digest())}
        else:
            statement = {}
        attestation = cbor2.dumps({"fmt": fmt, "attStmt": statement, "authData": auth_data})
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                             "transports": ["internal", "hybrid"]},
                "authenticatorAttachment": "platform", "clientExtensionResults": {}}

    def assertion(self, options: dict, user_handle: bytes | None = None) -> dict:
        self.sign_count += 1
        rp_id = options["rpId"]
        client_data = json.dumps({"type": "webauthn.get", "challenge": options["challenge"],
                                  "origin": self.origin, "crossOrigin": False}).encode()
        auth_data = hashlib.sha256(rp_id.encode()).digest() + bytes([0x05]) + self.sign_count.to_bytes(4, "big")
        signature = self._sign(auth_data + hashlib.sha256(client_data).digest())
        response = {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                    "signature": b64url(signature)}
        if user_handle:
            response["userHandle"] = b64url(user_handle)
        return {"id": b64url(self.credential_id), "rawId": b64url(self.credential_id), "type": "public-key",
                "response": response, "authenticatorAttachment": "platform", "clientExtensionResults": {}}


def passkey_pool(idp, rp_id: str | None = RP_ID, factors: list[str] | None = None) -> tuple[dict, dict]:
    pool, client = pool_and_client(idp, AUTH_FLOWS + ["ALLOW_USER_AUTH"], Policies={"SignInPolicy": {
        "AllowedFirstAuthFactors": factors or ["PASSWORD", "WEB_AUTHN"]}})
    if rp_id:
        idp.set_user_pool_mfa_config(UserPoolId=pool["Id"], MfaConfiguration="OFF",
                                     WebAuthnConfiguration={"RelyingPartyId": rp_id, "UserVerification": "preferred"})
    return pool, client


def user_token(idp, pool: dict, client: dict) -> tuple[str, str]:
    username = make_user(idp, pool["Id"], attributes={"email": "pk@example.com"})
    return username, admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]


def registration_started(idp) -> tuple[str, dict]:
    """(access token, creation options) of a new user of a new passkey pool who began registering."""
    pool, client = passkey_pool(idp)
    _username, token = user_token(idp, pool, client)
    return token, idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]


def register(idp, token: str, authenticator: Authenticator, fmt: str = "none") -> dict:
    options = idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    idp.complete_web_authn_registration(AccessToken=token, Credential=authenticator.register(options, fmt))
    return options


@pytest.mark.parametrize("fmt", ["none", "packed"])
def test_register_list_delete(idp, fmt):
    pool, client = passkey_pool(idp)
    username, token = user_token(idp, pool, client)
    authenticator = Authenticator()
    options = register(idp, token, authenticator, fmt)
    assert options["rp"]["id"] == RP_ID
    assert options["user"]["name"] == username
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert {"type": "public-key", "alg": -7} in options["pubKeyCredParams"]
    creds = idp.list_web_authn_credentials(AccessToken=token)["Credentials"]
    assert len(creds) == 1
    cred = creds[0]
    assert cred["CredentialId"] == b64url(authenticator.credential_id)
    assert cred["RelyingPartyId"] == RP_ID
    assert cred["AuthenticatorAttachment"] == "platform"
    assert cred["AuthenticatorTransports"] == ["internal", "hybrid"]
    assert cred["FriendlyCredentialName"]
    factors = idp.get_user_auth_factors(AccessToken=token)
    assert factors["Username"] == username
    assert factors["ConfiguredUserAuthFactors"] == ["PASSWORD", "WEB_AUTHN"]
    # a second start excludes the registered credential
    again = idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    assert [c["id"] for c in again["excludeCredentials"]] == [cred["CredentialId"]]
    idp.delete_web_authn_credential(AccessToken=token, CredentialId=cred["CredentialId"])
    assert idp.list_web_authn_credentials(AccessToken=token)["Credentials"] == []
    assert idp.get_user_auth_factors(AccessToken=token)["ConfiguredUserAuthFactors"] == ["PASSWORD"]
    with pytest.raises(ClientError) as exc:
        idp.delete_web_authn_credential(AccessToken=token, CredentialId=cred["CredentialId"])
    assert error(exc) == ("ResourceNotFoundException", "Credential not found.")


def test_relying_party_from_domain(idp):
    pool, client = passkey_pool(idp, rp_id=None)
    prefix = "pk" + os.urandom(5).hex()
    idp.create_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix)
    _username, token = user_token(idp, pool, client)
    options = idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    assert options["rp"]["id"] == f"{prefix}.auth.us-east-1.amazoncognito.com"


def test_passkeys_not_enabled(idp):
    pool, client = passkey_pool(idp, factors=["PASSWORD"])
    _username, token = user_token(idp, pool, client)
    with pytest.raises(ClientError) as exc:
        idp.start_web_authn_registration(AccessToken=token)
    assert error(exc) == ("WebAuthnNotEnabledException", "WebAuthn is not enabled for this user pool.")


def test_relying_party_missing(idp):
    pool, client = passkey_pool(idp, rp_id=None)
    _username, token = user_token(idp, pool, client)
    with pytest.raises(ClientError) as exc:
        idp.start_web_authn_registration(AccessToken=token)
    assert error(exc) == ("WebAuthnConfigurationMissingException",
                          "WebAuthn relying party ID is not configured for this user pool.")


def test_complete_without_start(idp):
    pool, client = passkey_pool(idp)
    _username, token = user_token(idp, pool, client)
    fake = {"rp": {"id": RP_ID}, "challenge": b64url(os.urandom(32))}
    with pytest.raises(ClientError) as exc:
        idp.complete_web_authn_registration(AccessToken=token, Credential=Authenticator().register(fake))
    assert error(exc) == ("WebAuthnChallengeNotFoundException",
                          "No WebAuthn registration challenge was found for the user.")


def test_registration_challenge_expires(idp, clock):
    pool, client = passkey_pool(idp)
    _username, token = user_token(idp, pool, client)
    options = idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    clock.advance(181)
    fresh = admin_sign_in(idp, pool["Id"], client["ClientId"], _username)["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.complete_web_authn_registration(AccessToken=fresh, Credential=Authenticator().register(options))
    assert error(exc)[0] == "WebAuthnChallengeNotFoundException"


def test_wrong_origin(idp):
    token, options = registration_started(idp)
    with pytest.raises(ClientError) as exc:
        idp.complete_web_authn_registration(
            AccessToken=token, Credential=Authenticator().register(options, origin="https://evil.example"))
    assert error(exc) == ("WebAuthnOriginNotAllowedException",
                          "The origin https://evil.example is not allowed for relying party localhost.")


def test_wrong_relying_party_hash(idp):
    token, options = registration_started(idp)
    with pytest.raises(ClientError) as exc:
        idp.complete_web_authn_registration(
            AccessToken=token, Credential=Authenticator().register(options, rp_id="example.com"))
    assert error(exc) == ("WebAuthnRelyingPartyMismatchException",
                          "The relying party ID does not match the user pool configuration.")


def test_bad_packed_signature(idp):
    token, options = registration_started(idp)
    credential = Authenticator().register(options, "packed")
    attestation = cbor2.loads(unb64url(credential["response"]["attestationObject"]))
    attestation["attStmt"]["sig"] = Authenticator()._sign(b"something else")
    credential["response"]["attestationObject"] = b64url(cbor2.dumps(attestation))
    with pytest.raises(ClientError) as exc:
        idp.complete_web_authn_registration(AccessToken=token, Credential=credential)
    code, message = error(exc)
    assert code == "InvalidParameterException"
    assert message.startswith("Invalid WebAuthn credential")
    assert idp.list_web_authn_credentials(AccessToken=token)["Credentials"] == []


def test_list_pagination(idp):
    pool, client = passkey_pool(idp)
    _username, token = user_token(idp, pool, client)
    ids = set()
    for _ in range(3):
        authenticator = Authenticator()
        register(idp, token, authenticator)
        ids.add(b64url(authenticator.credential_id))
    page = idp.list_web_authn_credentials(AccessToken=token, MaxResults=2)
    assert len(page["Credentials"]) == 2
    rest = idp.list_web_authn_credentials(AccessToken=token, MaxResults=2, NextToken=page["NextToken"])
    assert "NextToken" not in rest
    assert {c["CredentialId"] for c in page["Credentials"] + rest["Credentials"]} == ids


def test_passkey_sign_in(idp):
    pool, client = passkey_pool(idp)
    username, token = user_token(idp, pool, client)
    authenticator = Authenticator()
    register(idp, token, authenticator)
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                              AuthParameters={"USERNAME": username, "PREFERRED_CHALLENGE": "WEB_AUTHN"})
    assert start["ChallengeName"] == "WEB_AUTHN"
    options = json.loads(start["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    assert options["rpId"] == RP_ID
    done = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="WEB_AUTHN", Session=start["Session"],
        ChallengeResponses={"USERNAME": username, "CREDENTIAL": json.dumps(authenticator.assertion(options))})
    assert "AccessToken" in done["AuthenticationResult"]


def test_passkey_sign_in_wrong_key(idp):
    pool, client = passkey_pool(idp)
    username, token = user_token(idp, pool, client)
    authenticator = Authenticator()
    register(idp, token, authenticator)
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                              AuthParameters={"USERNAME": username, "PREFERRED_CHALLENGE": "WEB_AUTHN"})
    options = json.loads(start["ChallengeParameters"]["CREDENTIAL_REQUEST_OPTIONS"])
    impostor = Authenticator()
    impostor.credential_id = authenticator.credential_id
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(
            ClientId=client["ClientId"], ChallengeName="WEB_AUTHN", Session=start["Session"],
            ChallengeResponses={"USERNAME": username, "CREDENTIAL": json.dumps(impostor.assertion(options))})
    assert error(exc)[0] == "NotAuthorizedException"


def test_admin_delete_user_removes_passkeys(idp):
    pool, client = passkey_pool(idp)
    username, token = user_token(idp, pool, client)
    register(idp, token, Authenticator())
    idp.admin_delete_user(UserPoolId=pool["Id"], Username=username)
    make_user(idp, pool["Id"], username)
    fresh = admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]
    assert idp.list_web_authn_credentials(AccessToken=fresh)["Credentials"] == []


def test_same_credential_twice_and_the_passkey_quota(idp):
    pool, client = passkey_pool(idp)
    _username, token = user_token(idp, pool, client)
    authenticator = Authenticator()
    register(idp, token, authenticator)
    options = idp.start_web_authn_registration(AccessToken=token)["CredentialCreationOptions"]
    with pytest.raises(ClientError) as exc:
        idp.complete_web_authn_registration(AccessToken=token, Credential=authenticator.register(options))
    assert error(exc) == ("InvalidParameterException", "The WebAuthn credential is already registered.")
    for _ in range(19):
        register(idp, token, Authenticator())
    assert len(idp.list_web_authn_credentials(AccessToken=token, MaxResults=20)["Credentials"]) == 20
    with pytest.raises(ClientError) as exc:
        idp.start_web_authn_registration(AccessToken=token)
    assert error(exc) == ("LimitExceededException", "The maximum number of passkeys has been reached.")
