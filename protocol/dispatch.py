"""From an HTTP request to a handler call and back, for JSON 1.1 and rest-json."""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import re
import time
import traceback
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request, Response

from protocol.errors import ServiceError
from protocol.model import error_status
from protocol.registry import Registry
from protocol.serialize import format_timestamp, serialize_value
from protocol.sigv4 import Caller, SignatureError, Verifier, read_caller
from protocol.validate import validate_input

log = logging.getLogger("cognito_emulator.api")

JSON_CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json")

# A body nested deeper than this cannot match any shape of these services; refusing it early keeps
# the parser and every walk over the value far from Python's recursion limit.
MAX_JSON_DEPTH = 100
# The default body limit: a trigger's event (which carries ClientMetadata) cannot exceed Lambda's
# 6 MB synchronous payload, and no other member of these APIs comes near it.
MAX_BODY_BYTES = 6 * 1024 * 1024


def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing one over `limit` bytes without reading the rest.

    Read in small pieces: one large read of a streamed body leaves body-sized blocks behind in
    the allocator, so memory would grow with every oversized request.
    """
    if request.content_length is not None and request.content_length > limit:
        raise too_large(request.content_length, limit)
    cached = getattr(request, "_cached_data", None)
    if cached is not None:
        return cached
    request.max_content_length = None  # the loop below enforces the limit
    pieces: list[bytes] = []
    size = 0
    try:
        stream = request.stream
        while piece := stream.read(_READ_SIZE):
            size += len(piece)
            if size > limit:
                raise too_large(None, limit)
            pieces.append(piece)
    except ClientDisconnected:
        raise body_error("The request body ended before its Content-Length.") from None
    except (OSError, ValueError):  # e.g. a malformed chunk header
        raise body_error("The request body is not valid HTTP chunked encoding.") from None
    body = b"".join(pieces)
    request._cached_data = body  # werkzeug's cache: get_data() answers it from here on
    return body


_READ_SIZE = 64 * 1024


def body_error(message: str) -> ServiceError:
    """A body that could not be read as the request framed it."""
    return ServiceError("SerializationException", message, 400, headers={"Connection": "close"})


def too_large(size: int | None, limit: int) -> ServiceError:
    """The answer to a body over `limit` bytes (`size` when the request said it)."""
    told = f"Request body of {size} bytes" if size is not None else "Request body"
    return ServiceError("RequestEntityTooLargeException", f"{told} exceeds the maximum of {limit} bytes.", 413,
                        headers={"Connection": "close"})


def parse_json(raw: bytes, message: str) -> Any:
    """JSON from a request body; SerializationException(`message`) when it is not JSON or is
    nested deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ServiceError("SerializationException", message, 400) from None
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise ServiceError("SerializationException", message, 400)
    return value


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")  # NaN and Infinity: Python's parser would take them


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


@dataclasses.dataclass
class Call:
    """One API call, as the handler's invoker sees it."""

    registry: Registry
    operation: str
    params: dict
    caller: Caller
    request: Request
    request_id: str


Invoker = Callable[[Call, Callable[[Any, dict], Any]], dict | None]


class Dispatcher:
    """Routes API requests to registered handlers through `invoke`.

    `invoke(call, handler)` runs the handler (the emulator wraps it in a store
    transaction and gives it a context); this class does everything on the wire.
    With a `verifier` (strict mode), operations that need a signature are refused
    unless their SigV4 signature is right.
    """

    def __init__(self, json_services: dict[str, Registry], rest_services: list[Registry],
                 invoke: Invoker, on_internal_error: Callable[[], None] | None = None,
                 verifier: Verifier | None = None, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_body_bytes = max_body_bytes
        self.json_services = json_services
        self.rest_services = rest_services
        self.invoke = invoke
        self.on_internal_error = on_internal_error or (lambda: None)
        self.verifier = verifier

    # -- routing -------------------------------------------------------------------
    def is_json_api(self, request: Request) -> bool:
        return bool(request.headers.get("X-Amz-Target"))

    def match_rest(self, request: Request) -> tuple[Registry, str, dict] | None:
        for registry in self.rest_services:
            found = _rest_routes(registry).match(request.method, request.path)
            if found:
                return (registry, *found)
        return None

    def handle(self, request: Request) -> Response:
        if self.is_json_api(request):
            return self._handle_json(request)
        rest = self.match_rest(request)
        if rest is not None:
            return self._handle_rest(request, *rest)
        return self.error_response(None, ServiceError(
            "UnknownOperationException", f"No operation matches {request.method} {request.path}", 404),
            "json", str(uuid.uuid4()))

    # -- JSON 1.1 ------------------------------------------------------------------
    def _handle_json(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        target = request.headers.get("X-Amz-Target", "")
        prefix, _, op_name = target.rpartition(".")
        registry = self.json_services.get(prefix)
        service = registry.service_name if registry else "?"
        try:
            if registry is None or op_name not in registry.model.operation_names:
                raise ServiceError("UnknownOperationException",
                                   f"Unknown operation {target!r}.", 400)
            handler = registry.get(op_name)
            if handler is None:
                raise _not_implemented(registry, op_name)
            ctype = (request.mimetype or "").lower()
            if ctype not in JSON_CONTENT_TYPES:
                raise ServiceError("SerializationException",
                                   f"Unsupported Content-Type {request.content_type!r}; "
                                   "expected application/x-amz-json-1.1.", 400)
            body = read_body(request, self.max_body_bytes)
            params = parse_json(body, "Start of structure or map found where not expected.") \
                if body.strip() else {}
            if not isinstance(params, dict):
                raise ServiceError("SerializationException",
                                   "Start of structure or map found where not expected.", 400)
            op_model = registry.model.operation_model(op_name)
            caller = read_caller(request.headers, request.args)
            self._check_auth(registry, op_model, request, caller, 400)
            params = validate_input(op_model.input_shape, params, registry.validation_error,
                                    registry.pattern_exemptions(op_name))
            result = self.invoke(Call(registry, op_name, params, caller, request, request_id), handler)
            payload = serialize_value(op_model.output_shape, result or {}) if op_model.output_shape else {}
            response = Response(json.dumps(payload), 200, content_type="application/x-amz-json-1.1")
        except ServiceError as err:
            response = self.error_response(registry, err, "json", request_id)
        except Exception:
            response = self._internal_error(registry, op_name, "json", request_id)
        response.headers["x-amzn-RequestId"] = request_id
        _log_call(service, op_name, response.status_code, started)
        return response

    # -- rest-json -----------------------------------------------------------------
    def _handle_rest(self, request: Request, registry: Registry, op_name: str,
                     path_params: dict) -> Response:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        try:
            handler = registry.get(op_name)
            if handler is None:
                raise _not_implemented(registry, op_name)
            op_model = registry.model.operation_model(op_name)
            caller = read_caller(request.headers, request.args)
            self._check_auth(registry, op_model, request, caller, 403)
            params = _rest_input(op_model, request, path_params, self.max_body_bytes)
            params = validate_input(op_model.input_shape, params, registry.validation_error,
                                    registry.pattern_exemptions(op_name))
            result = self.invoke(Call(registry, op_name, params, caller, request, request_id), handler) or {}
            response = _rest_output(op_model, result)
        except ServiceError as err:
            response = self.error_response(registry, err, "rest-json", request_id)
        except Exception:
            response = self._internal_error(registry, op_name, "rest-json", request_id)
        response.headers["x-amzn-RequestId"] = request_id
        _log_call(registry.service_name, op_name, response.status_code, started)
        return response

    # -- authentication ------------------------------------------------------------
    def _check_auth(self, registry: Registry, op_model, request: Request, caller: Caller,
                    status: int) -> None:
        if op_model.auth_type == "none" or "smithy.api#noAuth" in (op_model.auth or []):
            return
        strict = self.verifier is not None
        if not caller.signed and not (strict and request.headers.get("Authorization")):
            raise ServiceError("MissingAuthenticationTokenException", "Missing Authentication Token", status)
        if strict:
            metadata = registry.model.metadata
            try:
                self.verifier.verify(request, metadata.get("signingName") or metadata.get("endpointPrefix"))
            except SignatureError as err:
                raise ServiceError(err.code("json"), err.message, status) from None

    # -- errors --------------------------------------------------------------------
    def error_response(self, registry: Registry | None, err: ServiceError, protocol: str,
                       request_id: str) -> Response:
        status = err.status
        if status is None:
            status = error_status(registry.model, err.code) if registry else 400
        body = {"__type": err.code, "message": err.message}
        if protocol == "rest-json":
            body["Message"] = err.message
        response = Response(json.dumps(body), status,
                            content_type="application/x-amz-json-1.1" if protocol == "json"
                            else "application/json")
        response.headers["x-amzn-ErrorType"] = err.code
        if err.message:
            response.headers["x-amzn-ErrorMessage"] = header_safe(err.message)
        response.headers["x-amzn-RequestId"] = request_id
        for k, v in err.headers.items():
            response.headers[k] = header_safe(v)
        return response

    def _internal_error(self, registry, op_name, protocol, request_id) -> Response:
        log.error("internal error in %s %s (request %s)\n%s",
                  registry.service_name if registry else "?", op_name, request_id,
                  traceback.format_exc())
        self.on_internal_error()
        return self.error_response(registry, ServiceError(
            "InternalErrorException", f"Internal error while handling {op_name} (request {request_id}).",
            500), protocol, request_id)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_safe(text: str) -> str:
    """A value that may go into an HTTP header: Latin-1, no control characters (CR, LF, NUL
    would break the header), at most 1024 characters."""
    return _CONTROL.sub(" ", text[:1024].encode("latin-1", "replace").decode("latin-1"))


def _not_implemented(registry: Registry, op_name: str) -> ServiceError:
    return ServiceError(
        "NotImplementedException",
        f"{op_name} ({registry.service_name}) is not implemented by cognito-emulator yet.", 400)


def _log_call(service: str, op: str, status: int, started: float) -> None:
    log.info("%s %s %s %.1fms", service, op or "-", status, (time.perf_counter() - started) * 1000)


# -- rest-json routing and bindings ---------------------------------------------------
class _Routes:
    def __init__(self, registry: Registry) -> None:
        routes = []
        for op in registry.model.operation_names:
            http = registry.model.operation_model(op).http
            uri = http["requestUri"].split("?", 1)[0]
            names = []
            regex_parts = []
            for piece in re.split(r"(\{[^}]+\})", uri):
                if piece.startswith("{"):
                    name = piece[1:-1]
                    greedy = name.endswith("+")
                    name = name.rstrip("+")
                    names.append(name)
                    regex_parts.append(f"(?P<{name}>.+)" if greedy else f"(?P<{name}>[^/]+)")
                else:
                    regex_parts.append(re.escape(piece))
            literal = len(re.sub(r"\{[^}]+\}", "", uri))
            routes.append((http["method"].upper(), re.compile("^" + "".join(regex_parts) + "/?$"),
                           literal, op))
        routes.sort(key=lambda r: -r[2])
        self.routes = routes

    def match(self, method: str, path: str) -> tuple[str, dict] | None:
        for m, rx, _lit, op in self.routes:
            if m != method.upper():
                continue
            found = rx.match(path)
            if found:
                return op, {k: unquote(v) for k, v in found.groupdict().items()}
        return None


@functools.cache
def _rest_routes(registry: Registry) -> _Routes:
    return _Routes(registry)


def _rest_input(op_model, request: Request, path_params: dict, max_body_bytes: int) -> dict:
    shape = op_model.input_shape
    if shape is None:
        return {}
    params: dict[str, Any] = {}
    body_members = {}
    for name, member in shape.members.items():
        loc = member.serialization.get("location")
        wire = member.serialization.get("name", name)
        if loc == "uri":
            if wire in path_params:
                params[name] = path_params[wire]
        elif loc == "querystring":
            if wire in request.args:
                params[name] = _from_text(member, request.args[wire])
        elif loc == "header":
            if wire in request.headers:
                params[name] = _from_text(member, request.headers[wire])
        else:
            body_members[wire] = name
    if body_members:
        raw = read_body(request, max_body_bytes)
        if raw.strip():
            body = parse_json(raw, "Could not parse request body into json.")
            if not isinstance(body, dict):
                raise ServiceError("SerializationException", "Could not parse request body into json.", 400)
            for wire, name in body_members.items():
                if wire in body:
                    params[name] = body[wire]
    return params


def _from_text(shape, text: str) -> Any:
    t = shape.type_name
    if t in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise ServiceError("SerializationException",
                               f"Unable to parse '{text}' as {t}.", 400) from None
    if t == "boolean":
        return text.lower() == "true"
    return text


def _rest_output(op_model, result: dict) -> Response:
    shape = op_model.output_shape
    status = int(op_model.http.get("responseCode", 200))
    headers = {}
    payload = {}
    if shape is not None:
        for name, member in shape.members.items():
            loc = member.serialization.get("location")
            if loc == "header" and result.get(name) is not None:
                value = result[name]
                if member.type_name == "timestamp":
                    value = format_timestamp(value, "rfc822")
                headers[member.serialization.get("name", name)] = str(value)
            elif loc == "statusCode" and result.get(name) is not None:
                status = int(result[name])
        payload = serialize_value(shape, result)
    response = Response(json.dumps(payload), status, content_type="application/json")
    for k, v in headers.items():
        response.headers[k] = v
    return response
