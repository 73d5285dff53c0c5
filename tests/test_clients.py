"""App clients: defaults, secrets, validity bounds, OAuth settings, update semantics, listing."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from helpers import error, unique


def test_client_defaults(idp, pool_id):
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="web")["UserPoolClient"]
    assert re.fullmatch(r"[a-z0-9]{26}", client["ClientId"])
    assert "ClientSecret" not in client
    # AWS lists neither the default flows nor PreventUserExistenceErrors for a client created without them.
    assert "ExplicitAuthFlows" not in client
    assert "PreventUserExistenceErrors" not in client
    assert client["RefreshTokenValidity"] == 30
    assert client["TokenValidityUnits"] == {}
    assert client["EnablePropagateAdditionalUserContextData"] is False
    assert "AccessTokenValidity" not in client and "IdTokenValidity" not in client
    assert client["EnableTokenRevocation"] is True
    assert client["AuthSessionValidity"] == 3
    assert client["AllowedOAuthFlowsUserPoolClient"] is False
    assert client["UserPoolId"] == pool_id
    assert idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])["UserPoolClient"] == client


def test_generated_and_given_secret(idp, pool_id):
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="s", GenerateSecret=True)["UserPoolClient"]
    assert re.fullmatch(r"[a-z0-9]{51}", client["ClientSecret"])
    given = "a" * 40
    other = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="g", ClientSecret=given)["UserPoolClient"]
    assert other["ClientSecret"] == given


def test_client_secret_rotation(idp, pool_id):
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="s", GenerateSecret=True)["UserPoolClient"]
    cid = client["ClientId"]
    first = idp.list_user_pool_client_secrets(UserPoolId=pool_id, ClientId=cid)["ClientSecrets"]
    assert len(first) == 1 and "ClientSecretValue" not in first[0]
    added = idp.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid)["ClientSecretDescriptor"]
    assert re.fullmatch(r"[a-z0-9]{51}", added["ClientSecretValue"])
    with pytest.raises(ClientError) as exc:
        idp.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid)
    assert error(exc) == ("LimitExceededException", "A client can have at most 2 client secrets.")
    idp.delete_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid, ClientSecretId=added["ClientSecretId"])
    with pytest.raises(ClientError) as exc:
        idp.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid, ClientSecret=client["ClientSecret"])
    assert error(exc) == ("InvalidParameterException", "The client secret already exists for this client.")
    added = idp.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid)["ClientSecretDescriptor"]
    idp.delete_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid, ClientSecretId=first[0]["ClientSecretId"])
    now = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=cid)["UserPoolClient"]
    assert now["ClientSecret"] == added["ClientSecretValue"]
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid,
                                           ClientSecretId=added["ClientSecretId"])
    assert error(exc) == ("InvalidParameterException", "The last client secret of a client cannot be deleted.")
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid, ClientSecretId="nope")
    assert error(exc) == ("ResourceNotFoundException", "Client secret nope does not exist.")
    public = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="p")["UserPoolClient"]
    with pytest.raises(ClientError) as exc:
        idp.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=public["ClientId"])
    assert error(exc) == ("InvalidParameterException",
                          "Client secrets can only be added to a client that has a client secret.")


def test_unknown_client(idp, pool_id):
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool_client(UserPoolId=pool_id, ClientId="abcdefghijklmnopqrstuvwxyz")
    assert error(exc) == ("ResourceNotFoundException", "User pool client abcdefghijklmnopqrstuvwxyz does not exist.")
    other = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=other, ClientName="x")["UserPoolClient"]
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"])
    assert error(exc) == ("ResourceNotFoundException", f"User pool client {client['ClientId']} does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId="us-east-1_Nope12345", ClientName="x")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_Nope12345 does not exist.")


def test_explicit_auth_flows(idp, pool_id):
    legacy = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="l",
                                         ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH"])["UserPoolClient"]
    assert legacy["ExplicitAuthFlows"] == ["ADMIN_NO_SRP_AUTH"]
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId=pool_id, ClientName="m",
                                    ExplicitAuthFlows=["ADMIN_NO_SRP_AUTH", "ALLOW_USER_SRP_AUTH"])
    assert error(exc) == ("InvalidParameterException",
                          "Legacy explicit auth flows (ADMIN_NO_SRP_AUTH, CUSTOM_AUTH_FLOW_ONLY, USER_PASSWORD_AUTH) "
                          "cannot be combined with ALLOW_ prefixed flows.")


def test_token_validity_bounds(idp, pool_id):
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="v", AccessTokenValidity=5, IdTokenValidity=24, RefreshTokenValidity=60,
        TokenValidityUnits={"AccessToken": "minutes", "IdToken": "hours", "RefreshToken": "minutes"},
        AuthSessionValidity=15)["UserPoolClient"]
    assert client["AccessTokenValidity"] == 5
    assert client["TokenValidityUnits"] == {"AccessToken": "minutes", "IdToken": "hours", "RefreshToken": "minutes"}
    assert client["AuthSessionValidity"] == 15
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId=pool_id, ClientName="v", AccessTokenValidity=2,
                                    TokenValidityUnits={"AccessToken": "days"})
    assert error(exc) == ("InvalidParameterException", "Invalid range for token validity.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId=pool_id, ClientName="v", RefreshTokenValidity=3651)
    assert error(exc) == ("InvalidParameterException", "Invalid range for token validity.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId=pool_id, ClientName="v", IdTokenValidity=4,
                                    TokenValidityUnits={"IdToken": "minutes"})
    assert error(exc) == ("InvalidParameterException", "Invalid range for token validity.")
    # Units are echoed as given; a value without units is in the default unit (hours) and units stay {}.
    partial = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="p", AccessTokenValidity=3,
                                          IdTokenValidity=10, TokenValidityUnits={"IdToken": "minutes"})
    assert partial["UserPoolClient"]["TokenValidityUnits"] == {"IdToken": "minutes"}
    hours = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="h", AccessTokenValidity=3)
    assert hours["UserPoolClient"]["TokenValidityUnits"] == {}
    assert hours["UserPoolClient"]["AccessTokenValidity"] == 3


def test_oauth_settings(idp, pool_id):
    idp.create_resource_server(UserPoolId=pool_id, Identifier="api", Name="API",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "r"}])
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="o", AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"],
        AllowedOAuthScopes=["openid", "email", "api/read"], CallbackURLs=["https://app.example.com/cb",
                                                                          "http://localhost:3000/cb", "myapp://cb"],
        LogoutURLs=["https://app.example.com/out"], SupportedIdentityProviders=["COGNITO"],
        DefaultRedirectURI="https://app.example.com/cb")["UserPoolClient"]
    assert client["AllowedOAuthScopes"] == ["openid", "email", "api/read"]
    # Plain HTTP is accepted for localhost and the loopback IP literals.
    loop = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="l", CallbackURLs=[
        "http://127.0.0.1:8080/cb", "http://[::1]:9000/cb", "http://localhost/cb"])["UserPoolClient"]
    assert len(loop["CallbackURLs"]) == 3
    cases = [
        (dict(AllowedOAuthFlows=["code"], AllowedOAuthScopes=["api/write"], CallbackURLs=["https://a.example/cb"]),
         ("ScopeDoesNotExistException", "Invalid scope requested: api/write")),
        (dict(AllowedOAuthFlows=["code"], AllowedOAuthScopes=["openid"]),
         ("InvalidOAuthFlowException", "CallbackUrls can not be empty when code flow or implicit flow is selected")),
        (dict(AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["api/read"]),
         ("InvalidOAuthFlowException",
          "client_credentials flow can not be selected if client does not have a client secret.")),
        (dict(CallbackURLs=["http://app.example.com/cb"]),
         ("InvalidParameterException", "Callback URL http://app.example.com/cb is invalid. "
                                       "HTTPS is required over HTTP except for http://localhost.")),
        (dict(CallbackURLs=["https://app.example.com/cb#frag"]),
         ("InvalidParameterException", "Callback URL https://app.example.com/cb#frag is invalid. "
                                       "It must be an absolute URL without a fragment.")),
        (dict(CallbackURLs=["https://a.example/cb"], DefaultRedirectURI="https://b.example/cb"),
         ("InvalidParameterException", "DefaultRedirectURI should be one of the CallbackURLs.")),
        (dict(SupportedIdentityProviders=["Google"]),
         ("InvalidParameterException", f"The provider Google does not exist for User Pool {pool_id}")),
        (dict(ReadAttributes=["custom:nope"]),
         ("InvalidParameterException", "Invalid read attributes specified while creating a client")),
        (dict(AllowedOAuthFlowsUserPoolClient=True, CallbackURLs=["https://a.example/cb"]),
         ("InvalidOAuthFlowException", "AllowedOAuthFlows and AllowedOAuthScopes are required if user pool "
                                       "client is allowed to use OAuth flows.")),
        (dict(AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["code"], CallbackURLs=["https://a.example/cb"]),
         ("InvalidOAuthFlowException", "AllowedOAuthFlows and AllowedOAuthScopes are required if user pool "
                                       "client is allowed to use OAuth flows.")),
        (dict(GenerateSecret=True, AllowedOAuthFlows=["client_credentials", "code"], AllowedOAuthScopes=["api/read"],
              CallbackURLs=["https://a.example/cb"]),
         ("InvalidOAuthFlowException",
          "client_credentials flow can not be selected along with code flow or implicit flow.")),
        (dict(AllowedOAuthScopes=["Cognito"]), ("ScopeDoesNotExistException", "Invalid scope requested: Cognito")),
        (dict(GenerateSecret=True, AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["openid"]),
         ("InvalidOAuthFlowException", "client_credentials flow can only be used with custom scopes.")),
        (dict(EnablePropagateAdditionalUserContextData=True),
         ("InvalidParameterException",
          "EnablePropagateAdditionalUserContextData can only be enabled for a client with a client secret.")),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ClientError) as exc:
            idp.create_user_pool_client(UserPoolId=pool_id, ClientName="bad", **kwargs)
        assert error(exc) == expected, kwargs
    secret = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="m2m", GenerateSecret=True,
                                         AllowedOAuthFlowsUserPoolClient=True,
                                         AllowedOAuthFlows=["client_credentials"],
                                         AllowedOAuthScopes=["api/read"])["UserPoolClient"]
    assert secret["AllowedOAuthFlows"] == ["client_credentials"]


def test_analytics_with_application_arn_uses_service_linked_role(idp, pool_id):
    arn = "arn:aws:mobiletargeting:us-east-1:000000000000:apps/abc123"
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="a", AnalyticsConfiguration={
        "ApplicationArn": arn, "UserDataShared": True})["UserPoolClient"]
    assert client["AnalyticsConfiguration"] == {
        "ApplicationArn": arn, "UserDataShared": True,
        "RoleArn": "arn:aws:iam::000000000000:role/aws-service-role/cognito-idp.amazonaws.com/"
                   "AWSServiceRoleForAmazonCognitoIdp"}


def test_update_client_replaces_unspecified(idp, pool_id):
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="u", GenerateSecret=True,
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                                         CallbackURLs=["https://a.example/cb"], PreventUserExistenceErrors="ENABLED",
                                         AccessTokenValidity=2)["UserPoolClient"]
    updated = idp.update_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"],
                                          ClientName="u2")["UserPoolClient"]
    assert updated["ClientName"] == "u2"
    assert updated["ClientSecret"] == client["ClientSecret"]
    assert "ExplicitAuthFlows" not in updated
    assert "CallbackURLs" not in updated
    assert "AccessTokenValidity" not in updated
    assert "PreventUserExistenceErrors" not in updated
    assert updated["TokenValidityUnits"] == {}
    assert updated["CreationDate"] == client["CreationDate"]
    with pytest.raises(ClientError) as exc:
        idp.update_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"], WriteAttributes=["nope"])
    assert error(exc) == ("InvalidParameterException", "Invalid write attributes specified while updating a client")


def test_delete_and_list_clients(idp, pool_id):
    ids = [idp.create_user_pool_client(UserPoolId=pool_id, ClientName=f"c{i}")["UserPoolClient"]["ClientId"]
           for i in range(5)]
    seen = []
    page = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=2)
    seen += [c["ClientId"] for c in page["UserPoolClients"]]
    ids.append(idp.create_user_pool_client(UserPoolId=pool_id, ClientName="late")["UserPoolClient"]["ClientId"])
    while "NextToken" in page:
        page = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=2, NextToken=page["NextToken"])
        seen += [c["ClientId"] for c in page["UserPoolClients"]]
    assert seen == ids
    assert set(page["UserPoolClients"][0]) == {"ClientId", "UserPoolId", "ClientName"}
    idp.delete_user_pool_client(UserPoolId=pool_id, ClientId=ids[0])
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool_client(UserPoolId=pool_id, ClientId=ids[0])
    assert error(exc) == ("ResourceNotFoundException", f"User pool client {ids[0]} does not exist.")
    assert len(idp.list_user_pool_clients(UserPoolId=pool_id)["UserPoolClients"]) == 5
