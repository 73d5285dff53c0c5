"""amazon-cognito-identity-js and Amplify v6 inside a real headless Chromium (Playwright driving the
Debian `chromium`), keeping their tokens in the browser's own localStorage.

The app (tests/node/browser_app.mjs) is bundled with esbuild from tests/node/node_modules at test
time and served from its own origin on 127.0.0.1, so every call to the emulator is a cross-origin
fetch with a CORS preflight, as in a deployed app. The emulator is reached through a recording proxy
(tests/wire_recorder.py) so each test can assert what the real library put on the wire.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlencode

import pytest
from helpers import SRP_FLOWS, claims, error_from, pool_client_user
from node_runner import NODE_DIR
from wire_recorder import RecordingProxy

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("chromium is not installed (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
ESBUILD = NODE_DIR / "node_modules" / ".bin" / "esbuild"
if not ESBUILD.exists() or shutil.which("node") is None:
    pytest.skip("esbuild is absent (run: npm ci --prefix tests/node)", allow_module_level=True)

PASSWORD = "Passw0rd!Browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LIBS = ["identity-js", "amplify"]
PAGE = b"""<!doctype html><html><head><meta charset="utf-8"><title>app</title></head>
<body><h1>app</h1><script src="/app.js"></script></body></html>"""


@pytest.fixture(scope="module")
def site():
    """The app's origin: index.html and the bundle, served on http://localhost:<port>."""
    root = Path(tempfile.mkdtemp(prefix="browser-app-"))
    subprocess.run([str(ESBUILD), "browser_app.mjs", "--bundle", "--format=iife", "--platform=browser",
                    "--target=es2020", "--define:global=globalThis", "--log-level=warning", f"--outfile={root / 'app.js'}"],
                   cwd=NODE_DIR, check=True, timeout=120)
    (root / "index.html").write_bytes(PAGE)

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_port}/index.html"
    server.shutdown()
    server.server_close()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def wire(endpoint):
    proxy = RecordingProxy(endpoint)
    yield proxy
    proxy.close()


class App:
    """One browser profile (fresh localStorage) running the app with one library."""

    def __init__(self, browser, site: str, wire: RecordingProxy, lib: str, pool_id: str, client_id: str) -> None:
        self.context = browser.new_context()
        self.page = self.context.new_page()
        self.url = site + "?" + urlencode({"lib": lib, "pool": pool_id, "client": client_id, "endpoint": wire.url})
        self.lib, self.client_id = lib, client_id
        self.open()

    def open(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_function("window.appReady === true")

    def reload(self) -> None:
        self.page.reload()
        self.page.wait_for_function("window.appReady === true")

    def call(self, action: str, *args, page=None):
        """window.app[action](...args): the value, or {"error": {name, message}} as the library raised it."""
        out = (page or self.page).evaluate("([action, args]) => window.app[action](...args)", [action, list(args)])
        return out["error"] if "error" in out else out["value"]

    def ok(self, action: str, *args, page=None):
        out = (page or self.page).evaluate("([action, args]) => window.app[action](...args)", [action, list(args)])
        assert "error" not in out, out
        return out["value"]

    def storage(self) -> dict[str, str]:
        """The page's localStorage, read through the browser."""
        return self.page.evaluate("() => Object.fromEntries(Object.entries(window.localStorage))")

    def last_auth_user(self) -> str | None:
        return self.storage().get(f"CognitoIdentityServiceProvider.{self.client_id}.LastAuthUser")

    def stored(self, username: str) -> dict[str, str]:
        """The user's items in localStorage, by the libraries' shared key scheme
        CognitoIdentityServiceProvider.{clientId}.{username}.{item}."""
        prefix = f"CognitoIdentityServiceProvider.{self.client_id}.{username}."
        return {k[len(prefix):]: v for k, v in self.storage().items() if k.startswith(prefix)}

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def open_app(browser, site, wire):
    apps: list[App] = []

    def opener(lib: str, pool_id: str, client_id: str) -> App:
        app = App(browser, site, wire, lib, pool_id, client_id)
        apps.append(app)
        return app

    yield opener
    for app in apps:
        app.close()


@pytest.mark.parametrize("lib", LIBS)
def test_sign_in_with_srp(lib, idp, open_app, wire):
    pool_id, client_id, username = pool_client_user(idp, SRP_FLOWS, PASSWORD)
    app = open_app(lib, pool_id, client_id)
    assert app.call("signIn", username, PASSWORD + "x") == {
        "name": "NotAuthorizedException", "message": "Incorrect username or password."}
    # cross-origin: the browser asked first (CORS preflight) and the emulator allowed it
    origin = app.url.split("/index.html")[0]
    [preflight, *_] = wire.preflights()
    assert preflight.status in (200, 204) and preflight.headers["origin"] == origin
    assert preflight.response_headers["access-control-allow-origin"] == origin
    wire.clear()
    out = app.ok("signIn", username, PASSWORD)
    access = claims(out["accessToken"])
    assert access["username"] == username and access["token_use"] == "access" and access["client_id"] == client_id
    assert idp.get_user(AccessToken=out["accessToken"])["Username"] == username
    # the tokens are where the library keeps them: the page's localStorage
    assert app.last_auth_user() == username
    stored = app.stored(username)
    assert stored["accessToken"] == out["accessToken"] and stored["idToken"] == out["idToken"]
    assert stored["refreshToken"]
    # on the wire: USER_SRP_AUTH then PASSWORD_VERIFIER, both answered 200
    calls = [(c.target, c.json().get("AuthFlow") or c.json().get("ChallengeName"), c.status) for c in wire.calls()]
    assert calls == [("InitiateAuth", "USER_SRP_AUTH", 200), ("RespondToAuthChallenge", "PASSWORD_VERIFIER", 200)]
    assert all(c.headers.get("origin") == origin for c in wire.calls())
    first = wire.calls()[0]
    assert first.headers["content-type"] == "application/x-amz-json-1.1"
    assert all("content-encoding" not in c.headers for c in wire.calls())  # plain JSON, never compressed
    assert "authorization" not in first.headers  # no credentials: the public operations are unsigned
    assert first.headers.get("x-amz-user-agent")


@pytest.mark.parametrize("lib", LIBS)
def test_reload_restores_the_session_from_local_storage(lib, idp, open_app, wire):
    pool_id, client_id, username = pool_client_user(idp, SRP_FLOWS, PASSWORD)
    app = open_app(lib, pool_id, client_id)
    signed_in = app.ok("signIn", username, PASSWORD)
    app.reload()
    wire.clear()
    restored = app.ok("restore")
    assert restored["username"] == username
    assert restored["accessToken"] == signed_in["accessToken"] and restored["idToken"] == signed_in["idToken"]
    assert wire.calls() == []  # read back from localStorage, not asked of the server
    # another tab of the same browser shares the localStorage: signed in too
    tab = app.context.new_page()
    tab.goto(app.url)
    tab.wait_for_function("window.appReady === true")
    assert app.ok("restore", page=tab)["accessToken"] == signed_in["accessToken"]
    assert wire.calls() == []


@pytest.mark.parametrize("lib", LIBS)
def test_refresh_after_the_access_token_expired(lib, idp, open_app, wire, clock):
    """The issue's case: an hour later the app refreshes; with no remembered device the browser's
    localStorage answers null and identity-js sends "DEVICE_KEY": null, which AWS accepts."""
    pool_id, client_id, username = pool_client_user(idp, SRP_FLOWS, PASSWORD)
    app = open_app(lib, pool_id, client_id)
    signed_in = app.ok("signIn", username, PASSWORD)
    refresh_token = app.stored(username)["refreshToken"]
    assert "deviceKey" not in app.stored(username)  # no device: localStorage.getItem answers null

    # an hour later, on the server and in the browser: the user reopens the app
    clock.advance(3700)
    assert error_from(lambda: idp.get_user(AccessToken=signed_in["accessToken"])) == (
        "NotAuthorizedException", "Access Token has expired")
    app.page.clock.install(time=time.time() + 3700)
    app.reload()
    wire.clear()
    restored = app.ok("restore")  # getSession / fetchAuthSession refresh by themselves
    assert restored["accessToken"] != signed_in["accessToken"]
    assert idp.get_user(AccessToken=restored["accessToken"])["Username"] == username
    refreshes = [c for c in wire.calls() if c.target in ("InitiateAuth", "GetTokensFromRefreshToken")]
    assert len(refreshes) == 1 and refreshes[0].status == 200, [(c.target, c.status, c.response) for c in refreshes]
    if lib == "identity-js":
        body = refreshes[0].json()
        assert body["AuthFlow"] == "REFRESH_TOKEN_AUTH"
        assert body["AuthParameters"] == {"REFRESH_TOKEN": refresh_token, "DEVICE_KEY": None}
        assert b'"DEVICE_KEY":null' in refreshes[0].body
    else:  # Amplify leaves out a device it does not have
        assert refreshes[0].target == "GetTokensFromRefreshToken"
        assert refreshes[0].json() == {"ClientId": client_id, "RefreshToken": refresh_token}
    assert app.stored(username)["accessToken"] == restored["accessToken"]

    # and an explicit refresh (refreshSession / fetchAuthSession({forceRefresh: true}))
    wire.clear()
    again = app.ok("refresh")
    assert again["accessToken"] not in (signed_in["accessToken"], restored["accessToken"])
    assert [c.status for c in wire.calls() if c.target in ("InitiateAuth", "GetTokensFromRefreshToken")] == [200]
    assert idp.get_user(AccessToken=again["accessToken"])["Username"] == username


@pytest.mark.parametrize("lib", LIBS)
def test_remembered_device_signs_in_with_device_srp(lib, idp, open_app, wire, clock):
    pool_id, client_id, username = pool_client_user(idp, SRP_FLOWS, PASSWORD, DeviceConfiguration={
        "ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True})
    app = open_app(lib, pool_id, client_id)
    first = app.ok("signIn", username, PASSWORD)
    device_key = claims(first["accessToken"])["device_key"]
    assert [c.status for c in wire.calls("ConfirmDevice")] == [200]
    stored = app.stored(username)
    assert stored["deviceKey"] == device_key and stored["deviceGroupKey"] and stored["randomPasswordKey"]
    remembered = app.ok("rememberDevice")
    assert remembered == (device_key if lib == "identity-js" else [device_key])
    [device] = idp.admin_list_devices(UserPoolId=pool_id, Username=username)["Devices"]
    status = {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}["dev:device_remembered_status"]
    assert status == "remembered"
    created = device["DeviceCreateDate"]

    app.ok("signOut")  # local sign-out: the tokens go, the device stays
    assert "accessToken" not in app.stored(username) and app.stored(username)["deviceKey"] == device_key
    clock.advance(120)
    app.page.clock.install(time=time.time() + 120)
    app.reload()
    wire.clear()
    second = app.ok("signIn", username, PASSWORD)
    steps = [(c.target, c.json().get("AuthFlow") or c.json().get("ChallengeName"), c.status) for c in wire.calls()
             if c.target in ("InitiateAuth", "RespondToAuthChallenge")]
    assert steps == [("InitiateAuth", "USER_SRP_AUTH", 200), ("RespondToAuthChallenge", "PASSWORD_VERIFIER", 200),
                     ("RespondToAuthChallenge", "DEVICE_SRP_AUTH", 200),
                     ("RespondToAuthChallenge", "DEVICE_PASSWORD_VERIFIER", 200)]
    verifier = wire.calls("RespondToAuthChallenge")[-1].json()["ChallengeResponses"]
    assert verifier["DEVICE_KEY"] == device_key
    assert wire.calls("ConfirmDevice") == []  # the device is known: no new one
    assert claims(second["accessToken"])["device_key"] == device_key
    [device] = idp.admin_list_devices(UserPoolId=pool_id, Username=username)["Devices"]
    assert device["DeviceKey"] == device_key
    # the device sign-in was recorded at the second sign-in's time (120 s after the device was made)
    assert (device["DeviceLastAuthenticatedDate"] - created).total_seconds() >= 119


@pytest.mark.parametrize("lib", LIBS)
def test_global_sign_out_revokes_the_tokens(lib, idp, open_app, wire):
    pool_id, client_id, username = pool_client_user(idp, SRP_FLOWS, PASSWORD)
    app = open_app(lib, pool_id, client_id)
    app.ok("signIn", username, PASSWORD)
    stored = app.stored(username)
    wire.clear()
    app.ok("globalSignOut")
    assert [c.status for c in wire.calls("GlobalSignOut")] == [200]
    assert error_from(lambda: idp.get_user(AccessToken=stored["accessToken"])) == (
        "NotAuthorizedException", "Access Token has been revoked")
    assert error_from(lambda: idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={
        "REFRESH_TOKEN": stored["refreshToken"]})) == ("NotAuthorizedException", "Refresh Token has been revoked")
    # the library forgot the session: after a reload nobody is signed in
    assert app.last_auth_user() is None and "accessToken" not in app.stored(username)
    app.reload()
    assert "name" in app.call("restore")
