"""Managed login and the OAuth 2.0 / OIDC endpoints, driven over HTTP with requests."""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pyotp
import pytest
import requests
from conftest import unique
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import claims, pkce, query_of
from lambda_fixtures.servers import FunctionServer

CALLBACK = "http://localhost:3000/callback"
LOGOUT = "http://localhost:3000/signed-out"
PASSWORD = "Passw0rd!Secure"
SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"]


# -- helpers -------------------------------------------------------------------------------------
def make_pool(idp, *, domain: bool = True, **pool_args) -> str:
    pool_id = idp.create_user_pool(PoolName=unique("oauth"), AutoVerifiedAttributes=["email"],
                                   **pool_args)["UserPool"]["Id"]
    if domain:
        idp.create_user_pool_domain(UserPoolId=pool_id, Domain=unique("login"))
    return pool_id


def make_client(idp, pool_id: str, *, secret: bool = False, flows=("code", "implicit"), scopes=SCOPES,
                providers=("COGNITO",), **extra) -> dict:
    args = dict(UserPoolId=pool_id, ClientName=unique("app"), GenerateSecret=secret,
                AllowedOAuthFlows=list(flows), AllowedOAuthScopes=list(scopes), AllowedOAuthFlowsUserPoolClient=True,
                SupportedIdentityProviders=list(providers), LogoutURLs=[LOGOUT])
    if "client_credentials" not in flows:
        args["CallbackURLs"] = [CALLBACK]
    args.update(extra)
    return idp.create_user_pool_client(**args)["UserPoolClient"]


def make_user(idp, pool_id: str, username: str | None = None, email: str | None = None,
              password: str = PASSWORD) -> str:
    username = username or unique("user")
    email = email or f"{username}@example.com"
    idp.admin_create_user(UserPoolId=pool_id, Username=username, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email},
                                          {"Name": "email_verified", "Value": "true"},
                                          {"Name": "name", "Value": "Jane Doe"}])
    idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    return username


def authorize_query(client: dict, **extra) -> dict:
    params = {"response_type": "code", "client_id": client["ClientId"], "redirect_uri": CALLBACK,
              "state": "st-123"}
    params.update(extra)
    return {k: v for k, v in params.items() if v is not None}


def csrf(html: str) -> str:
    match = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def location(response) -> str:
    assert response.status_code == 302, (response.status_code, response.text)
    return response.headers["Location"]


def fragment_of(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).fragment).items()}


class Browser:
    """A requests session acting as the user's browser on the managed login."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.session = requests.Session()

    def get(self, path: str, **kw):
        return self.session.get(self.endpoint + path, allow_redirects=False, timeout=30, **kw)

    def post(self, path: str, **kw):
        return self.session.post(self.endpoint + path, allow_redirects=False, timeout=30, **kw)

    def authorize(self, **params):
        return self.get("/oauth2/authorize?" + urlencode(params))

    def login_page(self, params: dict):
        r = self.authorize(**params)
        target = location(r)
        assert target.startswith("/login?"), target
        page = self.get(target)
        assert page.status_code == 200, page.text
        return target, page

    def sign_in(self, params: dict, username: str, password: str = PASSWORD):
        target, page = self.login_page(params)
        return self.post(target, data={"_csrf": csrf(page.text), "username": username, "password": password,
                                       "signInSubmitButton": "Sign in"})

    def code(self, params: dict, username: str, password: str = PASSWORD) -> str:
        result = query_of(location(self.sign_in(params, username, password)))
        assert result["state"] == params.get("state"), result
        return result["code"]


def token_request(endpoint: str, data: dict, auth: tuple | None = None, **kw):
    return requests.post(endpoint + "/oauth2/token", data=data, auth=auth, timeout=30, **kw)


@pytest.fixture
def setup(idp, endpoint):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    return pool_id, client, username, Browser(endpoint)


# -- authorize ------------------------------------------------------------------------------------
def test_authorize_redirects_to_login_with_the_same_parameters(setup):
    _pool, client, _user, browser = setup
    params = authorize_query(client, scope="openid email", nonce="n1")
    target = location(browser.authorize(**params))
    assert target.startswith("/login?")
    assert query_of(target) == params
    page = browser.get(target)
    assert page.status_code == 200
    assert 'name="username"' in page.text and 'name="password"' in page.text
    assert 'name="signInSubmitButton"' in page.text
    assert "XSRF-TOKEN" in page.headers.get("Set-Cookie", "")


def test_authorize_login_hint_prefills_the_username(setup):
    _pool, client, username, browser = setup
    params = authorize_query(client, login_hint=username)
    target = location(browser.authorize(**params))
    assert query_of(target) == params
    page = browser.get(target)
    assert re.search(r'name="username"[^>]*value="' + re.escape(username) + '"', page.text)
    result = query_of(location(browser.post(target, data={"_csrf": csrf(page.text), "username": username,
                                                          "password": PASSWORD, "signInSubmitButton": "Sign in"})))
    assert result["state"] == params["state"] and result["code"]


def test_authorize_prompt_none_and_login(setup):
    _pool, client, username, browser = setup
    params = authorize_query(client, prompt="none")
    r = browser.authorize(**params)
    assert location(r).startswith(CALLBACK + "?")
    assert query_of(location(r)) == {"error": "login_required", "state": params["state"]}
    browser.code(authorize_query(client), username)
    # With a managed-login session, prompt=none signs in silently and prompt=login shows the form again.
    assert query_of(location(browser.authorize(**params)))["code"]
    assert location(browser.authorize(**authorize_query(client, prompt="login"))).startswith("/login?")


def test_authorize_unknown_client_shows_error_page(endpoint):
    browser = Browser(endpoint)
    r = browser.authorize(response_type="code", client_id="nosuchclient0000000000000", redirect_uri=CALLBACK)
    target = location(r)
    assert target.startswith("/error?")
    page = browser.get(target)
    assert page.status_code == 400
    assert "An error was encountered with the requested page." in page.text


def test_authorize_redirect_mismatch_never_redirects_to_the_app(setup):
    _pool, client, _user, browser = setup
    r = browser.authorize(**authorize_query(client, redirect_uri="http://localhost:3000/other"))
    target = location(r)
    assert query_of(target) == {"error": "redirect_mismatch", "client_id": client["ClientId"]}
    assert target.startswith("/error?")
    r = browser.authorize(**authorize_query(client, redirect_uri=CALLBACK + "/"))
    assert location(r).startswith("/error?error=redirect_mismatch")


@pytest.mark.parametrize("extra, error", [
    ({"response_type": None}, "invalid_request"),
    ({"response_type": "id_token"}, "unsupported_response_type"),
    ({"code_challenge": "abc"}, "invalid_request"),
    ({"code_challenge": "abc", "code_challenge_method": "plain"}, "invalid_request"),
    ({"scope": "openid unknown/scope"}, "invalid_scope"),
    ({"scope": "phone"}, "invalid_scope"),
])
def test_authorize_malformed_requests_redirect_with_error(setup, extra, error):
    _pool, client, _user, browser = setup
    target = location(browser.authorize(**authorize_query(client, **extra)))
    assert target.startswith(CALLBACK + "?")
    assert query_of(target) == {"error": error, "state": "st-123"}


def test_authorize_flow_not_allowed_is_unauthorized_client(idp, endpoint):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, flows=("code",))
    target = location(Browser(endpoint).authorize(**authorize_query(client, response_type="token")))
    assert query_of(target) == {"error": "unauthorized_client", "state": "st-123"}


def test_pool_without_domain_has_no_managed_login(idp, endpoint):
    pool_id = make_pool(idp, domain=False)
    client = make_client(idp, pool_id)
    r = Browser(endpoint).authorize(**authorize_query(client))
    assert r.status_code == 400
    assert "has no domain" in r.text


def test_client_without_cognito_provider_cannot_use_the_form(idp, endpoint):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, providers=())
    r = Browser(endpoint).authorize(**authorize_query(client))
    assert r.status_code == 400
    assert "Login option is not available" in r.text


# -- sign-in and the code grant -------------------------------------------------------------------
def test_code_grant_with_pkce_round_trip(setup, endpoint):
    pool_id, client, username, browser = setup
    verifier, challenge = pkce()
    params = authorize_query(client, scope="openid email aws.cognito.signin.user.admin", nonce="nonce-1",
                             code_challenge=challenge, code_challenge_method="S256")
    code = browser.code(params, username)
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                 "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    id_claims, access = claims(body["id_token"]), claims(body["access_token"])
    assert id_claims["nonce"] == "nonce-1"
    assert id_claims["cognito:username"] == username and id_claims["aud"] == client["ClientId"]
    assert access["scope"] == "openid email aws.cognito.signin.user.admin"
    assert access["version"] == 2 and access["username"] == username
    jwks = requests.get(f"{endpoint}/{pool_id}/.well-known/jwks.json", timeout=10).json()
    keys = {k["kid"]: jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(k)) for k in jwks["keys"]}
    kid = jwt.get_unverified_header(body["id_token"])["kid"]
    jwt.decode(body["id_token"], keys[kid], algorithms=["RS256"], audience=client["ClientId"])
    # The access token works with the user APIs (it has the admin scope).
    from conftest import make_client as boto_client
    user_api = boto_client("cognito-idp", endpoint)
    assert user_api.get_user(AccessToken=body["access_token"])["Username"] == username


def test_code_without_openid_gives_no_id_token_and_default_scopes(setup, endpoint):
    _pool, client, username, browser = setup
    code = browser.code(authorize_query(client, scope="aws.cognito.signin.user.admin"), username)
    body = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                    "code": code, "redirect_uri": CALLBACK}).json()
    assert "id_token" not in body and "refresh_token" in body
    code = Browser(browser.endpoint).code(authorize_query(client), username)
    body = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                    "code": code, "redirect_uri": CALLBACK}).json()
    assert claims(body["access_token"])["scope"].split() == SCOPES


def test_wrong_pkce_verifier_is_invalid_grant_and_spends_the_code(setup, endpoint):
    _pool, client, username, browser = setup
    verifier, challenge = pkce()
    code = browser.code(authorize_query(client, code_challenge=challenge, code_challenge_method="S256"), username)
    data = {"grant_type": "authorization_code", "client_id": client["ClientId"], "code": code,
            "redirect_uri": CALLBACK}
    r = token_request(endpoint, {**data, "code_verifier": "wrong" + verifier})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})
    assert r.headers["Content-Type"].startswith("application/json")
    r = token_request(endpoint, {**data, "code_verifier": verifier})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})


def test_missing_pkce_verifier_is_invalid_grant(setup, endpoint):
    _pool, client, username, browser = setup
    _verifier, challenge = pkce()
    code = browser.code(authorize_query(client, code_challenge=challenge, code_challenge_method="S256"), username)
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                 "code": code, "redirect_uri": CALLBACK})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})


def test_code_is_single_use(setup, endpoint):
    _pool, client, username, browser = setup
    code = browser.code(authorize_query(client), username)
    data = {"grant_type": "authorization_code", "client_id": client["ClientId"], "code": code,
            "redirect_uri": CALLBACK}
    assert token_request(endpoint, data).status_code == 200
    r = token_request(endpoint, data)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})


def test_code_expires_after_five_minutes(setup, endpoint, clock):
    _pool, client, username, browser = setup
    data = {"grant_type": "authorization_code", "client_id": client["ClientId"], "redirect_uri": CALLBACK}
    code = browser.code(authorize_query(client), username)
    clock.advance(301)
    r = token_request(endpoint, {**data, "code": code})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})
    code = Browser(endpoint).code(authorize_query(client), username)
    clock.advance(290)
    assert token_request(endpoint, {**data, "code": code}).status_code == 200


def test_code_redirect_uri_and_client_must_match(idp, setup, endpoint):
    pool_id, client, username, browser = setup
    other = make_client(idp, pool_id)
    code = browser.code(authorize_query(client), username)
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": other["ClientId"],
                                 "code": code, "redirect_uri": CALLBACK})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})
    code = Browser(endpoint).code(authorize_query(client), username)
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                 "code": code, "redirect_uri": CALLBACK + "/x"})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})


def test_implicit_grant_puts_tokens_in_the_fragment(setup):
    _pool, client, username, browser = setup
    r = browser.sign_in(authorize_query(client, response_type="token", nonce="n-2"), username)
    target = location(r)
    assert target.startswith(CALLBACK + "#")
    fragment = fragment_of(target)
    assert set(fragment) == {"access_token", "id_token", "token_type", "expires_in", "state"}
    assert fragment["token_type"] == "Bearer" and fragment["state"] == "st-123"
    assert claims(fragment["id_token"])["nonce"] == "n-2"


def test_wrong_password_and_unknown_user_show_the_error_on_the_page(setup):
    _pool, client, username, browser = setup
    r = browser.sign_in(authorize_query(client), username, "Wrong-passw0rd")
    assert r.status_code == 400
    assert "Incorrect username or password." in r.text
    r = browser.sign_in(authorize_query(client), "nobody-" + username)
    assert "User does not exist." in r.text


def test_lockout_applies_to_managed_login(setup, clock):
    _pool, client, username, browser = setup
    clock.freeze()  # the first lock lasts one second: real time must not end it
    for _ in range(5):
        assert "Incorrect username or password." in browser.sign_in(authorize_query(client), username, "Bad1!x").text
    r = browser.sign_in(authorize_query(client), username)
    assert "Password attempts exceeded" in r.text


def test_disabled_user_cannot_sign_in(idp, setup):
    pool_id, client, username, browser = setup
    idp.admin_disable_user(UserPoolId=pool_id, Username=username)
    assert "User is disabled." in browser.sign_in(authorize_query(client), username).text


def test_login_post_without_csrf_is_refused(setup):
    _pool, client, username, browser = setup
    target, _page = browser.login_page(authorize_query(client))
    r = browser.session.post(browser.endpoint + target, data={"username": username, "password": PASSWORD},
                             cookies={"XSRF-TOKEN": ""}, allow_redirects=False)
    assert r.status_code == 400
    assert "CSRF" in r.text


def test_session_cookie_skips_the_form_for_an_hour(setup, clock):
    _pool, client, username, browser = setup
    browser.code(authorize_query(client), username)
    r = browser.authorize(**authorize_query(client, state="again"))
    assert query_of(location(r))["state"] == "again"
    assert "code" in query_of(location(r))
    r = browser.authorize(**authorize_query(client, prompt="login"))
    assert location(r).startswith("/login?")
    clock.advance(3601)
    assert location(browser.authorize(**authorize_query(client))).startswith("/login?")


def test_logout_rules(setup):
    _pool, client, username, browser = setup
    browser.code(authorize_query(client), username)
    r = browser.get("/logout?" + urlencode({"client_id": client["ClientId"], "logout_uri": LOGOUT}))
    assert location(r) == LOGOUT
    assert location(browser.authorize(**authorize_query(client))).startswith("/login?")
    r = browser.get("/logout?" + urlencode({"client_id": client["ClientId"], "logout_uri": LOGOUT + "x"}))
    assert location(r).startswith("/error?error=redirect_mismatch")
    r = browser.get("/logout?" + urlencode({"client_id": client["ClientId"], "redirect_uri": CALLBACK,
                                            "response_type": "code", "state": "s"}))
    target = location(r)
    assert target.startswith("/login?") and query_of(target)["state"] == "s"
    r = browser.get("/logout?" + urlencode({"client_id": client["ClientId"]}))
    assert r.status_code == 400
    r = browser.get("/logout?" + urlencode({"client_id": "nosuchclient", "logout_uri": LOGOUT}))
    assert r.status_code == 400


def test_new_password_required_page(idp, setup, endpoint):
    pool_id, client, _username, browser = setup
    username = unique("temp")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, TemporaryPassword="Temp0rary!pw",
                          MessageAction="SUPPRESS", UserAttributes=[{"Name": "email", "Value": "t@example.com"}])
    r = browser.sign_in(authorize_query(client), username, "Temp0rary!pw")
    assert r.status_code == 200 and "Change Password" in r.text
    session = hidden(r.text, "session")
    bad = browser.post("/newPassword?" + urlencode(authorize_query(client)),
                       data={"session": session, "password": "short", "confirmPassword": "short"})
    assert bad.status_code == 400 and "Password does not conform to policy" in bad.text
    r = browser.post("/newPassword?" + urlencode(authorize_query(client)),
                     data={"session": hidden(bad.text, "session"), "password": "N3w!Password",
                           "confirmPassword": "N3w!Password"})
    assert "code" in query_of(location(r))
    status = idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"]
    assert status == "CONFIRMED"


def test_totp_mfa_page(idp, endpoint):
    pool_id = make_pool(idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True},
                                 MfaConfiguration="OPTIONAL")
    client = make_client(idp, pool_id, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    username = make_user(idp, pool_id)
    auth = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
    token = auth["AuthenticationResult"]["AccessToken"]
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    totp = pyotp.TOTP(secret)
    idp.verify_software_token(AccessToken=token, UserCode=totp.at(time.time() - 30))
    idp.set_user_mfa_preference(AccessToken=token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})
    browser = Browser(endpoint)
    params = authorize_query(client)
    r = browser.sign_in(params, username)
    assert r.status_code == 200 and "authenticator app" in r.text
    bad = browser.post("/mfa?" + urlencode(params), data={"session": hidden(r.text, "session"), "code": "000000"})
    assert bad.status_code == 400 and "Invalid code received for user" in bad.text
    r = browser.post("/mfa?" + urlencode(params), data={"session": hidden(bad.text, "session"),
                                                         "code": totp.now()})
    assert "code" in query_of(location(r))


def test_email_mfa_page_uses_the_outbox(idp, endpoint, outbox):
    pool_id = make_pool(idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, SmsMfaConfiguration={"SmsConfiguration": {
        "SnsCallerArn": "arn:aws:iam::000000000000:role/sns", "ExternalId": "x"}}, MfaConfiguration="ON")
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username,
                                     UserAttributes=[{"Name": "phone_number", "Value": "+12065550100"},
                                                     {"Name": "phone_number_verified", "Value": "true"}])
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=username,
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": True})
    browser = Browser(endpoint)
    params = authorize_query(client)
    r = browser.sign_in(params, username)
    assert r.status_code == 200 and "+*******0100" in r.text
    code = outbox.last_code(username=username)
    r = browser.post("/mfa?" + urlencode(params), data={"session": hidden(r.text, "session"), "code": code})
    assert "code" in query_of(location(r))


def test_required_mfa_without_factor_sets_up_totp(idp, endpoint):
    pool_id = make_pool(idp)
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True},
                                 MfaConfiguration="ON")
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    browser = Browser(endpoint)
    params = authorize_query(client)
    r = browser.sign_in(params, username)
    assert "Set up an authenticator app" in r.text
    secret = re.search(r'id="secretCode">([A-Z2-7]+)<', r.text).group(1)
    r = browser.post("/mfa/setup?" + urlencode(params), data={"session": hidden(r.text, "session"),
                                                               "code": pyotp.TOTP(secret).now()})
    assert "code" in query_of(location(r))
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert user["UserMFASettingList"] == ["SOFTWARE_TOKEN_MFA"]


# -- sign-up, confirmation, forgotten password -------------------------------------------------
def test_signup_confirm_then_signed_in(idp, setup, outbox, endpoint):
    pool_id, client, _username, browser = setup
    params = authorize_query(client)
    page = browser.get("/signup?" + urlencode(params))
    assert page.status_code == 200 and 'name="requiredAttributes[email]"' in page.text
    username = unique("new")
    r = browser.post("/signup?" + urlencode(params), data={
        "_csrf": csrf(page.text), "username": username, "password": PASSWORD,
        "requiredAttributes[email]": f"{username}@example.com"})
    assert r.status_code == 200 and "Confirm your account" in r.text
    bad = browser.post("/confirm?" + urlencode(params), data={"session": hidden(r.text, "session"),
                                                               "username": username, "confirmation_code": "000000"})
    assert "Invalid verification code provided, please try again." in bad.text
    code = outbox.last_code(username=username)
    r = browser.post("/confirm?" + urlencode(params), data={"session": hidden(bad.text, "session"),
                                                             "username": username, "confirmation_code": code})
    result = query_of(location(r))
    assert result["state"] == "st-123" and result["code"]
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


def test_signup_errors_are_shown(setup, endpoint):
    _pool, client, username, browser = setup
    params = authorize_query(client)
    page = browser.get("/signup?" + urlencode(params))
    r = browser.post("/signup?" + urlencode(params), data={"_csrf": csrf(page.text), "username": username,
                                                            "password": PASSWORD,
                                                            "requiredAttributes[email]": "x@example.com"})
    assert r.status_code == 400 and "User already exists" in r.text
    r = browser.post("/signup?" + urlencode(params), data={"_csrf": csrf(page.text), "username": unique("u"),
                                                            "password": "weak",
                                                            "requiredAttributes[email]": "x@example.com"})
    assert "Password did not conform with policy" in r.text


def test_forgot_password_pages(idp, setup, outbox):
    pool_id, client, username, browser = setup
    params = authorize_query(client)
    assert browser.get("/forgotPassword?" + urlencode(params)).status_code == 200
    r = browser.post("/forgotPassword?" + urlencode(params), data={"username": username})
    assert r.status_code == 200 and "Reset your password" in r.text
    code = outbox.last_code(username=username)
    bad = browser.post("/confirmForgotPassword?" + urlencode(params),
                       data={"username": username, "code": code, "password": "N3w!Password",
                             "confirmPassword": "different"})
    assert bad.status_code == 400 and "Passwords do not match." in bad.text
    r = browser.post("/confirmForgotPassword?" + urlencode(params),
                     data={"username": username, "code": code, "password": "N3w!Password",
                           "confirmPassword": "N3w!Password"})
    assert r.status_code == 200 and "Your password has been changed" in r.text
    assert "code" in query_of(location(Browser(browser.endpoint).sign_in(params, username, "N3w!Password")))


def test_unconfirmed_user_is_sent_to_confirmation(idp, setup, outbox):
    pool_id, client, _username, browser = setup
    username = unique("unconf")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}])
    r = browser.sign_in(authorize_query(client), username)
    assert "Confirm your account" in r.text
    code = outbox.last_code(username=username)
    r = browser.post("/confirm?" + urlencode(authorize_query(client)),
                     data={"session": hidden(r.text, "session"), "username": username, "confirmation_code": code})
    assert "code" in query_of(location(r))


def test_confirm_user_link(idp, endpoint, outbox):
    pool_id = make_pool(idp, VerificationMessageTemplate={"DefaultEmailOption": "CONFIRM_WITH_LINK"})
    client = make_client(idp, pool_id)
    username = unique("link")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}])
    body = outbox.last(username=username)["body"]
    link = re.search(r'href="([^"]+)"', body).group(1)
    path = link[link.index("/confirmUser"):]
    bad = requests.get(endpoint + path.replace("confirmation_code=", "confirmation_code=9"), timeout=10)
    assert bad.status_code == 400
    r = requests.get(endpoint + path, timeout=10)
    assert r.status_code == 200 and "Your registration has been confirmed!" in r.text
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


# -- token endpoint: client authentication, refresh, client credentials -------------------------
def test_token_endpoint_errors(setup, endpoint):
    _pool, client, _username, _browser = setup
    cid = client["ClientId"]
    r = token_request(endpoint, {"grant_type": "password", "client_id": cid})
    assert (r.status_code, r.json()) == (400, {"error": "unsupported_grant_type"})
    r = token_request(endpoint, {"client_id": cid})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_request"})
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": cid, "code": "x"})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_request"})
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": "nosuchclient",
                                 "code": "x", "redirect_uri": CALLBACK})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_client"})
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": cid,
                                 "code": "00000000-0000-0000-0000-000000000000", "redirect_uri": CALLBACK})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})
    r = token_request(endpoint, {"grant_type": "client_credentials", "client_id": cid})
    assert (r.status_code, r.json()) == (400, {"error": "unauthorized_client"})
    r = requests.post(endpoint + "/oauth2/token", json={"grant_type": "refresh_token", "client_id": cid},
                      timeout=10)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_request"})
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert r.headers["Cache-Control"] == "no-cache, no-store, max-age=0, must-revalidate"


def test_confidential_client_authentication(idp, endpoint):
    pool_id = make_pool(idp)
    client = make_client(idp, pool_id, secret=True)
    username = make_user(idp, pool_id)
    cid, secret = client["ClientId"], client["ClientSecret"]
    code = Browser(endpoint).code(authorize_query(client), username)
    base = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK}
    r = token_request(endpoint, {**base, "client_id": cid})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_client"})
    # Cognito answers 400 here even for Basic credentials (its token endpoint reference), no WWW-Authenticate.
    r = token_request(endpoint, base, auth=(cid, "wrong"))
    assert (r.status_code, r.json()) == (400, {"error": "invalid_client"})
    assert "WWW-Authenticate" not in r.headers
    assert r.headers["Content-Type"] == "application/json;charset=UTF-8"
    r = token_request(endpoint, {**base, "client_id": cid, "client_secret": "wrong"})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_client"})
    r = token_request(endpoint, base, auth=(cid, secret))
    assert r.status_code == 200, r.text
    code = Browser(endpoint).code(authorize_query(client), username)
    r = token_request(endpoint, {**base, "code": code, "client_id": cid, "client_secret": secret})
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    r = token_request(endpoint, {"grant_type": "refresh_token", "refresh_token": refresh}, auth=(cid, secret))
    assert r.status_code == 200 and set(r.json()) == {"id_token", "access_token", "expires_in", "token_type"}


def test_refresh_grant(setup, endpoint, idp):
    pool_id, client, username, browser = setup
    code = browser.code(authorize_query(client), username)
    first = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                     "code": code, "redirect_uri": CALLBACK}).json()
    r = token_request(endpoint, {"grant_type": "refresh_token", "client_id": client["ClientId"],
                                 "refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "refresh_token" not in body
    assert claims(body["id_token"])["auth_time"] == claims(first["id_token"])["auth_time"]
    assert claims(body["access_token"])["scope"] == claims(first["access_token"])["scope"]
    r = token_request(endpoint, {"grant_type": "refresh_token", "client_id": client["ClientId"]})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_request"})
    r = token_request(endpoint, {"grant_type": "refresh_token", "client_id": client["ClientId"],
                                 "refresh_token": "not-a-token"})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})
    other = make_client(idp, pool_id)
    r = token_request(endpoint, {"grant_type": "refresh_token", "client_id": other["ClientId"],
                                 "refresh_token": first["refresh_token"]})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})


def _m2m_pool(idp):
    pool_id = make_pool(idp)
    idp.create_resource_server(UserPoolId=pool_id, Identifier="api", Name="API",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "r"},
                                       {"ScopeName": "write", "ScopeDescription": "w"}])
    client = make_client(idp, pool_id, secret=True, flows=("client_credentials",), scopes=["api/read", "api/write"],
                         providers=())
    return pool_id, client


def test_client_credentials_basic_and_post(idp, endpoint):
    pool_id, client = _m2m_pool(idp)
    cid, secret = client["ClientId"], client["ClientSecret"]
    r = token_request(endpoint, {"grant_type": "client_credentials"}, auth=(cid, secret))
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"access_token", "expires_in", "token_type"}
    access = claims(body["access_token"])
    assert access["sub"] == cid and access["client_id"] == cid and access["token_use"] == "access"
    assert access["scope"] == "api/read api/write" and access["version"] == 2
    assert "username" not in access
    r = token_request(endpoint, {"grant_type": "client_credentials", "client_id": cid, "client_secret": secret,
                                 "scope": "api/read"})
    assert claims(r.json()["access_token"])["scope"] == "api/read"
    r = token_request(endpoint, {"grant_type": "client_credentials", "scope": "api/delete"}, auth=(cid, secret))
    assert (r.status_code, r.json()) == (400, {"error": "invalid_scope"})
    r = token_request(endpoint, {"grant_type": "client_credentials", "scope": "openid"}, auth=(cid, secret))
    assert (r.status_code, r.json()) == (400, {"error": "invalid_scope"})
    r = token_request(endpoint, {"grant_type": "client_credentials", "client_id": cid})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_client"})
    r = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": f"Bearer {body['access_token']}"},
                     timeout=10)
    assert r.status_code == 401


# -- userInfo, revoke ------------------------------------------------------------------------------
def _tokens(browser, client, username, endpoint, scope=None) -> dict:
    code = browser.code(authorize_query(client, scope=scope), username)
    r = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                 "code": code, "redirect_uri": CALLBACK})
    assert r.status_code == 200, r.text
    return r.json()


def test_userinfo_by_scope(setup, endpoint, idp):
    pool_id, client, username, browser = setup
    body = _tokens(browser, client, username, endpoint, scope="openid")
    r = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": f"Bearer {body['access_token']}"},
                     timeout=10)
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["username"] == username and info["email"] == f"{username}@example.com"
    assert info["email_verified"] == "true" and info["name"] == "Jane Doe" and info["sub"]
    body = _tokens(Browser(endpoint), client, username, endpoint, scope="openid email")
    info = requests.post(endpoint + "/oauth2/userInfo",
                         headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10).json()
    assert set(info) == {"sub", "email", "email_verified", "username"}


def test_userinfo_refusals(setup, endpoint, idp, clock):
    pool_id, client, username, browser = setup
    r = requests.get(endpoint + "/oauth2/userInfo", timeout=10)
    assert r.status_code == 400
    assert r.headers["WWW-Authenticate"] == \
        'error="invalid_request", error_description="Bad OAuth2 request at UserInfo Endpoint"'
    bad_header = ('error="invalid_token", error_description="Access token is expired, disabled, or deleted, '
                  'or the user has globally signed out."')
    r = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": "Bearer garbage"}, timeout=10)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == bad_header
    api_client = idp.create_user_pool_client(UserPoolId=pool_id, ClientName="api",
                                             ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH",
                                                                "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]
    api_token = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=api_client["ClientId"],
                                        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD}
                                        )["AuthenticationResult"]["AccessToken"]
    r = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": f"Bearer {api_token}"}, timeout=10)
    assert r.status_code == 401
    body = _tokens(browser, client, username, endpoint)
    idp.admin_user_global_sign_out(UserPoolId=pool_id, Username=username)
    r = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": f"Bearer {body['access_token']}"},
                     timeout=10)
    assert r.status_code == 401 and r.json()["error"] == "invalid_token"
    body = _tokens(Browser(endpoint), client, username, endpoint)
    clock.advance(3601)
    r = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": f"Bearer {body['access_token']}"},
                     timeout=10)
    assert r.status_code == 401


def test_revoke_endpoint(setup, endpoint):
    _pool, client, username, browser = setup
    body = _tokens(browser, client, username, endpoint)
    cid = client["ClientId"]
    r = requests.post(endpoint + "/oauth2/revoke", data={"client_id": cid}, timeout=10)
    assert (r.status_code, r.json()) == (400, {"error": "invalid_request"})
    r = requests.post(endpoint + "/oauth2/revoke", data={"client_id": cid, "token": body["access_token"]},
                      timeout=10)
    assert (r.status_code, r.json()) == (400, {"error": "unsupported_token_type"})
    r = requests.post(endpoint + "/oauth2/revoke", data={"client_id": "nosuchclient", "token": "x"}, timeout=10)
    assert (r.status_code, r.json()) == (401, {"error": "invalid_client"})
    r = requests.post(endpoint + "/oauth2/revoke", data={"client_id": cid, "token": body["refresh_token"]},
                      timeout=10)
    assert (r.status_code, r.text) == (200, "")
    r = token_request(endpoint, {"grant_type": "refresh_token", "client_id": cid,
                                 "refresh_token": body["refresh_token"]})
    assert (r.status_code, r.json()) == (400, {"error": "invalid_grant"})
    r = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": f"Bearer {body['access_token']}"},
                     timeout=10)
    assert r.status_code == 401
    r = requests.post(endpoint + "/oauth2/revoke", data={"client_id": cid, "token": body["refresh_token"]},
                      timeout=10)
    assert r.status_code == 200


def test_openid_configuration_points_at_the_endpoints(setup, endpoint):
    pool_id, _client, _username, _browser = setup
    doc = requests.get(f"{endpoint}/{pool_id}/.well-known/openid-configuration", timeout=10).json()
    assert doc["authorization_endpoint"] == f"{endpoint}/oauth2/authorize"
    assert doc["token_endpoint"] == f"{endpoint}/oauth2/token"
    assert doc["userinfo_endpoint"] == f"{endpoint}/oauth2/userInfo"
    assert doc["revocation_endpoint"] == f"{endpoint}/oauth2/revoke"


# -- federation with an OIDC identity provider ------------------------------------------------------
class OidcProvider:
    """A tiny OIDC identity provider served from the test process."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.codes: dict[str, dict] = {}
        self.claims = {"sub": "idp-user-1", "email": "fed@example.com", "email_verified": True,
                       "given_name": "Fed"}
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path == "/authorize":
                    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                    code = secrets.token_hex(8)
                    provider.codes[code] = q
                    self.send_response(302)
                    self.send_header("Location", q["redirect_uri"] + "?" + urlencode({"code": code,
                                                                                      "state": q["state"]}))
                    self.end_headers()
                elif parts.path == "/.well-known/jwks.json":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    self._json({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
                elif parts.path == "/userinfo":
                    self._json(provider.claims)
                else:
                    self._json({"error": "not_found"}, 404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                request = provider.codes.pop(form.get("code"), None)
                if request is None or form.get("client_secret") != "idp-secret":
                    self._json({"error": "invalid_grant"}, 400)
                    return
                now = int(time.time())
                id_token = jwt.encode({**provider.claims, "iss": provider.url, "aud": "idp-client", "iat": now,
                                       "exp": now + 300, "nonce": request.get("nonce")},
                                      provider.key, algorithm="RS256", headers={"kid": "k1"})
                self._json({"id_token": id_token, "access_token": "idp-access", "token_type": "Bearer"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def oidc_idp():
    provider = OidcProvider()
    yield provider
    provider.close()


def _federated_pool(idp, oidc_idp, name="MyIdP"):
    pool_id = make_pool(idp)
    idp.create_identity_provider(
        UserPoolId=pool_id, ProviderName=name, ProviderType="OIDC",
        ProviderDetails={"client_id": "idp-client", "client_secret": "idp-secret", "authorize_scopes": "openid email",
                         "oidc_issuer": oidc_idp.url, "attributes_request_method": "GET"},
        AttributeMapping={"email": "email", "email_verified": "email_verified", "given_name": "given_name"},
        IdpIdentifiers=["example.com"])
    client = make_client(idp, pool_id, providers=("COGNITO", name))
    return pool_id, client


def _follow_idp(browser: Browser, first) -> str:
    """Follow the redirects through the identity provider back to the app; returns the final URL."""
    target = location(first)
    assert "/authorize?" in target
    r = requests.get(target, allow_redirects=False, timeout=10)
    back = location(r)
    assert "/oauth2/idpresponse?" in back
    return location(browser.session.get(back, allow_redirects=False, timeout=30))


def test_federation_round_trip(idp, endpoint, oidc_idp):
    pool_id, client = _federated_pool(idp, oidc_idp)
    browser = Browser(endpoint)
    final = _follow_idp(browser, browser.authorize(**authorize_query(client, identity_provider="MyIdP")))
    code = query_of(final)["code"]
    body = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                    "code": code, "redirect_uri": CALLBACK}).json()
    id_claims = claims(body["id_token"])
    assert id_claims["cognito:username"] == "MyIdP_idp-user-1"
    assert id_claims["email"] == "fed@example.com" and id_claims["given_name"] == "Fed"
    assert id_claims["identities"][0]["providerName"] == "MyIdP"
    assert id_claims["identities"][0]["userId"] == "idp-user-1"
    info = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": "Bearer " + body["access_token"]},
                        timeout=10).json()
    assert info["username"] == "MyIdP_idp-user-1" and info["email_verified"] in ("true", "false")
    user = idp.admin_get_user(UserPoolId=pool_id, Username="MyIdP_idp-user-1")
    assert user["UserStatus"] == "EXTERNAL_PROVIDER"
    # idp_identifier selects the same provider; the session cookie then skips everything.
    browser2 = Browser(endpoint)
    final = _follow_idp(browser2, browser2.authorize(**authorize_query(client, idp_identifier="example.com",
                                                                       scope="openid")))
    body = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                    "code": query_of(final)["code"], "redirect_uri": CALLBACK}).json()
    # With openid alone userInfo has every readable attribute, as stored strings: identities is JSON text
    # there (the ID token carries it parsed).
    info = requests.get(endpoint + "/oauth2/userInfo", headers={"Authorization": "Bearer " + body["access_token"]},
                        timeout=10).json()
    assert isinstance(info["identities"], str) and info["given_name"] == "Fed"
    assert json.loads(info["identities"])[0]["providerName"] == "MyIdP"


def test_federation_linked_to_native_user(idp, endpoint, oidc_idp):
    pool_id, client = _federated_pool(idp, oidc_idp)
    native = make_user(idp, pool_id)
    idp.admin_link_provider_for_user(
        UserPoolId=pool_id, DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": native},
        SourceUser={"ProviderName": "MyIdP", "ProviderAttributeName": "Cognito_Subject",
                    "ProviderAttributeValue": "idp-user-1"})
    browser = Browser(endpoint)
    final = _follow_idp(browser, browser.authorize(**authorize_query(client, identity_provider="MyIdP")))
    body = token_request(endpoint, {"grant_type": "authorization_code", "client_id": client["ClientId"],
                                    "code": query_of(final)["code"], "redirect_uri": CALLBACK}).json()
    assert claims(body["id_token"])["cognito:username"] == native


def test_federation_errors(idp, endpoint, oidc_idp):
    _pool_id, client = _federated_pool(idp, oidc_idp)
    browser = Browser(endpoint)
    target = location(browser.authorize(**authorize_query(client, identity_provider="Unknown")))
    assert query_of(target)["error"] == "invalid_request"
    r = browser.get("/oauth2/idpresponse?code=x&state=bogus")
    assert r.status_code == 400
    first = browser.authorize(**authorize_query(client, identity_provider="MyIdP"))
    state = query_of(location(first))["state"]
    r = browser.get("/oauth2/idpresponse?" + urlencode({"code": "wrong", "state": state}))
    result = query_of(location(r))
    assert result["error"] == "invalid_request" and result["state"] == "st-123"
    assert "HTTP 400" in result["error_description"]


# -- TLS ---------------------------------------------------------------------------------------------
def test_self_signed_certificate_serves_https(tmp_path):
    import subprocess
    import sys
    import types

    from conftest import ROOT, EmulatorProcess

    from emulator import certs

    cert, key = certs.ensure_certificate(str(tmp_path))
    first = open(cert).read()
    assert certs.ensure_certificate(str(tmp_path)) == (cert, key)
    assert open(cert).read() == first
    certs.ensure_certificate(str(tmp_path), ["auth.example.test"])
    assert open(cert).read() != first
    assert certs.certificate_files(types.SimpleNamespace(tls=False, tls_cert=None, tls_key=None, data_dir="x")) is None
    refused = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--tls-cert", cert],
                             cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.strip().endswith("cognito-emulator: tls_cert and tls_key must be given together")
    data = tmp_path / "served"
    server = EmulatorProcess("--in-memory", "--tls", "--data-dir", str(data), "--workers", "1")
    try:
        assert server.url.startswith("https://127.0.0.1:")
        r = requests.get(server.url + "/_emulator/health", verify=str(data / "tls" / "cert.pem"), timeout=10)
        assert r.status_code == 200 and r.json()["status"] == "ok"
    finally:
        server.stop()


# -- Lambda triggers on the OAuth paths ---------------------------------------------------------------
def _ptg(event: dict) -> dict:
    event["response"] = {"claimsAndScopeOverrideDetails": {"accessTokenGeneration": {
        "claimsToAddOrOverride": {"tenant": "acme", "client_id": "forged"},
        "scopesToAdd": ["api/extra"], "scopesToSuppress": ["api/write"]}}}
    return event


def _reject(event: dict) -> dict:
    raise Exception("no federated users")


@pytest.fixture(scope="module")
def triggered():
    from conftest import EmulatorProcess
    from conftest import make_client as boto_client
    functions = FunctionServer({"ptg": _ptg, "reject": _reject})
    process = EmulatorProcess("--in-memory", env={"COGNITO_EMULATOR_LAMBDA_PTG": functions.url + "/ptg",
                                                  "COGNITO_EMULATOR_LAMBDA_REJECT": functions.url + "/reject"})
    yield process.url, boto_client("cognito-idp", process.url), functions
    process.stop()
    functions.stop()


ARN = "arn:aws:lambda:us-east-1:000000000000:function:{}"


def test_client_credentials_runs_pre_token_generation_v3(triggered):
    url, idp, functions = triggered
    pool_id = make_pool(idp, UserPoolTier="ESSENTIALS", LambdaConfig={
        "PreTokenGenerationConfig": {"LambdaArn": ARN.format("ptg"), "LambdaVersion": "V3_0"}})
    idp.create_resource_server(UserPoolId=pool_id, Identifier="api", Name="API",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "r"},
                                       {"ScopeName": "write", "ScopeDescription": "w"}])
    client = make_client(idp, pool_id, secret=True, flows=("client_credentials",), scopes=["api/read", "api/write"],
                         providers=())
    r = token_request(url, {"grant_type": "client_credentials",
                            "aws_client_metadata": json.dumps({"k": "v"})},
                      auth=(client["ClientId"], client["ClientSecret"]))
    assert r.status_code == 200, r.text
    access = claims(r.json()["access_token"])
    assert access["tenant"] == "acme" and access["client_id"] == client["ClientId"]
    assert access["scope"] == "api/read api/extra"
    event = functions.events[-1]
    assert event["triggerSource"] == "TokenGeneration_ClientCredentials" and event["version"] == "3"
    assert event["request"]["scopes"] == ["api/read", "api/write"]
    assert event["request"]["clientMetadata"] == {"k": "v"}


def test_hosted_sign_in_runs_pre_token_generation_as_hosted_auth(triggered):
    url, idp, functions = triggered
    pool_id = make_pool(idp, UserPoolTier="ESSENTIALS", LambdaConfig={
        "PreTokenGenerationConfig": {"LambdaArn": ARN.format("ptg"), "LambdaVersion": "V2_0"}})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    code = Browser(url).code(authorize_query(client), username)
    r = token_request(url, {"grant_type": "authorization_code", "client_id": client["ClientId"], "code": code,
                            "redirect_uri": CALLBACK})
    assert claims(r.json()["access_token"])["tenant"] == "acme"
    assert functions.events[-1]["triggerSource"] == "TokenGeneration_HostedAuth"


def test_federated_pre_sign_up_failure_comes_back_on_the_redirect(triggered, oidc_idp):
    url, idp, functions = triggered
    pool_id, client = _federated_pool(idp, oidc_idp)
    idp.update_user_pool(UserPoolId=pool_id, AutoVerifiedAttributes=["email"],
                         LambdaConfig={"PreSignUp": ARN.format("reject")})
    browser = Browser(url)
    final = _follow_idp(browser, browser.authorize(**authorize_query(client, identity_provider="MyIdP")))
    result = query_of(final)
    assert result["error"] == "invalid_request" and result["state"] == "st-123"
    assert result["error_description"] == "PreSignUp failed with error no federated users."
    event = functions.events[-1]
    assert (event["triggerSource"], event["userPoolId"]) == ("PreSignUp_ExternalProvider", pool_id)
    assert event["userName"].startswith("MyIdP_")
    assert event["callerContext"]["clientId"] == client["ClientId"]


def test_choose_between_mfa_factors(idp, endpoint, outbox):
    pool_id = make_pool(idp)
    idp.set_user_pool_mfa_config(
        UserPoolId=pool_id, SoftwareTokenMfaConfiguration={"Enabled": True}, MfaConfiguration="OPTIONAL",
        SmsMfaConfiguration={"SmsConfiguration": {"SnsCallerArn": "arn:aws:iam::000000000000:role/sns",
                                                  "ExternalId": "x"}})
    client = make_client(idp, pool_id, ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    username = make_user(idp, pool_id)
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username,
                                     UserAttributes=[{"Name": "phone_number", "Value": "+12065550123"},
                                                     {"Name": "phone_number_verified", "Value": "true"}])
    token = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD}
                              )["AuthenticationResult"]["AccessToken"]
    secret = idp.associate_software_token(AccessToken=token)["SecretCode"]
    idp.verify_software_token(AccessToken=token, UserCode=pyotp.TOTP(secret).at(time.time() - 30))
    idp.admin_set_user_mfa_preference(UserPoolId=pool_id, Username=username,
                                      SMSMfaSettings={"Enabled": True, "PreferredMfa": False},
                                      SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": False})
    browser = Browser(endpoint)
    params = authorize_query(client)
    r = browser.sign_in(params, username)
    assert 'name="mfaType" value="SMS_MFA"' in r.text and 'value="SOFTWARE_TOKEN_MFA"' in r.text
    bad = browser.post("/mfa/select?" + urlencode(params), data={"session": hidden(r.text, "session"),
                                                                  "mfaType": "EMAIL_OTP"})
    assert bad.status_code == 400
    r = browser.post("/mfa/select?" + urlencode(params), data={"session": hidden(bad.text, "session"),
                                                                "mfaType": "SMS_MFA"})
    assert "+*******0123" in r.text
    r = browser.post("/mfa?" + urlencode(params), data={"session": hidden(r.text, "session"),
                                                         "code": outbox.last_code(username=username)})
    assert "code" in query_of(location(r))
    r = browser.post("/mfa?" + urlencode(params), data={"session": "spent", "code": "123456"})
    assert r.status_code == 400 and "Your session has expired" in r.text


def test_domain_host_serves_only_its_pool(idp, setup, endpoint):
    pool_id, client, _username, _browser = setup
    prefix = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Domain"]
    other_pool = make_pool(idp)
    other_prefix = idp.describe_user_pool(UserPoolId=other_pool)["UserPool"]["Domain"]
    url = endpoint + "/oauth2/authorize?" + urlencode(authorize_query(client))
    own = requests.get(url, headers={"Host": f"{prefix}.auth.us-east-1.localhost"}, allow_redirects=False,
                       timeout=10)
    assert location(own).startswith("/login?")
    foreign = requests.get(url, headers={"Host": f"{other_prefix}.auth.us-east-1.amazoncognito.com"},
                           allow_redirects=False, timeout=10)
    assert location(foreign).startswith("/error?")


def test_unknown_idp_identifier_is_invalid_request(setup):
    _pool, client, _username, browser = setup
    target = location(browser.authorize(**authorize_query(client, idp_identifier="nowhere.example")))
    assert query_of(target)["error"] == "invalid_request"
