"""GetDerivedToken: RFC 8693 token exchange of the pool's own access and ID tokens."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import PASSWORD, claims, error, unique


@pytest.fixture
def env(idp):
    pool_id = idp.create_user_pool(PoolName=unique("tx"))["UserPool"]["Id"]
    idp.create_resource_server(UserPoolId=pool_id, Identifier="orders", Name="Orders",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "r"},
                                       {"ScopeName": "write", "ScopeDescription": "w"}])
    app = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app", ExplicitAuthFlows=[
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    exchanger = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="exchanger", GenerateSecret=True,
        ExplicitAuthFlows=["ALLOW_TOKEN_EXCHANGE_IMPERSONATION", "ALLOW_TOKEN_EXCHANGE_DELEGATION"],
        AllowedOAuthScopes=["orders/read", "aws.cognito.signin.user.admin"])["UserPoolClient"]
    name = unique("u")
    idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=name, Password=PASSWORD, Permanent=True)
    tokens = idp.initiate_auth(ClientId=app["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": name, "PASSWORD": PASSWORD})["AuthenticationResult"]
    return {"pool": pool_id, "app": app, "ex": exchanger, "user": name, "tokens": tokens}


def _exchange(idp, env, **kwargs):
    params = {"ClientId": env["ex"]["ClientId"], "ClientSecret": env["ex"]["ClientSecret"],
              "SubjectToken": env["tokens"]["AccessToken"], "SubjectTokenType": "ACCESS_TOKEN", **kwargs}
    return idp.get_derived_token(**params)


def test_impersonation_keeps_subject_scopes(idp, env):
    out = _exchange(idp, env)
    assert out["IssuedTokenType"] == "ACCESS_TOKEN" and out["TokenType"] == "Bearer"
    assert out["ExpiresIn"] == 3600 and out["Scopes"] == ["aws.cognito.signin.user.admin"]
    issued = claims(out["IssuedToken"])
    subject = claims(env["tokens"]["AccessToken"])
    assert issued["sub"] == subject["sub"] and issued["username"] == env["user"]
    assert issued["client_id"] == env["ex"]["ClientId"] and issued["token_use"] == "access"
    assert "act" not in issued and "aud" not in issued
    # The derived token works as the user's access token.
    assert idp.get_user(AccessToken=out["IssuedToken"])["Username"] == env["user"]


def test_scopes_are_intersected(idp, env):
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, Scopes=["orders/read"])
    assert error(exc) == ("InvalidParameterException", "None of the requested scopes can be granted.")
    out = _exchange(idp, env, Scopes=["orders/read", "aws.cognito.signin.user.admin"])
    assert out["Scopes"] == ["aws.cognito.signin.user.admin"]


def test_audience_resource_and_delegation(idp, env):
    out = _exchange(idp, env, Resources=["orders"])
    assert claims(out["IssuedToken"])["aud"] == "orders"
    out = _exchange(idp, env, Audiences=["billing-service"], ActorToken=env["tokens"]["IdToken"],
                    ActorTokenType="ID_TOKEN")
    issued = claims(out["IssuedToken"])
    assert issued["aud"] == "billing-service"
    assert issued["act"]["client_id"] == env["app"]["ClientId"]
    assert issued["act"]["sub"] == claims(env["tokens"]["IdToken"])["sub"]
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, Resources=["nothing"])
    assert error(exc) == ("ResourceNotFoundException",
                          f"Resource server nothing does not exist in user pool {env['pool']}.")
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, Resources=["orders"], Audiences=["x"])
    assert error(exc) == ("InvalidParameterException", "Audiences and Resources cannot both be specified.")
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, ActorToken=env["tokens"]["IdToken"])
    assert error(exc) == ("InvalidParameterException", "ActorTokenType is required when ActorToken is provided.")
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, ActorTokenType="ID_TOKEN")
    assert error(exc) == ("InvalidParameterException", "ActorToken is required when ActorTokenType is provided.")


def test_id_token_exchange(idp, env):
    out = _exchange(idp, env, SubjectToken=env["tokens"]["IdToken"], SubjectTokenType="ID_TOKEN",
                    RequestedTokenType="ID_TOKEN", Audiences=["partner"])
    assert out["IssuedTokenType"] == "ID_TOKEN" and out["TokenType"] == "N_A" and "Scopes" not in out
    issued = claims(out["IssuedToken"])
    assert issued["aud"] == "partner" and issued["token_use"] == "id"
    assert issued["email"] == f"{env['user']}@example.com" and issued["cognito:username"] == env["user"]
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, RequestedTokenType="ID_TOKEN")
    assert error(exc) == ("InvalidParameterException", "An ID token can only be derived from an ID token.")


def test_flow_gating(idp, env):
    only = idp.create_user_pool_client(UserPoolId=env["pool"], ClientName="imp", ExplicitAuthFlows=[
        "ALLOW_TOKEN_EXCHANGE_IMPERSONATION"])["UserPoolClient"]
    base = {"ClientId": only["ClientId"], "SubjectToken": env["tokens"]["AccessToken"],
            "SubjectTokenType": "ACCESS_TOKEN"}
    assert idp.get_derived_token(**base)["IssuedToken"]
    with pytest.raises(ClientError) as exc:
        idp.get_derived_token(**base, ActorToken=env["tokens"]["IdToken"], ActorTokenType="ID_TOKEN")
    assert error(exc) == ("InvalidParameterException", "Auth flow not enabled for this client")
    with pytest.raises(ClientError) as exc:
        idp.get_derived_token(**{**base, "ClientId": env["app"]["ClientId"]})
    assert error(exc) == ("InvalidParameterException", "Auth flow not enabled for this client")


def test_client_secret(idp, env):
    with pytest.raises(ClientError) as exc:
        idp.get_derived_token(ClientId=env["ex"]["ClientId"], SubjectToken=env["tokens"]["AccessToken"],
                              SubjectTokenType="ACCESS_TOKEN")
    assert error(exc) == ("NotAuthorizedException",
                          f"Client {env['ex']['ClientId']} is configured for secret but secret was not received")
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, ClientSecret="x" * 30)
    assert error(exc) == ("NotAuthorizedException", "Invalid client secret.")
    with pytest.raises(ClientError) as exc:
        idp.get_derived_token(ClientId="a" * 26, SubjectToken="x", SubjectTokenType="ACCESS_TOKEN")
    assert error(exc) == ("ResourceNotFoundException", f"User pool client {'a' * 26} does not exist.")


def test_subject_token_checks(idp, env, clock):
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, SubjectToken="abc.def.ghi")
    assert error(exc) == ("NotAuthorizedException", "Invalid SubjectToken")
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, SubjectTokenType="ID_TOKEN")
    assert error(exc) == ("NotAuthorizedException", "Invalid SubjectToken")
    for kwargs in ({"SubjectTokenType": "SAML2"}, {"SubjectTokenProviderName": "Okta"}):
        with pytest.raises(ClientError) as exc:
            _exchange(idp, env, **kwargs)
        assert error(exc) == ("InvalidParameterException",
                              "Only Amazon Cognito ID and access tokens of this user pool can be exchanged.")
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env, ActorToken="abc.def.ghi", ActorTokenType="ACCESS_TOKEN")
    assert error(exc) == ("NotAuthorizedException", "Invalid ActorToken")
    clock.advance(3601)
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env)
    assert error(exc) == ("NotAuthorizedException", "SubjectToken has expired")


def test_sign_out_revokes_subject_and_derived_tokens(idp, env):
    derived = _exchange(idp, env)["IssuedToken"]
    idp.global_sign_out(AccessToken=env["tokens"]["AccessToken"])
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env)
    assert error(exc) == ("NotAuthorizedException", "SubjectToken has been revoked")
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=derived)
    assert error(exc) == ("NotAuthorizedException", "Access Token has been revoked")


def test_disabled_or_deleted_subject_user(idp, env):
    idp.admin_disable_user(UserPoolId=env["pool"], Username=env["user"])
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env)
    assert error(exc) == ("NotAuthorizedException", "User is disabled.")
    idp.admin_delete_user(UserPoolId=env["pool"], Username=env["user"])
    with pytest.raises(ClientError) as exc:
        _exchange(idp, env)
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
