"""The API the gateway serves: authorizers and routes, read from a routes file (YAML or JSON),
and how a request's method and path pick a route (API Gateway's precedence: literal segments
before `{param}` before `{proxy+}`, a declared method before ANY)."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from emulator.environments.documents import DeclarationError, Document, read

if TYPE_CHECKING:
    from emulator.gateway.verifier import Verifier

REST, HTTP = "rest", "http"
AUTHORIZER_TYPES = {"COGNITO_USER_POOLS": REST, "JWT": HTTP}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
_POOL_ARN = re.compile(r"^arn:[^:]+:cognito-idp:[^:]*:[^:]*:userpool/(.+)$")
_POOL_ID = re.compile(r"^[\w-]+_[0-9a-zA-Z]+$")
_SEGMENT = re.compile(r"^\{([A-Za-z0-9._-]+)(\+?)\}$")


@dataclasses.dataclass
class Authorizer:
    name: str
    type: str  # COGNITO_USER_POOLS (REST API) or JWT (HTTP API)
    pools: list[str] = dataclasses.field(default_factory=list)  # user pool ids (COGNITO_USER_POOLS)
    issuer: str | None = None  # JWT
    audience: list[str] = dataclasses.field(default_factory=list)  # JWT
    identity_source: str = "Authorization"  # the request header the token is read from
    check_revocation: bool = False  # AWS does not check; see README

    @property
    def api(self) -> str:
        return AUTHORIZER_TYPES[self.type]


@dataclasses.dataclass
class Route:
    method: str  # upper case, or ANY
    path: str  # /pets/{id}, /files/{proxy+}
    api: str = REST
    authorizer: Authorizer | None = None
    scopes: list[str] = dataclasses.field(default_factory=list)
    upstream: str | None = None  # an HTTP backend URL (may name {param}s of the path)
    function: str | None = None  # a Lambda function ARN or name
    payload_format: str = "1.0"
    stage: str = "Prod"

    def __post_init__(self) -> None:
        self.segments = [s for s in self.path.split("/") if s]

    @property
    def route_key(self) -> str:
        return f"{'ANY' if self.method == 'ANY' else self.method} {self.path}"

    def match(self, parts: list[str]) -> tuple[tuple, dict[str, str]] | None:
        """(precedence key, path parameters) when the request path's `parts` fit; lower keys win."""
        params: dict[str, str] = {}
        rank: list[int] = []
        for i, segment in enumerate(self.segments):
            found = _SEGMENT.match(segment)
            if found and found.group(2):  # {name+}: this and every following segment, at least one
                if i >= len(parts):
                    return None
                params[found.group(1)] = "/".join(parts[i:])
                rank.append(2)
                return (tuple(rank), self.method == "ANY"), params
            if i >= len(parts):
                return None
            if found:
                params[found.group(1)] = parts[i]
                rank.append(1)
            elif segment != parts[i]:
                return None
            else:
                rank.append(0)
        if len(parts) != len(self.segments):
            return None
        return (tuple(rank), self.method == "ANY"), params


@dataclasses.dataclass
class Api:
    routes: list[Route]

    def find(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """(route, path parameters, whether some route has this path under another method)."""
        parts = [p for p in path.split("/") if p]
        best: tuple[tuple, Route, dict[str, str]] | None = None
        path_known = False
        for route in self.routes:
            fit = route.match(parts)
            if fit is None:
                continue
            path_known = True
            if route.method not in (method, "ANY"):
                continue
            if best is None or fit[0] < best[0]:
                best = (fit[0], route, fit[1])
        if best is None:
            return None, {}, path_known
        return best[1], best[2], True


def pool_id(value: str) -> str | None:
    """The pool id in a user pool ARN or id, or None for anything else (e.g. a resource name)."""
    match = _POOL_ARN.match(value)
    if match:
        return match.group(1)
    return value if _POOL_ID.match(value) else None


def _strings(doc: Document, value: Any, path: tuple) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise doc.error(path, "expected a string or a list of strings")
    return list(value)


def _text(doc: Document, value: Any, path: tuple, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise doc.error(path, "expected a non-empty string")
    return value


def load_routes_file(path: str, verifier: Verifier) -> Api:
    """The API a routes file declares (see README: An authorizer gateway); `verifier` resolves
    pool names to ids. DeclarationError names the file, line and field of a mistake."""
    doc = read(path)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("routes"), list):
        raise doc.error((), 'expected a mapping with a list "routes" (and optionally "authorizers")')
    authorizers: dict[str, Authorizer] = {}
    declared = data.get("authorizers") or {}
    if not isinstance(declared, dict):
        raise doc.error(("authorizers",), "expected a mapping of authorizer names to authorizers")
    for name, spec in declared.items():
        where = ("authorizers", name)
        if not isinstance(spec, dict):
            raise doc.error(where, "expected a mapping")
        kind = spec.get("type", "COGNITO_USER_POOLS")
        if kind not in AUTHORIZER_TYPES:
            raise doc.error((*where, "type"), f"expected one of {', '.join(AUTHORIZER_TYPES)}")
        authorizer = Authorizer(name=name, type=kind, check_revocation=bool(spec.get("checkRevocation")),
                                identity_source=_text(doc, spec.get("identitySource"), (*where, "identitySource"))
                                or "Authorization")
        if kind == "COGNITO_USER_POOLS":
            for i, pool in enumerate(_strings(doc, spec.get("userPools"), (*where, "userPools"))):
                found = pool_id(pool) or verifier.pool_id_named(pool)
                if found is None:
                    raise doc.error((*where, "userPools", i), f"no user pool {pool!r} (an id, an ARN or a pool name)")
                authorizer.pools.append(found)
            if not authorizer.pools:
                raise doc.error((*where, "userPools"), "a COGNITO_USER_POOLS authorizer needs at least one user pool")
        else:
            authorizer.issuer = _text(doc, spec.get("issuer"), (*where, "issuer"), required=True)
            authorizer.audience = _strings(doc, spec.get("audience"), (*where, "audience"))
        authorizers[name] = authorizer
    routes = []
    for i, spec in enumerate(data["routes"]):
        where = ("routes", i)
        if not isinstance(spec, dict):
            raise doc.error(where, "expected a mapping")
        routes.append(_route(doc, spec, where, authorizers))
    return Api(routes)


def _route(doc: Document, spec: dict, where: tuple, authorizers: dict[str, Authorizer]) -> Route:
    method = str(spec.get("method") or "ANY").upper()
    if method not in METHODS:
        raise doc.error((*where, "method"), f"expected one of {', '.join(METHODS)}")
    path = _text(doc, spec.get("path"), (*where, "path"), required=True)
    if not path.startswith("/"):
        raise doc.error((*where, "path"), "a path starts with /")
    authorizer = None
    if spec.get("authorizer") is not None:
        authorizer = authorizers.get(spec["authorizer"])
        if authorizer is None:
            raise doc.error((*where, "authorizer"), f"no authorizer {spec['authorizer']!r} in authorizers")
    api = authorizer.api if authorizer else str(spec.get("api") or REST).lower()
    if api not in (REST, HTTP):
        raise doc.error((*where, "api"), "expected rest or http")
    upstream = _text(doc, spec.get("upstream"), (*where, "upstream"))
    function = _text(doc, spec.get("function"), (*where, "function"))
    if (upstream is None) == (function is None):
        raise doc.error(where, 'a route needs exactly one of "upstream" (an HTTP URL) and "function" (a Lambda)')
    payload = str(spec.get("payloadFormat") or ("1.0" if api == REST else "2.0"))
    if payload not in ("1.0", "2.0") or (api == REST and payload != "1.0"):
        raise doc.error((*where, "payloadFormat"), 'expected "1.0" or "2.0" ("1.0" only for a REST API)')
    stage = str(spec.get("stage") or ("Prod" if api == REST else "$default"))
    return Route(method=method, path=path, api=api, authorizer=authorizer,
                 scopes=_strings(doc, spec.get("scopes"), (*where, "scopes")), upstream=upstream,
                 function=function, payload_format=payload, stage=stage)


__all__ = ["Api", "Authorizer", "DeclarationError", "Route", "load_routes_file", "pool_id"]
