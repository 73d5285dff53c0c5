"""Tiny real HTTP servers for tests: they record requests and answer from a script."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# handler(method, path, headers, body bytes) -> (status, headers dict, body bytes or JSON-able)
Script = Callable[[str, str, dict, bytes], tuple[int, dict, object]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many concurrent invocations (tests of races) must not be refused


class RecordingServer:
    """An HTTP server on a free port; `requests` holds (method, path, headers, body) of each call."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.requests: list[tuple[str, str, dict, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k: v for k, v in self.headers.items()}
                owner.requests.append(("POST", self.path, headers, body))
                status, out_headers, out = owner.script("POST", self.path, headers, body)
                data = out if isinstance(out, bytes) else json.dumps(out).encode()
                try:
                    self.send_response(status)
                    for k, v in out_headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def json_bodies(self) -> list:
        return [json.loads(body) for _, _, _, body in self.requests]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FunctionServer:
    """Lambda functions reached by URL (`{url}/{name}`): each event is kept in `events` and
    answered by `handlers[name](event)`; a handler that raises is the function's error (500)."""

    def __init__(self, handlers: dict[str, Callable[[dict], object]] | None = None) -> None:
        self.events: list[dict] = []
        self.handlers: dict[str, Callable[[dict], object]] = dict(handlers or {})
        self.server = RecordingServer(self._call)
        self.url = self.server.url

    def _call(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, dict, object]:
        event = json.loads(body)
        self.events.append(event)
        try:
            return 200, {}, self.handlers[path.strip("/")](event)
        except Exception as exc:  # the function throws
            return 500, {}, {"errorMessage": str(exc)}

    def stop(self) -> None:
        self.server.stop()
