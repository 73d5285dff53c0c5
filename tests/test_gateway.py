"""`cognito-emulator gateway`: API Gateway's Cognito authorizers in front of a real HTTP backend and a
real Lambda Invoke API server, with tokens from real sign-ins against the emulator."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from emulator_process import ROOT, EmulatorProcess
from helpers import boto_client, make_user, stop_checked, unique
from lambda_fixtures.servers import RecordingServer

DATA = Path(__file__).parent / "gateway"
REST_DATE = re.compile(r"^[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d UTC \d{4}$")


# -- real servers of the test ---------------------------------------------------------------------
class Backend:
    """An HTTP backend that answers every request with what it received, as JSON."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                seen = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                        "body": body.decode(errors="replace")}
                owner.requests.append(seen)
                data = json.dumps(seen).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("X-Backend", "yes")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class LambdaApi:
    """The Lambda Invoke API (as `sam local start-lambda` serves it): functions by name."""

    def __init__(self, functions: dict) -> None:
        self.functions = functions
        self.events: dict[str, list[dict]] = {}
        self.server = RecordingServer(self._invoke)
        self.url = self.server.url

    def _invoke(self, method: str, path: str, headers: dict, body: bytes):
        name = urllib.parse.unquote(path.split("/functions/", 1)[1].split("/", 1)[0])
        event = json.loads(body)
        self.events.setdefault(name, []).append(event)
        if name not in self.functions:
            return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, {"message": f"Function not found: {name}"}
        try:
            return 200, {}, self.functions[name](event)
        except Exception as exc:  # the function throws: the Invoke API says so with X-Amz-Function-Error
            return 200, {"X-Amz-Function-Error": "Unhandled"}, {"errorMessage": str(exc), "errorType": "Error"}

    def stop(self) -> None:
        self.server.stop()


class GatewayProcess:
    """`cognito-emulator gateway` as a subprocess on a free port."""

    def __init__(self, *args: str) -> None:
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"gateway-{unique('log')}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open while the server runs)
        clean = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_EMULATOR_")}
        self.proc = subprocess.Popen([sys.executable, "-m", "emulator", "gateway", "--port", "0", *args], cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=self._log, text=True, env=clean)
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"gateway did not start: {line!r}\n{self.log_path.read_text()}")
        self.url = match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self._log.close()


def _fail(event):
    raise RuntimeError("boom")


FUNCTIONS = {
    "rest-fn": lambda event: {"statusCode": 201, "headers": {"x-one": "1", "Content-Type": "text/plain"},
                              "multiValueHeaders": {"x-many": ["a", "b"]}, "body": "made",
                              "isBase64Encoded": False},
    "binary-fn": lambda event: {"statusCode": 200, "body": base64.b64encode(b"\x00\xffbin").decode(),
                                "isBase64Encoded": True},
    "http-fn": lambda event: {"statusCode": 202, "headers": {"x-two": "2"}, "cookies": ["a=1", "b=2; Path=/"],
                              "body": "{\"ok\":true}"},
    "simple-fn": lambda event: {"hello": "world"},
    "bad-fn": lambda event: {"statusCode": "twelve"},
    "failing-fn": _fail,
}


# -- the world of the tests -------------------------------------------------------------------------
class World:
    pass


def _write_routes(path: Path, w: World, backend: str) -> None:
    routes = {
        "authorizers": {
            "cognito": {"type": "COGNITO_USER_POOLS",
                        "userPools": [f"arn:aws:cognito-idp:us-east-1:000000000000:userpool/{w.pool}"]},
            "jwt": {"type": "JWT", "issuer": f"https://cognito-idp.us-east-1.amazonaws.com/{w.pool}",
                    "audience": [w.client, w.m2m["ClientId"]]},
        },
        "routes": [
            {"method": "GET", "path": "/pets/{id}", "authorizer": "cognito", "upstream": backend},
            {"method": "GET", "path": "/pets/mine", "authorizer": "cognito", "upstream": backend + "/own"},
            {"method": "GET", "path": "/scoped", "authorizer": "cognito", "scopes": ["api/read"],
             "upstream": backend},
            {"method": "ANY", "path": "/fn/{proxy+}", "authorizer": "cognito", "function": "rest-fn"},
            {"method": "GET", "path": "/binary", "authorizer": "cognito", "function": "binary-fn"},
            {"method": "GET", "path": "/broken", "authorizer": "cognito", "function": "failing-fn"},
            {"method": "GET", "path": "/malformed", "authorizer": "cognito", "function": "bad-fn"},
            {"method": "GET", "path": "/down", "authorizer": "cognito", "upstream": "http://127.0.0.1:9/x"},
            {"method": "GET", "path": "/open/{name}", "upstream": backend + "/hello/{name}"},
            {"method": "GET", "path": "/items/{id}", "authorizer": "jwt", "upstream": backend},
            {"method": "POST", "path": "/v2/{thing}", "authorizer": "jwt", "function": "http-fn"},
            {"method": "GET", "path": "/v2simple", "authorizer": "jwt", "function": "simple-fn"},
            {"method": "GET", "path": "/v2broken", "authorizer": "jwt", "function": "failing-fn"},
            {"method": "GET", "path": "/v2down", "authorizer": "jwt", "upstream": "http://127.0.0.1:9"},
            {"method": "GET", "path": "/v2scoped", "authorizer": "jwt", "scopes": ["api/write"],
             "upstream": backend},
        ],
    }
    path.write_text(json.dumps(routes, indent=2))


@pytest.fixture(scope="module")
def world(idp, tmp_path_factory):
    w = World()
    w.pool = idp.create_user_pool(PoolName=unique("gw"))["UserPool"]["Id"]
    idp.create_resource_server(UserPoolId=w.pool, Identifier="api", Name="API",
                               Scopes=[{"ScopeName": "read", "ScopeDescription": "r"},
                                       {"ScopeName": "write", "ScopeDescription": "w"}])
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    w.client = idp.create_user_pool_client(UserPoolId=w.pool, ClientName="web",
                                           ExplicitAuthFlows=flows)["UserPoolClient"]["ClientId"]
    w.other_client = idp.create_user_pool_client(UserPoolId=w.pool, ClientName="other",
                                                 ExplicitAuthFlows=flows)["UserPoolClient"]["ClientId"]
    w.m2m = idp.create_user_pool_client(
        UserPoolId=w.pool, ClientName="m2m", GenerateSecret=True, ExplicitAuthFlows=["ALLOW_CLIENT_TOKEN_AUTH"],
        AllowedOAuthFlowsUserPoolClient=True,
        AllowedOAuthFlows=["client_credentials"], AllowedOAuthScopes=["api/read", "api/write"])["UserPoolClient"]
    w.username = make_user(idp, w.pool, attributes={"email": "pat@example.com", "email_verified": "true"})
    for group in ("admins", "staff"):
        idp.create_group(UserPoolId=w.pool, GroupName=group)
        idp.admin_add_user_to_group(UserPoolId=w.pool, Username=w.username, GroupName=group)
    w.other_pool = idp.create_user_pool(PoolName=unique("gw-other"))["UserPool"]["Id"]
    w.other_pool_client = idp.create_user_pool_client(UserPoolId=w.other_pool, ClientName="web",
                                                      ExplicitAuthFlows=flows)["UserPoolClient"]["ClientId"]
    w.other_user = make_user(idp, w.other_pool)
    w.backend = Backend()
    w.functions = LambdaApi(FUNCTIONS)
    routes = tmp_path_factory.mktemp("gateway") / "routes.json"
    _write_routes(routes, w, w.backend.url)
    w.gateway = GatewayProcess("--routes", str(routes), "--emulator-url", idp.meta.endpoint_url,
                               "--lambda-endpoint", w.functions.url)
    yield w
    w.gateway.stop()
    w.functions.stop()
    w.backend.stop()


def sign_in(idp, client_id: str, username: str) -> dict:
    return idp.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": username, "PASSWORD": "Passw0rd!"})["AuthenticationResult"]


def client_token(idp, w: World, scopes: list[str]) -> str:
    return idp.get_client_token(ClientId=w.m2m["ClientId"], Secret=w.m2m["ClientSecret"],
                                Scopes=scopes)["ClientAuthenticationResult"]["AccessToken"]


def call(w: World, method: str, path: str, token: str | None = None, **kw) -> requests.Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = token
    return requests.request(method, w.gateway.url + path, headers=headers, timeout=30, **kw)


def refused(response: requests.Response, status: int, message: str) -> None:
    assert (response.status_code, response.json()) == (status, {"message": message}), response.text


# -- REST API: COGNITO_USER_POOLS --------------------------------------------------------------------
def test_rest_id_token_reaches_the_backend_with_its_claims(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    r = call(world, "GET", "/pets/7?x=1", tokens["IdToken"])
    assert r.status_code == 200, r.text
    assert r.headers["X-Backend"] == "yes" and r.headers["x-amzn-RequestId"]
    seen = r.json()
    assert seen["path"] == "/pets/7?x=1"
    assert seen["headers"]["Authorization"] == tokens["IdToken"]
    claims = json.loads(seen["headers"]["x-apigateway-authorizer-claims"])
    assert claims["cognito:username"] == world.username and claims["token_use"] == "id"
    assert claims["email_verified"] == "true" and claims["aud"] == world.client
    assert claims["cognito:groups"] == "admins,staff"
    assert REST_DATE.match(claims["exp"]) and REST_DATE.match(claims["iat"])


def test_rest_accepts_a_bearer_prefix_and_prefers_literal_paths(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    r = call(world, "GET", "/pets/mine", "Bearer " + tokens["IdToken"])
    assert r.status_code == 200 and r.json()["path"] == "/own"


def test_a_client_cannot_forge_the_claims_header(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    r = call(world, "GET", "/pets/1", tokens["IdToken"],
             headers={"x-apigateway-authorizer-claims": '{"cognito:username":"root"}'})
    assert json.loads(r.json()["headers"]["x-apigateway-authorizer-claims"])["cognito:username"] == world.username


def test_rest_refuses_a_missing_malformed_or_tampered_token(idp, world):
    r = call(world, "GET", "/pets/1")
    refused(r, 401, "Unauthorized")
    assert r.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    refused(call(world, "GET", "/pets/1", "not-a-jwt"), 401, "Unauthorized")
    refused(call(world, "GET", "/pets/1", "Bearer "), 401, "Unauthorized")
    token = sign_in(idp, world.client, world.username)["IdToken"]
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["cognito:username"] = "someone-else"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    refused(call(world, "GET", "/pets/1", f"{head}.{forged}.{signature}"), 401, "Unauthorized")


def test_rest_refuses_a_token_of_another_pool(idp, world):
    tokens = sign_in(idp, world.other_pool_client, world.other_user)
    refused(call(world, "GET", "/pets/1", tokens["IdToken"]), 401, "Unauthorized")


def test_rest_without_scopes_takes_the_id_token_only(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    refused(call(world, "GET", "/pets/1", tokens["AccessToken"]), 401, "Unauthorized")


def test_rest_expired_token_by_the_emulators_clock(idp, world, clock):
    tokens = sign_in(idp, world.client, world.username)
    assert call(world, "GET", "/pets/1", tokens["IdToken"]).status_code == 200
    clock.advance(3601)
    r = call(world, "GET", "/pets/1", tokens["IdToken"])
    refused(r, 401, "The incoming token has expired")
    assert r.headers["x-amzn-ErrorType"] == "UnauthorizedException"


def test_rest_scoped_method_takes_an_access_token_with_one_of_its_scopes(idp, world):
    r = call(world, "GET", "/scoped", client_token(idp, world, ["api/read"]))
    assert r.status_code == 200, r.text
    claims = json.loads(r.json()["headers"]["x-apigateway-authorizer-claims"])
    assert claims["scope"] == "api/read" and claims["client_id"] == world.m2m["ClientId"]
    refused(call(world, "GET", "/scoped", client_token(idp, world, ["api/write"])), 401, "Unauthorized")
    tokens = sign_in(idp, world.client, world.username)
    refused(call(world, "GET", "/scoped", tokens["IdToken"]), 401, "Unauthorized")
    refused(call(world, "GET", "/scoped", tokens["AccessToken"]), 401, "Unauthorized")


def test_rest_unknown_route_or_method(world):
    r = call(world, "GET", "/nowhere")
    refused(r, 403, "Missing Authentication Token")
    assert r.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    refused(call(world, "DELETE", "/pets/1"), 403, "Missing Authentication Token")


def test_a_route_without_authorizer_and_a_templated_upstream(world):
    r = call(world, "GET", "/open/sam?q=1")
    assert r.status_code == 200 and r.json()["path"] == "/hello/sam?q=1"
    assert "x-apigateway-authorizer-claims" not in r.json()["headers"]


def test_rest_backend_down(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    r = call(world, "GET", "/down", tokens["IdToken"])
    refused(r, 502, "Internal server error")
    assert r.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


# -- REST API: the Lambda proxy event, payload 1.0 ----------------------------------------------------
def _raw(w: World, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""):
    url = urllib.parse.urlsplit(w.gateway.url)
    connection = http.client.HTTPConnection(url.netloc, timeout=30)
    connection.putrequest(method, path, skip_accept_encoding=True)
    for name, value in headers:
        connection.putheader(name, value)
    connection.putheader("Content-Length", str(len(body)))
    connection.endheaders(body)
    response = connection.getresponse()
    out = response.status, response.getheaders(), response.read()
    connection.close()
    return out


def test_rest_lambda_event_field_by_field(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    status, headers, body = _raw(world, "POST", "/fn/a/b?a=1&a=2&b=x",
                                 [("Authorization", tokens["IdToken"]), ("X-Multi", "1"), ("X-Multi", "2"),
                                  ("User-Agent", "gw-test")], b'{"n": 1}')
    assert (status, body) == (201, b"made")
    assert ("x-one", "1") in headers and ("x-many", "a") in headers and ("x-many", "b") in headers
    assert ("Content-Type", "text/plain") in headers
    event = world.functions.events["rest-fn"][-1]
    assert event["resource"] == "/fn/{proxy+}" and event["path"] == "/fn/a/b" and event["httpMethod"] == "POST"
    assert event["headers"]["X-Multi"] == "2" and event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["Authorization"] == tokens["IdToken"]
    assert event["queryStringParameters"] == {"a": "2", "b": "x"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x"]}
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["stageVariables"] is None
    assert event["body"] == '{"n": 1}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["resourcePath"] == "/fn/{proxy+}" and context["httpMethod"] == "POST"
    assert context["stage"] == "Prod" and context["path"] == "/Prod/fn/a/b"
    assert context["accountId"] == "000000000000" and context["protocol"] == "HTTP/1.1"
    assert re.match(r"^[0-9a-f-]{36}$", context["requestId"])
    assert isinstance(context["requestTimeEpoch"], int) and re.match(r"^\d\d/\w{3}/\d{4}:", context["requestTime"])
    assert context["identity"]["sourceIp"] == "127.0.0.1" and context["identity"]["userAgent"] == "gw-test"
    claims = context["authorizer"]["claims"]
    assert all(isinstance(v, str) for v in claims.values())
    assert claims["cognito:username"] == world.username and claims["cognito:groups"] == "admins,staff"
    assert claims["email_verified"] == "true" and REST_DATE.match(claims["auth_time"])


def test_rest_lambda_binary_bodies(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    status, _headers, body = _raw(world, "GET", "/binary", [("Authorization", tokens["IdToken"])], b"\xff\x00")
    assert (status, body) == (200, b"\x00\xffbin")
    event = world.functions.events["binary-fn"][-1]
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\x00"
    assert event["queryStringParameters"] is None and event["pathParameters"] is None


def test_rest_lambda_errors_are_502(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    for path in ("/broken", "/malformed"):
        r = call(world, "GET", path, tokens["IdToken"])
        refused(r, 502, "Internal server error")
        assert r.headers["x-amzn-ErrorType"] == "InternalServerErrorException"


# -- HTTP API: JWT ----------------------------------------------------------------------------------
def test_jwt_authorizer_takes_id_and_access_tokens_of_its_audience(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    for token in (tokens["IdToken"], tokens["AccessToken"], "Bearer " + tokens["AccessToken"]):
        r = call(world, "GET", "/items/3", token)
        assert r.status_code == 200, r.text
        assert r.headers["apigw-requestid"]
    claims = json.loads(r.json()["headers"]["x-apigateway-authorizer-claims"])
    assert claims["client_id"] == world.client and claims["cognito:groups"] == "[admins staff]"
    assert claims["exp"].isdigit()


def _www(r: requests.Response) -> str:
    return r.headers.get("www-authenticate", "")


def test_jwt_authorizer_refusals(idp, world, clock):
    r = call(world, "GET", "/items/3")
    refused(r, 401, "Unauthorized")
    r = call(world, "GET", "/items/3", "garbage")
    refused(r, 401, "Unauthorized")
    assert _www(r) == 'Bearer scope="" error="invalid_token" error_description="the token is malformed"'
    wrong_audience = sign_in(idp, world.other_client, world.username)["IdToken"]
    r = call(world, "GET", "/items/3", wrong_audience)
    refused(r, 401, "Unauthorized")
    assert 'error_description="the token does not have a valid audience"' in _www(r)
    other_pool = sign_in(idp, world.other_pool_client, world.other_user)["IdToken"]
    r = call(world, "GET", "/items/3", other_pool)
    refused(r, 401, "Unauthorized")
    assert 'error_description="the token does not have a valid issuer"' in _www(r)
    token = sign_in(idp, world.client, world.username)["AccessToken"]
    clock.advance(3601)
    r = call(world, "GET", "/items/3", token)
    refused(r, 401, "Unauthorized")
    assert 'error="invalid_token" error_description="the token has expired"' in _www(r)


def test_jwt_scopes_forbidden(idp, world):
    r = call(world, "GET", "/v2scoped", client_token(idp, world, ["api/read"]))
    refused(r, 403, "Forbidden")
    assert _www(r) == ('Bearer scope="api/write" error="insufficient_scope" '
                       'error_description="expected scopes: [api/write]"')
    assert call(world, "GET", "/v2scoped", client_token(idp, world, ["api/write"])).status_code == 200
    tokens = sign_in(idp, world.client, world.username)
    refused(call(world, "GET", "/v2scoped", tokens["IdToken"]), 403, "Forbidden")


def test_http_lambda_event_field_by_field(idp, world):
    token = client_token(idp, world, ["api/read", "api/write"])
    status, headers, body = _raw(world, "POST", "/v2/box?a=1&a=2&z",
                                 [("Authorization", token), ("X-Multi", "1"), ("x-multi", "2"),
                                  ("Cookie", "c1=v1; c2=v2"), ("User-Agent", "gw-test")], b"text body")
    assert (status, body) == (202, b'{"ok":true}')
    assert ("x-two", "2") in headers
    assert ("Set-Cookie", "a=1") in headers and ("Set-Cookie", "b=2; Path=/") in headers
    assert any(name == "apigw-requestid" for name, _ in headers)
    event = world.functions.events["http-fn"][-1]
    assert event["version"] == "2.0" and event["routeKey"] == "POST /v2/{thing}"
    assert event["rawPath"] == "/v2/box" and event["rawQueryString"] == "a=1&a=2&z"
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-multi"] == "1,2" and "cookie" not in event["headers"]
    assert event["headers"]["user-agent"] == "gw-test"
    assert event["queryStringParameters"] == {"a": "1,2", "z": ""}
    assert event["pathParameters"] == {"thing": "box"}
    assert event["body"] == "text body" and event["isBase64Encoded"] is False
    assert "stageVariables" not in event
    context = event["requestContext"]
    assert context["routeKey"] == "POST /v2/{thing}" and context["stage"] == "$default"
    assert context["http"] == {"method": "POST", "path": "/v2/box", "protocol": "HTTP/1.1",
                               "sourceIp": "127.0.0.1", "userAgent": "gw-test"}
    assert context["accountId"] == "000000000000" and re.match(r"^[0-9a-f-]{36}$", context["requestId"])
    assert isinstance(context["timeEpoch"], int)
    jwt = context["authorizer"]["jwt"]
    assert jwt["scopes"] == ["api/read", "api/write"]
    assert jwt["claims"]["client_id"] == world.m2m["ClientId"] and jwt["claims"]["token_use"] == "access"
    assert all(isinstance(v, str) for v in jwt["claims"].values())


def test_http_lambda_simple_response_and_errors(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    r = call(world, "GET", "/v2simple", tokens["IdToken"])
    assert (r.status_code, r.headers["Content-Type"], r.json()) == (200, "application/json", {"hello": "world"})
    event = world.functions.events["simple-fn"][-1]
    assert event["requestContext"]["authorizer"]["jwt"]["scopes"] is None
    assert "body" not in event and "cookies" not in event and "pathParameters" not in event
    refused(call(world, "GET", "/v2broken", tokens["IdToken"]), 500, "Internal Server Error")


def test_http_backend_down(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    refused(call(world, "GET", "/v2down", tokens["IdToken"]), 503, "Service Unavailable")


def test_a_chunked_request_body_reaches_the_function(idp, world):
    tokens = sign_in(idp, world.client, world.username)
    r = call(world, "PUT", "/fn/chunks", tokens["IdToken"], data=iter([b"one,", b"two"]))
    assert r.status_code == 201
    assert world.functions.events["rest-fn"][-1]["body"] == "one,two"


def test_when_the_emulator_cannot_be_reached(idp, world, tmp_path):
    token = sign_in(idp, world.client, world.username)["IdToken"]
    routes = tmp_path / "rest.yaml"
    routes.write_text(f"authorizers:\n  c: {{userPools: [{world.pool}]}}\n"
                      "routes:\n  - {path: /x, authorizer: c, upstream: http://127.0.0.1:9}\n")
    gateway = GatewayProcess("--routes", str(routes), "--emulator-url", "http://127.0.0.1:9")
    try:
        r = requests.get(gateway.url + "/x", headers={"Authorization": token}, timeout=30)
        refused(r, 500, "Internal server error")
        assert r.headers["x-amzn-ErrorType"] == "AuthorizerConfigurationException"
    finally:
        gateway.stop()
    routes = tmp_path / "http.yaml"
    routes.write_text(f"authorizers:\n  j: {{type: JWT, issuer: https://issuer/{world.pool}, audience: [a]}}\n"
                      "routes:\n  - {path: /x, authorizer: j, upstream: http://127.0.0.1:9}\n")
    gateway = GatewayProcess("--routes", str(routes), "--emulator-url", "http://127.0.0.1:9")
    try:
        refused(requests.get(gateway.url + "/x", headers={"Authorization": token}, timeout=30),
                500, "Internal Server Error")
        refused(requests.get(gateway.url + "/elsewhere", timeout=30), 404, "Not Found")  # HTTP API only
    finally:
        gateway.stop()


# -- revocation --------------------------------------------------------------------------------------
def test_like_api_gateway_a_revoked_token_is_still_accepted_by_default(idp, world):
    user = make_user(idp, world.pool)
    tokens = sign_in(idp, world.client, user)
    idp.global_sign_out(AccessToken=tokens["AccessToken"])
    assert call(world, "GET", "/pets/1", tokens["IdToken"]).status_code == 200


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """An emulator keeping its state in a directory, and a gateway reading that state."""
    data_dir = tmp_path_factory.mktemp("gateway-state")
    emulator = EmulatorProcess("--data-dir", str(data_dir))
    idp = boto_client("cognito-idp", emulator.url)
    pool = idp.create_user_pool(PoolName="stored-pool")["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="web",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
                                         )["UserPoolClient"]["ClientId"]
    routes = data_dir / "routes.yaml"
    routes.write_text(f"""
authorizers:
  cognito:
    userPools: [stored-pool]      # a pool name works too
    checkRevocation: true
  jwt:
    type: JWT
    issuer: {emulator.url}/{pool}
    audience: [{client}]
routes:
  - {{method: GET, path: /rest, authorizer: cognito, upstream: http://127.0.0.1:9}}
  - {{method: GET, path: /http, authorizer: jwt, function: simple-fn}}
""")
    functions = LambdaApi(FUNCTIONS)
    gateway = GatewayProcess("--routes", str(routes), "--data-dir", str(data_dir), "--check-revocation",
                             "--lambda-endpoint", functions.url)
    yield emulator, idp, client, gateway
    gateway.stop()
    functions.stop()
    stop_checked(emulator)


def test_check_revocation_refuses_signed_out_and_revoked_tokens(stored):
    emulator, idp, client, gateway = stored
    pool = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    user = make_user(idp, pool)
    tokens = sign_in(idp, client, user)
    assert requests.get(gateway.url + "/http", headers={"Authorization": tokens["AccessToken"]},
                        timeout=30).status_code == 200
    idp.global_sign_out(AccessToken=tokens["AccessToken"])
    r = requests.get(gateway.url + "/rest", headers={"Authorization": tokens["IdToken"]}, timeout=30)
    refused(r, 401, "Unauthorized")
    r = requests.get(gateway.url + "/http", headers={"Authorization": tokens["AccessToken"]}, timeout=30)
    refused(r, 401, "Unauthorized")
    assert 'error_description="the token has been revoked"' in r.headers["www-authenticate"]
    fresh = sign_in(idp, client, user)
    idp.revoke_token(Token=fresh["RefreshToken"], ClientId=client)
    r = requests.get(gateway.url + "/http", headers={"Authorization": fresh["IdToken"]}, timeout=30)
    refused(r, 401, "Unauthorized")


def test_store_verification_reads_the_emulators_clock(stored):
    emulator, idp, client, gateway = stored
    pool = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
    tokens = sign_in(idp, client, make_user(idp, pool))
    requests.post(emulator.url + "/_emulator/clock", json={"advance_seconds": 3601}, timeout=10)
    try:
        r = requests.get(gateway.url + "/http", headers={"Authorization": tokens["IdToken"]}, timeout=30)
        assert 'error_description="the token has expired"' in r.headers["www-authenticate"]
    finally:
        requests.post(emulator.url + "/_emulator/clock", json={"reset": True}, timeout=10)


# -- starting: mistakes a user can make ----------------------------------------------------------------
def _start_error(*args: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_EMULATOR_")}
    done = subprocess.run([sys.executable, "-m", "emulator", "gateway", "--port", "0", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, env=clean)
    assert done.returncode != 0
    return done.stderr.strip().splitlines()[-1]


def test_check_revocation_needs_the_emulators_state(tmp_path, endpoint, world):
    routes = tmp_path / "routes.yaml"
    routes.write_text(f"authorizers:\n  c:\n    userPools: [{world.pool}]\n"
                      "routes:\n  - {path: /x, authorizer: c, upstream: http://127.0.0.1:9}\n")
    assert _start_error("--routes", str(routes), "--emulator-url", endpoint, "--check-revocation") == (
        "cognito-emulator gateway: authorizer c checks revocation: that needs the emulator's state "
        "(--data-dir or --database-url)")


@pytest.mark.parametrize("text, message", [
    ("routes: {}", 'expected a mapping with a list "routes" (and optionally "authorizers")'),
    ("routes:\n  - {path: /x}", 'routes[0]: a route needs exactly one of "upstream" (an HTTP URL) and "function" '
                                "(a Lambda)"),
    ("routes:\n  - {path: x, upstream: http://h}", "routes[0].path: a path starts with /"),
    ("routes:\n  - {path: /x, method: FETCH, upstream: http://h}", "routes[0].method: expected one of GET, POST, "
                                                                    "PUT, PATCH, DELETE, HEAD, OPTIONS, ANY"),
    ("routes:\n  - {path: /x, authorizer: nope, upstream: http://h}",
     "routes[0].authorizer: no authorizer 'nope' in authorizers"),
    ("authorizers:\n  a: {type: LAMBDA}\nroutes: []", "authorizers.a.type: expected one of COGNITO_USER_POOLS, JWT"),
    ("authorizers:\n  a: {userPools: [no-such-pool]}\nroutes: []",
     "authorizers.a.userPools[0]: no user pool 'no-such-pool' (an id, an ARN or a pool name)"),
    ("authorizers:\n  a: {type: JWT}\nroutes: []", "authorizers.a.issuer: expected a non-empty string"),
    ("routes:\n  - {path: /x, api: rest, payloadFormat: '2.0', function: f}",
     'routes[0].payloadFormat: expected "1.0" or "2.0" ("1.0" only for a REST API)'),
])
def test_routes_file_mistakes_name_the_line_and_field(tmp_path, endpoint, text, message):
    routes = tmp_path / "routes.yaml"
    routes.write_text(text + "\n")
    line = _start_error("--routes", str(routes), "--emulator-url", endpoint)
    assert line.startswith(f"cognito-emulator gateway: {routes}:")
    assert line.endswith(message)


# -- SAM and CloudFormation templates ----------------------------------------------------------------
def _pool_and_client(idp, name: str) -> tuple[str, str]:
    pool = idp.create_user_pool(PoolName=name)["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName=name + "-web",
                                         ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]
    return pool, client["ClientId"]


def test_sam_template_end_to_end(tmp_path):
    # As the README says: serve --seed the template, then a gateway reading the same template.
    name = unique("sam")
    path = tmp_path / "template.yaml"
    path.write_text((DATA / "sam.yaml").read_text().replace("POOL_NAME", name))
    emulator = EmulatorProcess("--in-memory", "--seed", str(path))
    functions = LambdaApi({"HelloFunction": FUNCTIONS["rest-fn"], "ItemsFunction": FUNCTIONS["http-fn"],
                           "PublicFunction": FUNCTIONS["simple-fn"]})
    gateway = None
    try:
        idp = boto_client("cognito-idp", emulator.url)
        pool = idp.list_user_pools(MaxResults=10)["UserPools"][0]["Id"]
        client = idp.list_user_pool_clients(UserPoolId=pool)["UserPoolClients"][0]["ClientId"]
        user = make_user(idp, pool)
        gateway = GatewayProcess("--template", str(path), "--emulator-url", emulator.url,
                                 "--lambda-endpoint", functions.url)
        tokens = sign_in(idp, client, user)
        url = gateway.url
        refused(requests.get(url + "/hello", timeout=30), 401, "Unauthorized")
        r = requests.get(url + "/hello", headers={"Authorization": tokens["IdToken"]}, timeout=30)
        assert (r.status_code, r.text) == (201, "made")
        event = functions.events["HelloFunction"][-1]
        assert event["requestContext"]["stage"] == "dev" and event["resource"] == "/hello"
        assert event["requestContext"]["authorizer"]["claims"]["aud"] == client
        assert requests.get(url + "/hello-public", timeout=30).status_code == 201  # Authorizer: NONE
        assert "authorizer" not in functions.events["HelloFunction"][-1]["requestContext"]
        r = requests.post(url + "/items/9", headers={"Authorization": tokens["AccessToken"]}, timeout=30)
        assert r.status_code == 202, r.text
        event = functions.events["ItemsFunction"][-1]
        assert event["routeKey"] == "POST /items/{id}" and event["pathParameters"] == {"id": "9"}
        assert event["requestContext"]["authorizer"]["jwt"]["claims"]["username"] == user
        r = requests.post(url + "/items/9", headers={"Authorization": tokens["IdToken"]}, timeout=30)
        assert r.status_code == 202  # the ID token's aud is the client too
        refused(requests.post(url + "/items/9", timeout=30), 401, "Unauthorized")
        assert requests.get(url + "/public", timeout=30).json() == {"hello": "world"}
    finally:
        if gateway is not None:
            gateway.stop()
        functions.stop()
        stop_checked(emulator)


def test_cloudformation_template_end_to_end(idp, endpoint, tmp_path):
    name = unique("cfn")
    pool, client = _pool_and_client(idp, name)
    user = make_user(idp, pool)
    backend = Backend()
    functions = LambdaApi({"orders": FUNCTIONS["rest-fn"]})
    template = (DATA / "cloudformation.yaml").read_text().replace("POOL_NAME", name).replace("BACKEND", backend.url)
    path = tmp_path / "template.yaml"
    path.write_text(template)
    gateway = GatewayProcess("--template", str(path), "--emulator-url", endpoint,
                             "--lambda-endpoint", functions.url)
    try:
        tokens = sign_in(idp, client, user)
        url = gateway.url
        r = requests.get(url + "/orders/5", headers={"Authorization": tokens["IdToken"]}, timeout=30)
        assert r.status_code == 201, r.text
        event = functions.events["orders"][-1]
        assert event["resource"] == "/orders/{orderId}" and event["pathParameters"] == {"orderId": "5"}
        refused(requests.get(url + "/orders/5", headers={"Authorization": tokens["AccessToken"]}, timeout=30),
                401, "Unauthorized")
        r = requests.get(url + "/v2/things", headers={"Authorization": tokens["AccessToken"]}, timeout=30)
        assert r.status_code == 200 and r.json()["path"] == "/things"  # the integration's URI: {proxy}
        refused(requests.get(url + "/v2/things", timeout=30), 401, "Unauthorized")
    finally:
        gateway.stop()
        functions.stop()
        backend.stop()


def test_template_pool_not_in_the_emulator(endpoint, tmp_path):
    path = tmp_path / "template.yaml"
    path.write_text((DATA / "sam.yaml").read_text().replace("POOL_NAME", unique("absent")))
    line = _start_error("--template", str(path), "--emulator-url", endpoint)
    assert re.search(r"user pool 'absent\S+' \(UserPool\) is not in the emulator: apply the template first "
                     r"\(serve --seed\)$", line), line


_FUNCTION = """
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        E: {Type: Api, Properties: {Path: /x, Method: get, Auth: {Authorizer: Missing}}}
"""


@pytest.mark.parametrize("text, message", [
    ("Parameters: {}", "expected a template with Resources"),
    ("Resources:" + _FUNCTION, "Resources.Fn.Properties.Events.E.Properties.Auth.Authorizer: "
                               "no Cognito authorizer 'Missing' on the API"),
    ("""Resources:
  M:
    Type: AWS::ApiGateway::Method
    Properties: {HttpMethod: GET, AuthorizationType: COGNITO_USER_POOLS, AuthorizerId: nope}
""", "Resources.M.Properties.AuthorizerId: expected a Ref to an AWS::ApiGateway::Authorizer"),
    ("""Resources:
  M:
    Type: AWS::ApiGateway::Method
    Properties: {HttpMethod: GET, Integration: {Type: MOCK}}
""", "Resources.M.Properties.Integration: an integration the gateway cannot call: '' (a Lambda function or an "
     "HTTP URL)"),
    ("""Resources:
  R:
    Type: AWS::ApiGatewayV2::Route
    Properties: {RouteKey: GET /x, Target: integrations/Nothing}
""", "Resources.R.Properties.Target: expected integrations/<an AWS::ApiGatewayV2::Integration>"),
    ("""Parameters:
  Url: {Type: String}
Resources:
  I:
    Type: AWS::ApiGatewayV2::Integration
    Properties: {IntegrationUri: !Ref Url}
  R:
    Type: AWS::ApiGatewayV2::Route
    Properties: {RouteKey: GET /x, Target: integrations/I}
""", "Parameters.Url: a parameter without a Default cannot be resolved here"),
    ("""Resources:
  M:
    Type: AWS::ApiGateway::Method
    Properties: {HttpMethod: GET, Integration: {Uri: !GetAtt Elsewhere.Arn}}
""", "Resources.M.Properties.Integration: 'Elsewhere' is not a resource of the template"),
])
def test_template_mistakes_name_the_line_and_field(tmp_path, endpoint, text, message):
    path = tmp_path / "template.yaml"
    path.write_text(text)
    line = _start_error("--template", str(path), "--emulator-url", endpoint)
    assert line.startswith(f"cognito-emulator gateway: {path}")
    assert line.endswith(message), line


def test_template_client_not_in_the_emulator(idp, endpoint, tmp_path):
    name = unique("noclient")
    idp.create_user_pool(PoolName=name)
    path = tmp_path / "template.yaml"
    path.write_text((DATA / "sam.yaml").read_text().replace("POOL_NAME", name).replace(f"{name}-web", "absent-web"))
    line = _start_error("--template", str(path), "--emulator-url", endpoint)
    assert re.search(r"app client 'absent-web' \(UserPoolClient\) is not in user pool us-east-1_\w+ of the "
                     r"emulator: apply the template first \(serve --seed\)$", line), line


def test_template_property_of_an_unexpected_shape(tmp_path, endpoint):
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events: [1, 2]\n")
    line = _start_error("--template", str(path), "--emulator-url", endpoint)
    assert line == (f"cognito-emulator gateway: {path}:2: Resources.Fn: a property of an unexpected shape "
                    "('list' object has no attribute 'items')")
