"""STS on the emulator's port: the basic (classic) flow GetId -> GetOpenIdToken ->
AssumeRoleWithWebIdentity through boto3's sts client, GetCallerIdentity, and errors."""

from __future__ import annotations

import re

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import boto_client, error, make_identity_pool, unique
from test_identity_flows import OIDC_A, oidc, oidc_emulator, sign_in  # noqa: F401 (fixtures)

ROLE = "arn:aws:iam::000000000000:role/classic-role"


@pytest.fixture(scope="module")
def sts(endpoint):
    return boto_client("sts", endpoint)


def classic_pool(identity, **kwargs) -> str:
    return make_identity_pool(identity, AllowClassicFlow=True, **kwargs)


def caller_arn(endpoint: str, creds: dict) -> str:
    client = boto_client("sts", endpoint, access_key=creds["AccessKeyId"], secret_key=creds["SecretAccessKey"],
                         session_token=creds["SessionToken"])
    return client.get_caller_identity()["Arn"]


def test_basic_flow_guest(identity, sts, clock, endpoint):
    pool_id = classic_pool(identity)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    token = identity.get_open_id_token(IdentityId=identity_id)["Token"]
    got = sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="web-session", WebIdentityToken=token)
    creds = got["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and len(creds["AccessKeyId"]) == 20
    assert creds["SecretAccessKey"] and creds["SessionToken"]
    assert abs(creds["Expiration"].timestamp() - (clock.now() + 3600)) < 10
    assert got["SubjectFromWebIdentityToken"] == identity_id
    assert got["Audience"] == pool_id
    assert got["Provider"] == "cognito-identity.amazonaws.com"
    assert got["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/classic-role/web-session"
    assert got["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    assert got["AssumedRoleUser"]["AssumedRoleId"].endswith(":web-session")
    assert caller_arn(endpoint, creds) == "arn:aws:sts::000000000000:assumed-role/classic-role/web-session"


def test_basic_flow_developer_identity(identity, sts):
    pool_id = classic_pool(identity, DeveloperProviderName="login.classic")
    got = identity.get_open_id_token_for_developer_identity(IdentityPoolId=pool_id,
                                                            Logins={"login.classic": unique("u")})
    answer = sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="dev", WebIdentityToken=got["Token"],
                                               DurationSeconds=900)
    assert answer["SubjectFromWebIdentityToken"] == got["IdentityId"]
    creds = answer["Credentials"]
    claims = jwt.decode(got["Token"], options={"verify_signature": False})
    assert abs(creds["Expiration"].timestamp() - claims["iat"] - 900) < 10


def test_user_pool_id_token_accepted(idp, sts):
    user = sign_in(idp)
    got = sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="up", WebIdentityToken=user["id_token"])
    claims = jwt.decode(user["id_token"], options={"verify_signature": False})
    assert got["SubjectFromWebIdentityToken"] == claims["sub"]
    assert got["Audience"] == user["client_id"]
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="up", WebIdentityToken=user["access_token"])
    assert error(exc)[0] == "InvalidIdentityToken"


def test_basic_flow_with_user_pool_sign_in(idp, identity, sts, endpoint):
    user = sign_in(idp)
    pool_id = identity.create_identity_pool(
        IdentityPoolName=unique("classic"), AllowUnauthenticatedIdentities=False, AllowClassicFlow=True,
        CognitoIdentityProviders=[{"ProviderName": user["provider"], "ClientId": user["client_id"]}])["IdentityPoolId"]
    logins = {user["provider"]: user["id_token"]}
    identity_id = identity.get_id(IdentityPoolId=pool_id, Logins=logins)["IdentityId"]
    token = identity.get_open_id_token(IdentityId=identity_id, Logins=logins)["Token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    sub = jwt.decode(user["id_token"], options={"verify_signature": False})["sub"]
    assert claims["amr"] == ["authenticated", user["provider"], f"{user['provider']}:CognitoSignIn:{sub}"]
    got = sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="app-user", WebIdentityToken=token)
    assert got["SubjectFromWebIdentityToken"] == identity_id
    assert caller_arn(endpoint, got["Credentials"]) == \
        "arn:aws:sts::000000000000:assumed-role/classic-role/app-user"
    # The OpenID token stands for the identity's logins in later calls.
    again = identity.get_open_id_token(IdentityId=identity_id, Logins={"cognito-identity.amazonaws.com": token})
    assert jwt.decode(again["Token"], options={"verify_signature": False})["amr"] == claims["amr"]


def test_expired_token(identity, sts, clock):
    pool_id = classic_pool(identity)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    token = identity.get_open_id_token(IdentityId=identity_id)["Token"]
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    now = int(clock.advance(601)["epoch"])
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="late", WebIdentityToken=token)
    # STS's wording (e.g. aws/aws-sdk-java-v2#5709).
    code, message = error(exc)
    assert code == "ExpiredTokenException"
    match = re.fullmatch(r"Token expired: current date/time (\d+) must be before the expiration date/time (\d+)",
                         message)
    assert match, message
    assert now <= int(match.group(1)) <= now + 5 and int(match.group(2)) == exp


def test_forged_token(identity, sts):
    pool_id = classic_pool(identity)
    identity_id = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    token = identity.get_open_id_token(IdentityId=identity_id)["Token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": "us-east-1:00000000-0000-0000-0000-000000000000"},
                        rsa.generate_private_key(public_exponent=65537, key_size=2048), algorithm="RS512",
                        headers={"kid": jwt.get_unverified_header(token)["kid"]})
    message = ("The web identity token that was passed could not be validated by AWS. Get a new identity token "
               "from the identity provider and then retry the request.")
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="forged", WebIdentityToken=forged)
    assert error(exc) == ("InvalidIdentityToken", message)
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="junk", WebIdentityToken="not-a-jwt")
    assert error(exc) == ("InvalidIdentityToken", message)


def test_unknown_issuer(sts):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode({"iss": "https://issuer.unknown.test", "sub": "x", "aud": "y", "exp": 4102444800}, key,
                       algorithm="RS256")
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="sess", WebIdentityToken=token)
    assert error(exc) == ("InvalidIdentityToken",
                          "No OpenIDConnect provider found in your account for https://issuer.unknown.test")


def test_invalid_role_arn(identity, sts):
    pool_id = classic_pool(identity)
    token = identity.get_open_id_token(IdentityId=identity.get_id(IdentityPoolId=pool_id)["IdentityId"])["Token"]
    with pytest.raises(ClientError) as exc:
        sts.assume_role_with_web_identity(RoleArn="arn:aws:s3:::not-a-role-arn", RoleSessionName="sess",
                                          WebIdentityToken=token)
    assert error(exc) == ("ValidationError", "Request ARN is invalid")


def test_validation_errors_over_the_wire(endpoint):
    r = requests.post(endpoint + "/", data={"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                            "RoleSessionName": "s", "WebIdentityToken": "abcdef"}, timeout=10)
    assert r.status_code == 400
    assert "<Code>ValidationError</Code>" in r.text
    assert "Value null at &apos;roleArn&apos; failed to satisfy constraint: Member must not be null" in r.text \
        or "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in r.text
    r = requests.post(endpoint + "/", data={"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                            "RoleArn": ROLE, "RoleSessionName": "bad session!",
                                            "WebIdentityToken": "abcdef", "DurationSeconds": "60"}, timeout=10)
    assert r.status_code == 400
    assert "2 validation errors detected" in r.text
    r = requests.post(endpoint + "/", data={"Action": "AssumeRoleWithWebIdentity", "Version": "2011-06-15",
                                            "RoleArn": ROLE, "RoleSessionName": "s", "WebIdentityToken": "abcdef",
                                            "DurationSeconds": "soon"}, timeout=10)
    assert r.status_code == 400 and "<Code>ValidationError</Code>" in r.text
    assert "Value &apos;soon&apos; at &apos;durationSeconds&apos; failed to satisfy constraint: Member must be a " \
        "number" in r.text.replace("'", "&apos;")


def test_other_actions_are_refused_clearly(sts, endpoint):
    with pytest.raises(ClientError) as exc:
        sts.assume_role(RoleArn=ROLE, RoleSessionName="sess")
    assert error(exc) == ("NotImplemented", "STS action AssumeRole is not implemented by cognito-emulator; only "
                          "AssumeRoleWithWebIdentity and GetCallerIdentity are.")
    r = requests.post(endpoint + "/", data={"Action": "Bogus", "Version": "2011-06-15"}, timeout=10)
    assert r.status_code == 400
    assert "<Code>InvalidAction</Code>" in r.text
    assert "Could not find operation Bogus for version 2011-06-15" in r.text


def test_caller_identity_of_developer_credentials(sts):
    got = sts.get_caller_identity()
    assert got["Account"] == "000000000000"
    assert got["Arn"] == "arn:aws:iam::000000000000:root"


def test_expired_credentials_refused_by_get_caller_identity(identity, sts, clock, endpoint):
    pool_id = classic_pool(identity)
    token = identity.get_open_id_token(IdentityId=identity.get_id(IdentityPoolId=pool_id)["IdentityId"])["Token"]
    creds = sts.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="sess", WebIdentityToken=token)[
        "Credentials"]
    wrong = dict(creds, SessionToken="bm90IHRoZSByaWdodCB0b2tlbg==")
    with pytest.raises(ClientError) as exc:
        caller_arn(endpoint, wrong)
    assert error(exc) == ("InvalidClientTokenId", "The security token included in the request is invalid.")
    clock.advance(3601)
    with pytest.raises(ClientError) as exc:
        caller_arn(endpoint, creds)
    assert error(exc) == ("ExpiredToken", "The security token included in the request is expired")


def test_oidc_token_through_sts(oidc, oidc_emulator):  # noqa: F811
    client = boto_client("sts", oidc_emulator.url)
    token = oidc.token(OIDC_A, "olivia")
    got = client.assume_role_with_web_identity(RoleArn=ROLE, RoleSessionName="oidc", WebIdentityToken=token)
    assert got["SubjectFromWebIdentityToken"] == "olivia"
    assert got["Provider"] == OIDC_A
    assert got["Audience"] == "my-client"
