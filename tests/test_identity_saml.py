"""SAML logins for identity pools: the Logins key is the IAM SAML provider ARN, the value the
base64 SAMLResponse; the emulator finds the provider's metadata through
COGNITO_EMULATOR_SAML_PROVIDERS and verifies signature, audience and time like AWS."""

from __future__ import annotations

import json

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import boto_client, client_as, emulator_now, error, make_identity_pool, stop_checked, unique
from saml_idp import SamlIdp, new_key_and_cert

ACCOUNT = "000000000000"
SAML_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/Corp"
INLINE_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/Inline"
UNMAPPED_ARN = f"arn:aws:iam::{ACCOUNT}:saml-provider/Unmapped"
AUTH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Authenticated"
UNAUTH_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Unauthenticated"
ADMIN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SamlAdmin"
READER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/SamlReader"
ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
AUDIENCE = "urn:amazon:webservices"
ACS = "https://signin.aws.amazon.com/saml"


@pytest.fixture(scope="module")
def idps():
    main, inline = SamlIdp(), SamlIdp()
    yield main, inline
    main.close()
    inline.close()


@pytest.fixture(scope="module")
def saml_emulator(idps):
    main, inline = idps
    mapping = json.dumps({SAML_ARN: main.metadata_url, INLINE_ARN: inline.metadata()})
    process = EmulatorProcess("--in-memory", env={"COGNITO_EMULATOR_SAML_PROVIDERS": mapping})
    yield process
    stop_checked(process)


@pytest.fixture(scope="module")
def saml_identity(saml_emulator):
    return boto_client("cognito-identity", saml_emulator.url)


def _pool(identity, **kwargs) -> str:
    roles = {"authenticated": AUTH_ROLE, "unauthenticated": UNAUTH_ROLE}
    return make_identity_pool(identity, roles, **{"AllowUnauthenticatedIdentities": False,
                                                  "SamlProviderARNs": [SAML_ARN, INLINE_ARN, UNMAPPED_ARN], **kwargs})


def _response(url: str, idp: SamlIdp, **kw) -> str:
    kw.setdefault("audience", AUDIENCE)
    kw.setdefault("acs", ACS)
    kw.setdefault("now", emulator_now(url))
    return idp.response(**kw)


def _role_of(url: str, creds: dict) -> str:
    arn = client_as("sts", url, creds).get_caller_identity()["Arn"]
    return f"arn:aws:iam::{ACCOUNT}:role/" + arn.split(":assumed-role/", 1)[1].split("/")[0]


def test_saml_login_gets_identity_and_credentials(idps, saml_emulator, saml_identity):
    main, inline = idps
    url = saml_emulator.url
    pool_id = _pool(saml_identity)
    name_id = unique("u") + "@corp.example"
    response = _response(url, main, name_id=name_id)
    identity_id = saml_identity.get_id(IdentityPoolId=pool_id, Logins={SAML_ARN: response})["IdentityId"]
    # The same assertion goes to GetCredentialsForIdentity too, as the SDKs send it.
    creds = saml_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={SAML_ARN: response})
    assert creds["IdentityId"] == identity_id
    assert _role_of(url, creds["Credentials"]) == AUTH_ROLE
    # A later assertion for the same NameID is the same identity.
    again = _response(url, main, name_id=name_id)
    assert saml_identity.get_id(IdentityPoolId=pool_id, Logins={SAML_ARN: again})["IdentityId"] == identity_id
    described = saml_identity.describe_identity(IdentityId=identity_id)
    assert described["Logins"] == [SAML_ARN]
    # Metadata given inline works the same; a response signed by the response only too.
    other = _response(url, inline, name_id=name_id, sign="response")
    other_id = saml_identity.get_id(IdentityPoolId=pool_id, Logins={INLINE_ARN: other})["IdentityId"]
    assert other_id != identity_id


def test_saml_role_mapping_by_token_and_rules(idps, saml_emulator, saml_identity):
    main, _inline = idps
    url = saml_emulator.url
    pool_id = _pool(saml_identity)
    saml_identity.set_identity_pool_roles(
        IdentityPoolId=pool_id, Roles={"authenticated": AUTH_ROLE, "unauthenticated": UNAUTH_ROLE},
        RoleMappings={SAML_ARN: {"Type": "Token", "AmbiguousRoleResolution": "Deny"},
                      INLINE_ARN: {"Type": "Rules", "AmbiguousRoleResolution": "AuthenticatedRole",
                                   "RulesConfiguration": {"Rules": [
                                       {"Claim": "department", "MatchType": "Equals", "Value": "it",
                                        "RoleARN": ADMIN_ROLE}]}}})
    response = _response(url, main, attributes={ROLE_ATTRIBUTE: [f"{READER_ROLE},{SAML_ARN}"]})
    identity_id = saml_identity.get_id(IdentityPoolId=pool_id, Logins={SAML_ARN: response})["IdentityId"]
    creds = saml_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={SAML_ARN: response})
    assert _role_of(url, creds["Credentials"]) == READER_ROLE
    # Two roles: CustomRoleArn chooses; without it the ambiguous Token mapping denies.
    both = _response(url, main, attributes={ROLE_ATTRIBUTE: [f"{SAML_ARN},{ADMIN_ROLE}", f"{READER_ROLE},{SAML_ARN}"]})
    creds = saml_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={SAML_ARN: both},
                                                       CustomRoleArn=ADMIN_ROLE)
    assert _role_of(url, creds["Credentials"]) == ADMIN_ROLE
    with pytest.raises(ClientError) as exc:
        saml_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={SAML_ARN: both})
    assert error(exc) == ("NotAuthorizedException", "The ambiguous role mapping rules denied this request.")
    # Rules read the assertion's attributes.
    _main, inline = idps
    it = _response(url, inline, attributes={"department": "it"})
    other_id = saml_identity.get_id(IdentityPoolId=pool_id, Logins={INLINE_ARN: it})["IdentityId"]
    creds = saml_identity.get_credentials_for_identity(IdentityId=other_id, Logins={INLINE_ARN: it})
    assert _role_of(url, creds["Credentials"]) == ADMIN_ROLE


def test_saml_login_refusals(idps, saml_emulator, saml_identity):
    main, _inline = idps
    url = saml_emulator.url
    pool_id = _pool(saml_identity)
    intruder, _cert = new_key_and_cert("intruder")
    cases = [
        ({SAML_ARN: _response(url, main, key=intruder)},
         "Invalid login token. SAML Assertion signature is invalid."),
        ({SAML_ARN: _response(url, main, sign="none")}, "Invalid login token. SAML Assertion signature is invalid."),
        ({SAML_ARN: _response(url, main, audience="urn:amazon:cognito:sp:us-east-1_x")},
         "Invalid login token. Audience is invalid."),
        ({SAML_ARN: _response(url, main, issuer="http://other.example")}, "Invalid login token. Issuer is invalid."),
        ({SAML_ARN: _response(url, main, now=emulator_now(url) - 600, lifetime=300)},
         "Invalid login token. Assertion is expired."),
        ({SAML_ARN: "%%% not base64"}, "Invalid login token. Invalid base64 SAMLResponse"),
        ({UNMAPPED_ARN: _response(url, main)},
         f"Invalid login token. The emulator cannot verify SAML responses of {UNMAPPED_ARN}; give the identity "
         "provider's metadata with COGNITO_EMULATOR_SAML_PROVIDERS."),
        ({f"arn:aws:iam::{ACCOUNT}:saml-provider/NotInPool": _response(url, main)},
         "Token is not from a supported provider of this identity pool."),
    ]
    for logins, message in cases:
        with pytest.raises(ClientError) as exc:
            saml_identity.get_id(IdentityPoolId=pool_id, Logins=logins)
        assert error(exc) == ("NotAuthorizedException", message), logins


def test_saml_login_expires_with_the_clock(idps, saml_emulator, saml_identity):
    main, _inline = idps
    url = saml_emulator.url
    pool_id = _pool(saml_identity)
    response = _response(url, main, lifetime=300)
    identity_id = saml_identity.get_id(IdentityPoolId=pool_id, Logins={SAML_ARN: response})["IdentityId"]
    requests.post(url + "/_emulator/clock", json={"advance_seconds": 301}, timeout=10)
    try:
        with pytest.raises(ClientError) as exc:
            saml_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={SAML_ARN: response})
        assert error(exc) == ("NotAuthorizedException", "Invalid login token. Assertion is expired.")
    finally:
        requests.post(url + "/_emulator/clock", json={"reset": True}, timeout=10)


def test_saml_role_from_the_assertion_without_a_mapping(idps, saml_emulator, saml_identity):
    main, _inline = idps
    url = saml_emulator.url
    pool_id = _pool(saml_identity)
    response = _response(url, main, attributes={ROLE_ATTRIBUTE: [f"{READER_ROLE},{SAML_ARN}"]})
    identity_id = saml_identity.get_id(IdentityPoolId=pool_id, Logins={SAML_ARN: response})["IdentityId"]
    creds = saml_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={SAML_ARN: response})
    assert _role_of(url, creds["Credentials"]) == READER_ROLE
    both = _response(url, main, attributes={ROLE_ATTRIBUTE: [f"{ADMIN_ROLE},{SAML_ARN}", f"{READER_ROLE},{SAML_ARN}"]})
    creds = saml_identity.get_credentials_for_identity(IdentityId=identity_id, Logins={SAML_ARN: both},
                                                       CustomRoleArn=ADMIN_ROLE)
    assert _role_of(url, creds["Credentials"]) == ADMIN_ROLE
