"""Shared fixtures: the real server on a free port, boto3 clients, dev endpoints.

Each pytest worker starts one emulator process (in-memory store) and talks to it over a
real socket. After every test the clock is put back, and the test fails if the server
answered any request with an internal error.
"""

from __future__ import annotations

import os

import pytest
import requests
from emulator_process import ROOT, EmulatorProcess  # noqa: F401 (re-exported to the tests)
from helpers import boto_client, make_pool, unique, wait_for  # noqa: F401 (unique, wait_for: re-exported)

# unique, wait_for and make_client (helpers.boto_client) live in helpers.py; some test files still import
# them from here.
make_client = boto_client


@pytest.fixture(scope="session")
def emulator():
    """The shared server: in memory, or on a PostgreSQL server this session starts when
    COGNITO_EMULATOR_TEST_DATABASE=postgresql (the whole suite against the PostgreSQL store)."""
    process, database = suite_server()
    yield process
    process.stop()
    if database is not None:
        database.stop()


def suite_server(env: dict | None = None):
    """(process, PostgresServer or None): a server on the store this run tests, in memory or on
    a PostgreSQL server it starts when COGNITO_EMULATOR_TEST_DATABASE=postgresql."""
    if os.environ.get("COGNITO_EMULATOR_TEST_DATABASE") == "postgresql":
        from postgres import PostgresServer

        database = PostgresServer()
        return EmulatorProcess("--database-url", database.new_database(), env=env), database
    return EmulatorProcess("--in-memory", env=env), None


@pytest.fixture(scope="session")
def endpoint(emulator) -> str:
    return emulator.url


@pytest.fixture(scope="session")
def idp(endpoint):
    """boto3 cognito-idp client."""
    return boto_client("cognito-idp", endpoint)


@pytest.fixture(scope="session")
def identity(endpoint):
    """boto3 cognito-identity client."""
    return boto_client("cognito-identity", endpoint)


@pytest.fixture(scope="session")
def sync(endpoint):
    """boto3 cognito-sync client."""
    return boto_client("cognito-sync", endpoint)


@pytest.fixture
def pool_id(idp) -> str:
    """A new user pool's id."""
    return make_pool(idp)


@pytest.fixture(scope="session")
def http(endpoint):
    """A requests session whose paths are relative to the emulator."""
    session = requests.Session()
    base = endpoint

    class Relative:
        url = base

        def __getattr__(self, method):
            def call(path, **kw):
                return session.request(method.upper(), base + path, timeout=30, **kw)
            return call

    return Relative()


class Clock:
    def __init__(self, http) -> None:
        self.http = http

    def now(self) -> float:
        return self.http.get("/_emulator/clock").json()["epoch"]

    def advance(self, seconds: float) -> dict:
        r = self.http.post("/_emulator/clock", json={"advance_seconds": seconds})
        assert r.status_code == 200, r.text
        return r.json()

    def set(self, iso: str) -> dict:
        return self.http.post("/_emulator/clock", json={"set": iso}).json()

    def freeze(self) -> dict:
        """Stop the clock (it then moves only by advance/set) so real time cannot expire anything."""
        return self.http.post("/_emulator/clock", json={"freeze": True}).json()

    def reset(self) -> None:
        self.http.post("/_emulator/clock", json={"reset": True})


@pytest.fixture
def clock(http):
    """Move the emulator's clock; it is put back after the test."""
    return Clock(http)


class Outbox:
    def __init__(self, http) -> None:
        self.http = http

    def list(self, **filters) -> list[dict]:
        r = self.http.get("/_emulator/messages", params=filters)
        assert r.status_code == 200, r.text
        return r.json()["messages"]

    def last(self, **filters) -> dict:
        found = self.list(limit=1, **filters)
        assert found, f"no message matching {filters}"
        return found[0]

    def last_code(self, **filters) -> str:
        return self.last(**filters)["code"]


@pytest.fixture
def outbox(http):
    """Read the messages the emulator sent."""
    return Outbox(http)


@pytest.fixture(autouse=True)
def _server_health(request):
    """Fail a test when the server answered anything with an internal error."""
    if "emulator" not in request.fixturenames:
        yield
        return
    session = requests.Session()
    url = request.getfixturevalue("emulator").url
    before = session.get(url + "/_emulator/health", timeout=10).json()["internal_errors"]
    yield
    session.post(url + "/_emulator/clock", json={"reset": True}, timeout=10)
    after = session.get(url + "/_emulator/health", timeout=10).json()["internal_errors"]
    assert after == before, "the emulator answered an internal error (see its log)"


# -- the browser tests' Chromium page and the app's redirect target (tests/browser.py) ----------------
@pytest.fixture
def page():
    from browser import chromium_page

    with chromium_page() as opened:
        yield opened


@pytest.fixture
def callback():
    from browser import Callback

    server = Callback()
    yield server
    server.close()
