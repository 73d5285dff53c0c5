"""The HTTP request handler of every server the emulator starts (`serve`, the pytest plugin).

Werkzeug's handler keeps Python's http.server answers to requests that never reach the WSGI
application (a request line or header over 64 KiB, more than 100 headers, an unparsable request
line): HTML pages, and for an unparsable request line not even a status line. These answer JSON
like every other error of the emulator.
"""

from __future__ import annotations

import json

from werkzeug.serving import WSGIRequestHandler

# http.server's errors -> the __type they are answered with
ERROR_TYPES = {
    400: "BadRequest",
    408: "RequestTimeout",
    414: "RequestUriTooLongException",
    431: "RequestHeaderFieldsTooLargeException",
    501: "NotImplemented",
    505: "HttpVersionNotSupportedException",
}
MAX_BLANK_LINES = 8


class RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: SDKs reuse connections
    # A request line that cannot be parsed is answered with a status line as well (http.server's
    # default, HTTP/0.9, answers with a bare body).
    default_request_version = "HTTP/1.1"

    def parse_request(self) -> bool:
        # Empty lines before the request line are ignored (RFC 9112, section 2.2).
        for _ in range(MAX_BLANK_LINES):
            if self.raw_requestline not in (b"\r\n", b"\n"):
                break
            self.raw_requestline = self.rfile.readline(65537)
        return super().parse_request()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        short, long = self.responses.get(code, ("Error", ""))
        text = message or short
        if explain and explain != long:
            text = f"{text}: {explain}"
        self.log_error("code %d, message %s", code, text)
        if getattr(self, "request_version", None) in (None, "HTTP/0.9"):
            self.request_version = "HTTP/1.1"
        self.send_response(code, short)
        self.send_header("Connection", "close")
        body = b""
        if code >= 200 and code not in (204, 205, 304):
            error_type = ERROR_TYPES.get(code, "BadRequest" if code < 500 else "InternalErrorException")
            body = json.dumps({"__type": error_type, "message": text}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("x-amzn-ErrorType", error_type)
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
