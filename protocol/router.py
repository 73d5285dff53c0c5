"""Which service and operation a request is for: the one routing decision for every API surface.

In order: JSON 1.1 by X-Amz-Target; query (STS) by a signature for the service or an `Action=`
form at `/`; rest-json (cognito-sync) by method and path, through a werkzeug Map built from the
models' `requestUri`s. A request none of them claims is not an API call (the emulator then gives
it to its web pages).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from urllib.parse import unquote

from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, Map, Rule
from werkzeug.routing.exceptions import RoutingException
from werkzeug.wrappers import Request

from protocol.protocols import JSON, REST_JSON, Protocol
from protocol.query import QUERY
from protocol.registry import Registry
from protocol.sigv4 import read_caller

PROTOCOLS: dict[str, Protocol] = {"json": JSON, "rest-json": REST_JSON, "query": QUERY}


@dataclasses.dataclass(frozen=True)
class Route:
    """Where a request goes: the protocol, the service (None for an X-Amz-Target no service has)
    and the operation as the request names it (it may be unknown to the model)."""

    protocol: Protocol
    registry: Registry | None
    operation: str
    target: str  # what the request named: the X-Amz-Target, the Action, or the method and path
    path_params: Mapping[str, str] = dataclasses.field(default_factory=dict)


class _Greedy(BaseConverter):
    """`{Name+}` of a requestUri: one or more segments."""

    regex = ".+"
    part_isolating = False


class Router:
    """The services' routes, added with `add` (the protocol comes from the service's model)."""

    def __init__(self) -> None:
        self.json: dict[str, Registry] = {}   # X-Amz-Target prefix -> service
        self.query: list[Registry] = []
        self.rest: list[Registry] = []
        self._rest_map: Map | None = None

    def add(self, registry: Registry) -> Protocol:
        """Route the operations of `registry`'s service; answers the service's protocol."""
        metadata = registry.model.metadata
        protocol = PROTOCOLS.get(metadata.get("protocol", ""))
        if protocol is None:
            raise ValueError(f"{registry.service_name}: protocol {metadata.get('protocol')!r} is not supported")
        if protocol is JSON:
            self.json[metadata["targetPrefix"]] = registry
        elif protocol is QUERY:
            self.query.append(registry)
        else:
            self.rest.append(registry)
            self._rest_map = None
        return protocol

    def route(self, request: Request) -> Route | None:
        """The route of an API request; None when the request is not an API call.

        Reading a query form may raise werkzeug's RequestEntityTooLarge or ClientDisconnected.
        """
        target = request.headers.get("X-Amz-Target")
        if target:
            prefix, _, op_name = target.rpartition(".")
            return Route(JSON, self.json.get(prefix), op_name, target)
        return self._query_route(request) or self._rest_route(request)

    # -- query -------------------------------------------------------------------------------------
    def _query_route(self, request: Request) -> Route | None:
        if not self.query:
            return None
        service = read_caller(request.headers, request.args).service
        registry = next((r for r in self.query if _signing_name(r) == service), None)
        if registry is None:
            # Unsigned (AssumeRoleWithWebIdentity needs no signature): an Action at the root.
            if request.path not in ("/", "") or not _has_action(request):
                return None
            registry = self.query[0]
        values = request.form if request.method == "POST" else request.args
        action = values.get("Action", "")
        return Route(QUERY, registry, action, action)

    # -- rest-json ---------------------------------------------------------------------------------
    def _rest_route(self, request: Request) -> Route | None:
        if not self.rest:
            return None
        try:
            (registry, op_name, method), params = self._map().bind("localhost").match(request.path, request.method)
        except (HTTPException, RoutingException):
            return None
        if method != request.method.upper():
            return None  # werkzeug adds HEAD to GET rules; the models do not
        return Route(REST_JSON, registry, op_name, f"{request.method} {request.path}",
                     {k: unquote(v) for k, v in params.items()})

    def _map(self) -> Map:
        if self._rest_map is None:
            rules = []
            for registry in self.rest:
                for op_name in registry.model.operation_names:
                    http = registry.model.operation_model(op_name).http
                    method = http["method"].upper()
                    rules.append(Rule(_werkzeug_path(http["requestUri"]), methods=[method],
                                      endpoint=(registry, op_name, method)))
            # strict_slashes=False: a trailing slash matches as well; merge_slashes=False: `//` does not.
            self._rest_map = Map(rules, converters={"greedy": _Greedy}, strict_slashes=False,
                                 merge_slashes=False)
        return self._rest_map


def _werkzeug_path(request_uri: str) -> str:
    """`/a/{Name}/{Rest+}?x=1` as a werkzeug rule: `/a/<Name>/<greedy:Rest>`."""
    path = request_uri.split("?", 1)[0]
    out = []
    for piece in path.split("{"):
        if "}" in piece:
            name, rest = piece.split("}", 1)
            out.append(f"<greedy:{name[:-1]}>" if name.endswith("+") else f"<{name}>")
            out.append(rest)
        else:
            out.append(piece)
    return "".join(out)


def _signing_name(registry: Registry) -> str:
    metadata = registry.model.metadata
    return metadata.get("signingName") or metadata.get("endpointPrefix")


def _has_action(request: Request) -> bool:
    if request.method == "GET":
        return "Action" in request.args
    return request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded" \
        and "Action" in request.form
