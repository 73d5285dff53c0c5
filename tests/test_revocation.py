"""RevokeToken, GlobalSignOut, AdminUserGlobalSignOut and GetTokensFromRefreshToken (rotation)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from helpers import (
    boto_client,
    error,
    make_client,
    make_pool,
    make_user,
    refresh,
    secret_hash,
    tokens_for,
)


def assert_revoked(idp, client, result: dict) -> None:
    """Both tokens of a sign-in result are refused as revoked."""
    with pytest.raises(ClientError) as e:
        idp.get_user(AccessToken=result["AccessToken"])
    assert error(e) == ("NotAuthorizedException", "Access Token has been revoked")
    with pytest.raises(ClientError) as e:
        refresh(idp, client, result["RefreshToken"])
    assert error(e) == ("NotAuthorizedException", "Refresh Token has been revoked")


@pytest.fixture
def two_sessions(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    first = tokens_for(idp, client, username)
    second = tokens_for(idp, client, username)
    return pool_id, client, username, first, second


def test_revoke_token_revokes_its_session_only(idp, two_sessions):
    _pool, client, _username, first, second = two_sessions
    assert idp.revoke_token(Token=first["RefreshToken"], ClientId=client["ClientId"])["ResponseMetadata"]
    assert_revoked(idp, client, first)
    idp.get_user(AccessToken=second["AccessToken"])
    assert "AccessToken" in refresh(idp, client, second["RefreshToken"])["AuthenticationResult"]
    # Revoking again is harmless.
    idp.revoke_token(Token=first["RefreshToken"], ClientId=client["ClientId"])


def test_revoke_token_revokes_tokens_refreshed_from_it(idp, two_sessions):
    _pool, client, _username, first, _second = two_sessions
    refreshed = refresh(idp, client, first["RefreshToken"])["AuthenticationResult"]
    idp.revoke_token(Token=first["RefreshToken"], ClientId=client["ClientId"])
    with pytest.raises(ClientError) as e:
        idp.get_user(AccessToken=refreshed["AccessToken"])
    assert error(e) == ("NotAuthorizedException", "Access Token has been revoked")


def test_revoke_token_errors(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    result = tokens_for(idp, client, username)
    with pytest.raises(ClientError) as e:
        idp.revoke_token(Token=result["AccessToken"], ClientId=client["ClientId"])
    assert error(e) == ("UnsupportedTokenTypeException", "Unsupported token type.")
    other = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.revoke_token(Token=result["RefreshToken"], ClientId=other["ClientId"])
    assert error(e) == ("UnauthorizedException", "Invalid client id or client secret.")
    no_revocation = make_client(idp, pool_id, EnableTokenRevocation=False)
    token = tokens_for(idp, no_revocation, username)["RefreshToken"]
    with pytest.raises(ClientError) as e:
        idp.revoke_token(Token=token, ClientId=no_revocation["ClientId"])
    assert error(e) == ("UnsupportedOperationException",
                        "Token revocation is not enabled for this app client.")
    secret = make_client(idp, pool_id, flows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
                         GenerateSecret=True)
    out = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=secret["ClientId"], AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                  AuthParameters={"USERNAME": username, "PASSWORD": "Passw0rd!",
                                                  "SECRET_HASH": secret_hash(secret, username)})
    token = out["AuthenticationResult"]["RefreshToken"]
    with pytest.raises(ClientError) as e:
        idp.revoke_token(Token=token, ClientId=secret["ClientId"])
    assert error(e) == ("UnauthorizedException", "Invalid client id or client secret.")
    idp.revoke_token(Token=token, ClientId=secret["ClientId"], ClientSecret=secret["ClientSecret"])


def test_tokens_without_revocation_have_no_origin_jti(idp):
    import jwt
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, EnableTokenRevocation=False)
    username = make_user(idp, pool_id)
    result = tokens_for(idp, client, username)
    assert "origin_jti" not in jwt.decode(result["AccessToken"], options={"verify_signature": False})


def test_global_sign_out(idp, two_sessions):
    _pool, client, username, first, second = two_sessions
    idp.global_sign_out(AccessToken=first["AccessToken"])
    for result in (first, second):
        assert_revoked(idp, client, result)
    # Signing out again with the revoked token is refused (amplify-js#3540).
    with pytest.raises(ClientError) as e:
        idp.global_sign_out(AccessToken=first["AccessToken"])
    assert error(e) == ("NotAuthorizedException", "Access Token has been revoked")
    # A sign-in right after (same second) is not caught by the sign-out.
    fresh = tokens_for(idp, client, username)
    assert idp.get_user(AccessToken=fresh["AccessToken"])["Username"] == username
    assert "AccessToken" in refresh(idp, client, fresh["RefreshToken"])["AuthenticationResult"]


def test_admin_user_global_sign_out_all_clients(idp):
    pool_id = make_pool(idp)
    client_a, client_b = make_client(idp, pool_id), make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    a = tokens_for(idp, client_a, username)
    b = tokens_for(idp, client_b, username)
    other_user = make_user(idp, pool_id)
    c = tokens_for(idp, client_a, other_user)
    idp.admin_user_global_sign_out(UserPoolId=pool_id, Username=username)
    for client, result in ((client_a, a), (client_b, b)):
        assert_revoked(idp, client, result)
    idp.get_user(AccessToken=c["AccessToken"])
    with pytest.raises(ClientError) as e:
        idp.admin_user_global_sign_out(UserPoolId=pool_id, Username="nobody")
    assert error(e) == ("UserNotFoundException", "User does not exist.")


def test_global_sign_out_needs_no_credentials(endpoint, two_sessions):
    anonymous = boto_client("cognito-idp", endpoint)
    _pool, _client, _username, first, _second = two_sessions
    anonymous.global_sign_out(AccessToken=first["AccessToken"])


# -- GetTokensFromRefreshToken -----------------------------------------------------------------------------
def test_get_tokens_from_refresh_token_without_rotation(idp, two_sessions):
    _pool, client, _username, first, _second = two_sessions
    out = idp.get_tokens_from_refresh_token(RefreshToken=first["RefreshToken"], ClientId=client["ClientId"])
    result = out["AuthenticationResult"]
    assert "AccessToken" in result and "IdToken" in result
    assert "RefreshToken" not in result


def test_rotation(idp, clock):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 10})
    username = make_user(idp, pool_id)
    original = tokens_for(idp, client, username)["RefreshToken"]
    with pytest.raises(ClientError) as e:
        refresh(idp, client, original)
    assert error(e) == ("NotAuthorizedException",
                        "Refresh token rotation is enabled for this app client; use GetTokensFromRefreshToken.")
    rotated = idp.get_tokens_from_refresh_token(RefreshToken=original, ClientId=client["ClientId"])
    new_token = rotated["AuthenticationResult"]["RefreshToken"]
    assert new_token != original
    clock.advance(5)
    retry = idp.get_tokens_from_refresh_token(RefreshToken=original, ClientId=client["ClientId"])
    assert "RefreshToken" in retry["AuthenticationResult"]
    clock.advance(6)
    with pytest.raises(ClientError) as e:
        idp.get_tokens_from_refresh_token(RefreshToken=original, ClientId=client["ClientId"])
    assert error(e) == ("RefreshTokenReuseException", "Refresh token has already been used.")
    newer = idp.get_tokens_from_refresh_token(RefreshToken=new_token, ClientId=client["ClientId"])
    assert newer["AuthenticationResult"]["RefreshToken"] not in (new_token, original)


def test_rotation_without_grace(idp):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 0})
    username = make_user(idp, pool_id)
    original = tokens_for(idp, client, username)["RefreshToken"]
    idp.get_tokens_from_refresh_token(RefreshToken=original, ClientId=client["ClientId"])
    with pytest.raises(ClientError) as e:
        idp.get_tokens_from_refresh_token(RefreshToken=original, ClientId=client["ClientId"])
    assert error(e) == ("RefreshTokenReuseException", "Refresh token has already been used.")


def test_get_tokens_from_refresh_token_errors(idp, two_sessions):
    pool_id, client, _username, first, _second = two_sessions
    with pytest.raises(ClientError) as e:
        idp.get_tokens_from_refresh_token(RefreshToken="garbage", ClientId=client["ClientId"])
    assert error(e) == ("NotAuthorizedException", "Invalid Refresh Token")
    other = make_client(idp, pool_id)
    with pytest.raises(ClientError) as e:
        idp.get_tokens_from_refresh_token(RefreshToken=first["RefreshToken"], ClientId=other["ClientId"])
    assert error(e) == ("NotAuthorizedException", "Invalid Refresh Token")
    secret = make_client(idp, pool_id, GenerateSecret=True)
    with pytest.raises(ClientError) as e:
        idp.get_tokens_from_refresh_token(RefreshToken=first["RefreshToken"], ClientId=secret["ClientId"])
    assert error(e) == ("NotAuthorizedException",
                        f"Client {secret['ClientId']} is configured for secret but secret was not received")
