"""The social provider sandbox (--social): offline stand-ins for Google, Facebook, Login with Amazon
and Sign in with Apple, driven as a browser would through managed login, and their tokens in an
identity pool's Logins."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from conftest import unique
from helpers import error_from

CALLBACK = "https://app.example.com/callback"
SCOPES = ["openid", "email", "profile", "aws.cognito.signin.user.admin"]
# Test client ids (not shaped like real ones): --social auto sends them to the sandbox.
DETAILS = {
    "Google": {"client_id": "test-google-client", "client_secret": "s3cret", "authorize_scopes": "openid email profile"},
    "Facebook": {"client_id": "1234", "client_secret": "s3cret", "authorize_scopes": "public_profile,email"},
    "LoginWithAmazon": {"client_id": "test-amazon-client", "client_secret": "s3cret", "authorize_scopes": "profile"},
    "SignInWithApple": {"client_id": "com.example.app", "team_id": "TEAM", "key_id": "KEY",
                        "private_key": "test", "authorize_scopes": "email name"},
}
MAPPING = {
    "Google": {"email": "email", "name": "name", "picture": "picture", "given_name": "given_name"},
    "Facebook": {"email": "email", "name": "name", "given_name": "first_name"},
    "LoginWithAmazon": {"email": "email", "name": "name"},
    "SignInWithApple": {"email": "email", "name": "name", "given_name": "firstName"},
}
SLUG = {"Google": "google", "Facebook": "facebook", "LoginWithAmazon": "amazon", "SignInWithApple": "apple"}
LOGIN_KEY = {"Google": "accounts.google.com", "Facebook": "graph.facebook.com",
             "LoginWithAmazon": "www.amazon.com", "SignInWithApple": "appleid.apple.com"}
ID_FORMAT = {"Google": r"1\d{20}", "Facebook": r"10\d{14}", "LoginWithAmazon": r"amzn1\.account\.[0-9A-F]{28}",
             "SignInWithApple": r"00\d{4}\.[0-9a-f]{32}\.\d{4}"}


class Forms(HTMLParser):
    """The forms of a page: action and fields (hidden inputs and buttons' name/value)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}, "buttons": []})
        elif tag == "input" and self.forms and a.get("type") == "hidden":
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")
        elif tag == "button" and self.forms and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", ""), a.get("data-email")))


def forms_of(page: str) -> list[dict]:
    parser = Forms()
    parser.feed(page)
    return parser.forms


class Social:
    """A pool with a domain, one social identity provider and an app client for it."""

    def __init__(self, idp, endpoint: str, ptype: str, details: dict | None = None) -> None:
        self.idp, self.endpoint, self.ptype = idp, endpoint, ptype
        self.pool_id = idp.create_user_pool(PoolName=unique("social"))["UserPool"]["Id"]
        idp.create_user_pool_domain(UserPoolId=self.pool_id, Domain=unique("login"))
        self.details = details or DETAILS[ptype]
        idp.create_identity_provider(UserPoolId=self.pool_id, ProviderName=ptype, ProviderType=ptype,
                                     ProviderDetails=self.details, AttributeMapping=MAPPING[ptype])
        self.client = idp.create_user_pool_client(
            UserPoolId=self.pool_id, ClientName=unique("app"), AllowedOAuthFlows=["code"],
            AllowedOAuthScopes=SCOPES, AllowedOAuthFlowsUserPoolClient=True,
            SupportedIdentityProviders=["COGNITO", ptype], CallbackURLs=[CALLBACK])["UserPoolClient"]
        self.session = requests.Session()
        self.sandbox = f"{endpoint}/_emulator/social/{SLUG[ptype]}"

    def declare(self, **identity) -> dict:
        r = requests.post(self.sandbox + "/users", json=identity, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["users"][0]

    def authorize(self) -> requests.Response:
        r = self.session.get(self.endpoint + "/oauth2/authorize?" + urlencode({
            "response_type": "code", "client_id": self.client["ClientId"], "redirect_uri": CALLBACK,
            "state": "st-1", "identity_provider": self.ptype, "scope": "openid email profile"}),
            allow_redirects=False, timeout=30)
        assert r.status_code == 302, r.text
        return r

    def sign_in(self, email: str) -> dict:
        """The whole redirect dance as a browser does it; the app's code exchanged for tokens."""
        to_provider = self.authorize().headers["Location"]
        assert to_provider.startswith(self.sandbox + "/authorize?"), to_provider
        page = self.session.get(to_provider, timeout=30)
        assert page.status_code == 200, page.text
        form = forms_of(page.text)[0]
        identity = next(value for name, value, mail in form["buttons"] if mail == email)
        answer = self.session.post(to_provider, data={**form["fields"], "identity": identity},
                                   allow_redirects=False, timeout=30)
        if answer.status_code == 200:  # Apple's form_post: an auto-submitting form
            post = forms_of(answer.text)[0]
            assert post["action"] == self.endpoint + "/oauth2/idpresponse"
            back = self.session.post(post["action"], data=post["fields"], allow_redirects=False, timeout=30)
        else:
            assert answer.status_code == 302, answer.text
            location = answer.headers["Location"].split("#", 1)[0]
            assert location.startswith(self.endpoint + "/oauth2/idpresponse?"), location
            back = self.session.get(location, allow_redirects=False, timeout=30)
        assert back.status_code == 302, back.text
        app = back.headers["Location"]
        query = {k: v[0] for k, v in parse_qs(urlsplit(app).query).items()}
        assert app.startswith(CALLBACK) and "code" in query, app
        r = requests.post(self.endpoint + "/oauth2/token", timeout=30, data={
            "grant_type": "authorization_code", "client_id": self.client["ClientId"], "code": query["code"],
            "redirect_uri": CALLBACK})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.mark.parametrize("ptype", list(DETAILS))
def test_sign_in_through_the_sandbox_maps_attributes_and_identities(idp, endpoint, ptype):
    setup = Social(idp, endpoint, ptype)
    email = f"{unique('ada')}@example.com"
    declared = setup.declare(email=email, name="Ada Lovelace", given_name="Ada", family_name="Lovelace",
                             picture="https://example.com/ada.png")
    assert re.fullmatch(ID_FORMAT[ptype], declared["id"]), declared["id"]
    tokens = setup.sign_in(email)
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    username = f"{ptype}_{declared['id']}"
    assert claims["cognito:username"] == username
    assert claims["email"] == email and claims["name"] == "Ada Lovelace"
    if ptype != "LoginWithAmazon":
        assert claims["given_name"] == "Ada"
    identities = json.loads(claims["identities"]) if isinstance(claims["identities"], str) else claims["identities"]
    assert identities[0]["userId"] == declared["id"] and identities[0]["providerType"] == ptype
    assert identities[0]["providerName"] == ptype
    user = idp.admin_get_user(UserPoolId=setup.pool_id, Username=username)
    assert user["UserStatus"] == "EXTERNAL_PROVIDER"
    # The same identity signs in again as the same user.
    again = jwt.decode(setup.sign_in(email)["id_token"], options={"verify_signature": False})
    assert again["sub"] == claims["sub"]


# -- the sandbox as an app talking to the provider directly -------------------------------------------
def provider_tokens(endpoint: str, slug: str, client_id: str, email: str, *, scope: str = "openid email",
                    nonce: str | None = None) -> dict:
    """An app's own sign-in with the provider (what a native SDK does): authorize, pick the
    identity (declared on the way), exchange the code."""
    base = f"{endpoint}/_emulator/social/{slug}"
    requests.post(base + "/users", json={"email": email, "name": "Test User"}, timeout=10).raise_for_status()
    params = {"client_id": client_id, "redirect_uri": CALLBACK, "response_type": "code", "scope": scope,
              "state": "s"}
    if nonce:
        params["nonce"] = nonce
    page = requests.get(base + "/authorize", params=params, timeout=10)
    identity = next(v for _n, v, mail in forms_of(page.text)[0]["buttons"] if mail == email)
    answer = requests.post(base + "/authorize", params=params, data={"identity": identity}, allow_redirects=False,
                           timeout=10)
    if answer.status_code == 200:
        code = forms_of(answer.text)[0]["fields"]["code"]
    else:
        code = parse_qs(urlsplit(answer.headers["Location"].split("#")[0]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": client_id,
            "client_secret": "s3cret"}
    if slug == "apple":
        form["client_secret"] = apple_client_secret(client_id)
    if slug == "facebook":
        r = requests.get(base + "/token", params=form, timeout=10)
    else:
        r = requests.post(base + "/token", data=form, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def apple_client_secret(client_id: str) -> str:
    from cryptography.hazmat.primitives.asymmetric import ec
    return jwt.encode({"iss": "TEAMID1234", "sub": client_id, "aud": "https://appleid.apple.com", "iat": 0,
                       "exp": 2 ** 31}, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                      headers={"kid": "KEYID12345"})


APP_IDS = {"google": "test-google-client", "facebook": "1234", "amazon": "test-amazon-client",
           "apple": "com.example.app"}
LOGIN_TOKEN = {"google": "id_token", "facebook": "access_token", "amazon": "access_token", "apple": "id_token"}


def identity_pool(identity, providers: dict) -> str:
    pool = identity.create_identity_pool(IdentityPoolName=unique("social").replace("-", "_"),
                                         AllowUnauthenticatedIdentities=False,
                                         SupportedLoginProviders=providers)["IdentityPoolId"]
    identity.set_identity_pool_roles(IdentityPoolId=pool, Roles={
        "authenticated": "arn:aws:iam::000000000000:role/signed-in"})
    return pool


@pytest.mark.parametrize("slug", list(APP_IDS))
def test_identity_pool_logins_from_each_sandbox_provider(identity, endpoint, slug):
    key = {"google": "accounts.google.com", "facebook": "graph.facebook.com", "amazon": "www.amazon.com",
           "apple": "appleid.apple.com"}[slug]
    pool = identity_pool(identity, {key: APP_IDS[slug]})
    email = f"{unique('id')}@example.com"
    token = provider_tokens(endpoint, slug, APP_IDS[slug], email)[LOGIN_TOKEN[slug]]
    first = identity.get_id(IdentityPoolId=pool, Logins={key: token})["IdentityId"]
    # The same person with a new token is the same identity.
    again = provider_tokens(endpoint, slug, APP_IDS[slug], email)[LOGIN_TOKEN[slug]]
    assert identity.get_id(IdentityPoolId=pool, Logins={key: again})["IdentityId"] == first
    credentials = identity.get_credentials_for_identity(IdentityId=first, Logins={key: again})["Credentials"]
    assert credentials["AccessKeyId"] and credentials["SessionToken"]
    described = identity.describe_identity(IdentityId=first)
    assert described["Logins"] == [key]
    # Another person is another identity.
    other = provider_tokens(endpoint, slug, APP_IDS[slug], f"{unique('other')}@example.com")[LOGIN_TOKEN[slug]]
    assert identity.get_id(IdentityPoolId=pool, Logins={key: other})["IdentityId"] != first


@pytest.mark.parametrize("slug", list(APP_IDS))
def test_identity_pool_refuses_a_token_for_another_app(identity, endpoint, slug):
    key = {"google": "accounts.google.com", "facebook": "graph.facebook.com", "amazon": "www.amazon.com",
           "apple": "appleid.apple.com"}[slug]
    pool = identity_pool(identity, {key: APP_IDS[slug]})
    token = provider_tokens(endpoint, slug, "another-app", f"{unique('x')}@example.com")[LOGIN_TOKEN[slug]]
    message = {"google": "Invalid login token. Incorrect token audience.",
               "apple": "Invalid login token. Incorrect token audience.",
               "facebook": "Invalid login token. The Facebook token was issued to another application.",
               "amazon": "Invalid login token. The Amazon token was issued to another application."}[slug]
    assert error_from(identity.get_id, IdentityPoolId=pool, Logins={key: token}) == ("NotAuthorizedException", message)


def test_expired_and_forged_sandbox_tokens_are_refused(identity, endpoint, clock):
    pool = identity_pool(identity, {"accounts.google.com": APP_IDS["google"], "graph.facebook.com": "1234"})
    google = provider_tokens(endpoint, "google", APP_IDS["google"], f"{unique('g')}@example.com")["id_token"]
    facebook = provider_tokens(endpoint, "facebook", "1234", f"{unique('f')}@example.com")["access_token"]
    claims = jwt.decode(google, options={"verify_signature": False})
    header = jwt.get_unverified_header(google)
    from cryptography.hazmat.primitives.asymmetric import rsa
    forged = jwt.encode({**claims, "sub": "1" * 21}, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                        algorithm="RS256", headers={"kid": header["kid"]})
    assert error_from(identity.get_id, IdentityPoolId=pool, Logins={"accounts.google.com": forged}) == (
        "NotAuthorizedException", "Invalid login token. Couldn't verify signed token.")
    assert error_from(identity.get_id, IdentityPoolId=pool, Logins={"graph.facebook.com": facebook + "x"})[0] == \
        "NotAuthorizedException"
    clock.advance(3601)
    code, message = error_from(identity.get_id, IdentityPoolId=pool, Logins={"accounts.google.com": google})
    assert code == "NotAuthorizedException" and message.startswith("Invalid login token. Token expired: ")
    clock.advance(5184000)
    assert error_from(identity.get_id, IdentityPoolId=pool, Logins={"graph.facebook.com": facebook}) == (
        "NotAuthorizedException", "Invalid login token. Not a valid Facebook access token.")


# -- the provider endpoints themselves -------------------------------------------------------------------
def test_google_stand_in_speaks_openid_connect(endpoint):
    email = f"{unique('oidc')}@example.com"
    tokens = provider_tokens(endpoint, "google", "web-client", email, nonce="n-1")
    assert set(tokens) == {"access_token", "expires_in", "scope", "token_type", "id_token"}
    assert tokens["token_type"] == "Bearer" and tokens["access_token"].startswith("ya29.")
    discovery = requests.get(f"{endpoint}/_emulator/social/google/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == "https://accounts.google.com"
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(tokens["id_token"])
    claims = jwt.decode(tokens["id_token"], key.key, algorithms=["RS256"], audience="web-client",
                        issuer="https://accounts.google.com", options={"verify_exp": False})
    assert claims["email"] == email and claims["email_verified"] is True and claims["nonce"] == "n-1"
    assert claims["azp"] == "web-client" and claims["exp"] - claims["iat"] == 3600
    info = requests.get(discovery["userinfo_endpoint"],
                        headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=10).json()
    assert info["sub"] == claims["sub"] and info["email"] == email
    person = requests.get(f"{endpoint}/_emulator/social/google/userinfo",
                          headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=10).json()
    assert person["resourceName"] == f"people/{claims['sub']}" and person["emailAddresses"][0]["value"] == email
    bad = requests.get(discovery["userinfo_endpoint"], headers={"Authorization": "Bearer nope"}, timeout=10)
    assert bad.status_code == 401 and bad.json()["error"]["status"] == "UNAUTHENTICATED"


def test_codes_are_single_use_and_bound_to_the_client_and_redirect(endpoint):
    base = f"{endpoint}/_emulator/social/google"
    email = f"{unique('code')}@example.com"
    requests.post(base + "/users", json={"email": email}, timeout=10).raise_for_status()
    params = {"client_id": "web", "redirect_uri": CALLBACK, "response_type": "code", "scope": "openid"}
    page = requests.get(base + "/authorize", params=params, timeout=10)
    identity = next(v for _n, v, mail in forms_of(page.text)[0]["buttons"] if mail == email)
    r = requests.post(base + "/authorize", params=params, data={"identity": identity}, allow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(r.headers["Location"]).query)["code"][0]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "client_id": "web",
            "client_secret": "x"}
    wrong = requests.post(base + "/token", data={**form, "redirect_uri": "https://evil.example/cb"}, timeout=10)
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant", "error_description": "Bad Request"})
    spent = requests.post(base + "/token", data=form, timeout=10)  # any attempt spends the code
    assert spent.status_code == 400
    secretless = requests.post(base + "/token", data={**form, "client_secret": ""}, timeout=10)
    assert (secretless.status_code, secretless.json()["error"]) == (401, "invalid_client")


def test_facebook_graph_me_answers_the_fields_asked(endpoint):
    email = f"{unique('fb')}@example.com"
    tokens = provider_tokens(endpoint, "facebook", "1234", email)
    assert tokens["token_type"] == "bearer" and tokens["access_token"].startswith("EAAG")
    me = f"{endpoint}/_emulator/social/facebook/userinfo"
    assert set(requests.get(me, params={"access_token": tokens["access_token"]}, timeout=10).json()) == {"id", "name"}
    asked = requests.get(me, params={"fields": "id,email,first_name", "access_token": tokens["access_token"]},
                         timeout=10).json()
    assert asked["email"] == email and set(asked) == {"id", "email", "first_name"}
    bad = requests.get(me, params={"access_token": "nope"}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 190
    debug = requests.get(f"{endpoint}/_emulator/social/facebook/tokeninfo",
                         params={"input_token": tokens["access_token"]}, timeout=10).json()["data"]
    assert debug["is_valid"] is True and debug["app_id"] == "1234" and debug["user_id"] == asked["id"]


def test_amazon_profile_and_tokeninfo(endpoint):
    email = f"{unique('amzn')}@example.com"
    tokens = provider_tokens(endpoint, "amazon", "amzn-client", email, scope="profile")
    assert tokens["access_token"].startswith("Atza|") and tokens["refresh_token"].startswith("Atzr|")
    profile = requests.get(f"{endpoint}/_emulator/social/amazon/userinfo",
                           headers={"Authorization": "Bearer " + tokens["access_token"]}, timeout=10).json()
    assert profile["email"] == email and profile["user_id"].startswith("amzn1.account.")
    info = requests.get(f"{endpoint}/_emulator/social/amazon/tokeninfo",
                        params={"access_token": tokens["access_token"]}, timeout=10).json()
    assert info["aud"] == "amzn-client" and info["user_id"] == profile["user_id"]
    refreshed = requests.post(f"{endpoint}/_emulator/social/amazon/token", data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": "amzn-client",
        "client_secret": "x"}, timeout=10)
    assert refreshed.status_code == 200 and refreshed.json()["access_token"].startswith("Atza|")


def test_apple_wants_a_signed_client_secret_and_posts_the_name_once(endpoint):
    base = f"{endpoint}/_emulator/social/apple"
    email = f"{unique('apple')}@example.com"
    requests.post(base + "/users", json={"email": email, "given_name": "Tim", "family_name": "Apple"},
                  timeout=10).raise_for_status()
    params = {"client_id": "com.example.web", "redirect_uri": CALLBACK, "response_type": "code",
              "scope": "name email", "response_mode": "form_post", "state": "s"}
    page = requests.get(base + "/authorize", params=params, timeout=10)
    identity = next(v for _n, v, mail in forms_of(page.text)[0]["buttons"] if mail == email)
    posted = forms_of(requests.post(base + "/authorize", params=params, data={"identity": identity},
                                    timeout=10).text)[0]
    assert posted["action"] == CALLBACK
    assert json.loads(posted["fields"]["user"]) == {"name": {"firstName": "Tim", "lastName": "Apple"}, "email": email}
    second = forms_of(requests.post(base + "/authorize", params=params, data={"identity": identity},
                                    timeout=10).text)[0]
    assert "user" not in second["fields"]
    form = {"grant_type": "authorization_code", "code": posted["fields"]["code"], "redirect_uri": CALLBACK,
            "client_id": "com.example.web", "client_secret": "plain-secret"}
    refused = requests.post(base + "/token", data=form, timeout=10)
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_client"})
    tokens = requests.post(base + "/token", data={**form, "code": second["fields"]["code"],
                                                  "client_secret": apple_client_secret("com.example.web")},
                           timeout=10).json()
    claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
    assert claims["iss"] == "https://appleid.apple.com" and claims["email_verified"] == "true"
    assert claims["is_private_email"] == "false" and "name" not in claims


def test_declaring_identities(endpoint):
    base = f"{endpoint}/_emulator/social/google"
    email = f"{unique('decl')}@example.com"
    first = requests.post(base + "/users", json={"email": email, "name": "A"}, timeout=10).json()["users"][0]
    again = requests.post(base + "/users", json={"email": email, "name": "B",
                                                 "attributes": {"hd": "example.com"}}, timeout=10).json()["users"][0]
    assert again["id"] == first["id"] and again["name"] == "B"
    listed = requests.get(base + "/users", timeout=10).json()["users"]
    assert [u for u in listed if u["id"] == first["id"]][0]["attributes"] == {"hd": "example.com"}
    for body, message in [({}, "email is required"), ({"email": "not-an-email"}, "email must be an email address"),
                          ({"email": "a@example.com", "colour": "blue"}, "unknown field colour"),
                          ({"email": "a@example.com", "attributes": {"x": [1]}},
                           "attributes must be an object of names to strings, numbers or booleans")]:
        r = requests.post(base + "/users", json=body, timeout=10)
        assert r.status_code == 400 and r.json()["message"].startswith(message), r.text
    # A list applies whole or not at all.
    lone = f"{unique('lone')}@example.com"
    r = requests.post(base + "/users", json=[{"email": lone}, {"email": "bad"}], timeout=10)
    assert r.status_code == 400
    assert not [u for u in requests.get(base + "/users", timeout=10).json()["users"] if u["email"] == lone]
    assert requests.get(f"{endpoint}/_emulator/social/myspace/users", timeout=10).status_code == 404


def test_linked_native_user_signs_in_with_the_sandbox_identity(idp, endpoint):
    setup = Social(idp, endpoint, "Google")
    email = f"{unique('link')}@example.com"
    declared = setup.declare(email=email, name="Linked")
    idp.admin_create_user(UserPoolId=setup.pool_id, Username="native-" + declared["id"][-6:],
                          MessageAction="SUPPRESS", UserAttributes=[{"Name": "email", "Value": email}])
    native = "native-" + declared["id"][-6:]
    idp.admin_link_provider_for_user(
        UserPoolId=setup.pool_id, DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": native},
        SourceUser={"ProviderName": "Google", "ProviderAttributeName": "Cognito_Subject",
                    "ProviderAttributeValue": declared["id"]})
    claims = jwt.decode(setup.sign_in(email)["id_token"], options={"verify_signature": False})
    assert claims["cognito:username"] == native


def test_real_client_ids_go_to_the_real_provider(idp, endpoint):
    real = {"client_id": "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com",
            "client_secret": "s3cret", "authorize_scopes": "openid email"}
    setup = Social(idp, endpoint, "Google", details=real)
    assert setup.authorize().headers["Location"].startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    apple = Social(idp, endpoint, "SignInWithApple")
    location = apple.authorize().headers["Location"]
    assert location.startswith(apple.sandbox + "/authorize?")
    assert parse_qs(urlsplit(location).query)["response_mode"] == ["form_post"]


def test_social_setting_chooses_sandbox_or_online_per_provider(tmp_path):
    from emulator_process import EmulatorProcess
    from helpers import boto_client

    real_google = {"client_id": "123456789012-abcdefghijklmnopqrstuvwxyz012345.apps.googleusercontent.com",
                   "client_secret": "s3cret", "authorize_scopes": "openid email"}
    process = EmulatorProcess("--in-memory", "--social", "google=sandbox,facebook=online")
    try:
        idp = boto_client("cognito-idp", process.url)
        google = Social(idp, process.url, "Google", details=real_google)
        assert google.authorize().headers["Location"].startswith(google.sandbox + "/authorize?")
        facebook = Social(idp, process.url, "Facebook")  # a test app id, but online was asked for
        assert facebook.authorize().headers["Location"].startswith("https://www.facebook.com/v17.0/dialog/oauth?")
    finally:
        process.stop()


@pytest.mark.parametrize("value", ["maybe", "google=sometimes", "myspace=sandbox"])
def test_bad_social_setting_stops_the_start(value):
    import os
    import subprocess
    import sys

    from emulator_process import ROOT
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--in-memory", "--port", "0", "--social", value],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if not k.startswith("COGNITO_EMULATOR_")})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "cognito-emulator: --social must be auto, sandbox, online or a list such as google=sandbox,facebook=online "
        f"(providers: google, facebook, amazon, apple), not {value!r}")


@pytest.mark.parametrize(("params", "message"), [
    ({"redirect_uri": CALLBACK, "response_type": "code"}, "The request is missing client_id."),
    ({"client_id": "web", "redirect_uri": "/relative", "response_type": "code"},
     "The request's redirect_uri is missing or not an absolute URL."),
    ({"client_id": "web", "redirect_uri": CALLBACK, "response_type": "token"}, "Only response_type=code is supported."),
])
def test_sign_in_page_refuses_a_bad_request(endpoint, params, message):
    r = requests.get(f"{endpoint}/_emulator/social/google/authorize", params=params, timeout=10)
    assert r.status_code == 400 and f'role="alert">{message}' in r.text.replace("&#39;", "'")


def test_token_endpoint_refusals_in_each_providers_shape(endpoint):
    google = f"{endpoint}/_emulator/social/google/token"
    r = requests.post(google, data={"grant_type": "authorization_code", "code": "x"}, timeout=10)
    assert (r.status_code, r.json()) == (401, {"error": "invalid_client", "error_description": "Missing client_id."})
    r = requests.post(google, data={"grant_type": "password", "client_id": "web", "client_secret": "s"}, timeout=10)
    assert (r.status_code, r.json()) == (400, {"error": "unsupported_grant_type",
                                               "error_description": "Invalid grant_type."})
    r = requests.get(google, params={"client_id": "web"}, timeout=10)  # Google's token endpoint takes POST
    assert r.status_code == 405 and r.json()["error"] == "invalid_request"
    r = requests.post(f"{endpoint}/_emulator/social/facebook/token", data={"client_id": "1234"}, timeout=10)
    assert r.status_code == 405 and r.json()["error"]["type"] == "OAuthException"  # Facebook's takes GET
    r = requests.get(f"{endpoint}/_emulator/social/facebook/token",
                     params={"client_id": "1234", "client_secret": "s", "code": "spent", "redirect_uri": CALLBACK},
                     timeout=10)
    assert r.status_code == 400 and r.json()["error"]["message"] == "This authorization code has been used."
    r = requests.post(f"{endpoint}/_emulator/social/amazon/token", data={
        "grant_type": "authorization_code", "code": "nope", "client_id": "c", "client_secret": "s",
        "redirect_uri": CALLBACK}, timeout=10)
    assert (r.status_code, r.json()) == (400, {"error_description": "The request has an invalid grant parameter : code",
                                               "error": "invalid_grant"})
    r = requests.get(f"{endpoint}/_emulator/social/amazon/userinfo", headers={"Authorization": "Bearer nope"},
                     timeout=10)
    assert (r.status_code, r.json()["error"]) == (400, "invalid_token")
    assert requests.get(f"{endpoint}/_emulator/social/facebook/keys", timeout=10).status_code == 404
    assert requests.get(f"{endpoint}/_emulator/social/apple/userinfo", headers={"Authorization": "Bearer x"},
                        timeout=10).status_code == 401
