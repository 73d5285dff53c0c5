"""create_app(config): one WSGI application serving every surface of the emulator.

One routing decision (protocol.router, through the dispatcher): API requests (X-Amz-Target for
JSON 1.1, an `Action=` form or an STS signature for the query protocol, a cognito-sync method and
path for rest-json) go to the protocol dispatcher; everything else (dev endpoints, well-known
documents, OAuth pages) to `surfaces` and then a Flask app whose errors are JSON as well.
"""

from __future__ import annotations

import contextlib
import io
import logging
import time
from collections.abc import Callable, Iterator

from flask import Flask, jsonify
from werkzeug.datastructures import Headers
from werkzeug.exceptions import ClientDisconnected, HTTPException, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from emulator import console, deferred, devtools, mail, signing, throttling
from emulator.clock import Clock, UnitClock
from emulator.config import Config, from_environment
from emulator.context import Context
from emulator.flaskapp import FlaskApp
from emulator.service_modules import load_services
from emulator.store import WriteNeeded, open_store
from protocol.body import body_error, read_body, too_large
from protocol.dispatch import Call, Dispatcher
from protocol.errors import ServiceError
from protocol.protocols import JSON
from protocol.registry import Registry
from protocol.sigv4 import Caller

log = logging.getLogger("cognito_emulator")


CORS_ALLOW_HEADERS = ", ".join([
    "Authorization", "Content-Type", "X-Amz-Target", "X-Amz-User-Agent", "X-Amz-Date",
    "X-Amz-Security-Token", "X-Amz-Content-Sha256", "X-Amz-Client-Context", "amz-sdk-invocation-id",
    "amz-sdk-request", "Cache-Control", "X-Requested-With",
])
CORS_EXPOSE_HEADERS = "x-amzn-RequestId, x-amzn-ErrorType, x-amzn-ErrorMessage, Date"

# Operations named so read state only (a few write after all: Emulator._invoke learns which).
READING_PREFIXES = ("Get", "List", "Describe", "AdminGet", "AdminList", "Lookup")

# A function tried, in order, for a request no API route claims (before the Flask app): its Response,
# or None to pass the request on.
Surface = Callable[[Request], Response | None]

class Emulator:
    """The whole emulator: store, clock, services and the WSGI entry point."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.clock = Clock()
        self.services = load_services()
        self.store = open_store(path=config.database_path, url=config.database_url)
        with self.store.transaction() as db:
            self.clock.load(db)
        # --smtp: emails also go to an SMTP server (None without it); a bad address stops the start.
        self.mailer = mail.from_config(config, self.store)
        # Operations seen writing although their names say they read (see _invoke).
        self._writers: set[str] = set()
        # The Cognito services (the health document lists these); STS is added by its module.
        self.registries: list[Registry] = [s.registry for s in self.services]
        # Strict mode (--verify-signatures): None when signatures are not checked.
        self.signature_verifier = signing.verifier(self)
        self.dispatcher = Dispatcher(self.registries, self._invoke, self._count_error,
                                     verifier=self.signature_verifier,
                                     max_body_bytes=config.max_request_bytes)
        self.surfaces: list[Surface] = []
        # Paths that take larger bodies than API calls (path prefix -> bytes), e.g. CSV uploads.
        self.body_limits: dict[str, int] = {}
        # Checks run inside an operation's transaction before its handler, e.g. refusing writes
        # to a pool under recovery: fn(ctx, params) raising a ServiceError to refuse.
        self.before_invoke: list[Callable[[Context, dict], None]] = []
        # Told of every API call once its response is written (the console's API log):
        # fn(route, response, seconds); each must be cheap and never raise.
        self.call_observers: list[Callable[[object, Response, float], None]] = []
        # Run by reset() after the state is gone, e.g. the console's logs: fn() -> None.
        self.on_reset: list[Callable[[], None]] = []
        self.flask = FlaskApp("cognito_emulator")
        self.flask.config["JSON_SORT_KEYS"] = False
        _json_errors(self.flask, self._count_error)
        devtools.install(self)
        for service in self.services:
            for module in service.modules:
                install = getattr(module, "install", None)
                if install:
                    install(self)
        throttling.install(self)  # --throttle aws: AWS's request-rate quotas, checked before the others
        console.install(self)  # the web console at /_emulator/console, its API and trigger logs

    def add_service(self, registry: Registry) -> None:
        """Serve another AWS API on the emulator's port through the same dispatcher (e.g. STS)."""
        self.dispatcher.add_service(registry)

    # -- units of work ----------------------------------------------------------------
    @contextlib.contextmanager
    def unit_of_work(self, request: Request | None = None, *, operation: str = "-", service: str = "emulator",
                     caller: Caller | None = None, request_id: str = "-", write: bool = True) -> Iterator[Context]:
        """One transaction with the clock loaded and a Context over it: every API call, page and
        dev endpoint works inside one. Hooks the work queued in `ctx.after_commit` run once it
        has committed (and not at all when it fails). A reading one (`write=False`) raises
        WriteNeeded at its first write."""
        after: list[Callable[[], None]] = []
        with self.store.transaction(write=write) as db:
            clock = UnitClock(self.store, db)  # this unit's reading of the shared clock
            try:
                yield Context(db=db, clock=clock, config=self.config, caller=caller or Caller(signed=False),
                              service=service, operation=operation, request_id=request_id, request=request,
                              emulator=self, after_commit=after)
            finally:
                clock.detach()
        for hook in after:
            try:
                hook()
            except Exception:
                log.exception("after-commit hook failed")

    def _invoke(self, call: Call, handler):
        # Operations whose names say they read run without the write lock, in parallel with
        # everything else; one that writes after all is run again as a writer (and from then on).
        write = call.operation in self._writers or not call.operation.startswith(READING_PREFIXES)
        try:
            return self._run(call, handler, write)
        except WriteNeeded:
            if write:
                raise
            self._writers.add(call.operation)
            return self._run(call, handler, True)

    def _run(self, call: Call, handler, write: bool):
        with self.unit_of_work(call.request, operation=call.operation, service=call.registry.service_name,
                               caller=call.caller, request_id=call.request_id, write=write) as ctx:
            for check in self.before_invoke:
                check(ctx, call.params)
            output = handler(ctx, call.params)
        return deferred.resolve(output)  # signatures are made after the commit, outside the write lock

    def reset(self) -> None:
        """Delete all state (every region and account) and put the clock back."""
        self.store.reset()
        self.clock.reset()
        for hook in self.on_reset:
            hook()

    @property
    def internal_errors(self) -> int:
        """Internal errors answered since the state was created, by every worker and node."""
        return self.store.counter("internal_errors")

    def _count_error(self) -> None:
        self.store.count("internal_errors")

    def base_url(self, request: Request | None) -> str:
        if self.config.public_url:
            return self.config.public_url.rstrip("/")
        if request is None:
            return f"http://{self.config.host}:{self.config.port}"
        return request.host_url.rstrip("/")

    # -- WSGI ------------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        try:
            response = self._respond(request, environ, self._body_limit(request.path))
        except ServiceError as err:  # a body over the limit or unreadable, before any surface read it
            response = self.dispatcher.error_response(None, err, JSON, "-")
        except Exception:
            response = self._internal_error()
        if not isinstance(response, Response):  # a WSGI app (the Flask surfaces)
            return response(environ, start_response)
        _add_cors(request, response.headers)
        return response(environ, start_response)

    def _body_limit(self, path: str) -> int:
        for prefix, limit in self.body_limits.items():
            if path.startswith(prefix):
                return limit
        return self.config.max_request_bytes

    def _respond(self, request: Request, environ, limit: int):
        """The Response for `request`, or the WSGI app (Flask) that answers it."""
        if request.content_length is not None and request.content_length > limit:
            read_body(request, limit)  # raises the 413 without reading the body
        streamed = request.content_length is None and environ.get("wsgi.input_terminated")
        if self.signature_verifier is not None or streamed:
            # Read once, bounded: the signed body stays readable after form parsing, and the
            # Flask pages see a streamed (chunked) body whole or not at all.
            body = read_body(request, limit)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        if request.method == "OPTIONS":
            return Response("", 200)
        try:  # routing reads a query form; a surface may read the body
            route = self.dispatcher.route(request)
            if route is not None:
                if not self.call_observers:
                    return self.dispatcher.serve(request, route)
                started = time.perf_counter()
                response = self.dispatcher.serve(request, route)
                for observe in self.call_observers:
                    observe(route, response, time.perf_counter() - started)
                return response
            for surface in self.surfaces:
                response = surface(request)
                if response is not None:
                    return response
        except RequestEntityTooLarge:
            raise too_large(None, limit) from None
        except ClientDisconnected:
            raise body_error("The request body ended before its Content-Length.") from None
        return self._with_cors(request, self.flask.wsgi_app)

    def _internal_error(self) -> Response:
        """Whatever escaped every other handler: logged with its trace, counted, answered as JSON."""
        log.exception("internal error outside any operation")
        self._count_error()
        response = Response('{"__type": "InternalErrorException", "message": "Internal error."}', 500,
                            content_type="application/x-amz-json-1.1")
        response.headers["x-amzn-ErrorType"] = "InternalErrorException"
        return response

    def _with_cors(self, request: Request, app):
        def wrapped(environ, start_response):
            def start(status, headers, exc_info=None):
                extra = Headers()
                _add_cors(request, extra)
                return start_response(status, headers + extra.to_wsgi_list(), exc_info)
            return app(environ, start)
        return wrapped


CORS_METHODS = "GET, POST, PUT, DELETE, PATCH, OPTIONS, HEAD"
_CORS_FOR_ANY_ORIGIN = [("Access-Control-Allow-Origin", "*"), ("Access-Control-Allow-Methods", CORS_METHODS),
                        ("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS),
                        ("Access-Control-Expose-Headers", CORS_EXPOSE_HEADERS), ("Access-Control-Max-Age", "86400")]


def _add_cors(request: Request, headers) -> None:
    origin = request.headers.get("Origin")
    requested = request.headers.get("Access-Control-Request-Headers")
    if not origin and not requested:
        headers.extend(_CORS_FOR_ANY_ORIGIN)  # the common case, half the cost of setting each
        return
    headers["Access-Control-Allow-Origin"] = origin or "*"
    if origin:
        headers["Access-Control-Allow-Credentials"] = "true"
        headers["Vary"] = "Origin"
    headers["Access-Control-Allow-Methods"] = CORS_METHODS
    headers["Access-Control-Allow-Headers"] = (CORS_ALLOW_HEADERS + ", " + requested) if requested \
        else CORS_ALLOW_HEADERS
    headers["Access-Control-Expose-Headers"] = CORS_EXPOSE_HEADERS
    headers["Access-Control-Max-Age"] = "86400"


def _json_errors(app: Flask, count_error) -> None:
    @app.errorhandler(HTTPException)
    def _http_error(err: HTTPException):
        name = {404: "NotFound", 405: "MethodNotAllowed", 400: "BadRequest",
                413: "RequestEntityTooLargeException"}.get(err.code, "Error")
        response = jsonify({"__type": name, "message": err.description})
        response.status_code = err.code or 500
        return response

    @app.errorhandler(Exception)
    def _unexpected(err: Exception):
        log.exception("internal error")
        count_error()
        response = jsonify({"__type": "InternalErrorException", "message": "Internal error."})
        response.status_code = 500
        return response


def create_app(config: Config | None = None) -> Emulator:
    """The emulator's WSGI application for `config` (defaults from the environment)."""
    return Emulator(config or from_environment())
