"""Sign-in flows through boto3 against the running emulator: SRP, password flows, gating,
SECRET_HASH, user states, lockout, sessions, NEW_PASSWORD_REQUIRED, MFA, devices, USER_AUTH."""

from __future__ import annotations

import base64
import json

import pyotp
import pytest
from botocore.exceptions import ClientError
from helpers import (
    PASSWORD,
    Srp,
    answer_code,
    claims,
    error,
    java_timestamp,
    make_client,
    make_pool,
    make_user,
    password_auth,
    secret_hash,
    tokens_for,
    unique,
)
from pycognito import aws_srp


@pytest.fixture
def setup(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    return pool_id, client, username


# -- USER_PASSWORD_AUTH ---------------------------------------------------------------------------------
def test_user_password_auth_returns_tokens(idp, setup):
    _pool, client, username = setup
    out = password_auth(idp, client, username)
    assert out["ChallengeParameters"] == {}
    assert "ChallengeName" not in out and "Session" not in out
    result = out["AuthenticationResult"]
    assert result["TokenType"] == "Bearer"
    assert result["ExpiresIn"] == 3600
    assert {"AccessToken", "IdToken", "RefreshToken"} <= set(result)
    assert idp.get_user(AccessToken=result["AccessToken"])["Username"] == username


def test_wrong_password(idp, setup):
    _pool, client, username = setup
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username, "Wrong0ne!")
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")


def test_unknown_user_legacy_and_enabled(idp):
    pool_id = make_pool(idp)
    legacy = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        password_auth(idp, legacy, "nobody")
    assert error(e) == ("UserNotFoundException", "User does not exist.")
    hiding = make_client(idp, pool_id, PreventUserExistenceErrors="ENABLED")
    with pytest.raises(ClientError) as e:
        password_auth(idp, hiding, "nobody")
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")


def test_missing_parameters(idp, setup):
    _pool, client, username = setup
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": username})
    assert error(e) == ("InvalidParameterException", "Missing required parameter PASSWORD")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH", AuthParameters={"SRP_A": "ab"})
    assert error(e) == ("InvalidParameterException", "Missing required parameter USERNAME")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH",
                          AuthParameters={"USERNAME": username})
    assert error(e) == ("InvalidParameterException", "Missing required parameter SRP_A")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH",
                          AuthParameters={"USERNAME": username, "SRP_A": "not-hex"})
    assert error(e) == ("InvalidParameterException", "SRP_A is not a valid hex value.")
    with pytest.raises(ClientError) as e:  # A = 0 (mod N) would let a client skip the password
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH",
                          AuthParameters={"USERNAME": username, "SRP_A": "0"})
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={})
    assert error(e) == ("InvalidParameterException", "Missing required parameter REFRESH_TOKEN")


def test_unknown_client(idp):
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId="a" * 26, AuthFlow="USER_PASSWORD_AUTH",
                          AuthParameters={"USERNAME": "x", "PASSWORD": "y"})
    assert error(e) == ("ResourceNotFoundException", f"User pool client {'a' * 26} does not exist.")


# -- flow gating -------------------------------------------------------------------------------------------
def test_flow_gating_messages(idp):
    pool_id = make_pool(idp)
    username = make_user(idp, pool_id)
    default = make_client(idp, pool_id, flows=None)
    with pytest.raises(ClientError) as e:
        password_auth(idp, default, username)
    assert error(e) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
    # The default flows include SRP.
    assert "AccessToken" in Srp(idp, pool_id, default, username).sign_in()["AuthenticationResult"]
    with pytest.raises(ClientError) as e:
        idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=default["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert error(e) == ("InvalidParameterException", "Auth flow not enabled for this client")
    password_only = make_client(idp, pool_id, flows=["ALLOW_USER_PASSWORD_AUTH"])
    with pytest.raises(ClientError) as e:
        Srp(idp, pool_id, password_only, username).start()
    assert error(e) == ("InvalidParameterException", "Auth flow not enabled for this client")
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=password_only["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                          AuthParameters={"REFRESH_TOKEN": "x"})
    assert error(e) == ("InvalidParameterException", "Auth flow not enabled for this client")


def test_admin_flow_not_accepted_by_initiate_auth(idp, setup):
    _pool, client, username = setup
    for flow in ("ADMIN_NO_SRP_AUTH", "ADMIN_USER_PASSWORD_AUTH"):
        with pytest.raises(ClientError) as e:
            idp.initiate_auth(ClientId=client["ClientId"], AuthFlow=flow,
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
        assert error(e) == ("InvalidParameterException", "Initiate Auth method not supported.")


def test_legacy_flow_names(idp):
    pool_id = make_pool(idp)
    username = make_user(idp, pool_id)
    client = make_client(idp, pool_id, flows=["ADMIN_NO_SRP_AUTH"])
    out = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client["ClientId"], AuthFlow="ADMIN_NO_SRP_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert "AccessToken" in out["AuthenticationResult"]
    # Legacy clients keep SRP.
    assert "AccessToken" in Srp(idp, pool_id, client, username).sign_in()["AuthenticationResult"]


def test_admin_user_password_auth(idp, setup):
    pool_id, client, username = setup
    out = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client["ClientId"],
                                  AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert out["ChallengeParameters"] == {}
    assert "IdToken" in out["AuthenticationResult"]
    other_pool = make_pool(idp)
    with pytest.raises(ClientError) as e:
        idp.admin_initiate_auth(UserPoolId=other_pool, ClientId=client["ClientId"],
                                AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert error(e) == ("ResourceNotFoundException", f"User pool client {client['ClientId']} does not exist.")


# -- SECRET_HASH ------------------------------------------------------------------------------------------------
def test_secret_hash_on_every_step(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, GenerateSecret=True)
    username = make_user(idp, pool_id)
    cid = client["ClientId"]
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username)
    assert error(e) == ("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received")
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username, SECRET_HASH="d3Jvbmc=")
    assert error(e) == ("NotAuthorizedException", f"Unable to verify secret hash for client {cid}")
    out = password_auth(idp, client, username, SECRET_HASH=secret_hash(client, username))
    refresh_token = out["AuthenticationResult"]["RefreshToken"]
    # SRP: the challenge answer needs it too.
    srp_client = Srp(idp, pool_id, client, username, secret=True)
    challenge = srp_client.start()
    with pytest.raises(ClientError) as e:
        srp_client.respond(challenge)
    assert error(e) == ("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received")
    out = srp_client.respond(srp_client.start(), extra={"SECRET_HASH": secret_hash(client, username)})
    assert "AccessToken" in out["AuthenticationResult"]
    # Refresh: over the canonical username.
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={"REFRESH_TOKEN": refresh_token})
    assert error(e) == ("NotAuthorizedException", f"Client {cid} is configured for secret but secret was not received")
    out = idp.initiate_auth(ClientId=cid, AuthFlow="REFRESH_TOKEN_AUTH",
                            AuthParameters={"REFRESH_TOKEN": refresh_token,
                                            "SECRET_HASH": secret_hash(client, username)})
    assert "AccessToken" in out["AuthenticationResult"]


def test_secret_hash_over_alias_or_canonical_username_in_email_pool(idp):
    pool_id = make_pool(idp, UsernameAttributes=["email"])
    client = make_client(idp, pool_id, GenerateSecret=True)
    email = f"{unique('e')}@example.com"
    idp.admin_create_user(UserPoolId=pool_id, Username=email, TemporaryPassword="Temp0rary!x",
                          MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    out = password_auth(idp, client, email, SECRET_HASH=secret_hash(client, email))
    canonical = idp.get_user(AccessToken=out["AuthenticationResult"]["AccessToken"])["Username"]
    assert canonical != email
    refresh = out["AuthenticationResult"]["RefreshToken"]
    for name in (canonical, email):
        again = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                                  AuthParameters={"REFRESH_TOKEN": refresh, "SECRET_HASH": secret_hash(client, name)})
        assert "AccessToken" in again["AuthenticationResult"]


# -- user states -------------------------------------------------------------------------------------------------
def test_unconfirmed_user(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = unique("u")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD)
    # The state is reported before the password is checked (AWS: amazon-cognito-identity-js#288).
    for password in ("Wrong0ne!", PASSWORD):
        with pytest.raises(ClientError) as e:
            password_auth(idp, client, username, password)
        assert error(e) == ("UserNotConfirmedException", "User is not confirmed.")
    srp_client = Srp(idp, pool_id, client, username)
    with pytest.raises(ClientError) as e:
        srp_client.start()
    assert error(e) == ("UserNotConfirmedException", "User is not confirmed.")


def test_disabled_user(idp, setup):
    pool_id, client, username = setup
    idp.admin_disable_user(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username)
    assert error(e) == ("NotAuthorizedException", "User is disabled.")
    with pytest.raises(ClientError) as e:
        Srp(idp, pool_id, client, username).sign_in()
    assert error(e) == ("NotAuthorizedException", "User is disabled.")


def test_reset_required_user(idp, setup):
    pool_id, client, username = setup
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username,
                                     UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"},
                                                     {"Name": "email_verified", "Value": "true"}])
    idp.admin_reset_user_password(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username)
    assert error(e) == ("PasswordResetRequiredException", "Password reset required for the user")


def test_force_change_password_new_password_required(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, password="Temp0rary!x", permanent=False,
                         attributes={"email": "np@example.com"})
    out = password_auth(idp, client, username, "Temp0rary!x")
    assert out["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    params = out["ChallengeParameters"]
    assert params["USER_ID_FOR_SRP"] == username
    attrs = json.loads(params["userAttributes"])
    assert attrs["email"] == "np@example.com" and "sub" not in attrs
    assert json.loads(params["requiredAttributes"]) == []
    session = out["Session"]
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=session, ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "short"})
    code, message = error(e)
    assert (code, message) == ("InvalidPasswordException", "Password does not conform to policy: Password not long enough")
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                         Session=session,
                                         ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!",
                                                             "userAttributes.name": "New Name"})
    assert done["ChallengeParameters"] == {}
    assert "AccessToken" in done["AuthenticationResult"]
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "name", "Value": "New Name"} in user["UserAttributes"]
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=session,
                                      ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user, session can only be used once.")
    assert "AccessToken" in tokens_for(idp, client, username, "N3wPassword!")


def test_new_password_required_lists_required_attributes(idp):
    pool_id = make_pool(idp, Schema=[{"Name": "name", "AttributeDataType": "String", "Required": True,
                                      "Mutable": True}])
    client = make_client(idp, pool_id)
    username = unique("u")
    # An administrator may create a user without a required attribute; the user supplies it here.
    idp.admin_create_user(UserPoolId=pool_id, Username=username, TemporaryPassword="Temp0rary!x",
                          MessageAction="SUPPRESS")
    out = password_auth(idp, client, username, "Temp0rary!x")
    assert json.loads(out["ChallengeParameters"]["requiredAttributes"]) == ["userAttributes.name"]
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=out["Session"],
                                      ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert error(e) == ("InvalidParameterException", "Invalid attributes given, name is missing")
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                         Session=out["Session"],
                                         ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!",
                                                             "userAttributes.name": "Given Name"})
    assert "AccessToken" in done["AuthenticationResult"]
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert {"Name": "name", "Value": "Given Name"} in user["UserAttributes"]


def test_temporary_password_expiry(idp, clock):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, password="Temp0rary!x", permanent=False)
    clock.advance(8 * 86400)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username, "Temp0rary!x")
    assert error(e) == ("NotAuthorizedException",
                        "Temporary password has expired and must be reset by an administrator.")


def test_new_password_may_repeat_the_temporary_one(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, flows=["ADMIN_NO_SRP_AUTH"], ReadAttributes=["given_name"])
    group = unique("g")
    idp.create_group(GroupName=group, UserPoolId=pool_id)
    username = make_user(idp, pool_id, password="P2$Sword", permanent=False, attributes={"given_name": "Jo"})
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName=group)
    out = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client["ClientId"], AuthFlow="ADMIN_NO_SRP_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": "P2$Sword"})
    assert out["ChallengeName"] == "NEW_PASSWORD_REQUIRED" and out["Session"]
    done = idp.admin_respond_to_auth_challenge(
        UserPoolId=pool_id, ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED", Session=out["Session"],
        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "P2$Sword"})
    assert claims(done["AuthenticationResult"]["AccessToken"])["cognito:groups"] == [group]
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


def test_new_password_then_mfa_setup_when_the_pool_requires_mfa(idp, clock):
    pool_id = make_pool(idp, MfaConfiguration="ON",
                        SmsConfiguration={"SnsCallerArn": "arn:aws:iam::000000000000:role/sms"})
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    client = make_client(idp, pool_id, flows=["USER_PASSWORD_AUTH"])
    username = make_user(idp, pool_id, password="P2$Sword", permanent=False)
    clock.freeze()
    out = password_auth(idp, client, username, "P2$Sword")
    assert out["ChallengeName"] == "NEW_PASSWORD_REQUIRED" and "AuthenticationResult" not in out
    out = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                        Session=out["Session"],
                                        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "P2$Sword2"})
    assert out["ChallengeName"] == "MFA_SETUP" and out["Session"]
    associated = idp.associate_software_token(Session=out["Session"])
    totp = pyotp.TOTP(associated["SecretCode"])
    verified = idp.verify_software_token(Session=associated["Session"], UserCode=totp.at(clock.now()))
    assert verified["Status"] == "SUCCESS"
    clock.advance(30)
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="MFA_SETUP",
                                         Session=verified["Session"],
                                         ChallengeResponses={"USERNAME": username,
                                                             "SOFTWARE_TOKEN_MFA_CODE": totp.at(clock.now())})
    assert done["ChallengeParameters"] == {}
    assert {"AccessToken", "IdToken", "RefreshToken"} <= done["AuthenticationResult"].keys()
    out = password_auth(idp, client, username, "P2$Sword2")
    assert out["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    clock.advance(30)
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                         Session=out["Session"],
                                         ChallengeResponses={"USERNAME": username,
                                                             "SOFTWARE_TOKEN_MFA_CODE": totp.at(clock.now())})
    assert done["ChallengeParameters"] == {}
    assert {"AccessToken", "IdToken", "RefreshToken"} <= done["AuthenticationResult"].keys()


def test_email_username_tokens_carry_the_sub_as_username(idp):
    pool_id = make_pool(idp, UsernameAttributes=["email"])
    client = make_client(idp, pool_id, flows=["USER_PASSWORD_AUTH"], GenerateSecret=True)
    email = f"{unique('u')}@example.com"
    idp.sign_up(ClientId=client["ClientId"], Username=email, Password="SuperS3cret!",
                SecretHash=secret_hash(client, email))
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
    result = password_auth(idp, client, email, "SuperS3cret!",
                           SECRET_HASH=secret_hash(client, email))["AuthenticationResult"]
    access, id_claims = claims(result["AccessToken"]), claims(result["IdToken"])
    assert access["username"] == access["sub"] and access["client_id"] == client["ClientId"]
    assert "email" not in access
    assert id_claims["sub"] == access["sub"] and id_claims["cognito:username"] == id_claims["sub"]
    assert id_claims["aud"] == client["ClientId"] and id_claims["email"] == email


def test_admin_respond_new_password(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, password="Temp0rary!x", permanent=False)
    out = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": "Temp0rary!x"})
    assert out["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    # A session from the admin API cannot be answered through the public one.
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=out["Session"],
                                      ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user.")
    done = idp.admin_respond_to_auth_challenge(UserPoolId=pool_id, ClientId=client["ClientId"],
                                               ChallengeName="NEW_PASSWORD_REQUIRED", Session=out["Session"],
                                               ChallengeResponses={"USERNAME": username,
                                                                   "NEW_PASSWORD": "N3wPassword!"})
    assert "AccessToken" in done["AuthenticationResult"]


# -- sessions ------------------------------------------------------------------------------------------------------
def _new_password_session(idp, pool_id, client, validity=None):
    username = make_user(idp, pool_id, password="Temp0rary!x", permanent=False)
    return username, password_auth(idp, client, username, "Temp0rary!x")["Session"]


def test_session_expiry_default_three_minutes(idp, clock):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username, session = _new_password_session(idp, pool_id, client)
    clock.advance(181)
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=session,
                                      ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")


def test_session_validity_follows_client(idp, clock):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, AuthSessionValidity=10)
    username, session = _new_password_session(idp, pool_id, client)
    clock.advance(9 * 60)
    out = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                        Session=session,
                                        ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert "AccessToken" in out["AuthenticationResult"]


def test_invalid_session_and_wrong_challenge(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username, session = _new_password_session(idp, pool_id, client)
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session="x" * 40,
                                      ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user.")
    other = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=other["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=session,
                                      ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user.")
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SMS_MFA", Session=session,
                                      ChallengeResponses={"USERNAME": username, "SMS_MFA_CODE": "123456"})
    assert error(e)[0] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=session, ChallengeResponses={"NEW_PASSWORD": "N3wPassword!"})
    assert error(e) == ("InvalidParameterException", "Missing required parameter USERNAME")
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                      Session=session, ChallengeResponses={"USERNAME": username})
    assert error(e) == ("InvalidParameterException", "Missing required parameter NEW_PASSWORD")


# -- lockout -----------------------------------------------------------------------------------------------------------
def test_lockout_after_five_failures(idp, setup, clock):
    _pool, client, username = setup
    clock.freeze()  # lock lengths are seconds: only the test moves time
    for _ in range(5):
        with pytest.raises(ClientError) as e:
            password_auth(idp, client, username, "Wrong0ne!")
        assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username)
    assert error(e) == ("NotAuthorizedException", "Password attempts exceeded")
    clock.advance(2)
    assert "AccessToken" in tokens_for(idp, client, username)


def test_lockout_doubles(idp, setup, clock):
    _pool, client, username = setup
    clock.freeze()
    for _ in range(6):
        clock.advance(70)  # past any lock, well inside the 15-minute window
        with pytest.raises(ClientError) as e:
            password_auth(idp, client, username, "Wrong0ne!")
        assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    # 6 failures: locked for 2 s.
    clock.advance(1)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username)
    assert error(e) == ("NotAuthorizedException", "Password attempts exceeded")
    clock.advance(1.5)
    assert "AccessToken" in tokens_for(idp, client, username)


def test_lockout_counts_srp_failures(idp, setup, clock):
    pool_id, client, username = setup
    clock.freeze()
    srp_client = Srp(idp, pool_id, client, username)
    for _ in range(5):
        with pytest.raises(ClientError) as e:
            srp_client.respond(srp_client.start(), password="Wrong0ne!")
        assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(ClientError) as e:
        srp_client.sign_in()
    assert error(e) == ("NotAuthorizedException", "Password attempts exceeded")


# -- SRP ---------------------------------------------------------------------------------------------------------------
def test_srp_sign_in(idp, setup):
    pool_id, client, username = setup
    srp_client = Srp(idp, pool_id, client, username)
    challenge = srp_client.start()
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER"
    params = challenge["ChallengeParameters"]
    assert set(params) == {"SALT", "SRP_B", "SECRET_BLOCK", "USERNAME", "USER_ID_FOR_SRP"}
    assert params["USER_ID_FOR_SRP"] == params["USERNAME"] == username
    base64.b64decode(params["SECRET_BLOCK"])
    assert "Session" not in challenge  # the secret block carries the state (measured on AWS: ministack#1758)
    out = srp_client.respond(challenge)
    assert out["ChallengeParameters"] == {}
    assert "AccessToken" in out["AuthenticationResult"]


def test_srp_wrong_password_and_block_reuse(idp, setup):
    pool_id, client, username = setup
    srp_client = Srp(idp, pool_id, client, username)
    challenge = srp_client.start()
    with pytest.raises(ClientError) as e:
        srp_client.respond(challenge, password="Wrong0ne!")
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    with pytest.raises(ClientError) as e:
        srp_client.respond(challenge)
    assert error(e) == ("NotAuthorizedException", "Invalid session for the user, session can only be used once.")


def test_srp_with_pycognito_authenticate_user(idp, setup):
    pool_id, client, username = setup
    helper = aws_srp.AWSSRP(username=username, password=PASSWORD, pool_id=pool_id, client_id=client["ClientId"],
                            client=idp)
    assert "IdToken" in helper.authenticate_user()["AuthenticationResult"]


def test_srp_alias_sign_in_uses_canonical_user_id(idp):
    pool_id = make_pool(idp, AliasAttributes=["email"])
    client = make_client(idp, pool_id)
    email = f"{unique('a')}@example.com"
    username = make_user(idp, pool_id, attributes={"email": email, "email_verified": "true"})
    srp_client = Srp(idp, pool_id, client, email)
    challenge = srp_client.start()
    assert challenge["ChallengeParameters"]["USER_ID_FOR_SRP"] == username
    assert "AccessToken" in srp_client.respond(challenge)["AuthenticationResult"]


def test_srp_email_username_pool(idp):
    pool_id = make_pool(idp, UsernameAttributes=["email"])
    client = make_client(idp, pool_id)
    email = f"{unique('e')}@example.com"
    idp.admin_create_user(UserPoolId=pool_id, Username=email, TemporaryPassword="Temp0rary!x", MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=PASSWORD, Permanent=True)
    srp_client = Srp(idp, pool_id, client, email)
    challenge = srp_client.start()
    user_id = challenge["ChallengeParameters"]["USER_ID_FOR_SRP"]
    assert user_id != email and len(user_id) == 36
    assert "AccessToken" in srp_client.respond(challenge)["AuthenticationResult"]


def test_srp_timestamp_rules(idp, setup, clock):
    pool_id, client, username = setup
    srp_client = Srp(idp, pool_id, client, username)
    stale = java_timestamp(clock.now() - 3600)
    with pytest.raises(ClientError) as e:
        srp_client.respond(srp_client.start(), timestamp=stale)
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    # A day of month below 10 must not be zero-padded.
    clock.set("2030-01-05T10:00:00Z")
    now = clock.now()
    with pytest.raises(ClientError) as e:
        srp_client.respond(srp_client.start(), timestamp=java_timestamp(now, pad_day=True))
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    out = srp_client.respond(srp_client.start(), timestamp=java_timestamp(now))
    assert "AccessToken" in out["AuthenticationResult"]


def test_srp_bad_a(idp, setup):
    pool_id, client, username = setup
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_SRP_AUTH",
                          AuthParameters={"USERNAME": username, "SRP_A": "0"})
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")


def test_srp_unknown_user(idp):
    pool_id = make_pool(idp)
    legacy = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        Srp(idp, pool_id, legacy, "ghost").start()
    assert error(e) == ("UserNotFoundException", "User does not exist.")
    hiding = make_client(idp, pool_id, PreventUserExistenceErrors="ENABLED")
    srp_client = Srp(idp, pool_id, hiding, "ghost")
    first, second = srp_client.start(), srp_client.start()
    assert first["ChallengeName"] == "PASSWORD_VERIFIER"
    for key in ("USER_ID_FOR_SRP", "SALT"):
        assert first["ChallengeParameters"][key] == second["ChallengeParameters"][key]
    assert len(first["ChallengeParameters"]["USER_ID_FOR_SRP"]) == 36
    with pytest.raises(ClientError) as e:
        srp_client.respond(first)
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")


def test_srp_new_password_required(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, password="Temp0rary!x", permanent=False)
    srp_client = Srp(idp, pool_id, client, username, password="Temp0rary!x")
    out = srp_client.sign_in()
    assert out["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                         Session=out["Session"],
                                         ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3wPassword!"})
    assert "AccessToken" in done["AuthenticationResult"]


# -- MFA -----------------------------------------------------------------------------------------------------------------
def _totp_user(idp, pool_id, client, username):
    token = tokens_for(idp, client, username)["AccessToken"]
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    idp.verify_software_token(AccessToken=token, UserCode=pyotp.TOTP(secret).now())
    idp.set_user_mfa_preference(AccessToken=token,
                                SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    return secret


def test_totp_mfa(idp, setup, clock):
    pool_id, client, username = setup
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    secret = _totp_user(idp, pool_id, client, username)
    clock.advance(60)  # the code used for set-up cannot be used again
    out = password_auth(idp, client, username)
    assert out["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    session = out["Session"]
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                      Session=session,
                                      ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": "000000"})
    assert error(e) == ("CodeMismatchException", "Invalid code received for user")
    code = pyotp.TOTP(secret).at(clock.now())
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                         Session=session,
                                         ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code})
    assert "AccessToken" in done["AuthenticationResult"]
    # SRP reaches the same challenge.
    srp_out = Srp(idp, pool_id, client, username).sign_in()
    assert srp_out["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_sms_mfa_required(idp, outbox):
    pool_id = make_pool(idp, SmsConfiguration={"SnsCallerArn": "arn:aws:iam::000000000000:role/sms"})
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON",
                                 SmsMfaConfiguration={"SmsConfiguration": {
                                     "SnsCallerArn": "arn:aws:iam::000000000000:role/sms"}})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"phone_number": "+15555550100", "phone_number_verified": "true"})
    out = password_auth(idp, client, username)
    assert out["ChallengeName"] == "SMS_MFA"
    assert out["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "SMS"
    assert out["ChallengeParameters"]["CODE_DELIVERY_DESTINATION"].endswith("0100")
    answer_code(idp, client, out, username, "SMS_MFA_CODE", outbox.last_code(username=username))


def test_mfa_setup_with_session(idp):
    pool_id = make_pool(idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON",
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    out = password_auth(idp, client, username)
    assert out["ChallengeName"] == "MFA_SETUP"
    assert json.loads(out["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["SOFTWARE_TOKEN_MFA"]
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="MFA_SETUP", Session=out["Session"],
                                      ChallengeResponses={"USERNAME": username})
    assert error(e) == ("InvalidParameterException", "MFA has not been set up for the user.")
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="MFA_SETUP", Session=out["Session"],
                                      ChallengeResponses={"USERNAME": username, "EMAIL": "me@example.com"})
    assert error(e) == ("InvalidParameterException", "Email MFA is not enabled for the user pool.")
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                      Session=out["Session"],
                                      ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": "123456"})
    assert error(e) == ("InvalidParameterException",
                        "Invalid challenge name SOFTWARE_TOKEN_MFA; the session expects MFA_SETUP.")
    associated = idp.associate_software_token(Session=out["Session"])
    verified = idp.verify_software_token(Session=associated["Session"],
                                         UserCode=pyotp.TOTP(associated["SecretCode"]).now())
    assert verified["Status"] == "SUCCESS"
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="MFA_SETUP",
                                         Session=verified["Session"], ChallengeResponses={"USERNAME": username})
    assert "AccessToken" in done["AuthenticationResult"]
    assert password_auth(idp, client, username)["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_select_mfa_type(idp, outbox, clock):
    arn = "arn:aws:iam::000000000000:role/sms"
    pool_id = make_pool(idp, SmsConfiguration={"SnsCallerArn": arn})
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="OPTIONAL",
                                 SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": arn}},
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"phone_number": "+15555550101", "phone_number_verified": "true"})
    _totp_user(idp, pool_id, client, username)
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=username,
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": False},
                                      SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False})
    out = password_auth(idp, client, username)
    assert out["ChallengeName"] == "SELECT_MFA_TYPE"
    assert sorted(json.loads(out["ChallengeParameters"]["MFAS_CAN_CHOOSE"])) == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SELECT_MFA_TYPE",
                                      Session=out["Session"],
                                      ChallengeResponses={"USERNAME": username, "ANSWER": "EMAIL_OTP"})
    assert error(e) == ("InvalidParameterException", "Invalid MFA type EMAIL_OTP selected.")
    chosen = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SELECT_MFA_TYPE",
                                           Session=out["Session"],
                                           ChallengeResponses={"USERNAME": username, "ANSWER": "SMS_MFA"})
    assert chosen["ChallengeName"] == "SMS_MFA"
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SMS_MFA",
                                         Session=chosen["Session"],
                                         ChallengeResponses={"USERNAME": username,
                                                             "SMS_MFA_CODE": outbox.last_code(username=username)})
    assert "AccessToken" in done["AuthenticationResult"]


# -- devices -----------------------------------------------------------------------------------------------------------------
def test_remembered_device_sign_in(idp):
    pool_id = make_pool(idp, DeviceConfiguration={"ChallengeRequiredOnNewDevice": False,
                                                  "DeviceOnlyRememberedOnUserPrompt": False})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    first = Srp(idp, pool_id, client, username).sign_in()["AuthenticationResult"]
    device = first["NewDeviceMetadata"]
    assert device["DeviceKey"].startswith("us-east-1_")
    device_password, verifier_config = aws_srp.generate_hash_device(device["DeviceGroupKey"], device["DeviceKey"])
    idp.confirm_device(AccessToken=first["AccessToken"], DeviceKey=device["DeviceKey"],
                       DeviceSecretVerifierConfig=verifier_config, DeviceName="laptop")
    helper = aws_srp.AWSSRP(username=username, password=PASSWORD, pool_id=pool_id, client_id=client["ClientId"],
                            client=idp, device_key=device["DeviceKey"], device_group_key=device["DeviceGroupKey"],
                            device_password=device_password)
    out = helper.authenticate_user()
    result = out["AuthenticationResult"]
    assert "NewDeviceMetadata" not in result
    import jwt
    assert jwt.decode(result["AccessToken"], options={"verify_signature": False})["device_key"] == device["DeviceKey"]
    # A wrong device password fails.
    bad = aws_srp.AWSSRP(username=username, password=PASSWORD, pool_id=pool_id, client_id=client["ClientId"],
                         client=idp, device_key=device["DeviceKey"], device_group_key=device["DeviceGroupKey"],
                         device_password="not-the-device-password")
    with pytest.raises(ClientError) as e:
        bad.authenticate_user()
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")


def test_device_srp_with_session(idp):
    pool_id = make_pool(idp, DeviceConfiguration={"ChallengeRequiredOnNewDevice": False,
                                                  "DeviceOnlyRememberedOnUserPrompt": False})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    first = tokens_for(idp, client, username)
    device = first["NewDeviceMetadata"]
    device_password, verifier_config = aws_srp.generate_hash_device(device["DeviceGroupKey"], device["DeviceKey"])
    idp.confirm_device(AccessToken=first["AccessToken"], DeviceKey=device["DeviceKey"],
                       DeviceSecretVerifierConfig=verifier_config)
    out = password_auth(idp, client, username, DEVICE_KEY=device["DeviceKey"])
    assert out["ChallengeName"] == "DEVICE_SRP_AUTH"
    helper = aws_srp.AWSSRP(username=username, password=PASSWORD, pool_id=pool_id, client_id=client["ClientId"],
                            client=idp, device_key=device["DeviceKey"], device_group_key=device["DeviceGroupKey"],
                            device_password=device_password)
    verifier = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="DEVICE_SRP_AUTH", Session=out["Session"],
        ChallengeResponses={"USERNAME": username, "DEVICE_KEY": device["DeviceKey"],
                            "SRP_A": format(helper.large_a_value, "x")})
    assert verifier["ChallengeName"] == "DEVICE_PASSWORD_VERIFIER"
    answer = helper.process_device_challenge(verifier["ChallengeParameters"])
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="DEVICE_PASSWORD_VERIFIER",
                                         Session=verifier["Session"], ChallengeResponses=answer)
    assert "AccessToken" in done["AuthenticationResult"]


# -- USER_AUTH ------------------------------------------------------------------------------------------------------------
def _user_auth_pool(idp, factors=("PASSWORD", "EMAIL_OTP")):
    pool_id = make_pool(idp, Policies={"SignInPolicy": {"AllowedFirstAuthFactors": list(factors)}},
                        UserPoolTier="ESSENTIALS")
    client = make_client(idp, pool_id, flows=["ALLOW_USER_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    username = make_user(idp, pool_id, attributes={"email": f"{unique('m')}@example.com", "email_verified": "true"})
    return pool_id, client, username


def test_user_auth_select_challenge_password(idp):
    pool_id, client, username = _user_auth_pool(idp)
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH", AuthParameters={"USERNAME": username})
    assert out["ChallengeName"] == "SELECT_CHALLENGE"
    assert out["AvailableChallenges"] == ["PASSWORD", "PASSWORD_SRP", "EMAIL_OTP"]
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SELECT_CHALLENGE",
                                      Session=out["Session"], ChallengeResponses={"USERNAME": username,
                                                                                 "ANSWER": "SMS_OTP"})
    assert error(e) == ("InvalidParameterException", "The challenge SMS_OTP is not available for the user.")
    with pytest.raises(ClientError) as e:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SELECT_CHALLENGE",
                                      Session=out["Session"],
                                      ChallengeResponses={"USERNAME": username, "ANSWER": "PASSWORD",
                                                          "PASSWORD": "Wrong0ne!"})
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SELECT_CHALLENGE",
                                         Session=out["Session"],
                                         ChallengeResponses={"USERNAME": username, "ANSWER": "PASSWORD",
                                                             "PASSWORD": PASSWORD})
    assert "AccessToken" in done["AuthenticationResult"]


def test_user_auth_preferred_password_and_srp(idp):
    pool_id, client, username = _user_auth_pool(idp)
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                            AuthParameters={"USERNAME": username, "PREFERRED_CHALLENGE": "PASSWORD",
                                            "PASSWORD": PASSWORD})
    assert "AccessToken" in out["AuthenticationResult"]
    helper = aws_srp.AWSSRP(username=username, password=PASSWORD, pool_id=pool_id, client_id=client["ClientId"],
                            client=idp)
    challenge = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                                  AuthParameters={"USERNAME": username, "PREFERRED_CHALLENGE": "PASSWORD_SRP",
                                                  "SRP_A": format(helper.large_a_value, "x")})
    assert challenge["ChallengeName"] == "PASSWORD_VERIFIER" and challenge["Session"]
    answer = helper.process_challenge(challenge["ChallengeParameters"], {"USERNAME": username})
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER",
                                         Session=challenge["Session"], ChallengeResponses=answer)
    assert "AccessToken" in done["AuthenticationResult"]


def test_user_auth_email_otp(idp, outbox):
    pool_id, client, username = _user_auth_pool(idp)
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                            AuthParameters={"USERNAME": username, "PREFERRED_CHALLENGE": "EMAIL_OTP"})
    assert out["ChallengeName"] == "EMAIL_OTP"
    assert out["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    answer_code(idp, client, out, username, "EMAIL_OTP_CODE", outbox.last_code(username=username))


def test_user_auth_gating(idp):
    pool_id = make_pool(idp)
    username = make_user(idp, pool_id)
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH", AuthParameters={"USERNAME": username})
    assert error(e) == ("InvalidParameterException", "Auth flow not enabled for this client")


def test_custom_auth_without_triggers(idp, setup):
    _pool, client, username = setup
    with pytest.raises(ClientError) as e:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": username})
    assert error(e)[0] == "InvalidParameterException"
