"""ID/access/refresh tokens: every claim, signatures against the served JWKS, lifetimes,
expiry by moving the clock, refresh, and PreTokenGeneration V1/V2 (functions served over HTTP)."""

from __future__ import annotations

import uuid

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import (
    PASSWORD,
    Srp,
    boto_client,
    claims,
    error,
    make_client,
    make_pool,
    make_user,
    password_auth,
    refresh,
    tokens_for,
    unique,
)
from lambda_fixtures.servers import FunctionServer


def verify(endpoint: str, pool_id: str, token: str, audience: str | None = None) -> dict:
    """Verify like an app would: JWKS and issuer from the pool's discovery document."""
    config = requests.get(f"{endpoint}/{pool_id}/.well-known/openid-configuration", timeout=10).json()
    jwks = requests.get(config["jwks_uri"], timeout=10).json()
    kid = jwt.get_unverified_header(token)["kid"]
    key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    return jwt.decode(token, key, algorithms=["RS256"], issuer=config["issuer"], audience=audience,
                      options={"verify_aud": audience is not None})


@pytest.fixture
def signed_in(idp):
    pool_id = make_pool(idp, Schema=[{"Name": "tier", "AttributeDataType": "Number", "Mutable": True}])
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"email": f"{unique('t')}@example.com", "email_verified": "true",
                                                    "custom:tier": "3", "name": "Tess"})
    result = tokens_for(idp, client, username)
    return pool_id, client, username, result


def test_tokens_verify_against_jwks(endpoint, signed_in):
    pool_id, client, _username, result = signed_in
    id_claims = verify(endpoint, pool_id, result["IdToken"], audience=client["ClientId"])
    access_claims = verify(endpoint, pool_id, result["AccessToken"])
    assert id_claims["iss"] == access_claims["iss"] == f"{endpoint}/{pool_id}"
    id_header, access_header = (jwt.get_unverified_header(result[k]) for k in ("IdToken", "AccessToken"))
    assert id_header["alg"] == access_header["alg"] == "RS256"
    assert id_header["kid"] != access_header["kid"]
    jwks = requests.get(f"{endpoint}/{pool_id}/.well-known/jwks.json", timeout=10).json()
    assert {id_header["kid"], access_header["kid"]} == {k["kid"] for k in jwks["keys"]}


def test_id_token_claims(idp, signed_in):
    pool_id, client, username, result = signed_in
    id_claims = claims(result["IdToken"])
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert id_claims["sub"] == attrs["sub"]
    assert id_claims["aud"] == client["ClientId"]
    assert id_claims["token_use"] == "id"
    assert id_claims["cognito:username"] == username
    assert id_claims["email"] == attrs["email"]
    assert id_claims["email_verified"] is True
    assert id_claims["custom:tier"] == "3"
    assert id_claims["name"] == "Tess"
    assert "cognito:groups" not in id_claims and "username" not in id_claims and "client_id" not in id_claims
    uuid.UUID(id_claims["jti"])
    uuid.UUID(id_claims["origin_jti"])
    uuid.UUID(id_claims["event_id"])
    assert isinstance(id_claims["auth_time"], int) and isinstance(id_claims["iat"], int)
    assert id_claims["exp"] - id_claims["iat"] == 3600


def test_access_token_claims(signed_in):
    _pool, client, username, result = signed_in
    access, id_claims = claims(result["AccessToken"]), claims(result["IdToken"])
    assert access["token_use"] == "access"
    assert access["client_id"] == client["ClientId"]
    assert access["username"] == username
    assert access["scope"] == "aws.cognito.signin.user.admin"
    assert "aud" not in access and "cognito:username" not in access and "email" not in access
    assert access["sub"] == id_claims["sub"]
    assert access["event_id"] == id_claims["event_id"]
    assert access["origin_jti"] == id_claims["origin_jti"]
    assert access["jti"] != id_claims["jti"]
    assert access["auth_time"] == id_claims["auth_time"]
    assert access["exp"] - access["iat"] == result["ExpiresIn"] == 3600


def test_group_claims(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    role_a = "arn:aws:iam::000000000000:role/a"
    role_b = "arn:aws:iam::000000000000:role/b"
    idp.create_group(UserPoolId=pool_id, GroupName="admins", RoleArn=role_a, Precedence=1)
    idp.create_group(UserPoolId=pool_id, GroupName="users", RoleArn=role_b, Precedence=5)
    idp.create_group(UserPoolId=pool_id, GroupName="plain")
    for group in ("users", "admins", "plain"):
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    result = tokens_for(idp, client, username)
    id_claims, access = claims(result["IdToken"]), claims(result["AccessToken"])
    assert id_claims["cognito:groups"] == ["admins", "users", "plain"]
    assert access["cognito:groups"] == ["admins", "users", "plain"]
    assert id_claims["cognito:roles"] == [role_a, role_b]
    assert id_claims["cognito:preferred_role"] == role_a
    assert "cognito:roles" not in access


def test_preferred_role_omitted_on_tie(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    for name, role in (("g1", "arn:aws:iam::000000000000:role/x"), ("g2", "arn:aws:iam::000000000000:role/y")):
        idp.create_group(UserPoolId=pool_id, GroupName=name, RoleArn=role, Precedence=2)
        idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=name)
    id_claims = claims(tokens_for(idp, client, username)["IdToken"])
    assert len(id_claims["cognito:roles"]) == 2
    assert "cognito:preferred_role" not in id_claims


def test_read_attributes_limit_id_token(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, ReadAttributes=["email", "email_verified"])
    username = make_user(idp, pool_id, attributes={"email": "r@example.com", "name": "Hidden"})
    id_claims = claims(tokens_for(idp, client, username)["IdToken"])
    assert id_claims["email"] == "r@example.com"
    assert "name" not in id_claims


def test_validity_from_client_settings(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, IdTokenValidity=5, AccessTokenValidity=2, RefreshTokenValidity=90,
                         TokenValidityUnits={"IdToken": "minutes", "AccessToken": "hours",
                                             "RefreshToken": "minutes"})
    username = make_user(idp, pool_id)
    result = tokens_for(idp, client, username)
    id_claims, access = claims(result["IdToken"]), claims(result["AccessToken"])
    assert id_claims["exp"] - id_claims["iat"] == 300
    assert access["exp"] - access["iat"] == 7200
    assert result["ExpiresIn"] == 7200


def test_access_token_expiry(idp, signed_in, clock):
    _pool, _client, _username, result = signed_in
    clock.advance(3590)
    idp.get_user(AccessToken=result["AccessToken"])
    clock.advance(11)
    with pytest.raises(ClientError) as e:
        idp.get_user(AccessToken=result["AccessToken"])
    assert error(e) == ("NotAuthorizedException", "Access Token has expired")


def test_invalid_access_tokens(idp, signed_in):
    _pool, _client, _username, result = signed_in
    header, payload, signature = result["AccessToken"].split(".")
    tampered = ".".join([header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")])
    for token in (tampered, result["IdToken"], "not-a-token", "a.b.c"):
        with pytest.raises(ClientError) as e:
            idp.get_user(AccessToken=token)
        assert error(e) == ("NotAuthorizedException", "Invalid Access Token")


def test_access_token_of_deleted_or_disabled_user(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    token = tokens_for(idp, client, username)["AccessToken"]
    idp.admin_disable_user(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as e:
        idp.get_user(AccessToken=token)
    assert error(e) == ("NotAuthorizedException", "User is disabled.")
    idp.admin_delete_user(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as e:
        idp.get_user(AccessToken=token)
    assert error(e) == ("UserNotFoundException", "User does not exist.")


# -- refresh -----------------------------------------------------------------------------------------------
def test_refresh_keeps_auth_time_and_origin(idp, signed_in, clock):
    pool_id, client, username, result = signed_in
    before = claims(result["IdToken"])
    clock.advance(600)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username,
                                     UserAttributes=[{"Name": "name", "Value": "Renamed"}])
    out = refresh(idp, client, result["RefreshToken"])
    assert out["ChallengeParameters"] == {}
    new = out["AuthenticationResult"]
    assert "RefreshToken" not in new
    after, access = claims(new["IdToken"]), claims(new["AccessToken"])
    assert after["auth_time"] == before["auth_time"] == access["auth_time"]
    assert after["origin_jti"] == before["origin_jti"] == access["origin_jti"]
    assert after["jti"] != before["jti"] and after["event_id"] != before["event_id"]
    assert after["iat"] >= before["iat"] + 600
    assert after["name"] == "Renamed"
    # REFRESH_TOKEN is the same flow.
    again = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN",
                              AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]})
    assert "AccessToken" in again["AuthenticationResult"]


def test_refresh_errors(idp, signed_in):
    pool_id, client, username, result = signed_in
    with pytest.raises(ClientError) as e:
        refresh(idp, client, "garbage")
    assert error(e) == ("NotAuthorizedException", "Invalid Refresh Token")
    other = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        refresh(idp, other, result["RefreshToken"])
    assert error(e) == ("NotAuthorizedException", "Invalid Refresh Token")
    idp.admin_disable_user(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as e:
        refresh(idp, client, result["RefreshToken"])
    assert error(e) == ("NotAuthorizedException", "User is disabled.")
    idp.admin_delete_user(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as e:
        refresh(idp, client, result["RefreshToken"])
    assert error(e) == ("UserNotFoundException", "User does not exist.")


def test_refresh_token_expiry(idp, clock):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, RefreshTokenValidity=60, TokenValidityUnits={"RefreshToken": "minutes"})
    username = make_user(idp, pool_id)
    token = tokens_for(idp, client, username)["RefreshToken"]
    clock.advance(3500)
    refresh(idp, client, token)
    clock.advance(101)
    with pytest.raises(ClientError) as e:
        refresh(idp, client, token)
    assert error(e) == ("NotAuthorizedException", "Refresh Token has expired")


def test_refresh_token_is_opaque(signed_in):
    token = signed_in[3]["RefreshToken"]
    assert len(token.split(".")) == 5
    with pytest.raises(jwt.PyJWTError):
        jwt.decode(token, options={"verify_signature": False})


# -- issuer style ------------------------------------------------------------------------------------------
def test_aws_issuer_style():
    process = EmulatorProcess("--in-memory", "--issuer-style", "aws")
    try:
        idp = boto_client("cognito-idp", process.url)
        pool_id = make_pool(idp)
        client = make_client(idp, pool_id)
        username = make_user(idp, pool_id)
        token = tokens_for(idp, client, username)["AccessToken"]
        assert claims(token)["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{pool_id}"
        assert idp.get_user(AccessToken=token)["Username"] == username
    finally:
        process.stop()


def test_public_url_fixes_the_issuer_base():
    process = EmulatorProcess("--in-memory", "--public-url", "https://cognito.example.test:8443/")
    try:
        idp = boto_client("cognito-idp", process.url)
        pool_id = make_pool(idp)
        client = make_client(idp, pool_id)
        username = make_user(idp, pool_id)
        result = tokens_for(idp, client, username)
        issuer = f"https://cognito.example.test:8443/{pool_id}"
        assert claims(result["AccessToken"])["iss"] == issuer and claims(result["IdToken"])["iss"] == issuer
        discovery = requests.get(f"{process.url}/{pool_id}/.well-known/openid-configuration").json()
        assert discovery["issuer"] == issuer
        assert idp.get_user(AccessToken=result["AccessToken"])["Username"] == username
    finally:
        process.stop()


def test_tokens_survive_a_restart(tmp_path):
    data = str(tmp_path / "state")
    process = EmulatorProcess("--data-dir", data)
    try:
        idp = boto_client("cognito-idp", process.url)
        pool_id = make_pool(idp)
        client = make_client(idp, pool_id)
        username = make_user(idp, pool_id)
        result = tokens_for(idp, client, username)
    finally:
        process.stop()
    process = EmulatorProcess("--data-dir", data)
    try:
        idp = boto_client("cognito-idp", process.url)
        assert idp.get_user(AccessToken=result["AccessToken"])["Username"] == username
        refreshed = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                                      AuthParameters={"REFRESH_TOKEN": result["RefreshToken"]})
        assert idp.get_user(AccessToken=refreshed["AuthenticationResult"]["AccessToken"])["Username"] == username
    finally:
        process.stop()


# -- PreTokenGeneration ------------------------------------------------------------------------------------
def _v1(event):
    event["response"]["claimsOverrideDetails"] = {
        "claimsToAddOrOverride": {"plan": "gold", "name": "Overridden", "sub": "nope"},
        "claimsToSuppress": ["email"],
        "groupOverrideDetails": {"groupsToOverride": ["vip"], "iamRolesToOverride": [],
                                 "preferredRole": None},
    }
    return event


def _v2(event):
    event["response"]["claimsAndScopeOverrideDetails"] = {
        "idTokenGeneration": {"claimsToAddOrOverride": {"level": 7, "tags": ["a", "b"]}},
        "accessTokenGeneration": {"claimsToAddOrOverride": {"tenant": "t1"},
                                  "scopesToAdd": ["api/read"],
                                  "scopesToSuppress": ["aws.cognito.signin.user.admin"]},
    }
    return event


def _migrate(event):
    if event["request"]["password"] != "Legacy1!x":
        return {"errorMessage": "Bad password", "errorType": "Error"}
    event["response"].update({"userAttributes": {"email": "legacy@example.com", "email_verified": "true"},
                              "finalUserStatus": "CONFIRMED", "messageAction": "SUPPRESS"})
    return event


@pytest.fixture(scope="module")
def trigger_env():
    functions = FunctionServer({"v1": _v1, "v2": _v2, "migrate": _migrate})
    process = EmulatorProcess("--in-memory", env={"COGNITO_EMULATOR_LAMBDA_C1PRETOKENV1": f"{functions.url}/v1",
                                                  "COGNITO_EMULATOR_LAMBDA_C1PRETOKENV2": f"{functions.url}/v2",
                                                  "COGNITO_EMULATOR_LAMBDA_C1MIGRATE": f"{functions.url}/migrate"})
    yield process, functions, boto_client("cognito-idp", process.url)
    process.stop()
    functions.stop()


def test_pre_token_generation_v1(trigger_env):
    process, functions, idp = trigger_env
    pool_id = make_pool(idp, LambdaConfig={"PreTokenGeneration": "arn:aws:lambda:us-east-1:000000000000:function:"
                                                                 "c1PreTokenV1"})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"email": "v1@example.com", "name": "Orig"})
    idp.create_group(UserPoolId=pool_id, GroupName="staff")
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName="staff")
    functions.events.clear()
    result = tokens_for(idp, client, username)
    event = functions.events[-1]
    assert event["triggerSource"] == "TokenGeneration_Authentication"
    assert event["version"] == "1"
    assert event["userName"] == username
    assert event["callerContext"]["clientId"] == client["ClientId"]
    assert event["request"]["userAttributes"]["email"] == "v1@example.com"
    assert event["request"]["groupConfiguration"]["groupsToOverride"] == ["staff"]
    id_claims, access = claims(result["IdToken"]), claims(result["AccessToken"])
    assert id_claims["plan"] == "gold" and id_claims["name"] == "Overridden"
    assert "email" not in id_claims
    assert id_claims["sub"] != "nope"
    assert id_claims["cognito:groups"] == ["vip"] and access["cognito:groups"] == ["vip"]
    assert "plan" not in access
    functions.events.clear()
    refresh(idp, client, result["RefreshToken"])
    assert functions.events[-1]["triggerSource"] == "TokenGeneration_RefreshTokens"


def test_pre_token_generation_v2(trigger_env):
    process, functions, idp = trigger_env
    arn = "arn:aws:lambda:us-east-1:000000000000:function:c1PreTokenV2"
    pool_id = make_pool(idp, UserPoolTier="ESSENTIALS",
                        LambdaConfig={"PreTokenGenerationConfig": {"LambdaArn": arn, "LambdaVersion": "V2_0"}})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    functions.events.clear()
    result = tokens_for(idp, client, username)
    event = functions.events[-1]
    assert event["version"] == "2"
    assert event["request"]["scopes"] == ["aws.cognito.signin.user.admin"]
    id_claims, access = claims(result["IdToken"]), claims(result["AccessToken"])
    assert id_claims["level"] == 7 and id_claims["tags"] == ["a", "b"]
    assert access["tenant"] == "t1"
    assert access["scope"] == "api/read"
    with pytest.raises(ClientError) as e:
        idp.get_user(AccessToken=result["AccessToken"])
    assert error(e) == ("NotAuthorizedException", "Access Token does not have required scopes")


def test_new_password_challenge_trigger_source(trigger_env):
    process, functions, idp = trigger_env
    pool_id = make_pool(idp, LambdaConfig={"PreTokenGeneration": "arn:aws:lambda:us-east-1:000000000000:function:"
                                                                 "c1PreTokenV1"})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, password="Temp0rary!x", permanent=False)
    out = password_auth(idp, client, username, "Temp0rary!x")
    functions.events.clear()
    idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                  Session=out["Session"],
                                  ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": PASSWORD + "x"})
    assert functions.events[-1]["triggerSource"] == "TokenGeneration_NewPasswordChallenge"


def test_user_migration_on_password_sign_in(trigger_env):
    process, functions, idp = trigger_env
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": "arn:aws:lambda:us-east-1:000000000000:function:"
                                                            "c1Migrate"})
    client = make_client(idp, pool_id)
    functions.events.clear()
    result = tokens_for(idp, client, "legacy-user", "Legacy1!x")
    event = functions.events[-1]
    assert event["triggerSource"] == "UserMigration_Authentication"
    assert event["userName"] == "legacy-user"
    assert claims(result["IdToken"])["email"] == "legacy@example.com"
    user = idp.admin_get_user(UserPoolId=pool_id, Username="legacy-user")
    assert user["UserStatus"] == "CONFIRMED"
    # Now a regular user: the password is checked by the emulator.
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, "legacy-user", "Wrong0ne!")
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    # SRP does not migrate.
    with pytest.raises(ClientError) as e:
        Srp(idp, pool_id, client, "other-legacy").start()
    assert error(e) == ("UserNotFoundException", "User does not exist.")
