"""Sign-up then automatic sign-in: the Session of SignUp / ConfirmSignUp passed to
InitiateAuth(USER_AUTH) signs the new user in without their password."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import PASSWORD, boto_client, claims, error, secret_hash, unique

INVALID = "Invalid session for the user."


def _pool(idp, factors=("PASSWORD", "EMAIL_OTP"), **extra) -> str:
    return idp.create_user_pool(
        PoolName=unique("auto"), UserPoolTier="ESSENTIALS", AutoVerifiedAttributes=["email"],
        UsernameAttributes=["email"],
        Policies={"SignInPolicy": {"AllowedFirstAuthFactors": list(factors)}}, **extra)["UserPool"]["Id"]


def _client(idp, pool_id, **extra) -> dict:
    return idp.create_user_pool_client(UserPoolId=pool_id, ClientName="app",
                                       ExplicitAuthFlows=["ALLOW_USER_AUTH", "ALLOW_USER_SRP_AUTH",
                                                          "ALLOW_REFRESH_TOKEN_AUTH"], **extra)["UserPoolClient"]


def _sign_up(idp, outbox, client, email=None, password=PASSWORD, with_session=True):
    email = email or f"{unique('u')}@example.com"
    signed = idp.sign_up(ClientId=client["ClientId"], Username=email, Password=password,
                         UserAttributes=[{"Name": "email", "Value": email}])
    assert signed["UserConfirmed"] is False and signed["Session"]
    code = outbox.last_code(destination=email)
    kwargs = {"Session": signed["Session"]} if with_session else {}
    confirmed = idp.confirm_sign_up(ClientId=client["ClientId"], Username=email, ConfirmationCode=code, **kwargs)
    return email, signed, confirmed


def test_confirm_sign_up_session_signs_in_with_user_auth(idp, outbox):
    pool_id = _pool(idp)
    client = _client(idp, pool_id)
    email, signed, confirmed = _sign_up(idp, outbox, client)
    assert confirmed["Session"] and confirmed["Session"] != signed["Session"]
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                            AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    result = out["AuthenticationResult"]
    access = claims(result["AccessToken"])
    assert access["username"] == signed["UserSub"] and access["client_id"] == client["ClientId"]
    assert result["RefreshToken"] and result["IdToken"]
    assert idp.get_user(AccessToken=result["AccessToken"])["Username"] == signed["UserSub"]
    # Single use.
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert error(exc) == ("NotAuthorizedException", "Invalid session for the user, session can only be used once.")


def test_confirm_without_sign_up_session_still_answers_a_session(idp, outbox):
    # Amplify v6 does not send SignUp's Session to ConfirmSignUp; it uses the one ConfirmSignUp answers.
    pool_id = _pool(idp, factors=("PASSWORD",))
    client = _client(idp, pool_id)
    email, _signed, confirmed = _sign_up(idp, outbox, client, with_session=False)
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                            AuthParameters={"USERNAME": email, "PREFERRED_CHALLENGE": "PASSWORD"},
                            Session=confirmed["Session"])
    assert "AccessToken" in out["AuthenticationResult"]


def test_admin_initiate_auth_accepts_the_session(idp, outbox):
    pool_id = _pool(idp)
    client = _client(idp, pool_id)
    email, _signed, confirmed = _sign_up(idp, outbox, client)
    out = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                                  AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert "AccessToken" in out["AuthenticationResult"]


def test_session_expires_with_the_auth_session_validity(idp, outbox, clock):
    pool_id = _pool(idp)
    client = _client(idp, pool_id, AuthSessionValidity=5)
    email, _signed, confirmed = _sign_up(idp, outbox, client)
    clock.advance(5 * 60 + 1)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert error(exc) == ("NotAuthorizedException", "Invalid session for the user, session is expired.")


def test_session_is_bound_to_user_and_client(idp, outbox):
    pool_id = _pool(idp)
    client = _client(idp, pool_id)
    other_client = _client(idp, pool_id)
    email, _signed, confirmed = _sign_up(idp, outbox, client)
    other, _s, _c = _sign_up(idp, outbox, client)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": other}, Session=confirmed["Session"])
    assert error(exc) == ("NotAuthorizedException", INVALID)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=other_client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert error(exc) == ("NotAuthorizedException", INVALID)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session="bm90IGEgc2Vzc2lvbg==")
    assert error(exc) == ("NotAuthorizedException", INVALID)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH", AuthParameters={},
                          Session=confirmed["Session"])
    assert error(exc) == ("InvalidParameterException", "Missing required parameter USERNAME")


def test_sign_up_session_of_an_unconfirmed_user_does_not_sign_in(idp, outbox):
    pool_id = _pool(idp)
    client = _client(idp, pool_id)
    email = f"{unique('u')}@example.com"
    signed = idp.sign_up(ClientId=client["ClientId"], Username=email, Password=PASSWORD,
                         UserAttributes=[{"Name": "email", "Value": email}])
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=signed["Session"])
    assert error(exc) == ("NotAuthorizedException", INVALID)
    # Confirmed by an administrator: the sign-up session still proves nothing.
    idp.admin_confirm_sign_up(UserPoolId=pool_id, Username=email)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=signed["Session"])
    assert error(exc) == ("NotAuthorizedException", INVALID)


def test_confirm_sign_up_checks_a_given_session(idp, outbox):
    pool_id = _pool(idp)
    client = _client(idp, pool_id)
    first = f"{unique('u')}@example.com"
    second = f"{unique('u')}@example.com"
    s1 = idp.sign_up(ClientId=client["ClientId"], Username=first, Password=PASSWORD,
                     UserAttributes=[{"Name": "email", "Value": first}])
    idp.sign_up(ClientId=client["ClientId"], Username=second, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": second}])
    code = outbox.last_code(destination=second)
    with pytest.raises(ClientError) as exc:
        idp.confirm_sign_up(ClientId=client["ClientId"], Username=second, ConfirmationCode=code,
                            Session=s1["Session"])
    assert error(exc) == ("NotAuthorizedException", INVALID)
    # The code was not spent by the refused attempt.
    assert idp.confirm_sign_up(ClientId=client["ClientId"], Username=second, ConfirmationCode=code)["Session"]


def test_auto_confirmed_sign_up_session_signs_in(tmp_path):
    # PreSignUp confirms the user: SignUp's own Session signs them in.
    from lambda_fixtures.user_pool_functions import Functions

    functions = Functions(tmp_path)
    try:
        def confirm(event):
            event["response"].update(autoConfirmUser=True, autoVerifyEmail=True)
            return event
        idp = boto_client("cognito-idp", functions.url)
        pool_id = _pool(idp, LambdaConfig={"PreSignUp": functions.add(confirm)})
        client = _client(idp, pool_id)
        email = f"{unique('u')}@example.com"
        signed = idp.sign_up(ClientId=client["ClientId"], Username=email, Password=PASSWORD,
                             UserAttributes=[{"Name": "email", "Value": email}])
        assert signed["UserConfirmed"] is True
        out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                                AuthParameters={"USERNAME": email}, Session=signed["Session"])
        assert claims(out["AuthenticationResult"]["IdToken"])["email"] == email
    finally:
        functions.stop()


def test_secret_client_needs_secret_hash(idp, outbox):
    pool_id = _pool(idp)
    client = _client(idp, pool_id, GenerateSecret=True)
    email = f"{unique('u')}@example.com"
    idp.sign_up(ClientId=client["ClientId"], Username=email, Password=PASSWORD,
                SecretHash=secret_hash(client, email), UserAttributes=[{"Name": "email", "Value": email}])
    confirmed = idp.confirm_sign_up(ClientId=client["ClientId"], Username=email,
                                    ConfirmationCode=outbox.last_code(destination=email),
                                    SecretHash=secret_hash(client, email))
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert error(exc) == ("NotAuthorizedException",
                          f"Client {client['ClientId']} is configured for secret but secret was not received")
    out = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH", Session=confirmed["Session"],
                            AuthParameters={"USERNAME": email, "SECRET_HASH": secret_hash(client, email)})
    assert "AccessToken" in out["AuthenticationResult"]


def test_disabled_user_and_lite_tier(idp, outbox):
    pool_id = _pool(idp)
    client = _client(idp, pool_id)
    email, signed, confirmed = _sign_up(idp, outbox, client)
    idp.admin_disable_user(UserPoolId=pool_id, Username=signed["UserSub"])
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert error(exc) == ("NotAuthorizedException", "User is disabled.")
    lite = idp.create_user_pool(PoolName=unique("lite"), UserPoolTier="LITE", AutoVerifiedAttributes=["email"],
                                UsernameAttributes=["email"])["UserPool"]["Id"]
    lite_client = _client(idp, lite)
    email, _signed, confirmed = _sign_up(idp, outbox, lite_client)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=lite_client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert error(exc) == ("FeatureUnavailableInTierException",
                          "This feature is not available in the current tier of the user pool.")


def test_client_without_user_auth(idp, outbox):
    pool_id = _pool(idp)
    client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="srp-only")["UserPoolClient"]
    email, _signed, confirmed = _sign_up(idp, outbox, client)
    with pytest.raises(ClientError) as exc:
        idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_AUTH",
                          AuthParameters={"USERNAME": email}, Session=confirmed["Session"])
    assert error(exc) == ("InvalidParameterException", "Auth flow not enabled for this client")
