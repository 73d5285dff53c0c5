"""The query protocol (STS): the action and its input as form fields (POST) or query parameters
(GET), named as botocore's QuerySerializer names them (`Name`, `Name.member.N`, `Name.entry.N.key`,
`Parent.Child`); answers and errors as AWS's query-protocol XML:

    <ActionResponse xmlns="..."><ActionResult>...</ActionResult>
      <ResponseMetadata><RequestId>...</RequestId></ResponseMetadata></ActionResponse>
    <ErrorResponse xmlns="..."><Error><Type>Sender</Type><Code>...</Code><Message>...</Message></Error>
      <RequestId>...</RequestId></ErrorResponse>
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

from botocore.model import OperationModel, Shape
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.wrappers import Request, Response

from protocol.body import body_error, too_large
from protocol.errors import ServiceError, query_common
from protocol.protocols import Protocol
from protocol.registry import Registry
from protocol.serialize import format_timestamp
from protocol.sigv4 import SignatureError
from protocol.validate import JAVA_NAME, JAVA_RANGE

if TYPE_CHECKING:
    from protocol.router import Route

_MISSING = object()


def form_values(request: Request, max_body_bytes: int) -> MultiDict:
    """The request's fields: the form of a POST, the query string otherwise."""
    if request.method != "POST":
        return request.args
    try:
        return request.form
    except RequestEntityTooLarge:
        raise too_large(None, max_body_bytes) from None
    except ClientDisconnected:
        raise body_error("The request body ended before its Content-Length.") from None


class QueryProtocol(Protocol):
    name = "query"
    # The query front end checks a signature first, even for an unknown action.
    verify_before_lookup = True
    auth_before_input = True
    auth_status = 403

    def parse_input(self, request: Request, route: Route, op_model: OperationModel,
                    max_body_bytes: int) -> dict:
        shape = op_model.input_shape
        if shape is None:
            return {}
        reader = _FormReader(form_values(request, max_body_bytes), route.registry.validation_error)
        return reader.read(shape, "", "")

    def write_output(self, registry: Registry, op_model: OperationModel, result: dict,
                     request_id: str) -> Response:
        shape = op_model.output_shape
        action = op_model.name
        result_xml = ""
        if shape is not None:
            wrapper = shape.serialization.get("resultWrapper") or f"{action}Result"
            result_xml = f"<{wrapper}>{_members_xml(shape, result)}</{wrapper}>"
        body = (f'<{action}Response xmlns="{_namespace(registry)}">{result_xml}'
                f"<ResponseMetadata><RequestId>{escape(request_id)}</RequestId></ResponseMetadata>"
                f"</{action}Response>")
        return Response(body, 200, content_type="text/xml")

    def write_error(self, registry: Registry | None, err: ServiceError, status: int,
                    request_id: str) -> Response:
        namespace = f' xmlns="{_namespace(registry)}"' if registry is not None else ""
        body = (f"<ErrorResponse{namespace}><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type>"
                f"<Code>{escape(err.code)}</Code><Message>{escape(err.message)}</Message></Error>"
                f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>")
        return Response(body, status, content_type="text/xml")

    def unknown_operation(self, route: Route, request: Request) -> ServiceError:
        values = request.form if request.method == "POST" else request.args
        version = values.get("Version") or route.registry.model.metadata.get("apiVersion", "")
        return query_common.InvalidAction(f"Could not find operation {route.target or '(none)'} for version {version}")

    def not_implemented(self, registry: Registry, op_name: str) -> ServiceError:
        handled = [op for op, has in registry.coverage() if has]
        listed = " and ".join([", ".join(handled[:-1]), handled[-1]] if len(handled) > 1 else handled)
        return query_common.NotImplemented(
            f"{registry.service_name.upper()} action {op_name} is not implemented by cognito-emulator; "
            f"only {listed} {'are' if len(handled) > 1 else 'is'}.")

    def missing_authentication(self) -> ServiceError:
        return query_common.MissingAuthenticationToken("Request is missing Authentication Token")

    def signature_error(self, err: SignatureError) -> ServiceError:
        return query_common.get(err.code("query"))(err.message, 400 if err.kind == "incomplete" else 403)

    def internal_error(self, op_name: str, request_id: str) -> ServiceError:
        return query_common.InternalFailure("Internal error.")


def _namespace(registry: Registry) -> str:
    namespace = registry.model.metadata.get("xmlNamespace", "")
    return escape(namespace.get("uri", "") if isinstance(namespace, dict) else namespace, {'"': "&quot;"})


# -- input ------------------------------------------------------------------------------------------
class _FormReader:
    """Reads a shape's value back from the flat `Name.member.1.Field` fields of a query request."""

    def __init__(self, values: MultiDict, validation_code: str) -> None:
        self.values = values
        # Sorted names answer "is anything under this prefix" by bisection, whatever the form holds.
        self.names = sorted(values.keys())
        self.validation_code = validation_code

    def _present(self, key: str) -> bool:
        if key in self.values:
            return True
        i = bisect.bisect_left(self.names, key + ".")
        return i < len(self.names) and self.names[i].startswith(key + ".")

    def read(self, shape: Shape, key: str, path: str) -> Any:
        t = shape.type_name
        if t == "structure":
            if key and not self._present(key):
                return _MISSING
            out = {}
            for name, member in shape.members.items():
                wire = member.serialization.get("name", name)
                child = name[:1].lower() + name[1:]
                value = self.read(member, f"{key}.{wire}" if key else wire, f"{path}.{child}" if path else child)
                if value is not _MISSING:
                    out[name] = value
            return out
        if t == "list":
            if shape.serialization.get("flattened"):
                prefix = key
                if shape.member.serialization.get("name"):
                    prefix = ".".join(key.split(".")[:-1] + [shape.member.serialization["name"]])
            else:
                prefix = f"{key}.{shape.member.serialization.get('name', 'member')}"
            items = []
            while self._present(f"{prefix}.{len(items) + 1}"):
                n = len(items) + 1
                items.append(self.read(shape.member, f"{prefix}.{n}", f"{path}.{n}.member"))
            if not items and key not in self.values:
                return _MISSING
            return [None if item is _MISSING else item for item in items]  # `Name=` is an empty list
        if t == "map":
            prefix = key if shape.serialization.get("flattened") else f"{key}.entry"
            key_name = shape.key.serialization.get("name", "key")
            value_name = shape.value.serialization.get("name", "value")
            out_map = {}
            n = 1
            while self._present(f"{prefix}.{n}"):
                k = self.read(shape.key, f"{prefix}.{n}.{key_name}", path)
                v = self.read(shape.value, f"{prefix}.{n}.{value_name}", f"{path}.{k}")
                if k is not _MISSING and v is not _MISSING:
                    out_map[k] = v
                n += 1
            return out_map if out_map or key in self.values else _MISSING
        if key not in self.values:
            return _MISSING
        return self._scalar(shape, self.values[key], path)

    def _scalar(self, shape: Shape, text: str, path: str) -> Any:
        t = shape.type_name
        try:
            if t in ("integer", "long"):
                number = int(text)
                low, high = JAVA_RANGE[t]
                if not low <= number <= high:  # a validation error here, not JSON's SerializationException
                    raise ServiceError(self.validation_code, f"Numeric value ({number}) out of range of "
                                       f"{JAVA_NAME[t]}", 400)
                return number
            if t in ("double", "float"):
                return float(text)
        except ValueError:
            raise ServiceError(self.validation_code, f"Value '{text}' at '{path}' failed to satisfy constraint: "
                               "Member must be a number", 400) from None
        if t == "boolean":
            return text.lower() == "true"
        return text  # strings; timestamps and blobs are read from text by validation


# -- output -----------------------------------------------------------------------------------------
def _members_xml(shape: Shape, value: Any) -> str:
    """The shape's members present in `value`, in the handler's order: AWS's query services do not
    write in model order (GetCallerIdentity answers Arn, UserId, Account), so the handler decides."""
    if not isinstance(value, dict):
        raise TypeError(f"{shape.name}: expected a dict, got {type(value).__name__}")
    members = shape.members
    return "".join(_xml(members[name], v, members[name].serialization.get("name", name))
                   for name, v in value.items() if name in members and v is not None)


def _xml(shape: Shape, value: Any, name: str) -> str:
    t = shape.type_name
    if t == "structure":
        return f"<{name}>{_members_xml(shape, value)}</{name}>"
    if t == "list":
        if shape.serialization.get("flattened"):
            item = shape.member.serialization.get("name", name)
            return "".join(_xml(shape.member, v, item) for v in value)
        item = shape.member.serialization.get("name", "member")
        return f"<{name}>" + "".join(_xml(shape.member, v, item) for v in value) + f"</{name}>"
    if t == "map":
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        entries = [f"{_xml(shape.key, k, key_name)}{_xml(shape.value, v, value_name)}"
                   for k, v in value.items() if v is not None]
        if shape.serialization.get("flattened"):
            return "".join(f"<{name}>{entry}</{name}>" for entry in entries)
        return f"<{name}>" + "".join(f"<entry>{entry}</entry>" for entry in entries) + f"</{name}>"
    return f"<{name}>{escape(_text(shape, value))}</{name}>"


def _text(shape: Shape, value: Any) -> str:
    t = shape.type_name
    if t == "timestamp":
        fmt = shape.serialization.get("timestampFormat", "iso8601")
        return _iso(value) if fmt == "iso8601" else str(format_timestamp(value, fmt))
    if t == "boolean":
        return "true" if value else "false"
    if t in ("integer", "long"):
        return str(int(value))
    if t in ("double", "float"):
        return repr(float(value))
    if t == "blob":
        return base64.b64encode(value.encode() if isinstance(value, str) else value).decode()
    return str(value)


def _iso(value: Any) -> str:
    """ISO-8601 in UTC; whole seconds as STS writes them (2019-11-01T20:26:47Z)."""
    if isinstance(value, dt.datetime):
        seconds = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).timestamp()
    else:
        seconds = float(value)
    when = dt.datetime.fromtimestamp(seconds, dt.UTC)
    if seconds == int(seconds):
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


QUERY = QueryProtocol()
