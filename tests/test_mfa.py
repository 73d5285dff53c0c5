"""TOTP and MFA settings: AssociateSoftwareToken, VerifySoftwareToken (by access token and by
MFA_SETUP session), SetUserMFAPreference, AdminSetUserMFAPreference, and TOTP at sign-in."""

from __future__ import annotations

import base64
import json

import pyotp
import pytest
from botocore.exceptions import ClientError
from helpers import PASSWORD, admin_sign_in, answer_code, error, make_user, pool_and_client, signed_in


def totp_pool(idp, mode: str = "OPTIONAL") -> tuple[dict, dict]:
    pool, client = pool_and_client(idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool["Id"], MfaConfiguration=mode,
                                 SoftwareTokenMfaConfiguration={"Enabled": True})
    return pool, client


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def enrol(idp, clock, token: str) -> str:
    """Associate and verify a software token; returns the secret."""
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    out = idp.verify_software_token(AccessToken=token, UserCode=code_at(secret, clock.now()),
                                    FriendlyDeviceName="phone")
    assert out["Status"] == "SUCCESS"
    return secret


def totp_user(idp, clock, pool: dict, client: dict, username: str) -> tuple[str, str]:
    """(access token, secret) of the user signed in, enrolled and preferring TOTP."""
    token = admin_sign_in(idp, pool["Id"], client["ClientId"], username)["AccessToken"]
    secret = enrol(idp, clock, token)
    idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    return token, secret


# -- AssociateSoftwareToken / VerifySoftwareToken ----------------------------------------
def test_associate_returns_real_base32_secret(idp):
    _pool, _client, _username, token = signed_in(idp)
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    assert len(base64.b32decode(secret + "=" * (-len(secret) % 8))) * 8 >= 160
    assert secret == secret.upper() and "=" not in secret
    other = idp.associate_software_token(AccessToken=token)["SecretCode"]
    assert other != secret


def test_verify_wrong_code(idp, clock):
    _pool, _client, _username, token = signed_in(idp)
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    good = code_at(secret, clock.now())
    wrong = f"{(int(good) + 1) % 1_000_000:06d}"
    with pytest.raises(ClientError) as exc:
        idp.verify_software_token(AccessToken=token, UserCode=wrong)
    assert error(exc) == ("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")


def test_verify_accepts_one_step_either_side_only(idp, clock):
    _pool, _client, _username, token = signed_in(idp)
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    now = clock.now()
    with pytest.raises(ClientError) as exc:
        idp.verify_software_token(AccessToken=token, UserCode=code_at(secret, now - 95))
    assert error(exc) == ("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
    assert idp.verify_software_token(AccessToken=token, UserCode=code_at(secret, now - 30))["Status"] == "SUCCESS"


def test_verify_uses_latest_associated_secret(idp, clock):
    _pool, _client, _username, token = signed_in(idp)
    first = idp.associate_software_token(AccessToken=token)["SecretCode"]
    second = idp.associate_software_token(AccessToken=token)["SecretCode"]
    with pytest.raises(ClientError) as exc:
        idp.verify_software_token(AccessToken=token, UserCode=code_at(first, clock.now()))
    assert error(exc) == ("EnableSoftwareTokenMFAException", "Code mismatch and fail enable Software Token MFA")
    assert idp.verify_software_token(AccessToken=token, UserCode=code_at(second, clock.now()))["Status"] == "SUCCESS"


def test_verify_without_associate(idp):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.verify_software_token(AccessToken=token, UserCode="123456")
    assert error(exc) == ("SoftwareTokenMFANotFoundException",
                          "Software Token MFA has not been associated with the user.")


def test_associate_needs_token_or_session(idp):
    with pytest.raises(ClientError) as exc:
        idp.associate_software_token()
    assert error(exc) == ("InvalidParameterException", "Invalid Parameter Provided")


def test_associate_refuses_bad_token(idp):
    with pytest.raises(ClientError) as exc:
        idp.associate_software_token(AccessToken="x.y.z")
    assert error(exc) == ("NotAuthorizedException", "Invalid Access Token")


def test_associate_refuses_bad_session(idp):
    with pytest.raises(ClientError) as exc:
        idp.associate_software_token(Session="A" * 40)
    assert error(exc) == ("NotAuthorizedException", "Invalid session for the user.")


# -- SetUserMFAPreference / AdminSetUserMFAPreference ------------------------------------
def test_enable_totp_before_setup_refused(idp):
    pool, _client, username, token = signed_in(idp)
    settings = {"Enabled": True, "PreferredMfa": True}
    with pytest.raises(ClientError) as exc:
        idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings=settings)
    assert error(exc) == ("InvalidParameterException", "User has not set up software token mfa")
    with pytest.raises(ClientError) as exc:
        idp.admin_set_user_mfa_preference(UserPoolId=pool["Id"], Username=username,
                                          SoftwareTokenMfaSettings=settings)
    assert error(exc) == ("InvalidParameterException",
                          "User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA")


def test_enable_sms_without_phone_refused(idp):
    _pool, _client, _username, token = signed_in(idp)
    with pytest.raises(ClientError) as exc:
        idp.set_user_mfa_preference(AccessToken=token, SMSMfaSettings={"Enabled": True})
    assert error(exc) == ("InvalidParameterException", "User does not have delivery config set to turn on SMS_MFA")


def test_preferences_show_in_get_user_and_admin_get_user(idp, clock):
    pool, _client, username, token = signed_in(idp, {"phone_number": "+12065550100"})
    enrol(idp, clock, token)
    assert "UserMFASettingList" not in idp.get_user(AccessToken=token)
    idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
                                SMSMfaSettings={"Enabled": True})
    got = idp.get_user(AccessToken=token)
    assert got["UserMFASettingList"] == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    assert got["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    admin = idp.admin_get_user(UserPoolId=pool["Id"], Username=username)
    assert admin["UserMFASettingList"] == ["SMS_MFA", "SOFTWARE_TOKEN_MFA"]
    assert admin["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    idp.admin_set_user_mfa_preference(UserPoolId=pool["Id"], Username=username,
                                      SoftwareTokenMfaSettings={"Enabled": False})
    got = idp.get_user(AccessToken=token)
    assert got["UserMFASettingList"] == ["SMS_MFA"]
    assert "PreferredMfaSetting" not in got


def test_preferred_requires_enabled(idp):
    _pool, _client, _username, token = signed_in(idp, {"phone_number": "+12065550100"})
    with pytest.raises(ClientError) as exc:
        idp.set_user_mfa_preference(AccessToken=token, SMSMfaSettings={"Enabled": False, "PreferredMfa": True})
    assert error(exc) == ("InvalidParameterException", "Cannot set preferred MFA to a disabled MFA type")


def test_admin_set_preference_unknown_user(idp):
    pool, _client = pool_and_client(idp)
    with pytest.raises(ClientError) as exc:
        idp.admin_set_user_mfa_preference(UserPoolId=pool["Id"], Username="nobody",
                                          SMSMfaSettings={"Enabled": False})
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


# -- TOTP at sign-in ----------------------------------------------------------------------
def test_totp_sign_in_and_no_code_reuse(idp, clock):
    pool, client = totp_pool(idp)
    username = make_user(idp, pool["Id"])
    token, secret = totp_user(idp, clock, pool, client, username)
    clock.advance(60)  # the verify code's step is spent; move to a fresh one
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    code = code_at(secret, clock.now())
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                         Session=start["Session"],
                                         ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code})
    assert "AccessToken" in done["AuthenticationResult"]
    again = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                      Session=again["Session"],
                                      ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code})
    assert error(exc) == ("ExpiredCodeException", "Your software token has already been used once.")


def test_code_spent_on_verify_is_refused_at_sign_in(idp, clock):
    pool, client = totp_pool(idp)
    username = make_user(idp, pool["Id"])
    clock.freeze()  # the verify code's time step must still be current at sign-in
    _token, secret = totp_user(idp, clock, pool, client, username)
    spent = code_at(secret, clock.now())
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                      Session=start["Session"],
                                      ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": spent})
    assert error(exc) == ("ExpiredCodeException", "Your software token has already been used once.")
    # The next time step's code signs in (the session survives a refused code).
    clock.advance(30)
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SOFTWARE_TOKEN_MFA",
                                         Session=start["Session"],
                                         ChallengeResponses={"USERNAME": username,
                                                             "SOFTWARE_TOKEN_MFA_CODE": code_at(secret, clock.now())})
    assert done["ChallengeParameters"] == {}
    assert done["AuthenticationResult"]["TokenType"] == "Bearer"


def test_mfa_setup_with_session(idp, clock):
    pool, client = totp_pool(idp, "ON")
    username = make_user(idp, pool["Id"])
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "MFA_SETUP"
    associated = idp.associate_software_token(Session=start["Session"])
    secret = associated["SecretCode"]
    assert associated["Session"] and associated["Session"] != start["Session"]
    with pytest.raises(ClientError) as exc:
        idp.associate_software_token(Session=start["Session"])
    assert error(exc) == ("NotAuthorizedException", "Invalid session for the user, session can only be used once.")
    verified = idp.verify_software_token(Session=associated["Session"], UserCode=code_at(secret, clock.now()))
    assert verified["Status"] == "SUCCESS"
    assert verified["Session"]
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="MFA_SETUP",
                                         Session=verified["Session"], ChallengeResponses={"USERNAME": username})
    token = done["AuthenticationResult"]["AccessToken"]
    got = idp.get_user(AccessToken=token)
    assert got["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    assert got["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    clock.advance(60)
    nxt = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                            AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert nxt["ChallengeName"] == "SOFTWARE_TOKEN_MFA"


def test_mfa_setup_session_expires(idp, clock):
    pool, client = totp_pool(idp, "ON")
    username = make_user(idp, pool["Id"])
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    clock.advance(181)
    with pytest.raises(ClientError) as exc:
        idp.associate_software_token(Session=start["Session"])
    assert error(exc) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")


def test_totp_needs_pool_factor(idp, clock):
    """A user's TOTP setting does not apply while the pool's MFA is OFF."""
    pool, client = pool_and_client(idp)
    username = make_user(idp, pool["Id"])
    token, _secret = totp_user(idp, clock, pool, client, username)
    assert "AccessToken" in admin_sign_in(idp, pool["Id"], client["ClientId"], username)


# -- AdminDeleteSoftwareToken / AdminGetUserAuthFactors ---------------------------------
def test_admin_get_user_auth_factors(idp, clock):
    pool, client = totp_pool(idp)
    username = make_user(idp, pool["Id"], attributes={"email": "f@example.com", "email_verified": "true"})
    out = idp.admin_get_user_auth_factors(UserPoolId=pool["Id"], Username=username)
    assert out["Username"] == username
    assert out["ConfiguredUserAuthFactors"] == ["PASSWORD"]
    assert "UserMFASettingList" not in out and "PreferredMfaSetting" not in out
    token, _secret = totp_user(idp, clock, pool, client, username)
    out = idp.admin_get_user_auth_factors(UserPoolId=pool["Id"], Username=username)
    assert out["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]
    assert out["PreferredMfaSetting"] == "SOFTWARE_TOKEN_MFA"
    mine = idp.get_user_auth_factors(AccessToken=token)
    for key in ("Username", "ConfiguredUserAuthFactors", "UserMFASettingList", "PreferredMfaSetting"):
        assert out[key] == mine[key]
    with pytest.raises(ClientError) as exc:
        idp.admin_get_user_auth_factors(UserPoolId=pool["Id"], Username="nobody")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


def test_admin_delete_software_token(idp, clock):
    pool, client = totp_pool(idp)
    username = make_user(idp, pool["Id"])
    token, _secret = totp_user(idp, clock, pool, client, username)
    start = idp.admin_initiate_auth(UserPoolId=pool["Id"], ClientId=client["ClientId"],
                                    AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                    AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    idp.admin_delete_software_token(UserPoolId=pool["Id"], Username=username)
    got = idp.admin_get_user(UserPoolId=pool["Id"], Username=username)
    assert "UserMFASettingList" not in got and "PreferredMfaSetting" not in got
    # The lost authenticator no longer gates sign-in, and enabling TOTP needs a new association.
    assert "AccessToken" in admin_sign_in(idp, pool["Id"], client["ClientId"], username)
    with pytest.raises(ClientError) as exc:
        idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True})
    assert error(exc) == ("InvalidParameterException", "User has not set up software token mfa")
    secret = enrol(idp, clock, token)
    assert secret
    idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True})
    with pytest.raises(ClientError) as exc:
        idp.admin_delete_software_token(UserPoolId=pool["Id"], Username="nobody")
    assert error(exc) == ("UserNotFoundException", "User does not exist.")


# -- email MFA: set-up at sign-in and required MFA with an email on file ------------------
def email_mfa_pool(idp) -> tuple[dict, dict]:
    pool, client = pool_and_client(idp, UserPoolTier="ESSENTIALS", EmailConfiguration={
        "EmailSendingAccount": "DEVELOPER", "SourceArn": "arn:aws:ses:us-east-1:000000000000:identity/example.com"})
    idp.set_user_pool_mfa_config(UserPoolId=pool["Id"], MfaConfiguration="ON",
                                 SoftwareTokenMfaConfiguration={"Enabled": True},
                                 EmailMfaConfiguration={"Message": "Your code is {####}", "Subject": "Code"})
    return pool, client


def test_mfa_setup_lists_email_and_sets_it_up(idp, outbox):
    pool, client = email_mfa_pool(idp)
    username = make_user(idp, pool["Id"])
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "MFA_SETUP"
    assert json.loads(start["ChallengeParameters"]["MFAS_CAN_SETUP"]) == ["SOFTWARE_TOKEN_MFA", "EMAIL_OTP"]
    with pytest.raises(ClientError) as exc:
        idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="MFA_SETUP", Session=start["Session"],
                                      ChallengeResponses={"USERNAME": username, "EMAIL": "not-an-email"})
    assert error(exc) == ("InvalidParameterException", "Invalid email address format.")
    sent = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="MFA_SETUP",
                                         Session=start["Session"],
                                         ChallengeResponses={"USERNAME": username, "EMAIL": "mfa@example.com"})
    assert sent["ChallengeName"] == "EMAIL_OTP"
    assert sent["ChallengeParameters"]["CODE_DELIVERY_DELIVERY_MEDIUM"] == "EMAIL"
    code = outbox.last_code(username=username)
    message = outbox.last(username=username)
    # The pool's EmailMfaConfiguration is the message's template.
    assert (message["destination"], message["subject"], message["body"]) == (
        "mfa@example.com", "Code", f"Your code is {code}")
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="EMAIL_OTP", Session=sent["Session"],
                                         ChallengeResponses={"USERNAME": username, "EMAIL_OTP_CODE": code})
    token = done["AuthenticationResult"]["AccessToken"]
    got = idp.get_user(AccessToken=token)
    assert got["UserMFASettingList"] == ["EMAIL_OTP"] and got["PreferredMfaSetting"] == "EMAIL_OTP"
    attrs = {a["Name"]: a["Value"] for a in got["UserAttributes"]}
    assert attrs["email"] == "mfa@example.com" and attrs["email_verified"] == "true"
    again = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert again["ChallengeName"] == "EMAIL_OTP"


def test_required_email_mfa_uses_the_email_on_file(idp, outbox):
    pool, client = email_mfa_pool(idp)
    username = make_user(idp, pool["Id"],
                         attributes={"email": "on-file@example.com", "email_verified": "true"})
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "EMAIL_OTP"
    answer_code(idp, client, start, username, "EMAIL_OTP_CODE", outbox.last_code(username=username))


def test_select_mfa_type_email(idp, clock, outbox):
    """Email joins SELECT_MFA_TYPE; the API reference's EMAIL_MFA answer means EMAIL_OTP."""
    pool, client = email_mfa_pool(idp)
    username = make_user(idp, pool["Id"], attributes={"email": "both@example.com", "email_verified": "true"})
    first = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    token = idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="EMAIL_OTP", Session=first["Session"],
        ChallengeResponses={"USERNAME": username, "EMAIL_OTP_CODE": outbox.last_code(username=username)},
    )["AuthenticationResult"]["AccessToken"]
    enrol(idp, clock, token)
    idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False},
                                EmailMfaSettings={"Enabled": True, "PreferredMfa": False})
    for answer in ("EMAIL_OTP", "EMAIL_MFA"):
        start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
        assert start["ChallengeName"] == "SELECT_MFA_TYPE"
        assert json.loads(start["ChallengeParameters"]["MFAS_CAN_CHOOSE"]) == ["SOFTWARE_TOKEN_MFA", "EMAIL_OTP"]
        chosen = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="SELECT_MFA_TYPE",
                                               Session=start["Session"],
                                               ChallengeResponses={"USERNAME": username, "ANSWER": answer})
        assert chosen["ChallengeName"] == "EMAIL_OTP"
        done = idp.respond_to_auth_challenge(
            ClientId=client["ClientId"], ChallengeName="EMAIL_OTP", Session=chosen["Session"],
            ChallengeResponses={"USERNAME": username, "EMAIL_OTP_CODE": outbox.last_code(username=username)})
        assert "AccessToken" in done["AuthenticationResult"]


def test_associate_by_session_needs_an_mfa_setup_session(idp):
    pool, client = email_mfa_pool(idp)
    username = make_user(idp, pool["Id"], attributes={"email": "s@example.com", "email_verified": "true"})
    start = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    assert start["ChallengeName"] == "EMAIL_OTP"
    with pytest.raises(ClientError) as exc:
        idp.associate_software_token(Session=start["Session"])
    assert error(exc) == ("NotAuthorizedException", "Invalid session for the user.")


def test_email_mfa_needs_an_email_and_a_tier(idp):
    pool, _client = email_mfa_pool(idp)
    username = make_user(idp, pool["Id"])
    with pytest.raises(ClientError) as exc:
        idp.admin_set_user_mfa_preference(UserPoolId=pool["Id"], Username=username,
                                          EmailMfaSettings={"Enabled": True})
    assert error(exc) == ("InvalidParameterException",
                          "User does not have delivery config set to turn on EMAIL_OTP")
    lite, _client = pool_and_client(idp, UserPoolTier="LITE", EmailConfiguration={
        "EmailSendingAccount": "DEVELOPER", "SourceArn": "arn:aws:ses:us-east-1:000000000000:identity/example.com"})
    with pytest.raises(ClientError) as exc:
        idp.set_user_pool_mfa_config(UserPoolId=lite["Id"], MfaConfiguration="OPTIONAL",
                                     SoftwareTokenMfaConfiguration={"Enabled": True},
                                     EmailMfaConfiguration={"Message": "Your code is {####}", "Subject": "Code"})
    assert error(exc) == ("FeatureUnavailableInTierException", "Email MFA is not available in the LITE tier.")
