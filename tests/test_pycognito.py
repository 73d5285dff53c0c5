"""pycognito, unmodified, against the emulator: SRP sign-in with its own token verification
(JWKS from {endpoint}/{pool}/.well-known/jwks.json, issuer {endpoint}/{pool}), refresh, TOTP MFA."""

from __future__ import annotations

import pyotp
import pytest
from botocore.exceptions import ClientError
from helpers import PASSWORD, make_client, make_pool, make_user
from pycognito import Cognito
from pycognito.exceptions import SoftwareTokenMFAChallengeException


def cognito(endpoint: str, pool_id: str, client: dict, username: str, **kwargs) -> Cognito:
    return Cognito(pool_id, client["ClientId"], username=username,
                   boto3_client_kwargs={"endpoint_url": endpoint, "region_name": "us-east-1",
                                        "aws_access_key_id": "x", "aws_secret_access_key": "x"}, **kwargs)


@pytest.fixture
def account(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"email": "py@example.com", "email_verified": "true"})
    return pool_id, client, username


def test_authenticate_and_verify(endpoint, account):
    pool_id, client, username = account
    user = cognito(endpoint, pool_id, client, username)
    user.authenticate(PASSWORD)
    assert user.id_claims["cognito:username"] == username
    assert user.id_claims["email_verified"] is True
    assert user.access_claims["username"] == username
    user.verify_tokens()
    assert user.get_user().username == username


def test_wrong_password(endpoint, account):
    pool_id, client, username = account
    user = cognito(endpoint, pool_id, client, username)
    with pytest.raises(ClientError) as e:
        user.authenticate("Wrong0ne!")
    assert e.value.response["Error"]["Code"] == "NotAuthorizedException"
    assert e.value.response["Error"]["Message"] == "Incorrect username or password."


def test_renew_access_token(endpoint, account, clock):
    pool_id, client, username = account
    user = cognito(endpoint, pool_id, client, username)
    user.authenticate(PASSWORD)
    before = user.access_claims
    user.renew_access_token()
    assert user.access_claims["jti"] != before["jti"]
    assert user.access_claims["origin_jti"] == before["origin_jti"]
    assert user.refresh_token  # kept: refresh returns none


def test_secret_client(endpoint, idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, GenerateSecret=True)
    username = make_user(idp, pool_id)
    user = cognito(endpoint, pool_id, client, username, client_secret=client["ClientSecret"])
    user.authenticate(PASSWORD)
    user.renew_access_token()
    user.verify_tokens()


def test_admin_authenticate_and_logout(endpoint, account):
    pool_id, client, username = account
    user = cognito(endpoint, pool_id, client, username)
    user.admin_authenticate(PASSWORD)
    user.verify_tokens()
    token = user.access_token
    user.logout()
    other = cognito(endpoint, pool_id, client, username, access_token=token)
    with pytest.raises(ClientError) as e:
        other.get_user()
    assert e.value.response["Error"]["Message"] == "Access Token has been revoked"


def test_new_password_challenge(endpoint, idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, password="Temp0rary!x", permanent=False)
    user = cognito(endpoint, pool_id, client, username)
    user.new_password_challenge("Temp0rary!x", "N3wPassword!")
    user.verify_tokens()
    cognito(endpoint, pool_id, client, username).authenticate("N3wPassword!")


def test_totp_mfa(endpoint, idp, clock):
    pool_id = make_pool(idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    user = cognito(endpoint, pool_id, client, username)
    user.authenticate(PASSWORD)
    secret = user.associate_software_token()
    user.verify_software_token(pyotp.TOTP(secret).now(), "phone")
    user.set_user_mfa_preference(sms_mfa=False, software_token_mfa=True, preferred="SOFTWARE_TOKEN")
    clock.advance(60)
    again = cognito(endpoint, pool_id, client, username)
    with pytest.raises(SoftwareTokenMFAChallengeException):
        again.authenticate(PASSWORD)
    again.respond_to_software_token_mfa_challenge(pyotp.TOTP(secret).at(clock.now()))
    assert again.access_claims["username"] == username
