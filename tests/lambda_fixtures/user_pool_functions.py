"""Lambda functions for user pool trigger tests, reachable the three ways the emulator invokes them.

`Functions` plays every function: `add(handler, via=...)` returns an ARN whose events are
recorded in `events[name]` and answered by `handler(event)` (the returned event, or the
same event when it returns None; raising is the function's error):
- via="api": through a real Lambda Invoke API server (`--lambda-endpoint`);
- via="hook": a URL per function, mapped in the emulator's config file;
- via="python": a Python callable of `lambda_fixtures.user_pool_triggers` (events in a log file).

A test module whose tests all use one such emulator takes the fixtures below as its own
(`fx, idp, _healthy = functions.fx, functions.idp, functions.healthy`); each module has its own
emulator.
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from conftest import EmulatorProcess
from helpers import boto_client, unique

from lambda_fixtures.servers import RecordingServer

TESTS = Path(__file__).resolve().parent.parent
ARN = "arn:aws:lambda:us-east-1:000000000000:function:{}"


class Functions:
    def __init__(self, folder: Path, env: dict | None = None) -> None:
        self.handlers: dict[str, Callable[[dict], dict | None]] = {}
        self.events: dict[str, list[dict]] = defaultdict(list)
        self.api = RecordingServer(self._api)
        self.hook = RecordingServer(self._hook)
        # Accepts connections and never answers: a function that times out.
        self.silent = socket.socket()
        self.silent.bind(("127.0.0.1", 0))
        self.silent.listen(50)
        self.config = folder / "cognito-emulator.json"
        self.log = folder / "python-functions.jsonl"
        self.log.touch()
        self.mapping: dict[str, dict] = {}
        self._write_config()
        self.process = EmulatorProcess("--in-memory", "--config", str(self.config), "--lambda-endpoint",
                                       self.api.url, env={"PYTHONPATH": str(TESTS),
                                                          "LAMBDA_FIXTURE_LOG": str(self.log), **(env or {})})
        self.url = self.process.url

    def stop(self) -> None:
        self.process.stop()
        self.api.stop()
        self.hook.stop()
        self.silent.close()

    # -- registering functions --------------------------------------------------------------
    def add(self, handler: Callable[[dict], dict | None] | None = None, *, via: str = "api",
            python: str | None = None) -> str:
        name = unique("fn")
        if via == "python":
            self._map(name, {"callable": f"lambda_fixtures.user_pool_triggers:{python}"})
        elif via == "hook":
            self._map(name, {"url": f"{self.hook.url}/{name}"})
        elif via == "silent":
            self._map(name, {"url": f"http://127.0.0.1:{self.silent.getsockname()[1]}/{name}"})
        elif via == "down":
            self._map(name, {"url": f"http://127.0.0.1:{_closed_port()}/{name}"})
        elif via == "missing":
            return ARN.format(name)  # the Lambda API answers 404 for it
        self.handlers[name] = handler or (lambda event: event)
        return ARN.format(name)

    def last(self, arn: str) -> dict:
        return self.all(arn)[-1]

    def all(self, arn: str) -> list[dict]:
        name = arn.rsplit(":", 1)[1]
        if self.mapping.get(name, {}).get("callable"):
            return [line["event"] for line in map(json.loads, self.log.read_text().splitlines())
                    if line["function"] == name]
        return self.events[name]

    def _map(self, name: str, entry: dict) -> None:
        self.mapping[name] = entry
        self._write_config()

    def _write_config(self) -> None:
        self.config.write_text(json.dumps({"lambdas": self.mapping}))
        # A new mtime for every version: the emulator re-reads the file when it changes.
        stamp = getattr(self, "_stamp", 1_700_000_000) + 1
        self._stamp = stamp
        os.utime(self.config, (stamp, stamp))

    # -- the servers ---------------------------------------------------------------------------
    def _run(self, name: str, body: bytes) -> tuple[bool, object]:
        self.events[name].append(json.loads(body))  # as received, whatever the handler changes
        event = json.loads(body)
        try:
            out = self.handlers[name](event)
        except Exception as exc:  # the function's error
            return False, str(exc)
        return True, event if out is None else out

    def _api(self, method, path, headers, body):
        name = urllib.parse.unquote(path.split("/functions/", 1)[1].split("/", 1)[0])
        if name not in self.handlers:
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, {
                "Type": "User", "message": f"Function not found: {ARN.format(name)}"}
        ok, out = self._run(name, body)
        if not ok:
            return 200, {"X-Amz-Function-Error": "Unhandled"}, {"errorMessage": out, "errorType": "Error"}
        return 200, {}, out

    def _hook(self, method, path, headers, body):
        name = path.strip("/")
        ok, out = self._run(name, body)
        if not ok:
            return 500, {}, {"errorMessage": out}
        return 200, {}, out


def messages(fx: Functions, **filters) -> list[dict]:
    """The outbox of the functions' emulator (filters as /_emulator/messages takes them)."""
    return requests.get(fx.url + "/_emulator/messages", params=filters, timeout=10).json()["messages"]


# -- fixtures -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    """One emulator for the module, with its functions."""
    functions = Functions(tmp_path_factory.mktemp("functions"))
    yield functions
    functions.stop()


@pytest.fixture(scope="module")
def idp(fx):
    return boto_client("cognito-idp", fx.url)


@pytest.fixture(autouse=True)
def healthy(fx):
    """Each test leaves the clock where it found it and causes no internal error."""
    before = requests.get(fx.url + "/_emulator/health", timeout=10).json()["internal_errors"]
    yield
    requests.post(fx.url + "/_emulator/clock", json={"reset": True}, timeout=10)
    after = requests.get(fx.url + "/_emulator/health", timeout=10).json()["internal_errors"]
    assert after == before, "the emulator answered an internal error (see its log)"


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
