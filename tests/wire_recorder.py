"""A recording reverse proxy in front of the emulator: point a real client at `proxy.url` and read
back exactly what it put on the wire (method, headers, body bytes) and what it was answered.

The Host header is rewritten to the emulator's, so tokens carry the emulator's own issuer;
everything else (Origin and CORS preflights included) passes through unchanged.
"""

from __future__ import annotations

import http.client
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate", "content-length"}


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]          # names lower-cased
    raw_headers: list[tuple[str, str]]  # as sent, in order
    body: bytes
    status: int = 0
    response: bytes = b""
    response_headers: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str | None:
        """The operation (`InitiateAuth`) of an X-Amz-Target request."""
        value = self.headers.get("x-amz-target")
        return value.rsplit(".", 1)[-1] if value else None

    def json(self) -> dict:
        return json.loads(self.body)

    def answer(self) -> dict:
        return json.loads(self.response) if self.response else {}


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                raw = list(self.headers.items())
                ex = Exchange(self.command, self.path, {k.lower(): v for k, v in raw}, raw, body)
                conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                try:
                    conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                    conn.putheader("Host", f"{proxy.upstream_host}:{proxy.upstream_port}")
                    for name, value in raw:
                        if name.lower() not in HOP_BY_HOP and name.lower() != "host":
                            conn.putheader(name, value)
                    if body or self.command in ("POST", "PUT", "PATCH"):
                        conn.putheader("Content-Length", str(len(body)))
                    conn.endheaders(body or None)
                    resp = conn.getresponse()
                    payload = resp.read()
                    headers = resp.getheaders()
                finally:
                    conn.close()
                ex.status, ex.response = resp.status, payload
                ex.response_headers = {k.lower(): v for k, v in headers}
                with proxy._lock:
                    proxy.exchanges.append(ex)
                self.send_response(resp.status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() not in ("server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self, target: str | None = None) -> list[Exchange]:
        """The API calls (CORS preflights left out), oldest first; only `target` when given."""
        with self._lock:
            found = [e for e in self.exchanges if e.method != "OPTIONS"]
        return [e for e in found if target is None or e.target == target]

    def preflights(self) -> list[Exchange]:
        with self._lock:
            return [e for e in self.exchanges if e.method == "OPTIONS"]

    def clear(self) -> None:
        with self._lock:
            self.exchanges.clear()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
