"""The in-process mode and the pytest fixtures users get from the package."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

CREDS = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "y"}


def test_mock_answers_boto3_without_a_socket(cognito_mock):
    idp = boto3.client("cognito-idp", **CREDS)
    pool = idp.create_user_pool(PoolName="mocked")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="c",
                                         ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                            "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    idp.admin_create_user(UserPoolId=pool, Username="bob", TemporaryPassword="Passw0rd!x", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool, Username="bob", Password="Passw0rd!y", Permanent=True)
    with pytest.raises(ClientError) as err:
        idp.admin_initiate_auth(UserPoolId=pool, ClientId=client, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": "bob", "PASSWORD": "wrong-Passw0rd!"})
    assert err.value.response["Error"]["Code"] == "NotAuthorizedException"
    result = idp.admin_initiate_auth(UserPoolId=pool, ClientId=client, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": "bob", "PASSWORD": "Passw0rd!y"})
    token = result["AuthenticationResult"]["AccessToken"]
    assert idp.get_user(AccessToken=token)["Username"] == "bob"
    sync = boto3.client("cognito-sync", **CREDS)
    assert sync.list_identity_pool_usage()["IdentityPoolUsages"] == []


def test_mock_state_is_fresh_per_test(cognito_mock):
    idp = boto3.client("cognito-idp", **CREDS)
    assert idp.list_user_pools(MaxResults=10)["UserPools"] == []


def test_plugin_server_messages_and_clock(cognito_emulator):
    idp = boto3.client("cognito-idp", endpoint_url=cognito_emulator.url, **CREDS)
    pool = idp.create_user_pool(PoolName="plugin", AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"]["ClientId"]
    idp.sign_up(ClientId=client, Username="carol", Password="Passw0rd!",
                UserAttributes=[{"Name": "email", "Value": "carol@example.com"}])
    code = cognito_emulator.last_code(pool_id=pool, username="carol")
    assert code and len(code) == 6
    cognito_emulator.advance_clock(25 * 3600)  # sign-up codes live 24 hours
    with pytest.raises(ClientError) as err:
        idp.confirm_sign_up(ClientId=client, Username="carol", ConfirmationCode=code)
    assert err.value.response["Error"]["Code"] == "ExpiredCodeException"
    cognito_emulator.reset_clock()
