"""The wire protocols: how a call's input is read from a request and how its answer or error is
written. The dispatcher (protocol.dispatch) does everything else, the same way for each.

`Protocol` is the interface; `JsonProtocol` (JSON 1.1: cognito-idp, cognito-identity) and
`RestJsonProtocol` (cognito-sync) are here, `QueryProtocol` (STS) in protocol.query.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.model import OperationModel
from werkzeug.wrappers import Request, Response

from protocol.body import header_safe, parse_json, read_body
from protocol.errors import ServiceError, common
from protocol.registry import Registry
from protocol.serialize import format_timestamp, serialize_value
from protocol.sigv4 import SignatureError

if TYPE_CHECKING:
    from protocol.router import Route

JSON_CONTENT_TYPES = ("application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json")


class Protocol:
    """One AWS wire protocol, as the dispatcher drives it."""

    name = ""
    # Which fault a request with several is answered with depends on the protocol's front end:
    # strict mode checks a signature before the operation is looked up (query), and credentials
    # are checked before the input is read (rest-json, query) or after (JSON 1.1).
    verify_before_lookup = False
    auth_before_input = False
    auth_status = 400  # the HTTP status of authentication errors

    def parse_input(self, request: Request, route: Route, op_model: OperationModel,
                    max_body_bytes: int) -> dict:
        """The operation's input as plain values named after the model's members (not yet validated)."""
        raise NotImplementedError

    def write_output(self, registry: Registry, op_model: OperationModel, result: dict,
                     request_id: str) -> Response:
        raise NotImplementedError

    def write_error(self, registry: Registry | None, err: ServiceError, status: int,
                    request_id: str) -> Response:
        raise NotImplementedError

    def unknown_operation(self, route: Route, request: Request) -> ServiceError:
        return common.UnknownOperationException(f"Unknown operation {route.target!r}.")

    def not_implemented(self, registry: Registry, op_name: str) -> ServiceError:
        return common.NotImplementedException(
            f"{op_name} ({registry.service_name}) is not implemented by cognito-emulator yet.")

    def missing_authentication(self) -> ServiceError:
        return common.MissingAuthenticationTokenException("Missing Authentication Token", self.auth_status)

    def signature_error(self, err: SignatureError) -> ServiceError:
        return ServiceError(err.code("json"), err.message, self.auth_status)

    def internal_error(self, op_name: str, request_id: str) -> ServiceError:
        return common.InternalErrorException(
            f"Internal error while handling {op_name} (request {request_id}).")


class JsonProtocol(Protocol):
    """JSON 1.1: the operation in X-Amz-Target, its input as the JSON body."""

    name = "json"
    content_type = "application/x-amz-json-1.1"

    def parse_input(self, request: Request, route: Route, op_model: OperationModel,
                    max_body_bytes: int) -> dict:
        if (request.mimetype or "").lower() not in JSON_CONTENT_TYPES:
            raise common.SerializationException(f"Unsupported Content-Type {request.content_type!r}; "
                                                "expected application/x-amz-json-1.1.")
        body = read_body(request, max_body_bytes)
        message = "Start of structure or map found where not expected."
        params = parse_json(body, message) if body.strip() else {}
        if not isinstance(params, dict):
            raise common.SerializationException(message)
        return params

    def write_output(self, registry: Registry, op_model: OperationModel, result: dict,
                     request_id: str) -> Response:
        payload = serialize_value(op_model.output_shape, result) if op_model.output_shape else {}
        return Response(json.dumps(payload), 200, content_type=self.content_type)

    def error_body(self, err: ServiceError) -> dict:
        return {"__type": err.code, "message": err.message}

    def write_error(self, registry: Registry | None, err: ServiceError, status: int,
                    request_id: str) -> Response:
        response = Response(json.dumps(self.error_body(err)), status, content_type=self.content_type)
        response.headers["x-amzn-ErrorType"] = err.code
        if err.message:
            response.headers["x-amzn-ErrorMessage"] = header_safe(err.message)
        return response


class RestJsonProtocol(JsonProtocol):
    """rest-json: the operation from method and path, its input from the path, query string,
    headers and JSON body as the model's bindings say."""

    name = "rest-json"
    content_type = "application/json"
    auth_before_input = True
    auth_status = 403

    def parse_input(self, request: Request, route: Route, op_model: OperationModel,
                    max_body_bytes: int) -> dict:
        shape = op_model.input_shape
        if shape is None:
            return {}
        params: dict[str, Any] = {}
        body_members = {}
        for name, member in shape.members.items():
            loc = member.serialization.get("location")
            wire = member.serialization.get("name", name)
            if loc == "uri":
                if wire in route.path_params:
                    params[name] = route.path_params[wire]
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
                message = "Could not parse request body into json."
                body = parse_json(raw, message)
                if not isinstance(body, dict):
                    raise common.SerializationException(message)
                for wire, name in body_members.items():
                    if wire in body:
                        params[name] = body[wire]
        return params

    def write_output(self, registry: Registry, op_model: OperationModel, result: dict,
                     request_id: str) -> Response:
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
        response = Response(json.dumps(payload), status, content_type=self.content_type)
        for k, v in headers.items():
            response.headers[k] = v
        return response

    def error_body(self, err: ServiceError) -> dict:
        # rest-json clients read `Message`; JSON 1.1 ones `message`.
        return {"__type": err.code, "message": err.message, "Message": err.message}


def _from_text(shape, text: str) -> Any:
    t = shape.type_name
    if t in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise common.SerializationException(f"Unable to parse '{text}' as {t}.") from None
    if t == "boolean":
        return text.lower() == "true"
    return text


JSON = JsonProtocol()
REST_JSON = RestJsonProtocol()
