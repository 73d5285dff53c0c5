"""Amplify v6 signInWithRedirect({provider}) through the social sandbox in a real headless Chromium:
the app's authorize URL, the emulator's redirect to the provider's stand-in, a click on a declared
test identity, and back to the app, where Amplify exchanges the code (PKCE) for tokens carrying the
mapped attributes and `identities`."""

from __future__ import annotations

import os
import shutil

import jwt
import pytest
import requests
from browser import amplify_redirect_sign_in, require
from conftest import unique
from test_social_sandbox import DETAILS

require()

# Amplify's provider names and the user pool's provider types.
PROVIDERS = {"Google": "Google", "Facebook": "Facebook", "Amazon": "LoginWithAmazon", "Apple": "SignInWithApple"}
SLUG = {"Google": "google", "Facebook": "facebook", "LoginWithAmazon": "amazon", "SignInWithApple": "apple"}


def _redirect_sign_in(page, env: dict, callback, email: str) -> dict:
    """Amplify's signInWithRedirect; this browser clicks the declared identity on the provider's page."""
    ptype = PROVIDERS[env["PROVIDER"]]

    def pick(page, query):
        assert query["identity_provider"] == [ptype]
        # The provider's stand-in: the declared identity is one click away.
        assert f"/_emulator/social/{SLUG[ptype]}/authorize" in page.url
        page.locator(f'button[data-email="{email}"]').click()

    return amplify_redirect_sign_in(page, env, callback, pick)[0]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("amplify_name", list(PROVIDERS))
def test_amplify_sign_in_with_redirect_through_the_sandbox(page, idp, identity, endpoint, callback, amplify_name):
    """And the signed-in session's AWS credentials from an identity pool trusting the user pool."""
    ptype = PROVIDERS[amplify_name]
    pool_id = idp.create_user_pool(PoolName=unique("social"))["UserPool"]["Id"]
    prefix = unique("login")
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    idp.create_identity_provider(UserPoolId=pool_id, ProviderName=ptype, ProviderType=ptype,
                                 ProviderDetails=DETAILS[ptype],
                                 AttributeMapping={"email": "email", "name": "name"})
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid", "email", "profile", "aws.cognito.signin.user.admin"],
        CallbackURLs=[callback.url], LogoutURLs=[callback.url],
        SupportedIdentityProviders=[ptype])["UserPoolClient"]
    identity_pool_id = identity.create_identity_pool(
        IdentityPoolName=unique("social").replace("-", "_"), AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[{"ProviderName": f"cognito-idp.us-east-1.amazonaws.com/{pool_id}",
                                   "ClientId": client["ClientId"]}])["IdentityPoolId"]
    identity.set_identity_pool_roles(IdentityPoolId=identity_pool_id,
                                     Roles={"authenticated": "arn:aws:iam::000000000000:role/signed-in"})
    email = f"{unique('grace')}@example.com"
    declared = requests.post(f"{endpoint}/_emulator/social/{SLUG[ptype]}/users",
                             json={"email": email, "name": "Grace Hopper"}, timeout=10).json()["users"][0]

    env = {**os.environ, "ENDPOINT": endpoint, "POOL_ID": pool_id, "CLIENT_ID": client["ClientId"],
           "DOMAIN": f"{prefix}.auth.us-east-1.amazoncognito.com", "REDIRECT": callback.url,
           "PROVIDER": amplify_name, "IDENTITY_POOL_ID": identity_pool_id}
    result = _redirect_sign_in(page, env, callback, email)
    username = f"{ptype}_{declared['id']}"
    assert result["user"]["username"] == username
    assert result["attributes"]["email"] == email and result["attributes"]["name"] == "Grace Hopper"
    claims = jwt.decode(result["tokens"]["idToken"], options={"verify_signature": False})
    identities = claims["identities"]
    assert identities[0]["providerName"] == ptype and identities[0]["userId"] == declared["id"]
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "EXTERNAL_PROVIDER"
    assert result["credentials"]["accessKeyId"] and result["credentials"]["hasSecret"]
    assert identity.describe_identity(IdentityId=result["identityId"])["Logins"] == [
        f"cognito-idp.us-east-1.amazonaws.com/{pool_id}"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_amplify_signs_in_as_the_linked_native_user(page, idp, endpoint, callback):
    """A Google identity linked to an existing user (AdminLinkProviderForUser) signs in as that user."""
    pool_id = idp.create_user_pool(PoolName=unique("social"))["UserPool"]["Id"]
    prefix = unique("login")
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    idp.create_identity_provider(UserPoolId=pool_id, ProviderName="Google", ProviderType="Google",
                                 ProviderDetails=DETAILS["Google"], AttributeMapping={"email": "email"})
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid", "email", "profile", "aws.cognito.signin.user.admin"],
        CallbackURLs=[callback.url], LogoutURLs=[callback.url], SupportedIdentityProviders=["Google"])["UserPoolClient"]
    email = f"{unique('linked')}@example.com"
    declared = requests.post(f"{endpoint}/_emulator/social/google/users", json={"email": email},
                             timeout=10).json()["users"][0]
    idp.admin_create_user(UserPoolId=pool_id, Username="native-user", MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email}])
    idp.admin_link_provider_for_user(
        UserPoolId=pool_id, DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": "native-user"},
        SourceUser={"ProviderName": "Google", "ProviderAttributeName": "Cognito_Subject",
                    "ProviderAttributeValue": declared["id"]})
    env = {**os.environ, "ENDPOINT": endpoint, "POOL_ID": pool_id, "CLIENT_ID": client["ClientId"],
           "DOMAIN": f"{prefix}.auth.us-east-1.amazoncognito.com", "REDIRECT": callback.url, "PROVIDER": "Google"}
    result = _redirect_sign_in(page, env, callback, email)
    assert result["user"]["username"] == "native-user"
    assert result["attributes"]["email"] == email
