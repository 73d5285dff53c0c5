"""Pure rules behind the user operations: filter grammar, password policy, masking, codes hashing."""

from __future__ import annotations

import pytest

from emulator.userpools.model import attributes, passwords, secret_hash, srp, user_filter
from emulator.userpools.outbound import delivery
from protocol import ServiceError


# -- ListUsers filter grammar -------------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    ('username = "alice"', ("username", "=", "alice")),
    ('email ^= "al"', ("email", "^=", "al")),
    ('email^="al"', ("email", "^=", "al")),
    ('  family_name   =   "Reddy"  ', ("family_name", "=", "Reddy")),
    ('name = "Jon \\"The\\" Smith"', ("name", "=", 'Jon "The" Smith')),
    ('name = "back\\\\slash"', ("name", "=", "back\\slash")),
    ('cognito:user_status = "confirmed"', ("cognito:user_status", "=", "confirmed")),
    ('status = "Enabled"', ("status", "=", "Enabled")),
    ('sub = "0b6f1c2e-1111-2222-3333-444455556666"', ("sub", "=", "0b6f1c2e-1111-2222-3333-444455556666")),
    ('phone_number ^= "+1"', ("phone_number", "^=", "+1")),
    ('given_name = ""', ("given_name", "=", "")),
])
def test_filter_parses(text, expected):
    condition = user_filter.parse(text)
    assert (condition.attribute, condition.operator, condition.value) == expected


@pytest.mark.parametrize("text", [None, "", "   "])
def test_empty_filter_means_all(text):
    assert user_filter.parse(text) is None


@pytest.mark.parametrize("text", [
    "foo", 'email = alice', 'email == "a"', 'email != "a"', 'email = "unterminated',
    'email = "a" AND name = "b"', '= "x"', 'email ~= "x"',
    'email = "a" extra', 'email = "a\\',
])
def test_bad_filters(text):
    with pytest.raises(ServiceError) as err:
        user_filter.parse(text)
    assert err.value.code == "InvalidParameterException"
    assert err.value.message == "Error while parsing filter."


@pytest.mark.parametrize("attribute", ["custom:tier", "nickname", "updated_at"])
def test_unsearchable_attribute(attribute):
    with pytest.raises(ServiceError) as err:
        user_filter.parse(f'{attribute} = "x"')
    assert (err.value.code, err.value.message) == ("InvalidParameterException",
                                                   f"Invalid search attribute: {attribute}")


def test_prefix_upper_bound():
    assert user_filter.prefix_upper_bound("abc") == "abd"
    assert user_filter.prefix_upper_bound("") is None
    assert user_filter.prefix_upper_bound("a\U0010ffff") == "b"
    bound = user_filter.prefix_upper_bound("al")
    assert "al" <= "alice" < bound and not ("am" < bound)


# -- password policy ------------------------------------------------------------------------------
STRICT = {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True,
          "RequireSymbols": True}


@pytest.mark.parametrize("password,rule", [
    ("Ab1!", "Password not long enough"),
    ("abcdefg1!", "Password must have uppercase characters"),
    ("ABCDEFG1!", "Password must have lowercase characters"),
    ("Abcdefgh!", "Password must have numeric characters"),
    ("Abcdefgh1", "Password must have symbol characters"),
    ("Abcd efg1", None),  # an inner space is a symbol
    ("Abcdefg1^", None),
    ("Abcdefg1=", None),
    ("Abcdefg1`", None),
])
def test_policy_rules(password, rule):
    assert passwords.policy_violation(STRICT, password) == rule


def test_policy_length_reported_first():
    assert passwords.policy_violation(STRICT, "a") == "Password not long enough"


def test_policy_relaxed():
    relaxed = {"MinimumLength": 6, "RequireUppercase": False, "RequireLowercase": False,
               "RequireNumbers": False, "RequireSymbols": False}
    assert passwords.policy_violation(relaxed, "aaaaaa") is None
    assert passwords.policy_violation(relaxed, "aaaaa") == "Password not long enough"


def test_check_policy_message():
    pool = {"Id": "us-east-1_abc", "Policies": {"PasswordPolicy": STRICT}}
    with pytest.raises(ServiceError) as err:
        passwords.check_policy(pool, "short")
    assert err.value.code == "InvalidPasswordException"
    assert err.value.message == "Password did not conform with policy: Password not long enough"


def test_generated_temporary_passwords_follow_policy():
    pool = {"Id": "us-east-1_abc", "Policies": {"PasswordPolicy": {**STRICT, "MinimumLength": 20}}}
    for _ in range(50):
        generated = passwords.generate_temporary(pool)
        assert len(generated) >= 20
        assert passwords.policy_violation(passwords.policy(pool), generated) is None


def test_only_verifier_is_stored_and_it_checks():
    pool = {"Id": "us-east-1_AbCdEf123", "Policies": {"PasswordPolicy": {**STRICT, "PasswordHistorySize": 2}}}
    user = {"username": "alice", "password": {}}
    passwords.set_password(None, pool, user, "Secret#123", temporary=False, now=100.0)
    assert "Secret#123" not in str(user["password"])
    salt, verifier = passwords.srp_material(user)
    assert srp.check_password("AbCdEf123", "alice", "Secret#123", salt, verifier)
    assert passwords.password_matches(pool, user, "Secret#123")
    assert not passwords.password_matches(pool, user, "Secret#124")
    with pytest.raises(ServiceError) as err:
        passwords.set_password(None, pool, user, "Secret#123", temporary=False, now=101.0)
    assert err.value.code == "PasswordHistoryPolicyViolationException"
    passwords.set_password(None, pool, user, "Other#1234", temporary=False, now=102.0)
    passwords.set_password(None, pool, user, "Third#1234", temporary=False, now=103.0)
    # Only the last 2 passwords are remembered.
    passwords.set_password(None, pool, user, "Secret#123", temporary=False, now=104.0)


def test_temporary_password_expiry():
    pool = {"Id": "us-east-1_abc", "Policies": {"PasswordPolicy": {**STRICT, "TemporaryPasswordValidityDays": 2}}}
    user = {"username": "u", "password": {}}
    passwords.set_password(None, pool, user, "Temp#1234", temporary=True, now=0.0)
    assert passwords.is_temporary(user)
    assert not passwords.temporary_expired(user, 2 * 86400.0)
    assert passwords.temporary_expired(user, 2 * 86400.0 + 1)


def test_user_without_password():
    assert passwords.srp_material({"password": {}}) is None
    assert not passwords.password_matches({"Id": "us-east-1_x"}, {"username": "u", "password": {}}, "x")


# -- masking and templates -----------------------------------------------------------------------------
def test_masking():
    assert delivery.mask_email("jane@example.com") == "j***@e***"
    assert delivery.mask_email("x@localhost") == "x***@l***"
    assert delivery.mask_phone("+12065550100") == "+*******0100"
    assert delivery.details("phone_number", "+12065550100") == {
        "Destination": "+*******0100", "DeliveryMedium": "SMS", "AttributeName": "phone_number"}


def test_verification_target_prefers_phone():
    pool = {"AutoVerifiedAttributes": ["email", "phone_number"]}
    assert delivery.verification_target(pool, {"email": "a@b.c", "phone_number": "+15555550100"}) == "phone_number"
    assert delivery.verification_target(pool, {"email": "a@b.c"}) == "email"
    assert delivery.verification_target({"AutoVerifiedAttributes": []}, {"email": "a@b.c"}) is None


def test_link_placeholder():
    text = delivery._replace_link("Click {##Verify Email##} now", "http://x/confirm")
    assert text == 'Click <a href="http://x/confirm">Verify Email</a> now'


# -- attributes -------------------------------------------------------------------------------------
POOL = {"Id": "us-east-1_abc", "SchemaAttributes": [
    {"Name": "sub", "AttributeDataType": "String", "Mutable": False, "Required": True},
    {"Name": "email", "AttributeDataType": "String", "Mutable": True, "Required": True},
    {"Name": "name", "AttributeDataType": "String", "Mutable": True, "Required": True},
    {"Name": "custom:tier", "AttributeDataType": "String", "Mutable": True,
     "StringAttributeConstraints": {"MinLength": "2", "MaxLength": "5"}},
    {"Name": "custom:age", "AttributeDataType": "Number", "Mutable": True,
     "NumberAttributeConstraints": {"MinValue": "0", "MaxValue": "150"}},
    {"Name": "custom:badge", "AttributeDataType": "String", "Mutable": False},
]}


@pytest.mark.parametrize("given,message", [
    ({"custom:nope": "x"}, "custom:nope: Attribute does not exist in the schema."),
    ({"tier": "x"}, "tier: Attribute does not exist in the schema."),
    ({"custom:tier": "toolong"}, "custom:tier: String must be no longer than 5 characters"),
    ({"custom:tier": "x"}, "custom:tier: String must be no shorter than 2 characters"),
    ({"custom:age": "abc"}, "custom:age: Number must be a valid number"),
    ({"custom:age": "200"}, "custom:age: Number must be less than or equal to 150"),
])
def test_schema_errors(given, message):
    with pytest.raises(ServiceError) as err:
        attributes.validate_values(POOL, given, creating=True, admin=True)
    assert err.value.code == "InvalidParameterException"
    assert err.value.message == "Attributes did not conform to the schema: " + message + "\n"


def test_immutable_attributes_only_at_creation():
    attributes.validate_values(POOL, {"custom:badge": "gold"}, creating=True, admin=True)
    with pytest.raises(ServiceError) as err:
        attributes.validate_values(POOL, {"custom:badge": "gold"}, creating=False, admin=True)
    assert err.value.message == "user.custom:badge: Attribute cannot be updated.\n"


def test_required_attributes():
    with pytest.raises(ServiceError) as err:
        attributes.check_required(POOL, {"email": "a@b.c"})
    assert err.value.message == "Attributes did not conform to the schema: name.formatted: The attribute is required\n"


def test_email_and_phone_formats():
    with pytest.raises(ServiceError) as err:
        attributes.validate_values(POOL, {"email": "not-an-email"}, creating=True, admin=True)
    assert err.value.message == "Invalid email address format."
    with pytest.raises(ServiceError) as err:
        attributes.validate_values({"Id": "x"}, {"phone_number": "555-0100"}, creating=True, admin=True)
    assert err.value.message == "Invalid phone number format."


def test_client_write_permissions():
    attributes.check_client_write({"WriteAttributes": None}, ["email", "custom:tier"])
    with pytest.raises(ServiceError) as err:
        attributes.check_client_write({}, ["email_verified"])
    assert (err.value.code, err.value.message) == ("NotAuthorizedException",
                                                   "A client attempted to write unauthorized attribute")
    with pytest.raises(ServiceError) as err:
        attributes.check_client_write({"WriteAttributes": ["email"]}, ["name"])
    assert (err.value.code, err.value.message) == ("NotAuthorizedException",
                                                   "A client attempted to write unauthorized attribute")


def test_client_read_permissions():
    attrs = {"sub": "s", "email": "e", "custom:tier": "t", "dev:custom:x": "d"}
    assert attributes.readable(None, attrs) == {"sub": "s", "email": "e", "custom:tier": "t"}
    assert attributes.readable({"ReadAttributes": ["email"]}, attrs) == {"sub": "s", "email": "e"}


def test_secret_hash_formula():
    # Known vector: HMAC-SHA256(key="secret", "user" + "client"), base64.
    import base64
    import hashlib
    import hmac
    expected = base64.b64encode(hmac.new(b"secret", b"userclient", hashlib.sha256).digest()).decode()
    assert secret_hash.compute("secret", "user", "client") == expected
