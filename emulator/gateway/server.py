"""The gateway's HTTP server and the `cognito-emulator gateway` subcommand.

Each request: find the route (REST: 403 "Missing Authentication Token" when none; HTTP API:
404 "Not Found"), run its authorizer, then forward to the HTTP backend (the original headers,
Authorization included, plus the claims as JSON in `x-apigateway-authorizer-claims`) or invoke
the Lambda function with the proxy event and answer with what it returns.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import sys
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from emulator import lambdas
from emulator.config import Config
from emulator.gateway import authorizers, events
from emulator.gateway.routes import REST, Api, DeclarationError, Route, load_routes_file
from emulator.gateway.verifier import EmulatorUnreachable, HttpVerifier, StoreVerifier, Verifier

CLAIMS_HEADER = "x-apigateway-authorizer-claims"
_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
               "transfer-encoding", "upgrade", "host", "content-length"}
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9._-]+)\+?\}")


class Gateway:
    """The routes, the verifier and the Lambda settings one server answers with."""

    def __init__(self, api: Api, verifier: Verifier, config: Config, upstream_timeout: float = 29.0) -> None:
        self.api = api
        self.verifier = verifier
        self.config = config
        self.upstream_timeout = upstream_timeout
        self.rest_style = any(r.api == REST for r in api.routes) or not api.routes

    def handle(self, request: events.Incoming) -> events.Outgoing:
        route, params, path_known = self.api.find(request.method, request.path)
        if route is None:
            if self.rest_style:
                return _error(403, "Missing Authentication Token", request, REST,
                              error_type="MissingAuthenticationTokenException")
            return _error(404, "Not Found", request, "http")
        claims = scopes = None
        if route.authorizer is not None:
            decision = authorizers.authorize(route, _Headers(request.headers), self.verifier)
            if not decision.allowed:
                return _error(decision.status, decision.message, request, route.api,
                              error_type=decision.error_type, extra=decision.headers)
            claims, scopes = decision.claims, decision.scopes
        if route.function:
            return self._invoke(route, request, params, claims, scopes)
        return self._forward(route, request, params, claims)

    def _invoke(self, route: Route, request: events.Incoming, params: dict, claims, scopes) -> events.Outgoing:
        if route.payload_format == "1.0":
            event = events.rest_event(route, request, params, claims, self.config.account_id)
        else:
            event = events.http_event(route, request, params, claims, scopes, self.config.account_id)
        try:
            result = lambdas.invoke(self.config, route.function, event)
            out = events.rest_response(result) if route.payload_format == "1.0" else events.http_response(result)
        except (lambdas.LambdaError, events.BadResponse):
            if route.api == REST:
                return _error(502, "Internal server error", request, REST, error_type="InternalServerErrorException")
            return _error(500, "Internal Server Error", request, "http")
        out.headers.append(_request_id_header(route.api, request))
        return out

    def _forward(self, route: Route, request: events.Incoming, params: dict, claims) -> events.Outgoing:
        url = urllib.parse.urlsplit(_upstream_url(route.upstream, request.path, params, request.query))
        headers = {}
        for name, value in request.headers:
            if name.lower() in _HOP_BY_HOP or name.lower() == CLAIMS_HEADER:
                continue
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if claims is not None:
            passed = events.rest_claims(claims) if route.api == REST else events.http_claims(claims)
            headers[CLAIMS_HEADER] = json.dumps(passed, separators=(",", ":"))
        connection_class = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
        connection = connection_class(url.netloc, timeout=self.upstream_timeout)
        target = (url.path or "/") + (f"?{url.query}" if url.query else "")
        try:
            connection.request(request.method, target, body=request.body or None, headers=headers)
            response = connection.getresponse()
            body = response.read()
            out_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            status = response.status
        except (OSError, http.client.HTTPException):
            if route.api == REST:
                return _error(502, "Internal server error", request, REST, error_type="InternalServerErrorException")
            return _error(503, "Service Unavailable", request, "http")
        finally:
            connection.close()
        out_headers.append(_request_id_header(route.api, request))
        return events.Outgoing(status, out_headers, body)


class _Headers:
    """Case-insensitive lookup over the request's header list."""

    def __init__(self, headers: list[tuple[str, str]]) -> None:
        self._headers = headers

    def get(self, name: str, default=None):
        lowered = name.lower()
        return next((v for k, v in self._headers if k.lower() == lowered), default)


def _upstream_url(upstream: str, path: str, params: dict[str, str], query: str) -> str:
    """A URL with a path is the integration's whole URI (its {params} filled in, as API Gateway's
    HTTP_PROXY does); a bare origin (http://host:port) gets the request's path."""
    if urllib.parse.urlsplit(upstream).path.strip("/"):
        url = _PLACEHOLDER.sub(lambda m: urllib.parse.quote(params.get(m.group(1), ""), safe="/"), upstream)
    else:
        url = upstream.rstrip("/") + path
    if query:
        url += ("&" if "?" in url else "?") + query
    return url


def _request_id_header(api: str, request: events.Incoming) -> tuple[str, str]:
    return ("x-amzn-RequestId", request.request_id) if api == REST else ("apigw-requestid", request.request_id)


def _error(status: int, message: str | None, request: events.Incoming, api: str, *, error_type: str | None = None,
           extra: dict[str, str] | None = None) -> events.Outgoing:
    headers = [("Content-Type", "application/json"), _request_id_header(api, request)]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    headers += list((extra or {}).items())
    return events.Outgoing(status, headers, json.dumps({"message": message}).encode())


def make_handler(gateway: Gateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            try:
                body = self._body()
            except ValueError:
                self.send_error(400, "Bad Request", "unreadable request body")
                return
            split = urllib.parse.urlsplit(self.path)
            try:
                received = gateway.verifier.now()
            except Exception:  # the emulator's time only dates the event; the authorizer reports outages
                received = time.time()
            request = events.Incoming(
                method=self.command.upper(), path=split.path or "/", query=split.query,
                headers=list(self.headers.items()), body=body, source_ip=self.client_address[0],
                host=self.headers.get("Host") or f"{self.server.server_address[0]}", request_id=str(uuid.uuid4()),
                received=received)
            try:
                out = gateway.handle(request)
            except Exception:  # nothing escapes as a dropped connection
                self.log_error("gateway error: %r", sys.exc_info()[1])
                out = _error(500, "Internal server error", request, REST if gateway.rest_style else "http")
            self.send_response(out.status)
            for name, value in out.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(out.body)

        def _body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline().strip():  # trailers, up to the blank line
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve  # noqa: N815

        def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
            sys.stderr.write("gateway: " + (format % args) + "\n")

    return Handler


class GatewayServer(ThreadingHTTPServer):
    daemon_threads = True


def start(gateway: Gateway, host: str = "127.0.0.1", port: int = 0) -> GatewayServer:
    """A server for `gateway`, bound (call serve_forever on it)."""
    return GatewayServer((host, port), make_handler(gateway))


# -- the subcommand ---------------------------------------------------------------------------
def build(args: argparse.Namespace) -> Gateway:
    """The Gateway the subcommand's arguments describe; ValueError when they do not fit."""
    if args.data_dir or args.database_url:
        from emulator.service_modules import load_services
        from emulator.store import open_store

        load_services()  # every module declares its tables
        config = Config(data_dir=args.data_dir or ".cognito-emulator", database_url=args.database_url)
        verifier = StoreVerifier(open_store(path=config.database_path, url=config.database_url))
    else:
        verifier = HttpVerifier(args.emulator_url, region=args.region)
    if args.routes:
        api = load_routes_file(args.routes, verifier)
    else:
        from emulator.gateway.template import load_template

        api = load_template(args.template, verifier, region=args.region, account_id=args.account_id)
    for route in api.routes:
        if route.authorizer is not None and args.check_revocation:
            route.authorizer.check_revocation = True
        if route.authorizer is not None and route.authorizer.check_revocation and not verifier.revocation:
            raise ValueError(f"authorizer {route.authorizer.name} checks revocation: that needs the emulator's "
                             "state (--data-dir or --database-url)")
    config = Config(lambda_endpoint=args.lambda_endpoint, config_file=args.config_file,
                    lambda_timeout=args.lambda_timeout, account_id=args.account_id, region=args.region)
    return Gateway(api, verifier, config, upstream_timeout=args.lambda_timeout)


def run(args: argparse.Namespace) -> None:
    try:
        gateway = build(args)
        server = start(gateway, args.host, args.port)
    except (DeclarationError, ValueError, OSError, EmulatorUnreachable) as err:
        sys.exit(f"cognito-emulator gateway: {err}")
    host, port = server.server_address[:2]
    print(f"cognito-emulator gateway listening on http://{host}:{port} ({len(gateway.api.routes)} routes)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
