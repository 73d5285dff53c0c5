"""CustomEmailSender / CustomSMSSender: messages go to the function (asynchronously) instead of the
outbox, with the code encrypted by KMS when an endpoint is configured, else in the local envelope."""

from __future__ import annotations

import base64
import json

from helpers import (
    PASSWORD,
    boto_client,
    envelope,
    make_client,
    make_pool,
    make_user,
    password_auth,
    tokens_for,
    unique,
    wait_for,
)
from lambda_fixtures import user_pool_functions as functions
from lambda_fixtures.servers import RecordingServer
from lambda_fixtures.user_pool_functions import Functions, messages

from emulator.userpools.outbound import custom_senders

KEY = "arn:aws:kms:us-east-1:000000000000:key/0b1e6c2a-8a57-4d61-9a38-5f1d7a1e9c11"
SMS = {"SnsCallerArn": "arn:aws:iam::000000000000:role/sms"}

# The module's emulator with its functions, its cognito-idp client, and the check after each test.
fx, idp, _healthy = functions.fx, functions.idp, functions.healthy


def sender_pool(fx, idp, **kwargs):
    email, sms = fx.add(via="hook"), fx.add()
    pool_id = make_pool(idp, LambdaConfig={"CustomEmailSender": {"LambdaArn": email, "LambdaVersion": "V1_0"},
                                           "CustomSMSSender": {"LambdaArn": sms, "LambdaVersion": "V1_0"},
                                           "KMSKeyID": KEY},
                        SmsConfiguration=SMS, **kwargs)
    return pool_id, make_client(idp, pool_id), email, sms


def received(fx, arn: str, count: int) -> dict:
    """The `count`-th event the function got (it is invoked asynchronously)."""
    events = wait_for(lambda: len(fx.all(arn)) >= count and fx.all(arn))
    return events[count - 1]


def code_of(event: dict) -> str:
    return custom_senders.decode_local(event["request"]["code"])


def test_email_sender_for_sign_up_and_recovery(fx, idp):
    pool_id, client, email, _sms = sender_pool(fx, idp, AutoVerifiedAttributes=["email"])
    username = unique("amy")
    out = idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                      ClientMetadata={"lang": "fr"}, UserAttributes=[{"Name": "email", "Value": "amy@example.com"}])
    assert out["CodeDeliveryDetails"] == {"Destination": "a***@e***", "DeliveryMedium": "EMAIL",
                                          "AttributeName": "email"}
    event = received(fx, email, 1)
    envelope(event, "CustomEmailSender_SignUp", pool_id, username, client["ClientId"])
    request = event["request"]
    assert request["type"] == "customEmailSenderRequestV1"
    assert request["clientMetadata"] == {"lang": "fr"}
    assert request["userAttributes"]["email"] == "amy@example.com"
    assert request["userAttributes"]["cognito:user_status"] == "UNCONFIRMED"
    envelope_json = json.loads(base64.b64decode(request["code"]))
    assert envelope_json["envelope"] == "cognito-emulator/plaintext-v1" and envelope_json["keyId"] == KEY
    assert messages(fx, username=username) == []  # nothing sent by the emulator itself

    idp.resend_confirmation_code(ClientId=client["ClientId"], Username=username)
    event = received(fx, email, 2)
    assert event["triggerSource"] == "CustomEmailSender_ResendCode"
    idp.confirm_sign_up(ClientId=client["ClientId"], Username=username, ConfirmationCode=code_of(event))

    idp.forgot_password(ClientId=client["ClientId"], Username=username)
    event = received(fx, email, 3)
    assert event["triggerSource"] == "CustomEmailSender_ForgotPassword"
    idp.confirm_forgot_password(ClientId=client["ClientId"], Username=username, ConfirmationCode=code_of(event),
                                Password="An0ther!pass")
    tokens = tokens_for(idp, client, username, "An0ther!pass")

    idp.update_user_attributes(AccessToken=tokens["AccessToken"],
                               UserAttributes=[{"Name": "email", "Value": "amy2@example.com"}])
    event = received(fx, email, 4)
    assert event["triggerSource"] == "CustomEmailSender_UpdateUserAttribute"
    assert event["request"]["userAttributes"]["email"] == "amy2@example.com"
    idp.get_user_attribute_verification_code(AccessToken=tokens["AccessToken"], AttributeName="email")
    event = received(fx, email, 5)
    assert event["triggerSource"] == "CustomEmailSender_VerifyUserAttribute"
    idp.verify_user_attribute(AccessToken=tokens["AccessToken"], AttributeName="email", Code=code_of(event))
    attrs = {a["Name"]: a["Value"] for a in idp.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"]}
    assert attrs["email_verified"] == "true"
    assert messages(fx, username=username) == []


def test_admin_create_user_invitation_to_both_senders(fx, idp):
    pool_id, client, email, sms = sender_pool(fx, idp)
    username = unique("ben")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, DesiredDeliveryMediums=["EMAIL", "SMS"],
                          UserAttributes=[{"Name": "email", "Value": "ben@example.com"},
                                          {"Name": "phone_number", "Value": "+15555550111"}])
    by_email, by_sms = received(fx, email, 1), received(fx, sms, 1)
    envelope(by_email, "CustomEmailSender_AdminCreateUser", pool_id, username, None)
    envelope(by_sms, "CustomSMSSender_AdminCreateUser", pool_id, username, None)
    assert by_sms["request"]["type"] == "customSMSSenderRequestV1"
    temporary = code_of(by_email)
    assert code_of(by_sms) == temporary
    out = password_auth(idp, client, username, temporary)
    assert out["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    assert messages(fx, username=username) == []


def test_sms_sender_for_mfa_codes(fx, idp):
    pool_id, client, _email, sms = sender_pool(fx, idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON",
                                 SmsMfaConfiguration={"SmsConfiguration": SMS})
    username = make_user(idp, pool_id, attributes={"phone_number": "+15555550100", "phone_number_verified": "true"})
    out = password_auth(idp, client, username)
    assert out["ChallengeName"] == "SMS_MFA"
    event = received(fx, sms, 1)
    envelope(event, "CustomSMSSender_Authentication", pool_id, username, client["ClientId"])
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SMS_MFA", Session=out["Session"],
                                         ChallengeResponses={"USERNAME": username, "SMS_MFA_CODE": code_of(event)})
    assert done["AuthenticationResult"]["AccessToken"]


def test_sender_failure_does_not_fail_the_operation(fx, idp):
    def broken(event):
        raise Exception("provider down")
    arn = fx.add(broken)
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"],
                        LambdaConfig={"CustomEmailSender": {"LambdaArn": arn, "LambdaVersion": "V1_0"},
                                      "KMSKeyID": KEY})
    client = make_client(idp, pool_id)
    username = unique("cal")
    out = idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                      UserAttributes=[{"Name": "email", "Value": "cal@example.com"}])
    assert out["UserConfirmed"] is False
    received(fx, arn, 1)
    assert messages(fx, username=username) == []


def test_only_the_configured_channel_is_redirected(fx, idp):
    sms = fx.add()
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], SmsConfiguration=SMS,
                        LambdaConfig={"CustomSMSSender": {"LambdaArn": sms, "LambdaVersion": "V1_0"},
                                      "KMSKeyID": KEY})
    client = make_client(idp, pool_id)
    username = unique("dee")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": "dee@example.com"}])
    assert [m["channel"] for m in messages(fx, username=username)] == ["EMAIL"]
    assert fx.all(sms) == []


# -- with a KMS endpoint --------------------------------------------------------------------------------
def fake_kms(method, path, headers, body):
    request = json.loads(body)
    plaintext = base64.b64decode(request["Plaintext"])
    blob = base64.b64encode(b"kms:" + request["KeyId"].encode() + b":" + plaintext).decode()
    return 200, {}, {"CiphertextBlob": blob, "KeyId": request["KeyId"], "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}


def test_code_encrypted_through_kms_endpoint(tmp_path):
    kms = RecordingServer(fake_kms)
    functions = Functions(tmp_path, env={"COGNITO_EMULATOR_KMS_ENDPOINT": kms.url})
    try:
        idp = boto_client("cognito-idp", functions.url)
        arn = functions.add()
        pool_id = make_pool(idp, AutoVerifiedAttributes=["email"],
                            LambdaConfig={"CustomEmailSender": {"LambdaArn": arn, "LambdaVersion": "V1_0"},
                                          "KMSKeyID": KEY})
        client = make_client(idp, pool_id)
        username = unique("eve")
        idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": "eve@example.com"}])
        event = received(functions, arn, 1)
        _method, path, headers, _body = kms.requests[-1]
        assert headers["X-Amz-Target"] == "TrentService.Encrypt"
        assert "/us-east-1/kms/aws4_request" in headers["Authorization"]
        decrypted = base64.b64decode(event["request"]["code"]).decode()
        prefix = f"kms:{KEY}:"
        assert decrypted.startswith(prefix)
        idp.confirm_sign_up(ClientId=client["ClientId"], Username=username,
                            ConfirmationCode=decrypted[len(prefix):])
        assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"
    finally:
        functions.stop()
        kms.stop()
