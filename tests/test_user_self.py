"""Token-authenticated user operations: GetUser, UpdateUserAttributes, DeleteUserAttributes,
DeleteUser, ChangePassword, GetUserAttributeVerificationCode, VerifyUserAttribute,
SetUserSettings — black-box through boto3."""

from __future__ import annotations

import base64
import json

import pytest
from botocore.exceptions import ClientError
from helpers import (
    PASSWORD,
    admin_sign_in,
    attrs_of,
    error,
    make_client,
    make_user,
    pool_and_client,
    signed_in,
)


# -- GetUser and token checks ----------------------------------------------------------
def test_get_user_returns_username_and_attributes(idp):
    pool, client, username, token = signed_in(idp, {"email": "jane@example.com", "given_name": "Jane"})
    got = idp.get_user(AccessToken=token)
    assert got["Username"] == username
    attrs = attrs_of(got)
    assert attrs["email"] == "jane@example.com"
    assert attrs["given_name"] == "Jane"
    assert len(attrs["sub"]) == 36
    assert got["UserAttributes"][0]["Name"] == "sub"
    assert "UserMFASettingList" not in got
    assert "PreferredMfaSetting" not in got


def test_get_user_filters_by_client_read_attributes(idp):
    pool, _client = pool_and_client(idp)
    client = make_client(idp, pool["Id"], ReadAttributes=["email"])
    username = make_user(idp, pool["Id"], attributes={"email": "a@example.com", "given_name": "Al"})
    token = admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]
    attrs = attrs_of(idp.get_user(AccessToken=token))
    assert attrs["email"] == "a@example.com"
    assert "given_name" not in attrs
    assert "sub" in attrs


def _tamper(token: str) -> str:
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["username"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{sig}"


@pytest.mark.parametrize("make_token", [lambda t: "not-a-token", _tamper, lambda t: t[:-4] + "AAAA"])
def test_get_user_refuses_invalid_tokens(idp, make_token):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=make_token(token))
    assert error(exc) == ("NotAuthorizedException", "Invalid Access Token")


def test_get_user_refuses_id_token(idp):
    pool, client = pool_and_client(idp)
    username = make_user(idp, pool["Id"])
    tokens = admin_sign_in(idp, pool["Id"], client["ClientId"], username)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=tokens["IdToken"])
    assert error(exc) == ("NotAuthorizedException", "Invalid Access Token")


def test_get_user_refuses_expired_token(idp, clock):
    _pool, _client, _username, token = signed_in(idp)
    clock.advance(3601)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=token)
    assert error(exc) == ("NotAuthorizedException", "Access Token has expired")


def test_get_user_refuses_token_after_global_sign_out(idp):
    _pool, _client, _username, token = signed_in(idp)
    idp.global_sign_out(AccessToken=token)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=token)
    assert error(exc) == ("NotAuthorizedException", "Access Token has been revoked")


@pytest.mark.parametrize("expired", [False, True], ids=["valid", "expired"])
def test_a_deleted_pools_tokens_are_invalid(idp, clock, expired):
    pool, _client, _username, token = signed_in(idp)
    idp.get_user(AccessToken=token)  # verified once, so the emulator remembers the verification
    idp.delete_user_pool(UserPoolId=pool["Id"])
    if expired:
        clock.advance(3601)  # an invalid pool is said before an expired token
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=token)
    assert error(exc) == ("NotAuthorizedException", "Invalid Access Token")


def test_get_user_for_a_token_whose_client_is_deleted_shows_every_attribute(idp):
    pool, _client = pool_and_client(idp)
    client = make_client(idp, pool["Id"], ReadAttributes=["email"])
    username = make_user(idp, pool["Id"], attributes={"email": "b@example.com", "given_name": "Bo"})
    token = admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]
    assert "given_name" not in attrs_of(idp.get_user(AccessToken=token))
    idp.delete_user_pool_client(UserPoolId=pool["Id"], ClientId=client["ClientId"])
    assert attrs_of(idp.get_user(AccessToken=token))["given_name"] == "Bo"


def test_get_user_refuses_disabled_user(idp):
    pool, _client, username, token = signed_in(idp)
    idp.admin_disable_user(UserPoolId=pool["Id"], Username=username)
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=token)
    assert error(exc) == ("NotAuthorizedException", "User is disabled.")


# -- UpdateUserAttributes / VerifyUserAttribute ------------------------------------------
def test_update_plain_attribute(idp):
    _pool, _client, _username, token = signed_in(idp, {"given_name": "Old"})
    out = idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "given_name", "Value": "New"}])
    assert out.get("CodeDeliveryDetailsList", []) == []
    assert attrs_of(idp.get_user(AccessToken=token))["given_name"] == "New"


def test_update_email_sends_code_and_verify(idp, outbox):
    pool, _client, username, token = signed_in(
        idp, {"email": "old@example.com", "email_verified": "true"}, AutoVerifiedAttributes=["email"])
    out = idp.update_user_attributes(AccessToken=token,
                                     UserAttributes=[{"Name": "email", "Value": "new@example.com"}])
    assert out["CodeDeliveryDetailsList"] == [
        {"Destination": "n***@e***", "DeliveryMedium": "EMAIL", "AttributeName": "email"}]
    attrs = attrs_of(idp.get_user(AccessToken=token))
    assert attrs["email"] == "new@example.com"
    assert attrs["email_verified"] == "false"
    message = outbox.last(pool_id=pool["Id"], username=username)
    assert message["destination"] == "new@example.com"
    assert message["code"] in message["body"]
    wrong = "000000" if message["code"] != "000000" else "111111"
    with pytest.raises(ClientError) as exc:
        idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=wrong)
    assert error(exc) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=message["code"])
    assert attrs_of(idp.get_user(AccessToken=token))["email_verified"] == "true"
    # a code is single use
    with pytest.raises(ClientError) as exc:
        idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=message["code"])
    assert error(exc)[0] == "ExpiredCodeException"


def test_update_email_without_auto_verification_sends_nothing(idp, outbox):
    pool, _client, username, token = signed_in(idp, {"email": "old@example.com", "email_verified": "true"})
    out = idp.update_user_attributes(AccessToken=token,
                                     UserAttributes=[{"Name": "email", "Value": "new@example.com"}])
    assert out.get("CodeDeliveryDetailsList", []) == []
    attrs = attrs_of(idp.get_user(AccessToken=token))
    assert attrs["email"] == "new@example.com"
    assert attrs["email_verified"] == "false"
    assert outbox.list(pool_id=pool["Id"], username=username) == []


def test_attributes_require_verification_before_update(idp, outbox):
    pool, _client, username, token = signed_in(
        idp, {"email": "old@example.com", "email_verified": "true"}, AutoVerifiedAttributes=["email"],
        UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate": ["email"]})
    out = idp.update_user_attributes(AccessToken=token,
                                     UserAttributes=[{"Name": "email", "Value": "new@example.com"}])
    assert out["CodeDeliveryDetailsList"][0]["AttributeName"] == "email"
    attrs = attrs_of(idp.get_user(AccessToken=token))
    assert attrs["email"] == "old@example.com"
    assert attrs["email_verified"] == "true"
    code = outbox.last(pool_id=pool["Id"], username=username)
    assert code["destination"] == "new@example.com"
    idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code["code"])
    attrs = attrs_of(idp.get_user(AccessToken=token))
    assert attrs["email"] == "new@example.com"
    assert attrs["email_verified"] == "true"


def test_verification_code_expires_after_a_day(idp, outbox, clock):
    pool, _client, username, token = signed_in(
        idp, {"email": "old@example.com"}, AutoVerifiedAttributes=["email"])
    idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    code = outbox.last_code(pool_id=pool["Id"], username=username)
    clock.advance(24 * 3600 + 5)
    fresh = admin_sign_in(idp, pool["Id"], _client["ClientId"], username)["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.verify_user_attribute(AccessToken=fresh, AttributeName="email", Code=code)
    assert error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")


def test_update_unknown_attribute_refused(idp):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "custom:nope", "Value": "x"}])
    assert error(exc) == ("InvalidParameterException", "user.custom:nope: Attribute does not exist in the schema.\n")


def test_client_cannot_write_verified_flag(idp):
    _pool, _client, _username, token = signed_in(idp, {"email": "a@example.com"})
    with pytest.raises(ClientError) as exc:
        idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    assert error(exc) == ("NotAuthorizedException", "A client attempted to write unauthorized attribute")


def test_update_needs_valid_token(idp):
    with pytest.raises(ClientError) as exc:
        idp.update_user_attributes(AccessToken="garbage", UserAttributes=[{"Name": "name", "Value": "x"}])
    assert error(exc) == ("NotAuthorizedException", "Invalid Access Token")


def test_get_user_attribute_verification_code(idp, outbox):
    pool, _client, username, token = signed_in(idp, {"email": "v@example.com"})
    out = idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    assert out["CodeDeliveryDetails"] == {"Destination": "v***@e***", "DeliveryMedium": "EMAIL",
                                          "AttributeName": "email"}
    code = outbox.last_code(pool_id=pool["Id"], username=username)
    idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=code)
    assert attrs_of(idp.get_user(AccessToken=token))["email_verified"] == "true"


def test_get_user_attribute_verification_code_without_value(idp):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="phone_number")
    assert error(exc) == ("InvalidParameterException",
                          "Invalid attribute name or the attribute has no value: phone_number")


def test_get_user_attribute_verification_code_rate_limited(idp):
    _pool, _client, _username, token = signed_in(idp, {"email": "r@example.com"})
    for _ in range(5):
        idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    with pytest.raises(ClientError) as exc:
        idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    assert error(exc) == ("LimitExceededException", "Attempt limit exceeded, please try after some time.")


def test_verify_without_code_sent(idp):
    _pool, _client, _username, token = signed_in(idp, {"email": "n@example.com"})
    with pytest.raises(ClientError) as exc:
        idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code="123456")
    assert error(exc) == ("ExpiredCodeException", "Invalid code provided, please request a code again.")


# -- DeleteUserAttributes / DeleteUser -------------------------------------------------
def test_delete_user_attributes(idp):
    _pool, _client, _username, token = signed_in(idp, {"given_name": "G", "email": "d@example.com"})
    idp.delete_user_attributes(AccessToken=token, UserAttributeNames=["given_name", "email"])
    attrs = attrs_of(idp.get_user(AccessToken=token))
    assert "given_name" not in attrs
    assert "email" not in attrs
    assert "email_verified" not in attrs


def test_delete_required_attribute_refused(idp):
    pool, client = pool_and_client(idp, Schema=[{"Name": "email", "AttributeDataType": "String",
                                                 "Required": True, "Mutable": True}])
    username = make_user(idp, pool["Id"], attributes={"email": "req@example.com"})
    token = admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]
    with pytest.raises(ClientError) as exc:
        idp.delete_user_attributes(AccessToken=token, UserAttributeNames=["email"])
    assert error(exc) == ("InvalidParameterException",
                          "Invalid user attributes: email: Required attribute cannot be deleted.")
    with pytest.raises(ClientError) as exc:
        idp.delete_user_attributes(AccessToken=token, UserAttributeNames=["sub"])
    assert error(exc) == ("InvalidParameterException", "Cannot modify the non-mutable attribute sub")


def test_delete_user(idp):
    pool, _client, username, token = signed_in(idp)
    idp.delete_user(AccessToken=token)
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pool["Id"], Username=username)
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.get_user(AccessToken=token)
    assert error(exc)[0] in ("UserNotFoundException", "NotAuthorizedException")


# -- ChangePassword --------------------------------------------------------------------
def test_change_password(idp):
    pool, client, username, token = signed_in(idp)
    idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword="N3w-Passw0rd!")
    admin_sign_in(idp, pool["Id"], client["ClientId"], username, "N3w-Passw0rd!")
    with pytest.raises(ClientError) as exc:
        admin_sign_in(idp, pool["Id"], client["ClientId"], username, PASSWORD)
    assert error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_change_password_wrong_previous(idp):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.change_password(AccessToken=token, PreviousPassword="Wr0ng-password!", ProposedPassword="N3w-Passw0rd!")
    assert error(exc) == ("NotAuthorizedException", "Incorrect username or password.")


def test_change_password_policy(idp):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword="Sh0rt!")
    assert error(exc) == ("InvalidPasswordException", "Password does not conform to policy: Password not long enough")
    with pytest.raises(ClientError) as exc:
        idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword="nouppercase1!")
    assert error(exc) == ("InvalidPasswordException",
                          "Password does not conform to policy: Password must have uppercase characters")


def test_change_password_lockout(idp, clock):
    _pool, _client, _username, token = signed_in(idp)
    clock.freeze()  # the first lock lasts one second: real time must not end it
    for _ in range(5):
        with pytest.raises(ClientError):
            idp.change_password(AccessToken=token, PreviousPassword="Wr0ng-password!", ProposedPassword="N3w-Passw0rd!")
    # ChangePassword answers a lock with LimitExceededException (sign-in says "Password attempts exceeded").
    with pytest.raises(ClientError) as exc:
        idp.change_password(AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword="N3w-Passw0rd!")
    assert error(exc) == ("LimitExceededException", "Attempt limit exceeded, please try after some time.")


# -- SetUserSettings -------------------------------------------------------------------
def test_set_user_settings_legacy_sms_mfa(idp):
    _pool, _client, _username, token = signed_in(idp, {"phone_number": "+12065550100"})
    idp.set_user_settings(AccessToken=token, MFAOptions=[{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}])
    got = idp.get_user(AccessToken=token)
    assert got["MFAOptions"] == [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]
    assert got["UserMFASettingList"] == ["SMS_MFA"]
    idp.set_user_settings(AccessToken=token, MFAOptions=[])
    got = idp.get_user(AccessToken=token)
    assert "MFAOptions" not in got
    assert "UserMFASettingList" not in got


def test_set_user_settings_needs_phone(idp):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.set_user_settings(AccessToken=token, MFAOptions=[{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}])
    assert error(exc) == ("InvalidParameterException", "User does not have delivery config set to turn on SMS_MFA")
