"""GetClientToken: M2M access tokens by API for a client whose only flow is ALLOW_CLIENT_TOKEN_AUTH."""

from __future__ import annotations

import json

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from helpers import error, unique


@pytest.fixture
def pool_id(idp):
    pool = idp.create_user_pool(PoolName=unique("m2m"))["UserPool"]["Id"]
    idp.create_resource_server(UserPoolId=pool, Identifier="api", Name="API",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "r"},
                                       {"ScopeName": "write", "ScopeDescription": "w"},
                                       {"ScopeName": "admin", "ScopeDescription": "a"}])
    return pool


def _m2m_client(idp, pool_id, *, secret=True, flows=("ALLOW_CLIENT_TOKEN_AUTH",),
                scopes=("api/read", "api/write"), **extra) -> dict:
    kwargs = dict(UserPoolId=pool_id, ClientName=unique("m2m"), GenerateSecret=secret,
                  ExplicitAuthFlows=list(flows), **extra)
    if scopes:
        kwargs.update(AllowedOAuthFlowsUserPoolClient=True, AllowedOAuthFlows=["client_credentials"],
                      AllowedOAuthScopes=list(scopes))
    return idp.create_user_pool_client(**kwargs)["UserPoolClient"]


def _verified(endpoint, pool_id, token) -> dict:
    jwks = requests.get(f"{endpoint}/{pool_id}/.well-known/jwks.json", timeout=10).json()
    keys = {k["kid"]: jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(k)) for k in jwks["keys"]}
    kid = jwt.get_unverified_header(token)["kid"]
    return jwt.decode(token, keys[kid], algorithms=["RS256"], options={"verify_aud": False})


def test_client_token_with_all_configured_scopes(idp, endpoint, pool_id):
    client = _m2m_client(idp, pool_id)
    assert client["ExplicitAuthFlows"] == ["ALLOW_CLIENT_TOKEN_AUTH"]
    result = idp.get_client_token(ClientId=client["ClientId"], Secret=client["ClientSecret"])
    auth = result["ClientAuthenticationResult"]
    assert auth["TokenType"] == "Bearer"
    assert auth["ExpiresIn"] == 3600
    claims = _verified(endpoint, pool_id, auth["AccessToken"])
    assert claims["sub"] == client["ClientId"] and claims["client_id"] == client["ClientId"]
    assert claims["token_use"] == "access"
    assert claims["scope"] == "api/read api/write"
    assert claims["iss"].endswith("/" + pool_id)
    assert claims["exp"] - claims["iat"] == 3600
    assert "username" not in claims and "cognito:groups" not in claims


def test_client_token_with_requested_scopes_and_validity(idp, endpoint, pool_id):
    client = _m2m_client(idp, pool_id, AccessTokenValidity=15, TokenValidityUnits={"AccessToken": "minutes"})
    auth = idp.get_client_token(ClientId=client["ClientId"], Secret=client["ClientSecret"],
                                Scopes=["api/write"], ClientMetadata={"k": "v"})["ClientAuthenticationResult"]
    assert auth["ExpiresIn"] == 900
    assert _verified(endpoint, pool_id, auth["AccessToken"])["scope"] == "api/write"


def test_client_token_works_without_a_domain_or_oauth_grant(idp, endpoint, pool_id):
    # The API does not need the client_credentials grant; the client's custom scopes are enough.
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="m2m", GenerateSecret=True,
                                         ExplicitAuthFlows=["ALLOW_CLIENT_TOKEN_AUTH"],
                                         AllowedOAuthScopes=["api/read"])["UserPoolClient"]
    auth = idp.get_client_token(ClientId=client["ClientId"], Secret=client["ClientSecret"])
    assert _verified(endpoint, pool_id, auth["ClientAuthenticationResult"]["AccessToken"])["scope"] == "api/read"


def test_second_secret_is_accepted(idp, pool_id):
    client = _m2m_client(idp, pool_id)
    added = idp.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=client["ClientId"])
    second = added["ClientSecretDescriptor"]["ClientSecretValue"]
    assert idp.get_client_token(ClientId=client["ClientId"], Secret=second)["ClientAuthenticationResult"]


def test_flow_must_be_alone(idp, pool_id):
    for flows in (["ALLOW_CLIENT_TOKEN_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                  ["ALLOW_USER_SRP_AUTH", "ALLOW_CLIENT_TOKEN_AUTH"]):
        with pytest.raises(ClientError) as exc:
            _m2m_client(idp, pool_id, flows=flows)
        assert error(exc) == ("InvalidParameterException",
                              "ALLOW_CLIENT_TOKEN_AUTH cannot be combined with other explicit auth flows.")
    client = _m2m_client(idp, pool_id, flows=["ALLOW_USER_SRP_AUTH"])
    with pytest.raises(ClientError) as exc:
        idp.update_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"],
                                    ExplicitAuthFlows=["ALLOW_CLIENT_TOKEN_AUTH", "ALLOW_USER_AUTH"])
    assert error(exc)[0] == "InvalidParameterException"
    updated = idp.update_user_pool_client(UserPoolId=pool_id, ClientId=client["ClientId"],
                                          ExplicitAuthFlows=["ALLOW_CLIENT_TOKEN_AUTH"])["UserPoolClient"]
    assert updated["ExplicitAuthFlows"] == ["ALLOW_CLIENT_TOKEN_AUTH"]


def test_unknown_flow_names_still_refused(idp, pool_id):
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool_client(UserPoolId=pool_id, ClientName="x", ExplicitAuthFlows=["ALLOW_NOTHING"])
    code, message = error(exc)
    assert code == "InvalidParameterException"
    assert "ALLOW_CLIENT_TOKEN_AUTH" in message and "failed to satisfy constraint" in message


def test_user_flows_refused_for_an_m2m_client(idp, pool_id):
    client = _m2m_client(idp, pool_id)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": "u", "PASSWORD": "p"})
    assert error(exc) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH",
                          AuthParameters={"USERNAME": "u", "SRP_A": "ab"})
    assert error(exc) == ("InvalidParameterException", "Auth flow not enabled for this client")


def test_client_without_the_flow(idp, pool_id):
    for flows in (["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"], None):
        kwargs = {} if flows is None else {"ExplicitAuthFlows": flows}
        client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c", GenerateSecret=True,
                                             **kwargs)["UserPoolClient"]
        with pytest.raises(ClientError) as exc:
            idp.get_client_token(ClientId=client["ClientId"], Secret=client["ClientSecret"])
        assert error(exc) == ("InvalidParameterException", "Auth flow not enabled for this client")


def test_wrong_or_missing_secret(idp, pool_id):
    client = _m2m_client(idp, pool_id)
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=client["ClientId"], Secret="x" * 30)
    assert error(exc) == ("NotAuthorizedException", "Invalid client secret.")
    public = _m2m_client(idp, pool_id, secret=False, scopes=None, AllowedOAuthScopes=["api/read"])
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=public["ClientId"], Secret="x" * 30)
    assert error(exc) == ("NotAuthorizedException", "Invalid client secret.")


def test_deleted_secret_refused(idp, pool_id):
    client = _m2m_client(idp, pool_id)
    cid = client["ClientId"]
    idp.add_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid)
    first = idp.list_user_pool_client_secrets(UserPoolId=pool_id, ClientId=cid)["ClientSecrets"][0]
    idp.delete_user_pool_client_secret(UserPoolId=pool_id, ClientId=cid, ClientSecretId=first["ClientSecretId"])
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=cid, Secret=client["ClientSecret"])
    assert error(exc) == ("NotAuthorizedException", "Invalid client secret.")


def test_scopes(idp, pool_id):
    client = _m2m_client(idp, pool_id)
    for scope in ("api/admin", "openid", "aws.cognito.signin.user.admin", "other/read"):
        with pytest.raises(ClientError) as exc:
            idp.get_client_token(ClientId=client["ClientId"], Secret=client["ClientSecret"], Scopes=[scope])
        assert error(exc) == ("InvalidParameterException", f"Invalid scope requested: {scope}")
    bare = _m2m_client(idp, pool_id, scopes=None)
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId=bare["ClientId"], Secret=bare["ClientSecret"])
    assert error(exc) == ("InvalidParameterException",
                          "No custom scopes are configured for this client; M2M access tokens need at least one.")


def test_unknown_client(idp):
    with pytest.raises(ClientError) as exc:
        idp.get_client_token(ClientId="a" * 26, Secret="x" * 30)
    assert error(exc) == ("ResourceNotFoundException", f"User pool client {'a' * 26} does not exist.")


def test_m2m_token_cannot_call_user_apis(idp, pool_id):
    client = _m2m_client(idp, pool_id)
    token = idp.get_client_token(ClientId=client["ClientId"],
                                 Secret=client["ClientSecret"])["ClientAuthenticationResult"]["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=token)
    assert error(exc) == ("NotAuthorizedException", "Access Token does not have required scopes")
