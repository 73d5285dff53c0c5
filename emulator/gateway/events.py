"""API Gateway's Lambda proxy events (REST payload 1.0, HTTP API payload 2.0), the claims as an
authorizer hands them on, and a function's answer turned back into an HTTP response."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import urllib.parse
from typing import Any

from emulator.gateway.routes import Route

_DATE_CLAIMS = ("exp", "iat", "auth_time")


@dataclasses.dataclass
class Incoming:
    """The request as the gateway read it."""

    method: str
    path: str
    query: str  # raw query string, without "?"
    headers: list[tuple[str, str]]  # in order, names as sent
    body: bytes
    source_ip: str
    host: str
    request_id: str
    received: float  # epoch seconds (the emulator's clock)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


def rest_claims(claims: dict) -> dict[str, str]:
    """Claims as a REST API's Cognito authorizer passes them: every value a string; times as
    dates (`Thu Dec 04 03:18:29 UTC 2026`), lists joined with commas."""
    out = {}
    for name, value in claims.items():
        if name in _DATE_CLAIMS and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = dt.datetime.fromtimestamp(value, dt.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")
        elif isinstance(value, list):
            out[name] = ",".join(_text(v) for v in value)
        else:
            out[name] = _text(value)
    return out


def http_claims(claims: dict) -> dict[str, str]:
    """Claims as an HTTP API's JWT authorizer passes them: strings; lists as `[a b]`."""
    return {name: "[" + " ".join(_text(v) for v in value) + "]" if isinstance(value, list) else _text(value)
            for name, value in claims.items()}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _body(request: Incoming) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    try:
        return request.body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(request.body).decode(), True


def _request_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def _api_id(route: Route) -> str:
    return "local" + ("rest" if route.api == "rest" else "http")


def rest_event(route: Route, request: Incoming, params: dict[str, str], claims: dict | None,
               account_id: str) -> dict:
    """The payload 1.0 event of a REST API Lambda proxy integration."""
    headers: dict[str, str] = {}
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        headers[name] = value
        multi_headers.setdefault(name, []).append(value)
    query: dict[str, str] = {}
    multi_query: dict[str, list[str]] = {}
    for name, value in urllib.parse.parse_qsl(request.query, keep_blank_values=True):
        query[name] = value
        multi_query.setdefault(name, []).append(value)
    body, encoded = _body(request)
    stage_path = f"/{route.stage}{request.path}"
    context: dict[str, Any] = {
        "resourceId": _resource_id(route.path), "resourcePath": route.path, "httpMethod": request.method,
        "extendedRequestId": request.request_id, "requestTime": _request_time(request.received),
        "path": stage_path, "accountId": account_id, "protocol": "HTTP/1.1", "stage": route.stage,
        "domainPrefix": request.host.split(".", 1)[0].split(":", 1)[0],
        "requestTimeEpoch": int(request.received * 1000), "requestId": request.request_id,
        "identity": {"cognitoIdentityPoolId": None, "accountId": None, "cognitoIdentityId": None, "caller": None,
                     "sourceIp": request.source_ip, "principalOrgId": None, "accessKey": None,
                     "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None, "userArn": None,
                     "userAgent": request.header("User-Agent"), "user": None},
        "domainName": request.host.split(":", 1)[0], "apiId": _api_id(route),
    }
    if claims is not None:
        context["authorizer"] = {"claims": rest_claims(claims)}
    return {
        "resource": route.path, "path": request.path, "httpMethod": request.method,
        "headers": headers or None, "multiValueHeaders": multi_headers or None,
        "queryStringParameters": query or None, "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": params or None, "stageVariables": None, "requestContext": context,
        "body": body, "isBase64Encoded": encoded,
    }


def http_event(route: Route, request: Incoming, params: dict[str, str], claims: dict | None,
               scopes: list[str] | None, account_id: str) -> dict:
    """The payload 2.0 event of an HTTP API Lambda integration."""
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, value in urllib.parse.parse_qsl(request.query, keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    body, encoded = _body(request)
    route_key = f"{'ANY' if route.method == 'ANY' else route.method} {route.path}"
    context: dict[str, Any] = {
        "accountId": account_id, "apiId": _api_id(route),
        "domainName": request.host.split(":", 1)[0],
        "domainPrefix": request.host.split(".", 1)[0].split(":", 1)[0],
        "http": {"method": request.method, "path": request.path, "protocol": "HTTP/1.1",
                 "sourceIp": request.source_ip, "userAgent": request.header("User-Agent") or ""},
        "requestId": request.request_id, "routeKey": route_key, "stage": route.stage,
        "time": _request_time(request.received), "timeEpoch": int(request.received * 1000),
    }
    if claims is not None:
        context["authorizer"] = {"jwt": {"claims": http_claims(claims), "scopes": scopes}}
    event: dict[str, Any] = {"version": "2.0", "routeKey": route_key, "rawPath": request.path,
                             "rawQueryString": request.query}
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = context
    if body is not None:
        event["body"] = body
    if params:
        event["pathParameters"] = params
    event["isBase64Encoded"] = encoded
    return event


def _resource_id(path: str) -> str:
    return hashlib.sha256(path.encode()).hexdigest()[:6]


@dataclasses.dataclass
class Outgoing:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class BadResponse(Exception):
    """A function's answer API Gateway cannot turn into a response."""


def rest_response(result: Any) -> Outgoing:
    """A payload 1.0 answer: statusCode, headers, multiValueHeaders, body, isBase64Encoded."""
    if not isinstance(result, dict):
        raise BadResponse("not an object")
    status = result.get("statusCode", 200)
    if isinstance(status, str) and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise BadResponse("statusCode")
    headers = _headers(result)
    return Outgoing(status, headers, _decoded(result))


def http_response(result: Any) -> Outgoing:
    """A payload 2.0 answer: the proxy form when it has statusCode, else the simple form (the
    object as a JSON body, 200)."""
    if isinstance(result, dict) and "statusCode" in result:
        out = rest_response(result)
        cookies = result.get("cookies") or []
        if not isinstance(cookies, list):
            raise BadResponse("cookies")
        out.headers += [("Set-Cookie", str(c)) for c in cookies]
        return out
    return Outgoing(200, [("Content-Type", "application/json")], json.dumps(result).encode())


def _headers(result: dict) -> list[tuple[str, str]]:
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        raise BadResponse("headers")
    out = [(str(k), _text(v)) for k, v in single.items() if k not in multi]
    for name, values in multi.items():
        if not isinstance(values, list):
            raise BadResponse("multiValueHeaders")
        out += [(str(name), _text(v)) for v in values]
    return out


def _decoded(result: dict) -> bytes:
    body = result.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadResponse("body is not a string")
    if result.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadResponse("body is not base64") from None
    return body.encode()
