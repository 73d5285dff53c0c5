"""Managed login in a real headless Chromium (Playwright driving the Debian `chromium`)."""

from __future__ import annotations

import os
import queue
import shutil
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from conftest import unique

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

PASSWORD = "Passw0rd!Secure"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("TMPDIR", "/tmp")) / "cognito-emulator-screenshots"


class Callback:
    """The app's redirect target: records every query it receives."""

    def __init__(self) -> None:
        self.hits: queue.Queue = queue.Queue()
        hits = self.hits

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                parts = urlsplit(self.path)
                if parts.path != "/callback":
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                hits.put({k: v[0] for k, v in parse_qs(parts.query).items()})
                body = b"<html><body><h1 id='done'>Signed in</h1></body></html>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://localhost:{self.server.server_port}/callback"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self) -> dict:
        return self.hits.get(timeout=20)

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def callback():
    server = Callback()
    yield server
    server.close()


@pytest.fixture
def page():
    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


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
