"""pytest fixtures for your own test suites (installed as a pytest plugin).

- `cognito_emulator`: a real emulator on a free local port for the test session
  (in-memory state). Point clients at `cognito_emulator.url`; read messages, move the
  clock and reset through it.
- `cognito_mock`: in-process mode for one test: every boto3 client created in the test
  talks to a fresh emulator without a socket.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from emulator.config import Config


class RunningEmulator:
    """A server started in this process, on a free port."""

    def __init__(self) -> None:
        # Imported here: pytest loads this plugin in every session of a project that has the
        # package installed, and only sessions that use the fixtures should pay for the app.
        from werkzeug.serving import make_server

        from emulator.app import create_app
        from emulator.serving import RequestHandler

        class Handler(RequestHandler):
            def log_request(self, *args, **kwargs) -> None:
                pass

        self.app = create_app(Config(in_memory=True, port=0))
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True, request_handler=Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.app.config.port = self.server.server_port
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def _call(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def messages(self, **filters: str) -> list[dict]:
        """Outbox messages, newest first (filters: pool_id, username, destination, kind, channel)."""
        query = ("?" + urlencode(filters)) if filters else ""
        return self._call("GET", "/_emulator/messages" + query)["messages"]

    def last_code(self, **filters: str) -> str | None:
        found = self.messages(**filters, limit="1")
        return found[0]["code"] if found else None

    def advance_clock(self, seconds: float) -> None:
        self._call("POST", "/_emulator/clock", {"advance_seconds": seconds})

    def freeze_clock(self, frozen: bool = True) -> None:
        """Stop the emulator's clock (it then moves only with advance_clock), or let it run."""
        self._call("POST", "/_emulator/clock", {"freeze": frozen})

    def reset_clock(self) -> None:
        self._call("POST", "/_emulator/clock", {"reset": True})

    def reset(self) -> None:
        self._call("POST", "/_emulator/reset")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def cognito_emulator() -> Iterator[RunningEmulator]:
    """A running cognito-emulator for the whole test session."""
    running = RunningEmulator()
    yield running
    running.stop()


@pytest.fixture
def cognito_mock():
    """Every boto3 Cognito client created in this test talks to a fresh in-process emulator."""
    from emulator.mock import mock_cognito
    with mock_cognito() as emulator:
        yield emulator
