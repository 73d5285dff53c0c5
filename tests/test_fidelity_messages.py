"""AWS's exact error answers where they differ by operation (attribute validation, password
policy, identity providers, identity pools), black-box through boto3. Each expected message has
its source in docs/fidelity.md."""

from __future__ import annotations

import pytest
from helpers import PASSWORD, admin_sign_in, error_from, make_user, pool_and_client, signed_in, unique

NOT_IN_SCHEMA = "Attribute does not exist in the schema."


# -- UpdateUserAttributes / AdminUpdateUserAttributes ----------------------------------------------
def test_update_attributes_not_in_schema(idp):
    pool, _client, username, token = signed_in(idp)
    one = [{"Name": "custom:address", "Value": "x"}]
    two = one + [{"Name": "custom:latitude", "Value": "1"}]
    assert error_from(idp.update_user_attributes, AccessToken=token, UserAttributes=one) == (
        "InvalidParameterException", f"user.custom:address: {NOT_IN_SCHEMA}\n")
    assert error_from(idp.update_user_attributes, AccessToken=token, UserAttributes=two) == (
        "InvalidParameterException", f"user.custom:address: {NOT_IN_SCHEMA}\nuser.custom:latitude: {NOT_IN_SCHEMA}\n")
    assert error_from(idp.admin_update_user_attributes, UserPoolId=pool["Id"], Username=username,
                      UserAttributes=[{"Name": "tier", "Value": "x"}]) == (
        "InvalidParameterException", f"user.tier: {NOT_IN_SCHEMA}\n")


def test_update_sub_is_non_mutable_whatever_its_value(idp):
    pool, _client, username, token = signed_in(idp)
    expected = ("InvalidParameterException", "Cannot modify the non-mutable attribute sub")
    for attribute in ({"Name": "sub", "Value": "x"}, {"Name": "sub", "Value": ""}, {"Name": "sub"}):
        assert error_from(idp.update_user_attributes, AccessToken=token, UserAttributes=[attribute]) == expected
        assert error_from(idp.admin_update_user_attributes, UserPoolId=pool["Id"], Username=username,
                          UserAttributes=[attribute]) == expected


def test_update_immutable_attributes_after_creation(idp):
    schema = [{"Name": "role", "AttributeDataType": "String", "Mutable": False},
              {"Name": "email", "AttributeDataType": "String", "Mutable": False, "Required": False}]
    pool, client = pool_and_client(idp, Schema=schema)
    username = make_user(idp, pool["Id"], attributes={"custom:role": "customer", "email": "i@example.com"})
    token = admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]
    for name, value in (("custom:role", "admin"), ("custom:role", ""), ("email", "j@example.com")):
        expected = ("InvalidParameterException", f"user.{name}: Attribute cannot be updated.\n")
        attributes = [{"Name": name, "Value": value}]
        assert error_from(idp.update_user_attributes, AccessToken=token, UserAttributes=attributes) == expected
        assert error_from(idp.admin_update_user_attributes, UserPoolId=pool["Id"], Username=username,
                          UserAttributes=attributes) == expected
    # Set or not, an immutable attribute is written only when the user is created.
    other = make_user(idp, pool["Id"])
    assert error_from(idp.admin_update_user_attributes, UserPoolId=pool["Id"], Username=other,
                      UserAttributes=[{"Name": "custom:role", "Value": "x"}]) == (
        "InvalidParameterException", "user.custom:role: Attribute cannot be updated.\n")


def test_update_attribute_without_value(idp):
    pool, _client, username, token = signed_in(idp, {"email": "keep@example.com"})
    for name in ("email", "custom:nope"):
        expected = ("InvalidParameterException", f"Attribute value for {name} must not be null")
        assert error_from(idp.update_user_attributes, AccessToken=token, UserAttributes=[{"Name": name}]) == expected
        assert error_from(idp.admin_update_user_attributes, UserPoolId=pool["Id"], Username=username,
                          UserAttributes=[{"Name": name}]) == expected
    got = idp.admin_get_user(UserPoolId=pool["Id"], Username=username)
    assert {a["Name"]: a["Value"] for a in got["UserAttributes"]}["email"] == "keep@example.com"


def test_update_value_constraints_and_emptied_required_attribute(idp):
    schema = [{"Name": "cart", "AttributeDataType": "String", "Mutable": True,
               "StringAttributeConstraints": {"MinLength": "36", "MaxLength": "36"}},
              {"Name": "name", "AttributeDataType": "String", "Mutable": True, "Required": True}]
    pool, client = pool_and_client(idp, Schema=schema)
    username = make_user(idp, pool["Id"], attributes={"name": "N"})
    token = admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]
    assert error_from(idp.update_user_attributes, AccessToken=token,
                      UserAttributes=[{"Name": "custom:cart", "Value": "short"}]) == (
        "InvalidParameterException", "user.custom:cart: String must be no shorter than 36 characters\n")
    expected = ("InvalidParameterException", "Invalid user attributes: name: Required attribute cannot be deleted.")
    assert error_from(idp.update_user_attributes, AccessToken=token,
                      UserAttributes=[{"Name": "name", "Value": ""}]) == expected
    assert error_from(idp.admin_update_user_attributes, UserPoolId=pool["Id"], Username=username,
                      UserAttributes=[{"Name": "name", "Value": ""}]) == expected


# -- DeleteUserAttributes / AdminDeleteUserAttributes ----------------------------------------------
def test_delete_attributes_not_in_schema(idp):
    pool, _client, username, token = signed_in(idp, {"nickname": "Joe"})
    one = ("InvalidParameterException", f"Invalid user attributes: user.custom:foo: {NOT_IN_SCHEMA}\n")
    two = ("InvalidParameterException",
           f"Invalid user attributes: user.custom:foo: {NOT_IN_SCHEMA}\nuser.custom:bar: {NOT_IN_SCHEMA}\n")
    assert error_from(idp.admin_delete_user_attributes, UserPoolId=pool["Id"], Username=username,
                      UserAttributeNames=["nickname", "custom:foo"]) == one
    assert error_from(idp.admin_delete_user_attributes, UserPoolId=pool["Id"], Username=username,
                      UserAttributeNames=["nickname", "custom:foo", "custom:bar"]) == two
    assert error_from(idp.delete_user_attributes, AccessToken=token, UserAttributeNames=["custom:foo"]) == one
    got = idp.admin_get_user(UserPoolId=pool["Id"], Username=username)
    assert "nickname" in {a["Name"] for a in got["UserAttributes"]}  # nothing was deleted


def test_delete_immutable_and_username_attributes(idp):
    pool, client = pool_and_client(idp, UsernameAttributes=["email"],
                                   Schema=[{"Name": "badge", "AttributeDataType": "String", "Mutable": False}])
    idp.admin_create_user(UserPoolId=pool["Id"], Username="u@example.com", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "custom:badge", "Value": "gold"}])
    assert error_from(idp.admin_delete_user_attributes, UserPoolId=pool["Id"], Username="u@example.com",
                      UserAttributeNames=["custom:badge"]) == (
        "InvalidParameterException", "Invalid user attributes: user.custom:badge: Attribute cannot be updated.\n")
    assert error_from(idp.admin_delete_user_attributes, UserPoolId=pool["Id"], Username="u@example.com",
                      UserAttributeNames=["email"]) == (
        "InvalidParameterException", "Invalid user attributes: email: Required attribute cannot be deleted.")


# -- creating users ------------------------------------------------------------------------------------
def test_sign_up_and_admin_create_user_schema_errors_end_with_newline(idp):
    pool, client = pool_and_client(idp, Schema=[{"Name": "email", "AttributeDataType": "String", "Required": True,
                                                 "Mutable": True}])
    attributes = [{"Name": "email", "Value": "s@example.com"}, {"Name": "phone", "Value": "1"},
                  {"Name": "custom:dateOfBirth", "Value": "x"}]
    both = ("InvalidParameterException", f"Attributes did not conform to the schema: phone: {NOT_IN_SCHEMA}\n"
            f"custom:dateOfBirth: {NOT_IN_SCHEMA}\n")
    assert error_from(idp.sign_up, ClientId=client["ClientId"], Username=unique("u"), Password=PASSWORD,
                      UserAttributes=attributes) == both
    assert error_from(idp.admin_create_user, UserPoolId=pool["Id"], Username=unique("u"),
                      UserAttributes=attributes) == both
    assert error_from(idp.sign_up, ClientId=client["ClientId"], Username=unique("u"), Password=PASSWORD) == (
        "InvalidParameterException", "Attributes did not conform to the schema: email: The attribute is required\n")


def test_creating_a_user_with_sub(idp):
    pool, client = pool_and_client(idp)
    expected = ("InvalidParameterException", "Cannot modify the non-mutable attribute sub")
    sub = [{"Name": "sub", "Value": "fa84a268-3091-7032-1234-abcdef000000"}]
    assert error_from(idp.admin_create_user, UserPoolId=pool["Id"], Username=unique("u"), UserAttributes=sub) == expected
    assert error_from(idp.sign_up, ClientId=client["ClientId"], Username=unique("u"), Password=PASSWORD,
                      UserAttributes=sub) == expected


def test_new_password_challenge_refuses_verified_flags(idp):
    pool, client = pool_and_client(idp)
    username = unique("u")
    idp.admin_create_user(UserPoolId=pool["Id"], Username=username, TemporaryPassword="Temp0rary!pw",
                          MessageAction="SUPPRESS", UserAttributes=[{"Name": "email", "Value": "v@example.com"}])
    out = idp.admin_initiate_auth(UserPoolId=pool["Id"], ClientId=client["ClientId"],
                                  AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": "Temp0rary!pw"})
    assert error_from(idp.admin_respond_to_auth_challenge, UserPoolId=pool["Id"], ClientId=client["ClientId"],
                      ChallengeName="NEW_PASSWORD_REQUIRED", Session=out["Session"],
                      ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": "N3w-Passw0rd!",
                                       "userAttributes.email_verified": "true"}) == (
        "InvalidParameterException", "Cannot modify the non-mutable attribute email_verified")


# -- password policy: the prefix depends on the operation ------------------------------------------
def test_password_policy_message_per_operation(idp, outbox):
    pool, client = pool_and_client(idp)
    pool_id, client_id = pool["Id"], client["ClientId"]
    rule = "Password must have uppercase characters"
    weak = "nouppercase1!"
    signup = "Password did not conform with policy: "
    admin = "Password did not conform with password policy: "
    user = "Password does not conform to policy: "

    assert error_from(idp.sign_up, ClientId=client_id, Username=unique("u"), Password=weak) == (
        "InvalidPasswordException", signup + rule)
    assert error_from(idp.admin_create_user, UserPoolId=pool_id, Username=unique("u"), TemporaryPassword=weak) == (
        "InvalidPasswordException", admin + rule)
    username = make_user(idp, pool_id, attributes={"email": "p@example.com", "email_verified": "true"})
    assert error_from(idp.admin_set_user_password, UserPoolId=pool_id, Username=username, Password=weak,
                      Permanent=True) == ("InvalidPasswordException", admin + rule)

    token = admin_sign_in(idp, pool_id, client_id, username)["AccessToken"]
    assert error_from(idp.change_password, AccessToken=token, PreviousPassword=PASSWORD, ProposedPassword=weak) == (
        "InvalidPasswordException", user + rule)

    idp.forgot_password(ClientId=client_id, Username=username)
    code = outbox.last_code(pool_id=pool_id, username=username)
    assert error_from(idp.confirm_forgot_password, ClientId=client_id, Username=username, ConfirmationCode=code,
                      Password=weak) == ("InvalidPasswordException", user + rule)

    temporary = unique("t")
    idp.admin_create_user(UserPoolId=pool_id, Username=temporary, TemporaryPassword="Temp0rary!pw",
                          MessageAction="SUPPRESS")
    out = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id, AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": temporary, "PASSWORD": "Temp0rary!pw"})
    assert error_from(idp.admin_respond_to_auth_challenge, UserPoolId=pool_id, ClientId=client_id,
                      ChallengeName="NEW_PASSWORD_REQUIRED", Session=out["Session"],
                      ChallengeResponses={"USERNAME": temporary, "NEW_PASSWORD": weak}) == (
        "InvalidPasswordException", user + rule)


# -- identity providers and identity pools ---------------------------------------------------------
@pytest.mark.parametrize("provider_type,name", [
    ("Google", "NameOfGP"), ("Google", "google"), ("Facebook", "MyFacebook"), ("LoginWithAmazon", "Amazon"),
    ("SignInWithApple", "Apple"),
])
def test_social_provider_named_other_than_its_type(idp, provider_type, name):
    pool, _client = pool_and_client(idp)
    details = {"client_id": "c", "client_secret": "s", "authorize_scopes": "openid"}
    if provider_type == "SignInWithApple":
        details = {"client_id": "c", "team_id": "t", "key_id": "k", "private_key": "p", "authorize_scopes": "email"}
    assert error_from(idp.create_identity_provider, UserPoolId=pool["Id"], ProviderName=name,
                      ProviderType=provider_type, ProviderDetails=details) == (
        "InvalidParameterException", f"Provider {name} cannot be of type {provider_type}.")


def test_identity_pool_cognito_provider_without_provider_name(identity):
    for provider in ({"ClientId": "769obvghue82qn3tlrbl1em0pr"},
                     {"ProviderName": "us-east-1_abcdefgh", "ClientId": "769obvghue82qn3tlrbl1em0pr"}):
        assert error_from(identity.create_identity_pool, IdentityPoolName=unique("p"),
                          AllowUnauthenticatedIdentities=True, CognitoIdentityProviders=[provider]) == (
            "InvalidParameterException", "Invalid Cognito Identity Provider")
