"""From an HTTP request to a handler call and back, the same way for every protocol.

`Dispatcher.route` finds the service and operation (protocol.router); `Dispatcher.serve` runs the
call: request id, operation lookup, authentication, input (read by the protocol), validation,
the handler, the answer or error (written by the protocol), timing and logging.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from botocore.model import OperationModel
from werkzeug.wrappers import Request, Response

from protocol.body import MAX_BODY_BYTES, header_safe
from protocol.errors import ServiceError, common
from protocol.model import error_status
from protocol.protocols import JSON, Protocol
from protocol.registry import Registry
from protocol.router import Route, Router
from protocol.sigv4 import Caller, SignatureError, Verifier, read_caller
from protocol.validate import validate_input

log = logging.getLogger("cognito_emulator.api")


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
    unless their SigV4 signature is right. Services are added with `add_service`
    (their protocol comes from their model: JSON 1.1, rest-json or query).
    """

    def __init__(self, services: Iterable[Registry], invoke: Invoker,
                 on_internal_error: Callable[[], None] | None = None,
                 verifier: Verifier | None = None, max_body_bytes: int = MAX_BODY_BYTES) -> None:
        self.max_body_bytes = max_body_bytes
        self.invoke = invoke
        self.on_internal_error = on_internal_error or (lambda: None)
        self.verifier = verifier
        self.router = Router()
        for registry in services:
            self.add_service(registry)

    def add_service(self, registry: Registry) -> None:
        """Serve `registry`'s operations."""
        self.router.add(registry)

    def route(self, request: Request) -> Route | None:
        """The API operation `request` is for; None when it is no API call."""
        return self.router.route(request)

    def handle(self, request: Request) -> Response:
        """Route and serve `request`; an unrouted request is answered UnknownOperationException."""
        route = self.route(request)
        if route is not None:
            return self.serve(request, route)
        return self.error_response(None, common.UnknownOperationException(
            f"No operation matches {request.method} {request.path}", 404), JSON, str(uuid.uuid4()))

    # -- the call ------------------------------------------------------------------------------------
    def serve(self, request: Request, route: Route) -> Response:
        """Run the call `route` names and answer it in the route's protocol."""
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        proto, registry, op_name = route.protocol, route.registry, route.operation
        try:
            caller = read_caller(request.headers, request.args)
            op_model = self._operation_model(route)
            verified = proto.verify_before_lookup and self._verify(registry, op_model, request, caller, proto)
            if op_model is None:
                raise proto.unknown_operation(route, request)
            handler = registry.get(op_name)
            if handler is None:
                raise proto.not_implemented(registry, op_name)
            if proto.auth_before_input:
                self._authenticate(registry, op_model, request, caller, proto, verified)
            params = proto.parse_input(request, route, op_model, self.max_body_bytes)
            if not proto.auth_before_input:
                self._authenticate(registry, op_model, request, caller, proto, verified)
            params = validate_input(op_model.input_shape, params, registry.validation_error,
                                    registry.pattern_exemptions(op_name))
            result = self.invoke(Call(registry, op_name, params, caller, request, request_id), handler)
            response = proto.write_output(registry, op_model, result or {}, request_id)
        except ServiceError as err:
            response = self.error_response(registry, err, proto, request_id)
        except Exception:
            response = self._internal_error(registry, op_name, proto, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        _log_call(registry.service_name if registry else "?", op_name, response.status_code, started)
        return response

    @staticmethod
    def _operation_model(route: Route) -> OperationModel | None:
        registry = route.registry
        if registry is None or route.operation not in registry.model.operation_names:
            return None
        return registry.model.operation_model(route.operation)

    # -- authentication ------------------------------------------------------------------------------
    def _authenticate(self, registry: Registry, op_model: OperationModel, request: Request, caller: Caller,
                      proto: Protocol, verified: bool) -> None:
        """Refuse an unsigned call to an operation that needs a signature, and in strict mode a
        wrong signature."""
        if not _needs_signature(op_model):
            return
        if not caller.signed and not (self.verifier is not None and request.headers.get("Authorization")):
            raise proto.missing_authentication()
        if not verified:
            self._verify(registry, op_model, request, caller, proto)

    def _verify(self, registry: Registry, op_model: OperationModel | None, request: Request, caller: Caller,
                proto: Protocol) -> bool:
        """Strict mode: check the signature of a signed request (an unknown operation needs one).
        True when it was checked."""
        if self.verifier is None or (op_model is not None and not _needs_signature(op_model)):
            return False
        if not caller.signed and not request.headers.get("Authorization"):
            return False
        metadata = registry.model.metadata
        try:
            self.verifier.verify(request, metadata.get("signingName") or metadata.get("endpointPrefix"))
        except SignatureError as err:
            raise proto.signature_error(err) from None
        return True

    # -- errors --------------------------------------------------------------------------------------
    def error_response(self, registry: Registry | None, err: ServiceError, proto: Protocol,
                       request_id: str) -> Response:
        """`err` as `proto` writes errors; its status from the model when it names none."""
        status = err.status
        if status is None:
            status = error_status(registry.model, err.code) if registry else 400
        response = proto.write_error(registry, err, status, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        for k, v in err.headers.items():
            response.headers[k] = header_safe(v)
        return response

    def _internal_error(self, registry: Registry | None, op_name: str, proto: Protocol,
                        request_id: str) -> Response:
        log.error("internal error in %s %s (request %s)\n%s",
                  registry.service_name if registry else "?", op_name, request_id,
                  traceback.format_exc())
        self.on_internal_error()
        return self.error_response(registry, proto.internal_error(op_name, request_id), proto, request_id)


def _needs_signature(op_model: OperationModel) -> bool:
    return not (op_model.auth_type == "none" or "smithy.api#noAuth" in (op_model.auth or []))


def _log_call(service: str, op: str, status: int, started: float) -> None:
    log.info("%s %s %s %.1fms", service, op or "-", status, (time.perf_counter() - started) * 1000)
