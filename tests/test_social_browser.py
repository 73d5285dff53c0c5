"""Amplify v6 signInWithRedirect({provider}) through the social sandbox in a real headless Chromium:
the app's authorize URL, the emulator's redirect to the provider's stand-in, a click on a declared
test identity, and back to the app, where Amplify exchanges the code (PKCE) for tokens carrying the
mapped attributes and `identities`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from browser import require
from conftest import unique
from node_runner import NODE_DIR
from test_social_sandbox import DETAILS

require()

# Amplify's provider names and the user pool's provider types.
PROVIDERS = {"Google": "Google", "Facebook": "Facebook", "Amazon": "LoginWithAmazon", "Apple": "SignInWithApple"}
SLUG = {"Google": "google", "Facebook": "facebook", "LoginWithAmazon": "amazon", "SignInWithApple": "apple"}


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize("amplify_name", list(PROVIDERS))
def test_amplify_sign_in_with_redirect_through_the_sandbox(page, idp, endpoint, callback, amplify_name):
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
    email = f"{unique('grace')}@example.com"
    declared = requests.post(f"{endpoint}/_emulator/social/{SLUG[ptype]}/users",
                             json={"email": email, "name": "Grace Hopper"}, timeout=10).json()["users"][0]

    env = {**os.environ, "ENDPOINT": endpoint, "POOL_ID": pool_id, "CLIENT_ID": client["ClientId"],
           "DOMAIN": f"{prefix}.auth.us-east-1.amazoncognito.com", "REDIRECT": callback.url,
           "PROVIDER": amplify_name}
    node = subprocess.Popen(["node", "redirect_sign_in.mjs"], cwd=NODE_DIR, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(node.stdout.readline() or "{}")
        assert "authorize" in first, node.stderr.read()
        query = parse_qs(urlsplit(first["authorize"]).query)
        assert query["identity_provider"] == [ptype]
        page.goto(first["authorize"])
        # The provider's stand-in: the declared identity is one click away.
        assert f"/_emulator/social/{SLUG[ptype]}/authorize" in page.url
        page.locator(f'button[data-email="{email}"]').click()
        hit = callback.next()
        assert hit["state"] == query["state"][0]
        node.stdin.write(callback.url + "?" + urlencode(hit) + "\n")
        node.stdin.flush()
        out, errors = node.communicate(timeout=60)
    finally:
        if node.poll() is None:
            node.kill()
    result = json.loads([line for line in out.splitlines() if line.startswith("{")][-1])
    assert "error" not in result, (result, errors)
    username = f"{ptype}_{declared['id']}"
    assert result["user"]["username"] == username
    assert result["attributes"]["email"] == email and result["attributes"]["name"] == "Grace Hopper"
    claims = jwt.decode(result["tokens"]["idToken"], options={"verify_signature": False})
    identities = claims["identities"]
    assert identities[0]["providerName"] == ptype and identities[0]["userId"] == declared["id"]
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "EXTERNAL_PROVIDER"
