"""SignUp, ConfirmSignUp, ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword."""

from __future__ import annotations

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import PASSWORD, boto_client, error, make_client, make_pool, secret_hash, unique
from lambda_fixtures.servers import FunctionServer


@pytest.fixture
def setup(idp):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id, flows=None)
    return pool_id, client["ClientId"]


def sign_up(idp, client_id, username, email=None, password=PASSWORD, **kwargs):
    attrs = kwargs.pop("UserAttributes", [])
    if email:
        attrs = [*attrs, {"Name": "email", "Value": email}]
    return idp.sign_up(ClientId=client_id, Username=username, Password=password, UserAttributes=attrs, **kwargs)


# -- sign-up round trip --------------------------------------------------------------------------
def test_sign_up_confirm_round_trip(idp, setup, outbox):
    pool_id, client_id = setup
    username = unique("u")
    out = sign_up(idp, client_id, username, f"{username}@example.com")
    assert out["UserConfirmed"] is False
    assert out["CodeDeliveryDetails"] == {"Destination": f"{username[0]}***@e***", "DeliveryMedium": "EMAIL",
                                          "AttributeName": "email"}
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert user["UserStatus"] == "UNCONFIRMED"
    attrs = {a["Name"]: a["Value"] for a in user["UserAttributes"]}
    assert attrs["sub"] == out["UserSub"]
    assert attrs["email_verified"] == "false"
    message = outbox.last(username=username)
    assert message["kind"] == "SignUp"
    assert message["destination"] == f"{username}@example.com"
    assert message["subject"] == "Your verification code"
    assert message["body"] == f"Your verification code is {message['code']}. "
    assert len(message["code"]) == 6 and message["code"].isdigit()
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=message["code"])
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert user["UserStatus"] == "CONFIRMED"
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email_verified"] == "true"
    # Confirmed users cannot be confirmed again, and a code works once.
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=message["code"])
    assert error(exc) == ("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")


def test_sign_up_existing_username(idp, setup):
    _, client_id = setup
    username = unique("u")
    sign_up(idp, client_id, username, "a@example.com")
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, username, "b@example.com")
    assert error(exc) == ("UsernameExistsException", "User already exists")


def test_sign_up_password_policy(idp, setup):
    _, client_id = setup
    cases = {"Ab1!": "Password not long enough", "abcdefg1!": "Password must have uppercase characters",
             "ABCDEFG1!": "Password must have lowercase characters", "Abcdefgh!": "Password must have numeric "
             "characters", "Abcdefgh1": "Password must have symbol characters"}
    for password, rule in cases.items():
        with pytest.raises(ClientError) as exc:
            sign_up(idp, client_id, unique("u"), "a@example.com", password=password)
        assert error(exc) == ("InvalidPasswordException", f"Password did not conform with policy: {rule}")


def test_sign_up_password_with_whitespace_is_a_validation_error(idp, setup):
    _, client_id = setup
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, unique("u"), "a@example.com", password=" Passw0rd!")
    code, message = error(exc)
    assert code == "InvalidParameterException"
    assert message.startswith("1 validation error detected: Value at 'password' failed to satisfy constraint")


def test_sign_up_unknown_client(idp):
    with pytest.raises(ClientError) as exc:
        idp.sign_up(ClientId="nosuchclient1234567890abcd", Username="x", Password=PASSWORD)
    assert error(exc) == ("ResourceNotFoundException", "User pool client nosuchclient1234567890abcd does not exist.")


def test_sign_up_not_permitted(idp):
    pool_id = make_pool(idp, AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, unique("u"))
    assert error(exc) == ("NotAuthorizedException", "SignUp is not permitted for this user pool")


def test_sign_up_required_and_unknown_attributes(idp):
    pool_id = make_pool(idp, Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True,
                                      "Mutable": True}])
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, unique("u"))
    assert error(exc) == ("InvalidParameterException",
                          "Attributes did not conform to the schema: email: The attribute is required\n")
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, unique("u"), "a@example.com",
                UserAttributes=[{"Name": "favorite_flavor", "Value": "x"}])
    assert error(exc) == ("InvalidParameterException", "Attributes did not conform to the schema: "
                          "favorite_flavor: Attribute does not exist in the schema.\n")


def test_sign_up_client_cannot_write_verified_flag(idp, setup):
    _, client_id = setup
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, unique("u"), "a@example.com",
                UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    assert error(exc) == ("NotAuthorizedException", "A client attempted to write unauthorized attribute")


def test_sign_up_client_write_attributes(idp):
    pool_id = make_pool(idp)
    client_id = make_client(idp, pool_id, flows=None, WriteAttributes=["email"])["ClientId"]
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, unique("u"), "a@example.com", UserAttributes=[{"Name": "name", "Value": "N"}])
    assert error(exc) == ("NotAuthorizedException", "A client attempted to write unauthorized attribute")
    assert sign_up(idp, client_id, unique("u"), "a@example.com")["UserConfirmed"] is False


def test_sign_up_without_auto_verification_sends_nothing(idp, outbox):
    pool_id = make_pool(idp)
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    username = unique("u")
    out = sign_up(idp, client_id, username, "a@example.com")
    assert "CodeDeliveryDetails" not in out
    assert outbox.list(username=username) == []
    with pytest.raises(ClientError) as exc:
        idp.resend_confirmation_code(ClientId=client_id, Username=username)
    assert error(exc) == ("NotAuthorizedException", "Cannot resend codes. Auto verification not turned on.")
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


def test_sign_up_sms_code(idp, outbox):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["phone_number"],
                        SmsVerificationMessage="Code: {####}")
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    username = unique("u")
    out = sign_up(idp, client_id, username, UserAttributes=[{"Name": "phone_number", "Value": "+12065550100"}])
    assert out["CodeDeliveryDetails"] == {"Destination": "+*******0100", "DeliveryMedium": "SMS",
                                          "AttributeName": "phone_number"}
    message = outbox.last(username=username)
    assert message["channel"] == "SMS" and message["body"] == f"Code: {message['code']}"
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=message["code"])
    attrs = {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserAttributes"]}
    assert attrs["phone_number_verified"] == "true"


def test_verification_template(idp, outbox):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], VerificationMessageTemplate={
        "DefaultEmailOption": "CONFIRM_WITH_CODE", "EmailSubject": "Welcome!",
        "EmailMessage": "Hello, your code is {####}"})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    username = unique("u")
    sign_up(idp, client_id, username, "t@example.com")
    message = outbox.last(username=username)
    assert message["subject"] == "Welcome!"
    assert message["body"] == f"Hello, your code is {message['code']}"


# -- codes ------------------------------------------------------------------------------------------
def test_wrong_code_then_limit(idp, setup, outbox):
    _, client_id = setup
    username = unique("u")
    sign_up(idp, client_id, username, "a@example.com")
    code = outbox.last_code(username=username)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        with pytest.raises(ClientError) as exc:
            idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=wrong)
        assert error(exc) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=code)
    assert error(exc) == ("LimitExceededException", "Attempt limit exceeded, please try after some time.")


def test_code_expires_after_24_hours(idp, setup, outbox, clock):
    _, client_id = setup
    username = unique("u")
    sign_up(idp, client_id, username, "a@example.com")
    code = outbox.last_code(username=username)
    clock.advance(24 * 3600 + 1)
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=code)
    assert error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")


def test_resend_supersedes_old_code(idp, setup, outbox):
    _, client_id = setup
    username = unique("u")
    sign_up(idp, client_id, username, "a@example.com")
    first = outbox.last_code(username=username)
    out = idp.resend_confirmation_code(ClientId=client_id, Username=username)
    assert out["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    message = outbox.last(username=username)
    assert message["kind"] == "ResendCode"
    second = message["code"]
    if first != second:
        with pytest.raises(ClientError) as exc:
            idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=first)
        assert error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=second)


def test_resend_limits_and_states(idp, setup):
    pool_id, client_id = setup
    username = unique("u")
    sign_up(idp, client_id, username, "a@example.com")
    for _ in range(5):
        idp.resend_confirmation_code(ClientId=client_id, Username=username)
    with pytest.raises(ClientError) as exc:
        idp.resend_confirmation_code(ClientId=client_id, Username=username)
    assert error(exc) == ("LimitExceededException", "Attempt limit exceeded, please try after some time.")
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as exc:
        idp.resend_confirmation_code(ClientId=client_id, Username=username)
    assert error(exc) == ("InvalidParameterException", "User is already confirmed.")


def test_unknown_user_legacy_vs_enabled(idp):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    legacy = make_client(idp, pool_id, flows=None)["ClientId"]
    hidden = make_client(idp, pool_id, flows=None, PreventUserExistenceErrors="ENABLED")["ClientId"]
    for call in (lambda c: idp.confirm_sign_up(ClientId=c, Username="ghost", ConfirmationCode="123456"),
                 lambda c: idp.resend_confirmation_code(ClientId=c, Username="ghost"),
                 lambda c: idp.forgot_password(ClientId=c, Username="ghost"),
                 lambda c: idp.confirm_forgot_password(ClientId=c, Username="ghost", ConfirmationCode="123456",
                                                       Password=PASSWORD)):
        with pytest.raises(ClientError) as exc:
            call(legacy)
        assert error(exc) == ("UserNotFoundException", "Username/client id combination not found.")
    out = idp.forgot_password(ClientId=hidden, Username="ghost@example.com")
    assert out["CodeDeliveryDetails"] == {"Destination": "g***@e***", "DeliveryMedium": "EMAIL",
                                          "AttributeName": "email"}
    assert idp.resend_confirmation_code(ClientId=hidden, Username="ghost")["CodeDeliveryDetails"]
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=hidden, Username="ghost", ConfirmationCode="123456")
    assert error(exc) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=hidden, Username="ghost", ConfirmationCode="123456", Password=PASSWORD)
    assert error(exc) == ("CodeMismatchException", "Invalid verification code provided, please try again.")


# -- forgot password -----------------------------------------------------------------------------
def confirmed_user(idp, pool_id, client_id, outbox, email=None):
    username = unique("u")
    sign_up(idp, client_id, username, email or f"{username}@example.com")
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=outbox.last_code(username=username))
    return username


def test_forgot_password_round_trip(idp, setup, outbox, clock):
    pool_id, client_id = setup
    username = confirmed_user(idp, pool_id, client_id, outbox)
    out = idp.forgot_password(ClientId=client_id, Username=username)
    assert out["CodeDeliveryDetails"]["AttributeName"] == "email"
    message = outbox.last(username=username)
    assert message["kind"] == "ForgotPassword"
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=message["code"],
                                    Password="weak")
    assert error(exc) == ("InvalidPasswordException", "Password does not conform to policy: Password not long enough")
    wrong = "000000" if message["code"] != "000000" else "111111"
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=wrong,
                                    Password="NewPassw0rd!")
    assert error(exc) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=message["code"],
                                Password="NewPassw0rd!")
    # Single use.
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=message["code"],
                                    Password="NewPassw0rd!2")
    assert error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")
    # The code lives one hour.
    idp.forgot_password(ClientId=client_id, Username=username)
    code = outbox.last_code(username=username)
    clock.advance(3601)
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=code,
                                    Password="NewPassw0rd!3")
    assert error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")


def test_confirm_forgot_password_without_request(idp, setup, outbox):
    pool_id, client_id = setup
    username = confirmed_user(idp, pool_id, client_id, outbox)
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode="123456",
                                    Password="NewPassw0rd!")
    assert error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")


def test_forgot_password_needs_verified_channel(idp, setup):
    pool_id, client_id = setup
    username = unique("u")
    sign_up(idp, client_id, username, "a@example.com")
    with pytest.raises(ClientError) as exc:
        idp.forgot_password(ClientId=client_id, Username=username)
    assert error(exc) == ("InvalidParameterException", "Cannot reset password for the user as there is no "
                          "registered/verified email or phone_number")


def test_delivery_destination_hides_the_whole_domain(idp):
    """AWS masks `test@test.com` as `t***@t***`: the top-level domain is hidden too."""
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"],
                        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email", "Priority": 1}]})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    out = sign_up(idp, client_id, unique("u"), "test@test.com", password="P2$Sword")
    assert out["UserConfirmed"] is False
    assert out["CodeDeliveryDetails"] == {"Destination": "t***@t***", "DeliveryMedium": "EMAIL",
                                          "AttributeName": "email"}
    username = unique("u")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS", UserAttributes=[
        {"Name": "email", "Value": "test@test.com"}, {"Name": "email_verified", "Value": "True"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password="secretP2ss!", Permanent=True)
    out = idp.forgot_password(ClientId=client_id, Username=username)
    assert out["CodeDeliveryDetails"] == {"Destination": "t***@t***", "DeliveryMedium": "EMAIL",
                                          "AttributeName": "email"}


def test_sign_up_without_auto_verified_email_sends_no_details(idp):
    pool_id = make_pool(idp, AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "verified_email",
                                                                             "Priority": 1}]})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    out = sign_up(idp, client_id, unique("u"), "test@test.com", password="P2$Sword")
    assert out["UserConfirmed"] is False and out["UserSub"]
    assert "CodeDeliveryDetails" not in out
    # Auto-verified email, but the user gave none: nothing to send either.
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    out = sign_up(idp, make_client(idp, pool_id, flows=None)["ClientId"], unique("u"), password="P2$Sword")
    assert out["UserConfirmed"] is False and out["UserSub"]
    assert "CodeDeliveryDetails" not in out


def test_forgot_password_admin_only(idp, outbox):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"],
                        AccountRecoverySetting={"RecoveryMechanisms": [{"Name": "admin_only", "Priority": 1}]})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    username = confirmed_user(idp, pool_id, client_id, outbox)
    with pytest.raises(ClientError) as exc:
        idp.forgot_password(ClientId=client_id, Username=username)
    assert error(exc) == ("NotAuthorizedException", "Contact administrator to reset password.")


def test_forgot_password_recovery_priority(idp, outbox):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], AccountRecoverySetting={"RecoveryMechanisms": [
        {"Name": "verified_phone_number", "Priority": 1}, {"Name": "verified_email", "Priority": 2}]})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    username = confirmed_user(idp, pool_id, client_id, outbox)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username, UserAttributes=[
        {"Name": "phone_number", "Value": "+12065550199"}, {"Name": "phone_number_verified", "Value": "true"}])
    out = idp.forgot_password(ClientId=client_id, Username=username)
    assert out["CodeDeliveryDetails"] == {"Destination": "+*******0199", "DeliveryMedium": "SMS",
                                          "AttributeName": "phone_number"}


def test_forgot_password_disabled_user(idp, setup, outbox):
    pool_id, client_id = setup
    username = confirmed_user(idp, pool_id, client_id, outbox)
    idp.admin_disable_user(UserPoolId=pool_id, Username=username)
    with pytest.raises(ClientError) as exc:
        idp.forgot_password(ClientId=client_id, Username=username)
    assert error(exc) == ("NotAuthorizedException", "User is disabled.")


def test_forgot_password_before_first_sign_in(idp, setup, outbox):
    # AWS: a user still on the invitation's temporary password cannot use ForgotPassword.
    pool_id, client_id = setup
    username = unique("u")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS", UserAttributes=[
        {"Name": "email", "Value": f"{username}@example.com"}, {"Name": "email_verified", "Value": "true"}])
    with pytest.raises(ClientError) as exc:
        idp.forgot_password(ClientId=client_id, Username=username)
    assert error(exc) == ("NotAuthorizedException", "User password cannot be reset in the current state.")
    assert outbox.list(username=username) == []


def test_hidden_existence_for_disabled_and_unreachable_users(idp, outbox):
    # PreventUserExistenceErrors=ENABLED: a disabled user, or one without a verified channel, gets the
    # simulated answer an unknown user gets, and nothing is sent.
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client_id = make_client(idp, pool_id, flows=None, PreventUserExistenceErrors="ENABLED")["ClientId"]
    unverified = unique("u")
    sign_up(idp, client_id, unverified, f"{unverified}@example.com")
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=unverified)
    before = outbox.list(username=unverified)
    out = idp.forgot_password(ClientId=client_id, Username=unverified)
    assert set(out["CodeDeliveryDetails"]) == {"Destination", "DeliveryMedium", "AttributeName"}
    assert outbox.list(username=unverified) == before
    disabled = confirmed_user(idp, pool_id, client_id, outbox)
    idp.admin_disable_user(UserPoolId=pool_id, Username=disabled)
    before = outbox.list(username=disabled)
    assert idp.forgot_password(ClientId=client_id, Username=disabled)["CodeDeliveryDetails"]
    assert outbox.list(username=disabled) == before
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=client_id, Username=disabled, ConfirmationCode="123456",
                                    Password="NewPassw0rd!")
    assert error(exc) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    pending = unique("u")
    sign_up(idp, client_id, pending, f"{pending}@example.com")
    idp.admin_disable_user(UserPoolId=pool_id, Username=pending)
    before = outbox.list(username=pending)
    assert idp.resend_confirmation_code(ClientId=client_id, Username=pending)["CodeDeliveryDetails"]
    assert outbox.list(username=pending) == before


def test_forgot_password_password_history(idp, outbox):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], Policies={"PasswordPolicy": {
        "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True,
        "RequireSymbols": True, "PasswordHistorySize": 3}})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    username = confirmed_user(idp, pool_id, client_id, outbox)
    idp.forgot_password(ClientId=client_id, Username=username)
    code = outbox.last_code(username=username)
    with pytest.raises(ClientError) as exc:
        idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=code, Password=PASSWORD)
    assert error(exc) == ("PasswordHistoryPolicyViolationException",
                          "The password can't be a previously used password.")
    idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=code,
                                Password="Different1!")


# -- secret client ---------------------------------------------------------------------------------
def test_secret_client(idp, outbox):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id, flows=None, GenerateSecret=True)
    client_id = client["ClientId"]
    username = unique("u")
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, username, "a@example.com")
    assert error(exc) == ("NotAuthorizedException",
                          f"Client {client_id} is configured for secret but secret was not received")
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, username, "a@example.com", SecretHash=secret_hash(client, username, "wrong"))
    assert error(exc) == ("NotAuthorizedException", f"Unable to verify secret hash for client {client_id}")
    good = secret_hash(client, username)
    sign_up(idp, client_id, username, "a@example.com", SecretHash=good)
    code = outbox.last_code(username=username)
    for call in (lambda **kw: idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=code, **kw),
                 lambda **kw: idp.resend_confirmation_code(ClientId=client_id, Username=username, **kw),
                 lambda **kw: idp.forgot_password(ClientId=client_id, Username=username, **kw),
                 lambda **kw: idp.confirm_forgot_password(ClientId=client_id, Username=username,
                                                          ConfirmationCode=code, Password=PASSWORD, **kw)):
        with pytest.raises(ClientError) as exc:
            call()
        assert error(exc)[1] == f"Client {client_id} is configured for secret but secret was not received"
        with pytest.raises(ClientError) as exc:
            call(SecretHash=secret_hash(client, "other"))
        assert error(exc)[1] == f"Unable to verify secret hash for client {client_id}"
    idp.resend_confirmation_code(ClientId=client_id, Username=username, SecretHash=good)
    idp.confirm_sign_up(ClientId=client_id, Username=username, SecretHash=good,
                        ConfirmationCode=outbox.last_code(username=username))
    idp.forgot_password(ClientId=client_id, Username=username, SecretHash=good)
    idp.confirm_forgot_password(ClientId=client_id, Username=username, SecretHash=good,
                                ConfirmationCode=outbox.last_code(username=username), Password="NewPassw0rd!")


# -- usernames, aliases, case ------------------------------------------------------------------------
def test_email_as_username(idp, outbox):
    pool_id = make_pool(idp, UsernameAttributes=["email"], AutoVerifiedAttributes=["email"])
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    email = f"{unique('e')}@example.com"
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, "not-an-email")
    assert error(exc) == ("InvalidParameterException", "Username should be an email.")
    out = sign_up(idp, client_id, email)
    user = idp.admin_get_user(UserPoolId=pool_id, Username=email)
    assert user["Username"] == out["UserSub"]  # a UUID username
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email"] == email
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, email)
    assert error(exc) == ("UsernameExistsException", "An account with the given email already exists.")
    code = outbox.last_code(username=out["UserSub"])
    idp.confirm_sign_up(ClientId=client_id, Username=email, ConfirmationCode=code)
    idp.forgot_password(ClientId=client_id, Username=email)
    idp.confirm_forgot_password(ClientId=client_id, Username=email, Password="NewPassw0rd!",
                                ConfirmationCode=outbox.last_code(username=out["UserSub"]))
    assert idp.admin_get_user(UserPoolId=pool_id, Username=out["UserSub"])["UserStatus"] == "CONFIRMED"


def test_phone_as_username(idp):
    pool_id = make_pool(idp, UsernameAttributes=["phone_number"])
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, "someone@example.com")
    assert error(exc) == ("InvalidParameterException", "Username should be a phone number.")
    out = sign_up(idp, client_id, "+15555550123")
    assert idp.admin_get_user(UserPoolId=pool_id, Username="+15555550123")["Username"] == out["UserSub"]


def test_alias_rules(idp, outbox):
    pool_id = make_pool(idp, AliasAttributes=["email"], AutoVerifiedAttributes=["email"])
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, "someone@example.com")
    assert error(exc) == ("InvalidParameterException",
                          "Username cannot be of email format, since user pool is configured for email alias.")
    email = f"{unique('shared')}@example.com"
    first, second = unique("a"), unique("b")
    sign_up(idp, client_id, first, email)
    sign_up(idp, client_id, second, email)  # duplicates are fine at sign-up
    # Unverified aliases do not resolve.
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pool_id, Username=email)
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    idp.confirm_sign_up(ClientId=client_id, Username=first, ConfirmationCode=outbox.last_code(username=first))
    assert idp.admin_get_user(UserPoolId=pool_id, Username=email)["Username"] == first
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=client_id, Username=second, ConfirmationCode=outbox.last_code(username=second))
    assert error(exc) == ("AliasExistsException", "An account with the email already exists.")
    idp.confirm_sign_up(ClientId=client_id, Username=second, ConfirmationCode=outbox.last_code(username=second),
                        ForceAliasCreation=True)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=email)["Username"] == second
    old = {a["Name"]: a["Value"] for a in idp.admin_get_user(UserPoolId=pool_id, Username=first)["UserAttributes"]}
    assert old["email_verified"] == "false"


def test_case_insensitive_pool(idp, outbox):
    pool_id = make_pool(idp, UsernameConfiguration={"CaseSensitive": False}, AutoVerifiedAttributes=["email"])
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    base = unique("Mixed")
    sign_up(idp, client_id, base, "m@example.com")
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, base.upper(), "m@example.com")
    assert error(exc) == ("UsernameExistsException", "User already exists")
    idp.confirm_sign_up(ClientId=client_id, Username=base.lower(), ConfirmationCode=outbox.last_code(username=base))
    user = idp.admin_get_user(UserPoolId=pool_id, Username=base.upper())
    assert user["Username"] == base and user["UserStatus"] == "CONFIRMED"


def test_case_sensitive_by_default(idp):
    pool_id = make_pool(idp)
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    base = unique("Mixed")
    sign_up(idp, client_id, base)
    sign_up(idp, client_id, base.upper())
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pool_id, Username=base.lower())
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


# -- Lambda triggers (functions served over HTTP by the test) -----------------------------------------
@pytest.fixture(scope="module")
def trigger_env():
    functions = FunctionServer()
    names = ["PreSignUp", "PostConfirmation", "CustomMessage", "UserMigration"]
    env = {f"COGNITO_EMULATOR_LAMBDA_{n.upper()}": f"{functions.url}/{n}" for n in names}
    process = EmulatorProcess("--in-memory", env=env)
    idp = boto_client("cognito-idp", process.url)
    lambda_config = {n: f"arn:aws:lambda:us-east-1:000000000000:function:{n}" for n in names}
    yield idp, functions, lambda_config, process
    process.stop()
    functions.stop()


def test_pre_sign_up_auto_confirm_and_verify(trigger_env):
    idp, functions, config, _ = trigger_env
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], LambdaConfig={"PreSignUp": config["PreSignUp"]})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    functions.handlers["PreSignUp"] = lambda e: {**e, "response": {"autoConfirmUser": True, "autoVerifyEmail": True}}
    username = unique("u")
    out = sign_up(idp, client_id, username, "auto@example.com", ValidationData=[{"Name": "k", "Value": "v"}])
    assert out["UserConfirmed"] is True and "CodeDeliveryDetails" not in out
    event = functions.events[-1]
    assert event["triggerSource"] == "PreSignUp_SignUp"
    assert event["userName"] == username and event["callerContext"]["clientId"] == client_id
    assert event["request"]["userAttributes"]["email"] == "auto@example.com"
    assert event["request"]["validationData"] == {"k": "v"}
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert user["UserStatus"] == "CONFIRMED"
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["email_verified"] == "true"

    def deny(event):
        raise RuntimeError("nope")
    functions.handlers["PreSignUp"] = deny
    with pytest.raises(ClientError) as exc:
        sign_up(idp, client_id, unique("u"), "x@example.com")
    assert error(exc) == ("UserLambdaValidationException", "PreSignUp failed with error nope.")


def test_post_confirmation_and_custom_message(trigger_env):
    idp, functions, config, process = trigger_env
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], LambdaConfig={
        "PostConfirmation": config["PostConfirmation"], "CustomMessage": config["CustomMessage"]})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    functions.handlers["CustomMessage"] = lambda e: {**e, "response": {
        "emailSubject": "Custom subject", "emailMessage": f"Hi {e['userName']}, code {e['request']['codeParameter']}"}}
    functions.handlers["PostConfirmation"] = lambda e: e
    username = unique("u")
    sign_up(idp, client_id, username, "c@example.com")
    assert functions.events[-1]["triggerSource"] == "CustomMessage_SignUp"
    messages = requests.get(process.url + "/_emulator/messages", params={"username": username}).json()["messages"]
    assert messages[0]["subject"] == "Custom subject"
    assert messages[0]["body"] == f"Hi {username}, code {messages[0]['code']}"
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=messages[0]["code"])
    event = functions.events[-1]
    assert event["triggerSource"] == "PostConfirmation_ConfirmSignUp"
    assert event["request"]["userAttributes"]["cognito:user_status"] == "CONFIRMED"


def test_user_migration_on_forgot_password(trigger_env):
    idp, functions, config, _ = trigger_env
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": config["UserMigration"]})
    client_id = make_client(idp, pool_id, flows=None)["ClientId"]
    functions.handlers["UserMigration"] = lambda e: {**e, "response": {
        "userAttributes": {"email": "legacy@example.com", "email_verified": "true"}, "messageAction": "SUPPRESS"}}
    out = idp.forgot_password(ClientId=client_id, Username="legacyuser")
    assert functions.events[-1]["triggerSource"] == "UserMigration_ForgotPassword"
    assert out["CodeDeliveryDetails"]["Destination"] == "l***@e***"
    assert idp.admin_get_user(UserPoolId=pool_id, Username="legacyuser")["UserStatus"] == "RESET_REQUIRED"


def test_sign_up_input_rules(idp, setup):
    _pool_id, client_id = setup
    with pytest.raises(ClientError) as exc:
        idp.sign_up(ClientId=client_id, Username=unique("nopw"),
                    UserAttributes=[{"Name": "email", "Value": "nopw@example.com"}])
    assert error(exc) == ("InvalidParameterException", "Password is required for this user pool.")
    alias_pool = make_pool(idp, AliasAttributes=["preferred_username"])
    alias_client = make_client(idp, alias_pool, flows=None)["ClientId"]
    with pytest.raises(ClientError) as exc:
        sign_up(idp, alias_client, unique("al"), UserAttributes=[{"Name": "preferred_username", "Value": "ally"}])
    assert error(exc) == ("InvalidParameterException", "preferred_username cannot be set at sign-up when it is an "
                          "alias; update it after confirmation.")
