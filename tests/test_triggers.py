"""User pool Lambda triggers end to end: the event every trigger source receives, the effect of
its response, and AWS's error mapping, with functions reached through a Lambda Invoke API
server, URL webhooks and Python callables."""

from __future__ import annotations

import os
import time

import pytest
from botocore.exceptions import ClientError
from helpers import (
    PASSWORD,
    Srp,
    attrs_of,
    boto_client,
    claims,
    device_verifier,
    envelope,
    error,
    java_timestamp,
    make_client,
    make_pool,
    make_user,
    password_auth,
    tokens_for,
    unique,
)
from lambda_fixtures import user_pool_functions as functions
from lambda_fixtures.user_pool_functions import messages

from emulator.userpools.model import srp

SMS = {"SnsCallerArn": "arn:aws:iam::000000000000:role/sms"}

# The module's emulator with its functions, its cognito-idp client, and the check after each test.
fx, idp, _healthy = functions.fx, functions.idp, functions.healthy


def sign_in_error(idp, triggers: dict) -> tuple[str, dict, str, tuple[str, str]]:
    """(pool id, client, username, error) of a password sign-in refused in a new pool with `triggers`."""
    pool_id = make_pool(idp, LambdaConfig=triggers)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, username)
    return pool_id, client, username, error(e)


def user_attrs(idp, pool_id: str, username: str) -> dict:
    return attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=username))


# -- PreSignUp ---------------------------------------------------------------------------------------------
def test_pre_sign_up_sign_up_event_and_auto_confirm(fx, idp):
    def handler(event):
        event["response"].update(autoConfirmUser=True, autoVerifyEmail=True, autoVerifyPhone=True)
        return event
    arn = fx.add(handler)
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": arn}, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id)
    username = unique("alice")
    out = idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                      UserAttributes=[{"Name": "email", "Value": "alice@example.com"}],
                      ValidationData=[{"Name": "captcha", "Value": "ok"}], ClientMetadata={"app": "web"})
    event = fx.last(arn)
    envelope(event, "PreSignUp_SignUp", pool_id, username, client["ClientId"])
    assert event["request"] == {"userAttributes": {"email": "alice@example.com"},
                                "validationData": {"captcha": "ok"}, "clientMetadata": {"app": "web"}}
    assert event["response"] == {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}
    assert out["UserConfirmed"] is True and "CodeDeliveryDetails" not in out
    got = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert got["UserStatus"] == "CONFIRMED"
    attrs = {a["Name"]: a["Value"] for a in got["UserAttributes"]}
    assert attrs["email_verified"] == "true"
    assert "phone_number_verified" not in attrs  # autoVerifyPhone needs a phone number
    assert messages(fx, pool_id=pool_id) == []


def test_pre_sign_up_without_auto_confirm_sends_the_code(fx, idp):
    arn = fx.add(via="hook")
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": arn}, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id)
    username = unique("bob")
    out = idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                      UserAttributes=[{"Name": "email", "Value": "bob@example.com"}])
    assert out["UserConfirmed"] is False
    assert fx.last(arn)["request"]["validationData"] is None
    assert messages(fx, username=username)[0]["kind"] == "SignUp"


def test_pre_sign_up_admin_create_user(fx, idp):
    def handler(event):
        event["response"]["autoConfirmUser"] = True  # ignored for AdminCreateUser
        return event
    arn = fx.add(handler, via="hook")
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": arn})
    username = unique("carol")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "name", "Value": "Carol"}],
                          ValidationData=[{"Name": "k", "Value": "v"}], ClientMetadata={"by": "admin"})
    event = fx.last(arn)
    envelope(event, "PreSignUp_AdminCreateUser", pool_id, username, None)
    assert event["request"]["userAttributes"] == {"name": "Carol"}
    assert event["request"]["validationData"] == {"k": "v"}
    assert event["request"]["clientMetadata"] == {"by": "admin"}
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "FORCE_CHANGE_PASSWORD"


@pytest.mark.parametrize("via", ["api", "hook", "python"])
def test_function_error_blocks_sign_up(fx, idp, via):
    def handler(event):
        raise Exception("Sign-ups from this domain are closed")
    arn = fx.add(handler, via=via, python="deny")
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": arn})
    client = make_client(idp, pool_id)
    username = unique("dave")
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD)
    assert error(e) == ("UserLambdaValidationException",
                        "PreSignUp failed with error Sign-ups from this domain are closed.")
    with pytest.raises(ClientError) as e:
        idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS")
    assert error(e) == ("UserLambdaValidationException",
                        "PreSignUp failed with error Sign-ups from this domain are closed.")
    with pytest.raises(ClientError) as e:
        idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert error(e)[0] == "UserNotFoundException"
    assert fx.all(arn)[-1]["triggerSource"] == "PreSignUp_AdminCreateUser"


@pytest.mark.parametrize("via", ["api", "hook", "python"])
def test_invalid_response(fx, idp, via):
    arn = fx.add(lambda event: ["not", "an", "event"], via=via, python="not_an_event")
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": arn})
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client["ClientId"], Username=unique("erin"), Password=PASSWORD)
    assert error(e) == ("InvalidLambdaResponseException", "Unrecognizable lambda output")


def test_response_that_is_not_an_object(fx, idp):
    arn = fx.add(lambda event: {**event, "response": "yes"})
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": arn})
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client["ClientId"], Username=unique("erin"), Password=PASSWORD)
    assert error(e) == ("InvalidLambdaResponseException", "Unrecognizable lambda output")


def test_missing_and_unreachable_functions(fx, idp):
    for via, message in (("missing", "PreSignUp invocation failed due to error ResourceNotFoundException."),
                         ("down", None)):
        arn = fx.add(via=via)
        pool_id = make_pool(idp, LambdaConfig={"PreSignUp": arn})
        client = make_client(idp, pool_id)
        with pytest.raises(ClientError) as e:
            idp.sign_up(ClientId=client["ClientId"], Username=unique("frank"), Password=PASSWORD)
        code, text = error(e)
        assert code == "UnexpectedLambdaException"
        if message:
            assert text == message
        else:
            assert text.startswith("PreSignUp invocation failed due to error ") and text.endswith(".")


def test_timeout_five_seconds_three_attempts(fx, idp):
    # AWS's default: 5 s per attempt, a timed-out invocation tried three times in all.
    arn = fx.add(via="silent")
    began = time.monotonic()
    *_, refused = sign_in_error(idp, {"PreAuthentication": arn})
    elapsed = time.monotonic() - began
    assert refused == ("UnexpectedLambdaException", "PreAuthentication invocation failed due to error "
                                                     "Socket timeout while invoking Lambda function.")
    assert 14.5 <= elapsed < 25


# -- PostConfirmation ---------------------------------------------------------------------------------
def test_post_confirmation_confirm_sign_up(fx, idp):
    arn = fx.add(via="hook")
    pool_id = make_pool(idp, LambdaConfig={"PostConfirmation": arn}, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id)
    username = unique("gina")
    sub = idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                      UserAttributes=[{"Name": "email", "Value": "gina@example.com"}])["UserSub"]
    code = messages(fx, username=username)[0]["code"]
    idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code,
                        ClientMetadata={"step": "confirm"})
    event = fx.last(arn)
    envelope(event, "PostConfirmation_ConfirmSignUp", pool_id, username, client["ClientId"])
    assert event["request"] == {"userAttributes": {"sub": sub, "email": "gina@example.com",
                                                   "email_verified": "true",
                                                   "cognito:user_status": "CONFIRMED"},
                                "clientMetadata": {"step": "confirm"}}
    assert event["response"] == {}


def test_post_confirmation_admin_confirm_and_forgot_password(fx, idp):
    arn = fx.add()
    pool_id = make_pool(idp, LambdaConfig={"PostConfirmation": arn})
    client = make_client(idp, pool_id)
    username = unique("hal")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": "hal@example.com"}])
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    envelope(fx.last(arn), "PostConfirmation_ConfirmSignUp", pool_id, username, None)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username,
                                     UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    idp.forgot_password(ClientId=client["ClientId"], Username=username)
    code = messages(fx, username=username, kind="ForgotPassword")[0]["code"]
    idp.confirm_forgot_password(ClientId=client["ClientId"], Username=username, ConfirmationCode=code,
                                Password="N3wPassw0rd!", ClientMetadata={"k": "v"})
    event = fx.last(arn)
    envelope(event, "PostConfirmation_ConfirmForgotPassword", pool_id, username, client["ClientId"])
    assert event["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    assert event["request"]["clientMetadata"] == {"k": "v"}


def test_function_may_call_back_into_the_emulator(fx, idp):
    """PostConfirmation adding the user to a group through the emulator's own API."""
    def handler(event):
        api = boto_client("cognito-idp", fx.url)
        api.admin_add_user_to_group(UserPoolId=event["userPoolId"], Username=event["userName"], GroupName="members")
        return event
    arn = fx.add(handler, via="hook")
    pool_id = make_pool(idp, LambdaConfig={"PostConfirmation": arn})
    idp.create_group(UserPoolId=pool_id, GroupName="members")
    client = make_client(idp, pool_id)
    username = unique("ivy")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD)
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    groups = idp.admin_list_groups_for_user(UserPoolId=pool_id, Username=username)["Groups"]
    assert [g["GroupName"] for g in groups] == ["members"]
    tokens = tokens_for(idp, client, username)
    assert claims(tokens["AccessToken"])["cognito:groups"] == ["members"]


# -- PreAuthentication / PostAuthentication ---------------------------------------------------------
def test_pre_and_post_authentication(fx, idp):
    pre, post = fx.add(), fx.add(via="hook")
    pool_id = make_pool(idp, LambdaConfig={"PreAuthentication": pre, "PostAuthentication": post})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"email": "jo@example.com", "email_verified": "true"})
    password_auth(idp, client, username)  # no ClientMetadata
    assert fx.last(pre)["request"]["validationData"] == {}
    idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH", ClientMetadata={"ip": "x"},
                      AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    event = fx.last(pre)
    envelope(event, "PreAuthentication_Authentication", pool_id, username, client["ClientId"])
    attrs = event["request"]["userAttributes"]
    assert attrs["email"] == "jo@example.com" and attrs["email_verified"] == "true"
    assert attrs["cognito:user_status"] == "CONFIRMED" and attrs["sub"]
    assert event["request"]["validationData"] == {"ip": "x"}
    assert event["request"]["userNotFound"] is False
    event = fx.last(post)
    envelope(event, "PostAuthentication_Authentication", pool_id, username, client["ClientId"])
    assert event["request"]["newDeviceUsed"] is False
    assert event["request"]["clientMetadata"] == {}  # InitiateAuth's ClientMetadata is not passed on
    assert event["request"]["userAttributes"] == attrs
    # ClientMetadata of RespondToAuthChallenge reaches PostAuthentication.
    helper = Srp(idp, pool_id, client, username)
    challenge = helper.start()
    idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="PASSWORD_VERIFIER",
                                  ChallengeResponses=helper.answer(challenge), ClientMetadata={"step": "2"})
    assert fx.last(post)["request"]["clientMetadata"] == {"step": "2"}


def test_pre_authentication_denies(fx, idp):
    def handler(event):
        raise Exception("Outside business hours")
    pre = fx.add(handler)
    post = fx.add()
    pool_id, client, username, refused = sign_in_error(idp, {"PreAuthentication": pre, "PostAuthentication": post})
    assert refused == ("UserLambdaValidationException",
                       "PreAuthentication failed with error Outside business hours.")
    with pytest.raises(ClientError) as e:
        Srp(idp, pool_id, client, username).start()
    assert error(e)[0] == "UserLambdaValidationException"
    assert fx.all(post) == []


def test_post_authentication_new_device_used(fx, idp):
    post = fx.add()
    pool_id = make_pool(idp, LambdaConfig={"PostAuthentication": post},
                        DeviceConfiguration={"ChallengeRequiredOnNewDevice": False,
                                             "DeviceOnlyRememberedOnUserPrompt": False})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    result = tokens_for(idp, client, username)
    assert "NewDeviceMetadata" in result
    assert fx.last(post)["request"]["newDeviceUsed"] is True


def test_post_authentication_error(fx, idp):
    def handler(event):
        raise Exception("audit log down")
    post = fx.add(handler, via="hook")
    *_, refused = sign_in_error(idp, {"PostAuthentication": post})
    assert refused == ("UserLambdaValidationException", "PostAuthentication failed with error audit log down.")


# -- PreTokenGeneration ----------------------------------------------------------------------------------
def _v1(event):
    event["response"]["claimsOverrideDetails"] = {
        "claimsToAddOrOverride": {"plan": "gold", "email": "other@example.com", "sub": "ignored"},
        "claimsToSuppress": ["name"],
        "groupOverrideDetails": {"groupsToOverride": ["vip"], "iamRolesToOverride": [], "preferredRole": None},
    }
    return event


def test_pre_token_generation_v1_every_source(fx, idp, tmp_path):
    arn = fx.add(_v1)
    pool_id = make_pool(idp, LambdaConfig={"PreTokenGeneration": arn})
    idp.create_group(UserPoolId=pool_id, GroupName="staff")
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"email": "kim@example.com", "name": "Kim"})
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=username, GroupName="staff")
    out = tokens_for(idp, client, username)
    event = fx.last(arn)
    envelope(event, "TokenGeneration_Authentication", pool_id, username, client["ClientId"])
    assert event["request"]["userAttributes"]["email"] == "kim@example.com"
    assert event["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"
    assert event["request"]["groupConfiguration"] == {"groupsToOverride": ["staff"], "iamRolesToOverride": [],
                                                      "preferredRole": None}
    assert event["response"] == {"claimsOverrideDetails": None}
    id_claims, access = claims(out["IdToken"]), claims(out["AccessToken"])
    assert id_claims["plan"] == "gold" and id_claims["email"] == "other@example.com"
    assert id_claims["sub"] != "ignored" and "name" not in id_claims
    assert id_claims["cognito:groups"] == ["vip"] and access["cognito:groups"] == ["vip"]
    assert "plan" not in access
    idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                      AuthParameters={"REFRESH_TOKEN": out["RefreshToken"]})
    assert fx.last(arn)["triggerSource"] == "TokenGeneration_RefreshTokens"
    # NEW_PASSWORD_REQUIRED
    other = make_user(idp, pool_id, permanent=False)
    challenge = password_auth(idp, client, other)
    idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="NEW_PASSWORD_REQUIRED",
                                  Session=challenge["Session"],
                                  ChallengeResponses={"USERNAME": other, "NEW_PASSWORD": "Br4ndNew!pw"})
    assert fx.last(arn)["triggerSource"] == "TokenGeneration_NewPasswordChallenge"


def test_pre_token_generation_authenticate_device(fx, idp):
    arn = fx.add()
    pool_id = make_pool(idp, LambdaConfig={"PreTokenGeneration": arn},
                        DeviceConfiguration={"ChallengeRequiredOnNewDevice": False,
                                             "DeviceOnlyRememberedOnUserPrompt": False})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    tokens = tokens_for(idp, client, username)
    meta = tokens["NewDeviceMetadata"]
    device_password, _salt, config = device_verifier(meta["DeviceGroupKey"], meta["DeviceKey"])
    idp.confirm_device(AccessToken=tokens["AccessToken"], DeviceKey=meta["DeviceKey"],
                       DeviceSecretVerifierConfig=config, DeviceName="laptop")
    start = password_auth(idp, client, username, DEVICE_KEY=meta["DeviceKey"])
    assert start["ChallengeName"] == "DEVICE_SRP_AUTH"
    a = int.from_bytes(os.urandom(128), "big") % srp.N
    step = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="DEVICE_SRP_AUTH", Session=start["Session"],
        ChallengeResponses={"USERNAME": username, "DEVICE_KEY": meta["DeviceKey"],
                            "SRP_A": format(pow(srp.G, a, srp.N), "x")})
    params = step["ChallengeParameters"]
    key = srp.client_session_key(meta["DeviceGroupKey"], meta["DeviceKey"], device_password, a,
                                 int(params["SRP_B"], 16), int(params["SALT"], 16))
    stamp = java_timestamp(time.time())
    signature = srp.claim_signature(key, meta["DeviceGroupKey"], meta["DeviceKey"], params["SECRET_BLOCK"], stamp)
    idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="DEVICE_PASSWORD_VERIFIER", Session=step["Session"],
        ChallengeResponses={"USERNAME": username, "DEVICE_KEY": meta["DeviceKey"], "TIMESTAMP": stamp,
                            "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
                            "PASSWORD_CLAIM_SIGNATURE": signature})
    assert fx.last(arn)["triggerSource"] == "TokenGeneration_AuthenticateDevice"


@pytest.mark.parametrize("version", ["V2_0", "V3_0"])
def test_pre_token_generation_v2_v3(fx, idp, version):
    def handler(event):
        event["response"]["claimsAndScopeOverrideDetails"] = {
            "idTokenGeneration": {"claimsToAddOrOverride": {"level": 7, "tags": ["a", "b"]},
                                  "claimsToSuppress": ["email"]},
            "accessTokenGeneration": {"claimsToAddOrOverride": {"tenant": {"id": "t1"}},
                                      "scopesToAdd": ["api/read"], "scopesToSuppress": []},
            "groupOverrideDetails": {"groupsToOverride": ["g1", "g2"]},
        }
        return event
    arn = fx.add(handler, via="hook")
    pool_id = make_pool(idp, UserPoolTier="ESSENTIALS",
                        LambdaConfig={"PreTokenGenerationConfig": {"LambdaArn": arn, "LambdaVersion": version}})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"email": "lee@example.com"})
    out = tokens_for(idp, client, username)
    event = fx.last(arn)
    assert event["version"] == version[1]
    assert event["triggerSource"] == "TokenGeneration_Authentication"
    assert event["request"]["scopes"] == ["aws.cognito.signin.user.admin"]
    assert event["response"] == {"claimsAndScopeOverrideDetails": None}
    id_claims, access = claims(out["IdToken"]), claims(out["AccessToken"])
    assert id_claims["level"] == 7 and id_claims["tags"] == ["a", "b"] and "email" not in id_claims
    assert access["tenant"] == {"id": "t1"}
    assert access["scope"].split() == ["aws.cognito.signin.user.admin", "api/read"]
    assert access["cognito:groups"] == ["g1", "g2"] and id_claims["cognito:groups"] == ["g1", "g2"]


def test_pre_token_generation_v1_rejects_non_string_claims(fx, idp):
    def handler(event):
        event["response"]["claimsOverrideDetails"] = {"claimsToAddOrOverride": {"n": 1}}
        return event
    arn = fx.add(handler)
    *_, refused = sign_in_error(idp, {"PreTokenGeneration": arn})
    assert refused == ("InvalidLambdaResponseException", "Unrecognizable lambda output")


# -- CustomMessage -------------------------------------------------------------------------------------
def _custom_message(event):
    source = event["triggerSource"].split("_", 1)[1]
    code, name = event["request"]["codeParameter"], event["request"]["usernameParameter"]
    event["response"]["emailSubject"] = f"[{source}] subject"
    event["response"]["emailMessage"] = f"[{source}] email {code}" + (f" for {name}" if name else "")
    event["response"]["smsMessage"] = f"[{source}] sms {code}" + (f" for {name}" if name else "")
    return event


def test_custom_message_every_source(fx, idp):
    arn = fx.add(_custom_message, via="hook")
    pool_id = make_pool(idp, LambdaConfig={"CustomMessage": arn}, AutoVerifiedAttributes=["email"],
                        SmsConfiguration=SMS)
    client = make_client(idp, pool_id)
    username = unique("max")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD, ClientMetadata={"m": "1"},
                UserAttributes=[{"Name": "email", "Value": "max@example.com"}])
    event = fx.last(arn)
    envelope(event, "CustomMessage_SignUp", pool_id, username, client["ClientId"])
    assert event["request"]["codeParameter"] == "{####}"
    assert event["request"]["usernameParameter"] is None
    assert event["request"]["clientMetadata"] == {"m": "1"}
    assert event["request"]["userAttributes"]["email"] == "max@example.com"
    assert event["request"]["userAttributes"]["cognito:user_status"] == "UNCONFIRMED"
    assert event["request"]["userAttributes"]["email_verified"] == "false"
    assert event["request"]["userAttributes"]["sub"]
    assert event["response"] == {"smsMessage": None, "emailMessage": None, "emailSubject": None}
    message = messages(fx, username=username)[0]
    assert (message["kind"], message["subject"]) == ("SignUp", "[SignUp] subject")
    assert message["body"] == f"[SignUp] email {message['code']}"

    idp.resend_confirmation_code(ClientId=client["ClientId"], Username=username)
    message = messages(fx, username=username)[0]
    assert message["body"] == f"[ResendCode] email {message['code']}"
    idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=message["code"])

    idp.forgot_password(ClientId=client["ClientId"], Username=username)
    message = messages(fx, username=username)[0]
    assert message["body"] == f"[ForgotPassword] email {message['code']}"
    assert fx.last(arn)["request"]["userAttributes"]["email_verified"] == "true"

    tokens = tokens_for(idp, client, username)
    idp.update_user_attributes(AccessToken=tokens["AccessToken"],
                               UserAttributes=[{"Name": "email", "Value": "max2@example.com"}])
    message = messages(fx, username=username)[0]
    assert (message["destination"], message["body"]) == ("max2@example.com",
                                                         f"[UpdateUserAttribute] email {message['code']}")
    assert fx.last(arn)["triggerSource"] == "CustomMessage_UpdateUserAttribute"

    idp.get_user_attribute_verification_code(AccessToken=tokens["AccessToken"], AttributeName="email")
    message = messages(fx, username=username)[0]
    assert message["body"] == f"[VerifyUserAttribute] email {message['code']}"
    envelope(fx.last(arn), "CustomMessage_VerifyUserAttribute", pool_id, username, client["ClientId"])

    invited = unique("nia")
    idp.admin_create_user(UserPoolId=pool_id, Username=invited, DesiredDeliveryMediums=["EMAIL", "SMS"],
                          UserAttributes=[{"Name": "email", "Value": "nia@example.com"},
                                          {"Name": "phone_number", "Value": "+15555550123"}])
    event = fx.last(arn)
    envelope(event, "CustomMessage_AdminCreateUser", pool_id, invited, None)
    assert event["request"]["usernameParameter"] == "{username}"
    sent = {m["channel"]: m for m in messages(fx, username=invited)}
    assert sent["EMAIL"]["body"] == f"[AdminCreateUser] email {sent['EMAIL']['code']} for {invited}"
    assert sent["EMAIL"]["subject"] == "[AdminCreateUser] subject"
    assert sent["SMS"]["body"] == f"[AdminCreateUser] sms {sent['SMS']['code']} for {invited}"


def test_custom_message_authentication(fx, idp):
    arn = fx.add(_custom_message)
    pool_id = make_pool(idp, LambdaConfig={"CustomMessage": arn}, SmsConfiguration=SMS)
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON",
                                 SmsMfaConfiguration={"SmsConfiguration": SMS})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id, attributes={"phone_number": "+15555550100", "phone_number_verified": "true"})
    out = password_auth(idp, client, username)
    assert out["ChallengeName"] == "SMS_MFA"
    event = fx.last(arn)
    envelope(event, "CustomMessage_Authentication", pool_id, username, client["ClientId"])
    message = messages(fx, username=username)[0]
    assert (message["channel"], message["body"]) == ("SMS", f"[Authentication] sms {message['code']}")
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SMS_MFA", Session=out["Session"],
                                         ChallengeResponses={"USERNAME": username, "SMS_MFA_CODE": message["code"]})
    assert "AccessToken" in done["AuthenticationResult"]


def test_custom_message_error(fx, idp):
    def handler(event):
        raise Exception("template store offline")
    arn = fx.add(handler)
    pool_id = make_pool(idp, LambdaConfig={"CustomMessage": arn}, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.sign_up(ClientId=client["ClientId"], Username=unique("oz"), Password=PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": "oz@example.com"}])
    assert error(e) == ("UserLambdaValidationException", "CustomMessage failed with error template store offline.")


# -- UserMigration ------------------------------------------------------------------------------------------
def test_user_migration_at_sign_in(fx, idp):
    def handler(event):
        if event["request"]["password"] != "Legacy1!x":
            raise Exception("Bad password")
        event["response"].update(userAttributes={"email": "pat@example.com", "email_verified": "true"},
                                 finalUserStatus="CONFIRMED", desiredDeliveryMediums=["EMAIL"])
        return event
    arn = fx.add(handler, via="hook")
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": arn})
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, "pat", "Wrong1!x")
    assert error(e) == ("UserLambdaValidationException", "UserMigration failed with error Bad password.")
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH", ClientMetadata={"v": "1"},
                            AuthParameters={"USERNAME": "pat", "PASSWORD": "Legacy1!x"})
    event = fx.last(arn)
    envelope(event, "UserMigration_Authentication", pool_id, "pat", client["ClientId"])
    assert event["request"] == {"password": "Legacy1!x", "validationData": {"v": "1"}}
    assert event["response"] == {"userAttributes": None, "finalUserStatus": None, "messageAction": None,
                                 "desiredDeliveryMediums": None, "forceAliasCreation": None,
                                 "enableSMSMFA": None}
    assert claims(out["AuthenticationResult"]["IdToken"])["email"] == "pat@example.com"
    assert idp.admin_get_user(UserPoolId=pool_id, Username="pat")["UserStatus"] == "CONFIRMED"
    welcome = messages(fx, username="pat")
    assert [(m["kind"], m["channel"], m["destination"]) for m in welcome] == [
        ("UserMigration", "EMAIL", "pat@example.com")]
    # Migrated once: the emulator now checks the password itself.
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, "pat", "Wrong1!x")
    assert error(e) == ("NotAuthorizedException", "Incorrect username or password.")
    assert len(fx.all(arn)) == 2


def test_user_migration_reset_required_and_suppressed(fx, idp):
    def handler(event):
        event["response"].update(userAttributes={"email": "quinn@example.com", "email_verified": "true"},
                                 finalUserStatus="RESET_REQUIRED", messageAction="SUPPRESS")
        return event
    arn = fx.add(handler)
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": arn})
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, "quinn", "Legacy1!x")
    assert error(e) == ("PasswordResetRequiredException", "Password reset required for the user")
    assert idp.admin_get_user(UserPoolId=pool_id, Username="quinn")["UserStatus"] == "RESET_REQUIRED"
    assert messages(fx, username="quinn") == []


def test_user_migration_forgot_password(fx, idp):
    def handler(event):
        event["response"].update(userAttributes={"email": "ray@example.com", "email_verified": "true"},
                                 messageAction="SUPPRESS")
        return event
    arn = fx.add(handler, via="hook")
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": arn})
    client = make_client(idp, pool_id)
    out = idp.forgot_password(ClientId=client["ClientId"], Username="ray", ClientMetadata={"from": "app"})
    event = fx.last(arn)
    envelope(event, "UserMigration_ForgotPassword", pool_id, "ray", client["ClientId"])
    assert "password" not in event["request"]
    assert event["request"]["clientMetadata"] == {"from": "app"}
    assert out["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert idp.admin_get_user(UserPoolId=pool_id, Username="ray")["UserStatus"] == "RESET_REQUIRED"
    code = messages(fx, username="ray", kind="ForgotPassword")[0]["code"]
    idp.confirm_forgot_password(ClientId=client["ClientId"], Username="ray", ConfirmationCode=code,
                                Password="Fresh1!pass")
    assert tokens_for(idp, client, "ray", "Fresh1!pass")["AccessToken"]


def test_user_migration_invalid_response(fx, idp):
    def handler(event):
        event["response"].update(userAttributes={"email": "sam@example.com"}, finalUserStatus="ACTIVE")
        return event
    arn = fx.add(handler)
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": arn})
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, "sam", "Legacy1!x")
    assert error(e) == ("InvalidLambdaResponseException", "Unrecognizable lambda output")


def test_user_migration_declined_is_unknown_user(fx, idp):
    arn = fx.add()  # answers without userAttributes
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": arn})
    client = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, "tom", "Legacy1!x")
    assert error(e) == ("UserNotFoundException", "User does not exist.")
