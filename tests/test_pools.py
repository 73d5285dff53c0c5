"""User pools: CreateUserPool defaults, Describe, Update (replace-unspecified), Delete, List."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError
from helpers import boto_client, error, unique


@pytest.fixture
def pool(idp):
    return idp.create_user_pool(PoolName=unique("pool"))["UserPool"]


def test_create_user_pool_defaults(idp, pool):
    assert re.fullmatch(r"us-east-1_[0-9A-Za-z]{9}", pool["Id"])
    assert pool["Arn"] == f"arn:aws:cognito-idp:us-east-1:000000000000:userpool/{pool['Id']}"
    assert pool["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True,
        "RequireSymbols": True, "TemporaryPasswordValidityDays": 7}
    assert pool["Policies"]["SignInPolicy"] == {"AllowedFirstAuthFactors": ["PASSWORD"]}
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False, "UnusedAccountValidityDays": 7}
    assert pool["MfaConfiguration"] == "OFF"
    assert pool["DeletionProtection"] == "INACTIVE"
    assert pool["EmailConfiguration"] == {"EmailSendingAccount": "COGNITO_DEFAULT"}
    assert pool["VerificationMessageTemplate"] == {"DefaultEmailOption": "CONFIRM_WITH_CODE"}
    assert pool["UserPoolTier"] == "ESSENTIALS"
    assert pool["EstimatedNumberOfUsers"] == 0
    assert pool["LambdaConfig"] == {}
    assert "UsernameConfiguration" not in pool
    assert pool["CreationDate"] == pool["LastModifiedDate"]
    names = [a["Name"] for a in pool["SchemaAttributes"]]
    assert names[0] == "sub"
    for name in ("name", "given_name", "family_name", "email", "email_verified", "phone_number",
                 "phone_number_verified", "updated_at", "birthdate", "identities", "address"):
        assert name in names
    sub = pool["SchemaAttributes"][0]
    assert sub == {"Name": "sub", "AttributeDataType": "String", "DeveloperOnlyAttribute": False,
                   "Mutable": False, "Required": True,
                   "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "2048"}}
    by_name = {a["Name"]: a for a in pool["SchemaAttributes"]}
    assert by_name["email_verified"]["AttributeDataType"] == "Boolean"
    assert by_name["updated_at"]["NumberAttributeConstraints"] == {"MinValue": "0"}
    assert by_name["birthdate"]["StringAttributeConstraints"] == {"MinLength": "10", "MaxLength": "10"}
    described = idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
    assert described == pool


def test_create_user_pool_settings_echoed(idp):
    pool = idp.create_user_pool(
        PoolName=unique("pool"),
        Policies={"PasswordPolicy": {"MinimumLength": 10, "RequireUppercase": True}},
        AutoVerifiedAttributes=["email"], UsernameAttributes=["email"],
        UsernameConfiguration={"CaseSensitive": False},
        Schema=[{"Name": "dept", "AttributeDataType": "String",
                 "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"}},
                {"Name": "age", "AttributeDataType": "Number", "Mutable": False},
                {"Name": "email", "AttributeDataType": "String", "Required": True, "Mutable": True}],
        AccountRecoverySetting={"RecoveryMechanisms": [{"Priority": 2, "Name": "verified_phone_number"},
                                                       {"Priority": 1, "Name": "verified_email"}]},
        DeletionProtection="ACTIVE", UserPoolTags={"team": "a"},
        EmailVerificationSubject="Your code", EmailVerificationMessage="Code {####}",
    )["UserPool"]
    assert pool["Policies"]["PasswordPolicy"] == {
        "MinimumLength": 10, "RequireUppercase": True, "RequireLowercase": False, "RequireNumbers": False,
        "RequireSymbols": False, "TemporaryPasswordValidityDays": 7}
    assert pool["UsernameAttributes"] == ["email"]
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["UserPoolTags"] == {"team": "a"}
    assert pool["DeletionProtection"] == "ACTIVE"
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"][0] == {"Priority": 1, "Name": "verified_email"}
    assert pool["VerificationMessageTemplate"]["EmailMessage"] == "Code {####}"
    assert pool["VerificationMessageTemplate"]["EmailSubject"] == "Your code"
    assert pool["EmailVerificationMessage"] == "Code {####}"
    by_name = {a["Name"]: a for a in pool["SchemaAttributes"]}
    assert by_name["custom:dept"] == {"Name": "custom:dept", "AttributeDataType": "String",
                                      "DeveloperOnlyAttribute": False, "Mutable": True, "Required": False,
                                      "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "64"}}
    assert by_name["custom:age"]["Mutable"] is False
    assert by_name["email"]["Required"] is True
    idp.update_user_pool(UserPoolId=pool["Id"], DeletionProtection="INACTIVE")
    idp.delete_user_pool(UserPoolId=pool["Id"])


def test_create_user_pool_errors(idp):
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName=unique("p"), AliasAttributes=["email"], UsernameAttributes=["email"])
    assert error(exc) == ("InvalidParameterException",
                          "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName=unique("p"),
                             Schema=[{"Name": "x", "AttributeDataType": "String", "Required": True}])
    assert error(exc) == ("InvalidParameterException", "Required custom attributes are not supported currently.")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName=unique("p"), UserAttributeUpdateSettings={
            "AttributesRequireVerificationBeforeUpdate": ["email"]})
    assert error(exc) == ("InvalidParameterException", "All attributes in AttributesRequireVerificationBeforeUpdate "
                                                      "must exist in AutoVerifiedAttributes")
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName=unique("p"), MfaConfiguration="ON")
    assert error(exc) == ("InvalidParameterException", "SMS configuration and Auto verification for phone_number "
                                                      "are required when MFA is required/optional")


@pytest.mark.parametrize("attribute, message", [
    ({"Name": "dept"}, "Invalid AttributeDataType input, consider using the provided AttributeDataType enum."),
    ({"Name": "email", "AttributeDataType": "Number"},
     "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute email"),
    ({"Name": "email", "DeveloperOnlyAttribute": True},
     "You can not change AttributeDataType or set developerOnlyAttribute for standard schema attribute email"),
    ({"Name": "email", "AttributeDataType": "String", "StringAttributeConstraints": {"MinLength": "x"}},
     "Invalid StringAttributeConstraints for schema attribute email"),
    ({"Name": "updated_at", "AttributeDataType": "Number", "NumberAttributeConstraints": {"MaxValue": "x"}},
     "Invalid NumberAttributeConstraints for schema attribute updated_at"),
    ({"Name": "email", "AttributeDataType": "String", "StringAttributeConstraints": {"MaxLength": "2049"}},
     "user.email: String attributes cannot have a length of more than 2048"),
    ({"Name": "email", "AttributeDataType": "String",
      "StringAttributeConstraints": {"MinLength": "2", "MaxLength": "1"}},
     "user.email: Max length cannot be less than min length."),
    ({"Name": "updated_at", "AttributeDataType": "Number",
      "NumberAttributeConstraints": {"MinValue": "2", "MaxValue": "1"}},
     "user.updated_at: Max value cannot be less than min value."),
    ({"Name": "code", "AttributeDataType": "String", "StringAttributeConstraints": {"MaxLength": "4096"}},
     "user.custom:code: String attributes cannot have a length of more than 2048"),
])
def test_schema_errors(idp, attribute, message):
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName=unique("p"), Schema=[attribute])
    assert error(exc) == ("InvalidParameterException", message)


def test_custom_attribute_constraints_kept_for_own_type(idp):
    both = {"NumberAttributeConstraints": {"MinValue": "10", "MaxValue": "20"},
            "StringAttributeConstraints": {"MinLength": "10", "MaxLength": "20"}}
    pool = idp.create_user_pool(PoolName=unique("p"), Schema=[
        {"Name": "s", "AttributeDataType": "String", **both},
        {"Name": "n", "AttributeDataType": "Number", **both},
        {"Name": "b", "AttributeDataType": "Boolean", **both},
        {"Name": "plain_n", "AttributeDataType": "Number"},
        {"Name": "half", "AttributeDataType": "String", "StringAttributeConstraints": {"MaxLength": "10"}}])["UserPool"]
    by_name = {a["Name"]: a for a in pool["SchemaAttributes"]}
    assert by_name["custom:s"]["StringAttributeConstraints"] == {"MinLength": "10", "MaxLength": "20"}
    assert "NumberAttributeConstraints" not in by_name["custom:s"]
    assert by_name["custom:n"]["NumberAttributeConstraints"] == {"MinValue": "10", "MaxValue": "20"}
    assert "StringAttributeConstraints" not in by_name["custom:n"]
    assert "StringAttributeConstraints" not in by_name["custom:b"]
    assert "NumberAttributeConstraints" not in by_name["custom:b"]
    assert "NumberAttributeConstraints" not in by_name["custom:plain_n"]
    assert by_name["custom:half"]["StringAttributeConstraints"] == {"MaxLength": "10"}


def test_describe_unknown_pool(idp):
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool(UserPoolId="us-east-1_Nope12345")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_Nope12345 does not exist.")


def test_update_user_pool_replaces_unspecified(idp):
    pool = idp.create_user_pool(PoolName=unique("pool"), AutoVerifiedAttributes=["email"],
                                Policies={"PasswordPolicy": {"MinimumLength": 12}},
                                LambdaConfig={"PreSignUp": "arn:aws:lambda:us-east-1:000000000000:function:f"},
                                EmailVerificationSubject="Subject {####}")["UserPool"]
    idp.update_user_pool(UserPoolId=pool["Id"], UserPoolTags={"k": "v"})
    after = idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
    assert after["Name"] == pool["Name"]
    assert "AutoVerifiedAttributes" not in after
    assert after["Policies"]["PasswordPolicy"]["MinimumLength"] == 8
    assert after["LambdaConfig"] == {}
    assert "EmailVerificationSubject" not in after
    assert after["UserPoolTags"] == {"k": "v"}
    assert after["SchemaAttributes"] == pool["SchemaAttributes"]
    assert after["LastModifiedDate"] >= pool["LastModifiedDate"]


def test_update_user_pool_name_and_settings(idp, pool):
    idp.update_user_pool(UserPoolId=pool["Id"], PoolName="renamed", MfaConfiguration="OFF",
                         AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})
    after = idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]
    assert after["Name"] == "renamed"
    assert after["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


def test_delete_user_pool_protection_and_cleanup(idp):
    pool = idp.create_user_pool(PoolName=unique("pool"), DeletionProtection="ACTIVE")["UserPool"]
    client = idp.create_user_pool_client(UserPoolId=pool["Id"], ClientName="c")["UserPoolClient"]
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool(UserPoolId=pool["Id"])
    assert error(exc) == ("InvalidParameterException",
                          "The user pool cannot be deleted because deletion protection is activated. "
                          "Deletion protection must be inactivated first.")
    idp.update_user_pool(UserPoolId=pool["Id"], DeletionProtection="INACTIVE")
    idp.delete_user_pool(UserPoolId=pool["Id"])
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool(UserPoolId=pool["Id"])
    assert error(exc) == ("ResourceNotFoundException", f"User pool {pool['Id']} does not exist.")
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool_client(UserPoolId=pool["Id"], ClientId=client["ClientId"])
    assert error(exc) == ("ResourceNotFoundException", f"User pool {pool['Id']} does not exist.")


def test_delete_pool_with_domain_refused(idp, pool):
    prefix = unique("dom")
    idp.create_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix)
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool(UserPoolId=pool["Id"])
    assert error(exc) == ("InvalidParameterException",
                          "User pool cannot be deleted. It has a domain configured that should be deleted first.")
    idp.delete_user_pool_domain(UserPoolId=pool["Id"], Domain=prefix)
    idp.delete_user_pool(UserPoolId=pool["Id"])


def test_list_user_pools_pagination_with_inserts(idp, endpoint):
    region = "eu-west-3"
    client = boto_client("cognito-idp", endpoint, region=region)
    created = [client.create_user_pool(PoolName=unique("lp"))["UserPool"]["Id"] for _ in range(5)]
    seen = []
    page = client.list_user_pools(MaxResults=2)
    seen += [p["Id"] for p in page["UserPools"]]
    assert len(page["UserPools"]) == 2 and "NextToken" in page
    created.append(client.create_user_pool(PoolName=unique("lp"))["UserPool"]["Id"])
    while "NextToken" in page:
        page = client.list_user_pools(MaxResults=2, NextToken=page["NextToken"])
        seen += [p["Id"] for p in page["UserPools"]]
    assert set(created) <= set(seen)
    assert len(seen) == len(set(seen))
    assert all(p.startswith(region + "_") for p in seen)
    item = client.list_user_pools(MaxResults=1)["UserPools"][0]
    assert set(item) == {"Id", "Name", "LambdaConfig", "LastModifiedDate", "CreationDate"}
    for pool_id in created:
        client.delete_user_pool(UserPoolId=pool_id)


def test_list_user_pools_bad_token(idp):
    with pytest.raises(ClientError) as exc:
        idp.list_user_pools(MaxResults=5, NextToken="garbage")
    assert error(exc) == ("InvalidParameterException", "Invalid pagination token.")


def test_add_custom_attributes(idp, pool):
    idp.add_custom_attributes(UserPoolId=pool["Id"], CustomAttributes=[
        {"Name": "tier", "AttributeDataType": "String"},
        {"Name": "secret", "AttributeDataType": "String", "DeveloperOnlyAttribute": True}])
    names = [a["Name"] for a in idp.describe_user_pool(UserPoolId=pool["Id"])["UserPool"]["SchemaAttributes"]]
    assert "custom:tier" in names and "dev:custom:secret" in names
    with pytest.raises(ClientError) as exc:
        idp.add_custom_attributes(UserPoolId=pool["Id"],
                                  CustomAttributes=[{"Name": "tier", "AttributeDataType": "String"}])
    assert error(exc) == ("InvalidParameterException", "custom:tier: Existing attribute already has name custom:tier.")
    with pytest.raises(ClientError) as exc:
        idp.add_custom_attributes(UserPoolId=pool["Id"], CustomAttributes=[
            {"Name": "secret", "AttributeDataType": "String", "DeveloperOnlyAttribute": True}])
    assert error(exc) == ("InvalidParameterException",
                          "custom:secret: Existing attribute already has name dev:custom:secret.")
    with pytest.raises(ClientError) as exc:
        idp.add_custom_attributes(UserPoolId=pool["Id"], CustomAttributes=[
            {"Name": "r", "AttributeDataType": "String", "Required": True}])
    assert error(exc) == ("InvalidParameterException", "Required custom attributes are not supported currently.")


def test_custom_attribute_quota(idp, pool):
    for start in range(0, 50, 25):
        idp.add_custom_attributes(UserPoolId=pool["Id"], CustomAttributes=[
            {"Name": f"a{i}", "AttributeDataType": "String"} for i in range(start, start + 25)])
    with pytest.raises(ClientError) as exc:
        idp.add_custom_attributes(UserPoolId=pool["Id"],
                                  CustomAttributes=[{"Name": "one_more", "AttributeDataType": "String"}])
    assert error(exc) == ("LimitExceededException", "Cannot have more than 50 custom attributes.")


def test_signing_certificate(idp, pool):
    import base64

    from cryptography import x509
    cert = idp.get_signing_certificate(UserPoolId=pool["Id"])["Certificate"]
    assert cert == idp.get_signing_certificate(UserPoolId=pool["Id"])["Certificate"]
    parsed = x509.load_der_x509_certificate(base64.b64decode(cert))
    assert parsed.issuer == parsed.subject
    with pytest.raises(ClientError) as exc:
        idp.get_signing_certificate(UserPoolId="us-east-1_Nope12345")
    assert error(exc) == ("ResourceNotFoundException", "User pool us-east-1_Nope12345 does not exist.")


def test_deletion_protection_refuses_delete_until_inactivated(idp):
    pool_id = idp.create_user_pool(PoolName=unique("guarded"), DeletionProtection="ACTIVE")["UserPool"]["Id"]
    with pytest.raises(ClientError) as exc:
        idp.delete_user_pool(UserPoolId=pool_id)
    assert error(exc) == ("InvalidParameterException",
                          "The user pool cannot be deleted because deletion protection is activated. "
                          "Deletion protection must be inactivated first.")
    idp.update_user_pool(UserPoolId=pool_id, DeletionProtection="INACTIVE")
    idp.delete_user_pool(UserPoolId=pool_id)
    with pytest.raises(ClientError) as exc:
        idp.describe_user_pool(UserPoolId=pool_id)
    assert error(exc) == ("ResourceNotFoundException", f"User pool {pool_id} does not exist.")


@pytest.mark.parametrize("settings, message", [
    ({"UserAttributeUpdateSettings": {"AttributesRequireVerificationBeforeUpdate": ["email"]}},
     "All attributes in AttributesRequireVerificationBeforeUpdate must exist in AutoVerifiedAttributes"),
    ({"Schema": [{"Name": "custom:tier", "AttributeDataType": "String"},
                 {"Name": "custom:tier", "AttributeDataType": "String"}]},
     "Duplicate attribute name: custom:tier"),
    ({"Schema": [{"Name": "sub", "AttributeDataType": "String", "Mutable": True}]},
     "sub attribute cannot be modified."),
    ({"EmailConfiguration": {"EmailSendingAccount": "DEVELOPER"}},
     "SourceArn is required when EmailSendingAccount is DEVELOPER."),
    ({"AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"},
                                                        {"Priority": 1, "Name": "verified_phone_number"}]}},
     "Recovery mechanisms must have unique names and priorities."),
    ({"AccountRecoverySetting": {"RecoveryMechanisms": [{"Priority": 1, "Name": "admin_only"},
                                                        {"Priority": 2, "Name": "verified_email"}]}},
     "admin_only cannot be combined with other recovery mechanisms."),
    ({"AliasAttributes": ["preferred_username"],
      "Schema": [{"Name": "preferred_username", "AttributeDataType": "String", "Required": True}]},
     "preferred_username cannot be both an alias and a required attribute."),
    ({"UserPoolTier": "ESSENTIALS", "Policies": {"SignInPolicy": {"AllowedFirstAuthFactors": ["EMAIL_OTP"]}}},
     "PASSWORD must be one of the AllowedFirstAuthFactors."),
])
def test_create_user_pool_refuses_inconsistent_settings(idp, settings, message):
    with pytest.raises(ClientError) as exc:
        idp.create_user_pool(PoolName=unique("bad"), **settings)
    assert error(exc) == ("InvalidParameterException", message)
