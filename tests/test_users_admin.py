"""Admin user operations: AdminCreateUser ... AdminDisableProviderForUser."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from helpers import attrs_of, error, unique

PASSWORD = "Passw0rd!"


@pytest.fixture
def pool_id(idp):
    return idp.create_user_pool(PoolName=unique("pool"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]


def create(idp, pool_id, username=None, email=None, **kwargs):
    username = username or unique("u")
    attrs = kwargs.pop("UserAttributes", [])
    if email:
        attrs = [*attrs, {"Name": "email", "Value": email}]
    return idp.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=attrs, **kwargs)["User"]


# -- AdminCreateUser ------------------------------------------------------------------------------
def test_admin_create_user_with_invitation(idp, outbox):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), AdminCreateUserConfig={"InviteMessageTemplate": {
        "EmailSubject": "Welcome aboard", "EmailMessage": "Hi {username}, your password is {####}",
        "SMSMessage": "User {username} pw {####}"}})["UserPool"]["Id"]
    username = unique("u")
    user = create(idp, pool_id, username, "inv@example.com", DesiredDeliveryMediums=["EMAIL"])
    assert user["Username"] == username
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert user["Enabled"] is True
    assert attrs_of(user)["email"] == "inv@example.com"
    assert "sub" in attrs_of(user)
    message = outbox.last(username=username)
    assert message["kind"] == "AdminCreateUser"
    assert message["subject"] == "Welcome aboard"
    temporary = message["code"]
    assert message["body"] == f"Hi {username}, your password is {temporary}"
    # The generated temporary password satisfies the default policy.
    assert len(temporary) >= 8 and any(c.isupper() for c in temporary) and any(c.islower() for c in temporary)
    assert any(c.isdigit() for c in temporary)


def test_admin_create_user_default_invitation_sms(idp, pool_id, outbox):
    username = unique("u")
    create(idp, pool_id, username, UserAttributes=[{"Name": "phone_number", "Value": "+12065550100"}],
           TemporaryPassword="Temp0rary!")
    message = outbox.last(username=username)
    assert message["channel"] == "SMS" and message["destination"] == "+12065550100"
    assert message["body"] == f"Your username is {username} and temporary password is Temp0rary!. "


def test_admin_create_user_suppress_and_resend(idp, pool_id, outbox):
    username = unique("u")
    create(idp, pool_id, username, "s@example.com", MessageAction="SUPPRESS", TemporaryPassword="Temp0rary!")
    assert outbox.list(username=username) == []
    user = idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="RESEND",
                                 DesiredDeliveryMediums=["EMAIL"])["User"]
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    message = outbox.last(username=username)
    assert message["kind"] == "AdminCreateUser" and message["code"] != "Temp0rary!"
    with pytest.raises(ClientError) as exc:
        idp.admin_create_user(UserPoolId=pool_id, Username=unique("ghost"), MessageAction="RESEND")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_admin_create_user_errors(idp, pool_id):
    username = unique("u")
    create(idp, pool_id, username)
    with pytest.raises(ClientError) as exc:
        create(idp, pool_id, username)
    assert error(exc) == ("UsernameExistsException", "User account already exists")
    with pytest.raises(ClientError) as exc:
        create(idp, pool_id, TemporaryPassword="short")
    assert error(exc) == ("InvalidPasswordException",
                          "Password did not conform with password policy: Password not long enough")
    with pytest.raises(ClientError) as exc:
        create(idp, "us-east-1_nosuchpoo", unique("u"))
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_nosuchpoo does not exist.")
    with pytest.raises(ClientError) as exc:
        create(idp, pool_id, UserAttributes=[{"Name": "custom:missing", "Value": "x"}])
    assert error(exc) == ("InvalidParameterException", "Attributes did not conform to the schema: custom:missing: "
                          "Attribute does not exist in the schema.\n")
    with pytest.raises(ClientError) as exc:
        create(idp, pool_id, email="nope")
    assert error(exc) == ("InvalidParameterException", "Invalid email address format.")


def test_admin_create_user_email_as_username(idp, outbox):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), UsernameAttributes=["email"])["UserPool"]["Id"]
    email = f"{unique('e')}@example.com"
    user = create(idp, pool_id, email, DesiredDeliveryMediums=["EMAIL"])
    assert user["Username"] != email and len(user["Username"]) == 36
    assert attrs_of(user)["email"] == email
    assert attrs_of(user)["sub"] == user["Username"]
    assert idp.admin_get_user(UserPoolId=pool_id, Username=email)["Username"] == user["Username"]
    assert outbox.last(username=user["Username"])["body"].startswith(f"Your username is {user['Username']} ")
    with pytest.raises(ClientError) as exc:
        create(idp, pool_id, email)
    assert error(exc) == ("UsernameExistsException", "An account with the given email already exists.")
    with pytest.raises(ClientError) as exc:
        create(idp, pool_id, "plainname")
    assert error(exc) == ("InvalidParameterException", "Username should be an email.")


def test_admin_create_user_alias_conflict(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), AliasAttributes=["email"])["UserPool"]["Id"]
    email = f"{unique('a')}@example.com"
    verified = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    first = create(idp, pool_id, UserAttributes=verified)
    with pytest.raises(ClientError) as exc:
        create(idp, pool_id, UserAttributes=verified)
    assert error(exc) == ("AliasExistsException", "An account with the email already exists.")
    second = create(idp, pool_id, UserAttributes=verified, ForceAliasCreation=True)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=email)["Username"] == second["Username"]
    assert attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=first["Username"]))["email_verified"] == "false"


# -- lookups ------------------------------------------------------------------------------------------
def test_admin_get_user(idp, pool_id):
    user = create(idp, pool_id, email="g@example.com")
    got = idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])
    assert got["Username"] == user["Username"]
    assert got["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert got["UserAttributes"][0]["Name"] == "sub"
    assert got["UserCreateDate"] == user["UserCreateDate"]
    # The sub designates the user too.
    assert idp.admin_get_user(UserPoolId=pool_id, Username=attrs_of(got)["sub"])["Username"] == user["Username"]
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pool_id, Username="nobody")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_admin_delete_user(idp, pool_id):
    user = create(idp, pool_id)
    group = unique("g")
    idp.create_group(UserPoolId=pool_id, GroupName=group)
    idp.admin_add_user_to_group(UserPoolId=pool_id, Username=user["Username"], GroupName=group)
    idp.admin_delete_user(UserPoolId=pool_id, Username=user["Username"])
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    assert idp.list_users_in_group(UserPoolId=pool_id, GroupName=group)["Users"] == []
    with pytest.raises(ClientError) as exc:
        idp.admin_delete_user(UserPoolId=pool_id, Username=user["Username"])
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


# -- attributes ------------------------------------------------------------------------------------
def test_admin_update_user_attributes(idp, pool_id, outbox):
    user = create(idp, pool_id, email="old@example.com",
                  UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    username = user["Username"]
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username, UserAttributes=[
        {"Name": "given_name", "Value": "Ann"}, {"Name": "email", "Value": "new@example.com"}])
    got = attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=username))
    assert got["given_name"] == "Ann"
    assert got["email"] == "new@example.com" and got["email_verified"] == "false"
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username, UserAttributes=[
            {"Name": "email_verified", "Value": "yes"}])
    assert error(exc) == ("InvalidParameterException",
                          "Invalid value for attribute email_verified; expected true or false.")
    message = outbox.last(username=username)
    assert message["kind"] == "UpdateUserAttribute" and message["destination"] == "new@example.com"
    # Verified in the same call: no code.
    before = len(outbox.list(username=username))
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username, UserAttributes=[
        {"Name": "email", "Value": "third@example.com"}, {"Name": "email_verified", "Value": "true"}])
    assert len(outbox.list(username=username)) == before
    got = attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=username))
    assert (got["email"], got["email_verified"]) == ("third@example.com", "true")


def test_admin_update_user_attributes_errors(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), Schema=[
        {"Name": "badge", "AttributeDataType": "String", "Mutable": False},
        {"Name": "level", "AttributeDataType": "Number", "Mutable": True,
         "NumberAttributeConstraints": {"MinValue": "1", "MaxValue": "10"}}])["UserPool"]["Id"]
    user = create(idp, pool_id, UserAttributes=[{"Name": "custom:badge", "Value": "gold"}])
    cases = [
        ([{"Name": "custom:badge", "Value": "silver"}], "user.custom:badge: Attribute cannot be updated.\n"),
        ([{"Name": "sub", "Value": "x"}], "Cannot modify the non-mutable attribute sub"),
        ([{"Name": "custom:level", "Value": "11"}], "user.custom:level: Number must be less than or equal to 10\n"),
        ([{"Name": "nosuch", "Value": "1"}], "user.nosuch: Attribute does not exist in the schema.\n"),
    ]
    for attributes, message in cases:
        with pytest.raises(ClientError) as exc:
            idp.admin_update_user_attributes(UserPoolId=pool_id, Username=user["Username"], UserAttributes=attributes)
        assert error(exc) == ("InvalidParameterException", message)
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=user["Username"],
                                         UserAttributes=[{"Name": "phone_number", "Value": "12345"}])
    assert error(exc) == ("InvalidParameterException", "Invalid phone number format.")
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username="ghost",
                                         UserAttributes=[{"Name": "name", "Value": "x"}])
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_admin_update_requires_verification_before_update(idp, outbox):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), AutoVerifiedAttributes=["email"],
                                   UserAttributeUpdateSettings={"AttributesRequireVerificationBeforeUpdate":
                                                                ["email"]})["UserPool"]["Id"]
    user = create(idp, pool_id, email="keep@example.com", UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=user["Username"],
                                     UserAttributes=[{"Name": "email", "Value": "pending@example.com"}])
    got = attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"]))
    assert (got["email"], got["email_verified"]) == ("keep@example.com", "true")
    assert outbox.last(username=user["Username"])["destination"] == "pending@example.com"


def test_admin_update_alias_conflict(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), AliasAttributes=["email", "preferred_username"])[
        "UserPool"]["Id"]
    email = f"{unique('x')}@example.com"
    create(idp, pool_id, UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                                         {"Name": "preferred_username", "Value": "taken"}])
    other = create(idp, pool_id)
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=other["Username"], UserAttributes=[
            {"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
    assert error(exc) == ("AliasExistsException", "An account with the email already exists.")
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=other["Username"], UserAttributes=[
            {"Name": "preferred_username", "Value": "taken"}])
    assert error(exc) == ("AliasExistsException", "An account with the preferred_username already exists.")
    assert idp.admin_get_user(UserPoolId=pool_id, Username="taken")["Username"] != other["Username"]


def test_admin_delete_user_attributes(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"), Schema=[
        {"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}])["UserPool"]["Id"]
    user = create(idp, pool_id, email="d@example.com", UserAttributes=[{"Name": "nickname", "Value": "nick"}])
    idp.admin_delete_user_attributes(UserPoolId=pool_id, Username=user["Username"], UserAttributeNames=["nickname"])
    assert "nickname" not in attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"]))
    with pytest.raises(ClientError) as exc:
        idp.admin_delete_user_attributes(UserPoolId=pool_id, Username=user["Username"], UserAttributeNames=["email"])
    assert error(exc) == ("InvalidParameterException",
                          "Invalid user attributes: email: Required attribute cannot be deleted.")
    with pytest.raises(ClientError) as exc:
        idp.admin_delete_user_attributes(UserPoolId=pool_id, Username=user["Username"], UserAttributeNames=["sub"])
    assert error(exc) == ("InvalidParameterException", "Cannot modify the non-mutable attribute sub")


# -- state ----------------------------------------------------------------------------------------
def test_disable_enable(idp, pool_id):
    user = create(idp, pool_id)
    idp.admin_disable_user(UserPoolId=pool_id, Username=user["Username"])
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["Enabled"] is False
    idp.admin_enable_user(UserPoolId=pool_id, Username=user["Username"])
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["Enabled"] is True
    for op in (idp.admin_disable_user, idp.admin_enable_user):
        with pytest.raises(ClientError) as exc:
            op(UserPoolId=pool_id, Username="ghost")
        assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_admin_set_user_password(idp, pool_id):
    user = create(idp, pool_id)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=user["Username"], Password=PASSWORD, Permanent=True)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["UserStatus"] == "CONFIRMED"
    idp.admin_set_user_password(UserPoolId=pool_id, Username=user["Username"], Password="An0ther!pw",
                                Permanent=False)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    with pytest.raises(ClientError) as exc:
        idp.admin_set_user_password(UserPoolId=pool_id, Username=user["Username"], Password="alllowercase1!",
                                    Permanent=True)
    assert error(exc) == ("InvalidPasswordException",
                          "Password did not conform with password policy: Password must have uppercase characters")


def test_admin_set_user_password_confirms_unconfirmed(idp, pool_id):
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    username = unique("u")
    idp.sign_up(ClientId=client_id, Username=username, Password=PASSWORD)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password="An0ther!pw", Permanent=True)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


def test_admin_reset_user_password(idp, pool_id, outbox):
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    user = create(idp, pool_id, email="r@example.com", UserAttributes=[{"Name": "email_verified", "Value": "true"}],
                  MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=user["Username"], Password=PASSWORD, Permanent=True)
    idp.admin_reset_user_password(UserPoolId=pool_id, Username=user["Username"])
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["UserStatus"] == "RESET_REQUIRED"
    message = outbox.last(username=user["Username"])
    assert message["kind"] == "ForgotPassword"
    idp.confirm_forgot_password(ClientId=client_id, Username=user["Username"], ConfirmationCode=message["code"],
                                Password="Brand!New1")
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["UserStatus"] == "CONFIRMED"


def test_admin_reset_user_password_without_channel(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    user = create(idp, pool_id)
    idp.admin_set_user_password(UserPoolId=pool_id, Username=user["Username"], Password=PASSWORD, Permanent=True)
    with pytest.raises(ClientError) as exc:
        idp.admin_reset_user_password(UserPoolId=pool_id, Username=user["Username"])
    assert error(exc) == ("InvalidParameterException", "Cannot reset password for the user as there is no "
                          "registered/verified email or phone_number")


def test_admin_reset_user_password_refused_before_first_sign_in(idp, pool_id):
    # AWS: a user still on the temporary password (FORCE_CHANGE_PASSWORD) cannot be reset.
    user = create(idp, pool_id, email="f@example.com", UserAttributes=[{"Name": "email_verified", "Value": "true"}],
                  MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as exc:
        idp.admin_reset_user_password(UserPoolId=pool_id, Username=user["Username"])
    assert error(exc) == ("NotAuthorizedException", "User password cannot be reset in the current state.")
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["UserStatus"] == "FORCE_CHANGE_PASSWORD"


def test_admin_create_user_stores_only_given_attributes(idp, pool_id):
    # AWS adds `sub` but no implicit email_verified/phone_number_verified for admin-created users.
    user = create(idp, pool_id, email="only@example.com",
                  UserAttributes=[{"Name": "phone_number", "Value": "+15555550123"}], MessageAction="SUPPRESS")
    assert user["Attributes"][0]["Name"] == "sub"
    assert set(attrs_of(user)) == {"sub", "email", "phone_number"}
    got = idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])
    assert set(attrs_of(got)) == {"sub", "email", "phone_number"}
    assert got["UserAttributes"][0]["Name"] == "sub"
    assert "MFAOptions" not in got and "UserMFASettingList" not in got


def test_admin_confirm_sign_up(idp, pool_id):
    client_id = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="c")["UserPoolClient"]["ClientId"]
    username = unique("u")
    idp.sign_up(ClientId=client_id, Username=username, Password=PASSWORD)
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"
    with pytest.raises(ClientError) as exc:
        idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=username)
    assert error(exc) == ("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
    created = create(idp, pool_id)
    with pytest.raises(ClientError) as exc:
        idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=created["Username"])
    assert error(exc) == ("NotAuthorizedException",
                          "User cannot be confirmed. Current status is FORCE_CHANGE_PASSWORD")
    with pytest.raises(ClientError) as exc:
        idp.admin_confirm_sign_up(UserPoolId=pool_id, Username="ghost")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_admin_set_user_settings(idp, pool_id):
    user = create(idp, pool_id, UserAttributes=[{"Name": "phone_number", "Value": "+12065550100"}])
    options = [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}]
    idp.admin_set_user_settings(UserPoolId=pool_id, Username=user["Username"], MFAOptions=options)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"])["MFAOptions"] == options
    bare = create(idp, pool_id)
    with pytest.raises(ClientError) as exc:
        idp.admin_set_user_settings(UserPoolId=pool_id, Username=bare["Username"], MFAOptions=options)
    assert error(exc) == ("InvalidParameterException", "User does not have a phone number to deliver SMS MFA codes.")


# -- federated links ---------------------------------------------------------------------------------
def test_link_and_disable_provider(idp, pool_id):
    idp.create_identity_provider(UserPoolId=pool_id, ProviderName="Google", ProviderType="Google",
                                 ProviderDetails={"client_id": "cid", "client_secret": "cs",
                                                  "authorize_scopes": "openid email"},
                                 AttributeMapping={"email": "email"})
    user = create(idp, pool_id)
    source = {"ProviderName": "Google", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": "1234"}
    idp.admin_link_provider_for_user(UserPoolId=pool_id, SourceUser=source, DestinationUser={
        "ProviderName": "Cognito", "ProviderAttributeValue": user["Username"]})
    identities = json.loads(attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"]))["identities"])
    assert identities[0]["userId"] == "1234" and identities[0]["providerName"] == "Google"
    other = create(idp, pool_id)
    with pytest.raises(ClientError) as exc:
        idp.admin_link_provider_for_user(UserPoolId=pool_id, SourceUser=source, DestinationUser={
            "ProviderName": "Cognito", "ProviderAttributeValue": other["Username"]})
    assert error(exc) == ("AliasExistsException", "An account with the given identity is already linked to another user.")
    # linking again to the same user is a no-op
    idp.admin_link_provider_for_user(UserPoolId=pool_id, SourceUser=source, DestinationUser={
        "ProviderName": "Cognito", "ProviderAttributeValue": user["Username"]})
    with pytest.raises(ClientError) as exc:
        idp.admin_link_provider_for_user(UserPoolId=pool_id, SourceUser=source, DestinationUser={
            "ProviderName": "Google", "ProviderAttributeValue": user["Username"]})
    assert error(exc) == ("InvalidParameterException",
                          "DestinationUser must be a native Cognito user (ProviderName Cognito).")
    with pytest.raises(ClientError) as exc:
        idp.admin_link_provider_for_user(UserPoolId=pool_id, SourceUser={**source, "ProviderName": "Cognito"},
                                         DestinationUser={"ProviderName": "Cognito",
                                                          "ProviderAttributeValue": user["Username"]})
    assert error(exc) == ("InvalidParameterException", "SourceUser must name an external identity provider.")
    with pytest.raises(ClientError) as exc:
        idp.admin_disable_provider_for_user(UserPoolId=pool_id, User={**source, "ProviderName": "Cognito"})
    assert error(exc) == ("InvalidParameterException", "User must name an external identity provider user.")
    with pytest.raises(ClientError) as exc:
        idp.admin_link_provider_for_user(UserPoolId=pool_id, SourceUser={**source, "ProviderName": "Nope"},
                                         DestinationUser={"ProviderName": "Cognito",
                                                          "ProviderAttributeValue": user["Username"]})
    assert error(exc) == ("InvalidParameterException", "Identity provider Nope does not exist for the user pool.")
    with pytest.raises(ClientError) as exc:
        idp.admin_link_provider_for_user(UserPoolId=pool_id, SourceUser={**source, "ProviderAttributeValue": "9"},
                                         DestinationUser={"ProviderName": "Cognito",
                                                          "ProviderAttributeValue": "ghost"})
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
    idp.admin_disable_provider_for_user(UserPoolId=pool_id, User=source)
    assert "identities" not in attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"]))
    with pytest.raises(ClientError) as exc:
        idp.admin_disable_provider_for_user(UserPoolId=pool_id, User=source)
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_linked_identities_limit(idp, pool_id):
    idp.create_identity_provider(UserPoolId=pool_id, ProviderName="Google", ProviderType="Google",
                                 ProviderDetails={"client_id": "cid", "client_secret": "cs",
                                                  "authorize_scopes": "openid email"})
    user = create(idp, pool_id)
    dest = {"ProviderName": "Cognito", "ProviderAttributeValue": user["Username"]}
    for n in range(5):
        idp.admin_link_provider_for_user(UserPoolId=pool_id, DestinationUser=dest, SourceUser={
            "ProviderName": "Google", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": f"id{n}"})
    with pytest.raises(ClientError) as exc:
        idp.admin_link_provider_for_user(UserPoolId=pool_id, DestinationUser=dest, SourceUser={
            "ProviderName": "Google", "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": "id5"})
    assert error(exc) == ("LimitExceededException", "Exceeded the limit of linked identities for the user.")
    identities = json.loads(attrs_of(idp.admin_get_user(UserPoolId=pool_id, Username=user["Username"]))["identities"])
    assert [i["userId"] for i in identities] == [f"id{n}" for n in range(5)]


def test_deleting_pool_removes_users(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    create(idp, pool_id)
    assert idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["EstimatedNumberOfUsers"] == 1
    idp.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        idp.list_users(UserPoolId=pool_id)
    assert error(exc) == ("ResourceNotFoundException", f"User pool {pool_id} does not exist.")


def test_resend_invitation_only_while_force_change_password(idp, pool_id):
    user = create(idp, pool_id, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=user["Username"], Password=PASSWORD, Permanent=True)
    with pytest.raises(ClientError) as exc:
        idp.admin_create_user(UserPoolId=pool_id, Username=user["Username"], MessageAction="RESEND")
    assert error(exc) == ("UnsupportedUserStateException",
                          f"Resend not possible. {user['Username']} status is not FORCE_CHANGE_PASSWORD.")


def test_admin_reset_without_a_recovery_channel(idp):
    pool_id = idp.create_user_pool(PoolName=unique("pool"))["UserPool"]["Id"]
    user = create(idp, pool_id, MessageAction="SUPPRESS")
    idp.admin_set_user_password(UserPoolId=pool_id, Username=user["Username"], Password=PASSWORD, Permanent=True)
    with pytest.raises(ClientError) as exc:
        idp.admin_reset_user_password(UserPoolId=pool_id, Username=user["Username"])
    assert error(exc) == ("InvalidParameterException", "Cannot reset password for the user as there is no "
                          "registered/verified email or phone_number")


def test_username_shapes_in_username_and_alias_pools(idp):
    both = idp.create_user_pool(PoolName=unique("pool"),
                                UsernameAttributes=["email", "phone_number"])["UserPool"]["Id"]
    with pytest.raises(ClientError) as exc:
        create(idp, both, "plainname", MessageAction="SUPPRESS")
    assert error(exc) == ("InvalidParameterException", "Username should be either an email or a phone number.")
    phones = idp.create_user_pool(PoolName=unique("pool"), UsernameAttributes=["phone_number"])["UserPool"]["Id"]
    create(idp, phones, "+15555550142", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as exc:
        create(idp, phones, "+15555550142", MessageAction="SUPPRESS")
    assert error(exc) == ("UsernameExistsException", "An account with the given phone_number already exists.")
    second = create(idp, phones, "+15555550143", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as exc:
        idp.admin_update_user_attributes(UserPoolId=phones, Username=second["Username"],
                                         UserAttributes=[{"Name": "phone_number", "Value": "+15555550142"}])
    assert error(exc) == ("AliasExistsException", "An account with the given phone_number already exists.")
    aliases = idp.create_user_pool(PoolName=unique("pool"), AliasAttributes=["phone_number"])["UserPool"]["Id"]
    with pytest.raises(ClientError) as exc:
        create(idp, aliases, "+15555550144", MessageAction="SUPPRESS")
    assert error(exc) == ("InvalidParameterException", "Username cannot be of phone number format, since user "
                          "pool is configured for phone_number alias.")


def test_admin_get_user_finds_a_user_by_another_case_its_alias_or_its_sub(idp):
    pool = idp.create_user_pool(PoolName=unique("pool"), AliasAttributes=["email"],
                                UsernameConfiguration={"CaseSensitive": False})["UserPool"]["Id"]
    idp.admin_create_user(UserPoolId=pool, Username="Jane.Doe", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": "jane@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    sub = attrs_of(idp.admin_get_user(UserPoolId=pool, Username="Jane.Doe"))["sub"]
    for name in ("jane.doe", "JANE.DOE", "jane@example.com", sub):
        assert idp.admin_get_user(UserPoolId=pool, Username=name)["Username"] == "Jane.Doe", name
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user(UserPoolId=pool, Username="john@example.com")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")
