"""Managed login in a real headless Chromium (Playwright driving the Debian `chromium`)."""

from __future__ import annotations

import os
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from browser import SCREENSHOTS, Callback, amplify_redirect_sign_in, require
from conftest import unique
from helpers import pkce

require()

PASSWORD = "Passw0rd!Secure"


@pytest.fixture
def app(idp, callback):
    pool_id = idp.create_user_pool(PoolName=unique("browser"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("login"))
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="web", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid", "email", "profile"], CallbackURLs=[callback.url],
        SupportedIdentityProviders=["COGNITO"])["UserPoolClient"]
    return pool_id, client


def _authorize_url(endpoint: str, client: dict, callback: Callback) -> str:
    return endpoint + "/oauth2/authorize?" + urlencode({
        "response_type": "code", "client_id": client["ClientId"], "redirect_uri": callback.url,
        "scope": "openid email", "state": "browser-state"})


def _exchange(endpoint: str, client: dict, callback: Callback, code: str) -> dict:
    r = requests.post(endpoint + "/oauth2/token", data={
        "grant_type": "authorization_code", "client_id": client["ClientId"], "code": code,
        "redirect_uri": callback.url}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_sign_in_through_the_login_page(page, app, idp, endpoint, callback):
    pool_id, client = app
    username = unique("user")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)

    page.goto(_authorize_url(endpoint, client, callback))
    assert "/login" in page.url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "login.png"), full_page=True)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("Wrong-passw0rd")
    page.locator('input[name="signInSubmitButton"]').click()
    assert page.locator("#loginErrorMessage").inner_text() == "Incorrect username or password."
    page.fill('input[name="password"]', PASSWORD)
    page.locator('input[name="signInSubmitButton"]').click()
    hit = callback.next()
    assert hit["state"] == "browser-state"
    page.wait_for_selector("#done")
    tokens = _exchange(endpoint, client, callback, hit["code"])
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["cognito:username"] == username and claims["email"] == f"{username}@example.com"

    # The managed-login session signs the same browser in again without the form.
    page.goto(_authorize_url(endpoint, client, callback))
    assert "code" in callback.next()


def test_sign_up_through_the_pages(page, app, idp, endpoint, callback, outbox):
    pool_id, client = app
    username = unique("signup")
    page.goto(_authorize_url(endpoint, client, callback))
    page.get_by_role("link", name="Sign up").click()
    page.fill('input[name="username"]', username)
    page.fill('input[name="requiredAttributes[email]"]', f"{username}@example.com")
    page.fill('input[name="password"]', PASSWORD)
    page.locator('input[name="signUpButton"]').click()
    page.wait_for_selector('input[name="confirmation_code"]')
    code = outbox.last_code(username=username)
    page.fill('input[name="confirmation_code"]', code)
    page.locator('input[name="confirm"]').click()
    hit = callback.next()
    tokens = _exchange(endpoint, client, callback, hit["code"])
    assert jwt.decode(tokens["id_token"], options={"verify_signature": False})["cognito:username"] == username
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


def test_amplify_redirect_sign_in_with_pkce(page, app, idp, endpoint, callback):
    """The flow Amplify v6's signInWithRedirect performs: authorize with PKCE S256 + state, the managed
    login form in the browser, the callback, then the code exchange with code_verifier; the tokens verify
    against the pool's JWKS found through OIDC discovery."""
    pool_id, client = app
    username = unique("amplify")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(24)
    page.goto(endpoint + "/oauth2/authorize?" + urlencode({
        "redirect_uri": callback.url, "response_type": "code", "client_id": client["ClientId"],
        "identity_provider": "COGNITO", "scope": "openid email profile", "state": state,
        "code_challenge": challenge, "code_challenge_method": "S256"}))
    assert "/login" in page.url
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator('input[name="signInSubmitButton"]').click()
    hit = callback.next()
    assert hit["state"] == state and set(hit) == {"code", "state"}
    page.wait_for_selector("#done")

    token_url = endpoint + "/oauth2/token"
    form = {"grant_type": "authorization_code", "code": hit["code"], "client_id": client["ClientId"],
            "redirect_uri": callback.url}
    # Without the verifier (or with a wrong one) the code is refused, and spent.
    wrong = requests.post(token_url, data={**form, "code_verifier": pkce()[0]}, timeout=10)
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant"})
    again = requests.post(token_url, data={**form, "code_verifier": verifier}, timeout=10)
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})

    # A fresh sign-in (the session cookie skips the form) and the right verifier.
    verifier, challenge = pkce()
    page.goto(endpoint + "/oauth2/authorize?" + urlencode({
        "redirect_uri": callback.url, "response_type": "code", "client_id": client["ClientId"],
        "scope": "openid email profile", "state": state, "code_challenge": challenge,
        "code_challenge_method": "S256"}))
    hit = callback.next()
    r = requests.post(token_url, data={**form, "code": hit["code"], "code_verifier": verifier}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    tokens = r.json()
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600

    discovery = requests.get(f"{endpoint}/{pool_id}/.well-known/openid-configuration", timeout=10).json()
    jwks = jwt.PyJWKClient(discovery["jwks_uri"])
    id_claims = jwt.decode(tokens["id_token"], jwks.get_signing_key_from_jwt(tokens["id_token"]).key,
                           algorithms=["RS256"], audience=client["ClientId"], issuer=discovery["issuer"])
    assert id_claims["token_use"] == "id" and id_claims["cognito:username"] == username
    assert id_claims["email"] == f"{username}@example.com" and id_claims["email_verified"] is True
    access = jwt.decode(tokens["access_token"], jwks.get_signing_key_from_jwt(tokens["access_token"]).key,
                        algorithms=["RS256"], issuer=discovery["issuer"], options={"verify_aud": False})
    assert access["token_use"] == "access" and access["client_id"] == client["ClientId"]
    assert set(access["scope"].split()) == {"openid", "email", "profile"} and access["sub"] == id_claims["sub"]

    # What Amplify's fetchUserAttributes-like callers read from userInfo with that access token.
    info = requests.get(discovery["userinfo_endpoint"],
                        headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=10)
    assert info.status_code == 200
    assert info.json()["sub"] == id_claims["sub"] and info.json()["username"] == username
    assert info.json()["email_verified"] == "true"

    # Amplify refreshes through the token endpoint with the refresh token.
    refreshed = requests.post(token_url, data={"grant_type": "refresh_token", "client_id": client["ClientId"],
                                               "refresh_token": tokens["refresh_token"]}, timeout=10)
    assert refreshed.status_code == 200
    assert set(refreshed.json()) == {"id_token", "access_token", "expires_in", "token_type"}


def test_amplify_sign_in_with_redirect(page, idp, endpoint, callback):
    """Amplify v6's own signInWithRedirect (run in node; its auth session opener hands the authorize URL to
    this browser and the callback URL back), then fetchAuthSession / getCurrentUser / fetchUserAttributes,
    and signOut through /logout."""
    from node_runner import skip_reason
    if skip_reason():
        pytest.skip(skip_reason())
    pool_id = idp.create_user_pool(PoolName=unique("amplify"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    prefix = unique("amplify")
    idp.create_user_pool_domain(UserPoolId=pool_id, Domain=prefix)
    client = idp.create_user_pool_client(
        UserPoolId=pool_id, ClientName="amplify", AllowedOAuthFlows=["code"], AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthScopes=["openid", "email", "profile", "aws.cognito.signin.user.admin"],
        CallbackURLs=[callback.url], LogoutURLs=[callback.url], SupportedIdentityProviders=["COGNITO"],
        ExplicitAuthFlows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    username = unique("amp")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"},
                                          {"Name": "email_verified", "Value": "true"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=PASSWORD, Permanent=True)

    env = {**os.environ, "ENDPOINT": endpoint, "POOL_ID": pool_id, "CLIENT_ID": client["ClientId"],
           "DOMAIN": f"{prefix}.auth.us-east-1.amazoncognito.com", "REDIRECT": callback.url}

    def sign_in(page, query):
        assert query["code_challenge_method"] == ["S256"] and query["identity_provider"] == ["COGNITO"]
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.locator('input[name="signInSubmitButton"]').click()

    result, authorize = amplify_redirect_sign_in(page, env, callback, sign_in)
    assert result["tokenCalls"] == ["/oauth2/token"]
    assert result["user"]["username"] == username
    assert result["attributes"]["email"] == f"{username}@example.com"
    discovery = requests.get(f"{endpoint}/{pool_id}/.well-known/openid-configuration", timeout=10).json()
    jwks = jwt.PyJWKClient(discovery["jwks_uri"])
    id_token = result["tokens"]["idToken"]
    claims = jwt.decode(id_token, jwks.get_signing_key_from_jwt(id_token).key, algorithms=["RS256"],
                        audience=client["ClientId"], issuer=discovery["issuer"])
    assert claims["cognito:username"] == username and claims["token_use"] == "id"

    # Amplify's signOut: the refresh token is revoked, and its /logout URL ends the managed-login session.
    assert result["signedOut"] is True
    logout = urlsplit(result["logout"])
    assert logout.path == "/logout"
    assert parse_qs(logout.query) == {"client_id": [client["ClientId"]], "logout_uri": [callback.url]}
    page.goto(result["logout"])
    callback.next()
    page.goto(authorize)
    assert "/login" in page.url
