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

from werkzeug.wrappers import Request, Response

from protocol.errors import ServiceError
from protocol.model import error_status
from protocol.registry import Registry
from protocol.serialize import format_timestamp, serialize_value
from protocol.sigv4 import Caller, SignatureError, Verifier, read_caller
from protocol.validate import validate_input

log = logging.getLogger("cognito_emulator.api")

JSON_CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json")


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
                 verifier: Verifier | None = None) -> None:
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
            body = request.get_data(cache=True)
            try:
                params = json.loads(body) if body.strip() else {}
            except (ValueError, UnicodeDecodeError):
                raise ServiceError("SerializationException",
                                   "Start of structure or map found where not expected.", 400) from None
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
            params = _rest_input(op_model, request, path_params)
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
            response.headers["x-amzn-ErrorMessage"] = _header_safe(err.message)
        response.headers["x-amzn-RequestId"] = request_id
        for k, v in err.headers.items():
            response.headers[k] = v
        return response

    def _internal_error(self, registry, op_name, protocol, request_id) -> Response:
        log.error("internal error in %s %s (request %s)\n%s",
                  registry.service_name if registry else "?", op_name, request_id,
                  traceback.format_exc())
        self.on_internal_error()
        return self.error_response(registry, ServiceError(
            "InternalErrorException", f"Internal error while handling {op_name} (request {request_id}).",
            500), protocol, request_id)


def _header_safe(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")[:1024]


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


def _rest_input(op_model, request: Request, path_params: dict) -> dict:
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
        raw = request.get_data(cache=True)
        if raw.strip():
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise ServiceError("SerializationException", "Could not parse request body into json.",
                                   400) from None
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
