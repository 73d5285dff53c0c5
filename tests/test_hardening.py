"""Inputs that once broke the promise "never a 500, never an HTML page": control characters in
echoed values, deep nesting, nulls in lists and maps, lone surrogates, oversized bodies, and
anything that escapes a handler. Unit tests for the pure parts, then the real server."""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
from helpers import auth_header, pool_client_user, post_json
from werkzeug.test import Client

from emulator.app import create_app
from emulator.config import Config
from protocol.body import MAX_JSON_DEPTH, header_safe, parse_json
from protocol.errors import ServiceError
from protocol.model import service_model
from protocol.validate import _enum_order, storable, validate_input

IDP = "AWSCognitoIdentityProviderService."
IDENTITY = "AWSCognitoIdentityService."
PASSWORD = "Passw0rd!Secure"


def _input(op: str, service: str = "cognito-idp"):
    return service_model(service).operation_model(op).input_shape


def _validation_message(op: str, params: dict, service: str = "cognito-idp") -> str:
    with pytest.raises(ServiceError) as err:
        validate_input(_input(op, service), params, "InvalidParameterException")
    return err.value.message


# -- unit: the protocol layer ----------------------------------------------------------------
def test_null_map_value_is_absent():
    out = validate_input(_input("InitiateAuth"), {
        "AuthFlow": "REFRESH_TOKEN_AUTH", "ClientId": "c",
        "AuthParameters": {"REFRESH_TOKEN": "r", "DEVICE_KEY": None}}, "InvalidParameterException")
    assert out["AuthParameters"] == {"REFRESH_TOKEN": "r"}


def test_null_structure_member_is_absent():
    out = validate_input(_input("AdminCreateUser"), {"UserPoolId": "us-east-1_abc", "Username": "u", "MessageAction": None},
                         "InvalidParameterException")
    assert "MessageAction" not in out


def test_null_element_of_a_structure_list_is_a_violation():
    assert _validation_message("AddCustomAttributes", {"UserPoolId": "us-east-1_abc", "CustomAttributes": [None]}) \
        == ("1 validation error detected: Value null at 'customAttributes.1.member' failed to satisfy "
            "constraint: Member must not be null")


def test_null_element_of_a_scalar_list_is_reported_on_the_list():
    message = _validation_message("AdminDeleteUserAttributes", {
        "UserPoolId": "us-east-1_abc", "Username": "u", "UserAttributeNames": ["email", None]})
    assert message.startswith("1 validation error detected: Value '[email, null]' at 'userAttributeNames' failed "
                              "to satisfy constraint: Member must satisfy constraint: [")
    assert message.endswith("Member must not be null]")


def test_lone_surrogate_fails_the_pattern_where_there_is_one():
    assert _validation_message("ListUsers", {"UserPoolId": "us-east-1_\udfff"}) == (
        "1 validation error detected: Value 'us-east-1_\udfff' at 'userPoolId' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+")


def test_lone_surrogate_without_a_pattern_is_refused_as_invalid_unicode():
    assert _validation_message("ListUsers", {"UserPoolId": "us-east-1_abc", "Filter": 'email = "\udfff"'}) == (
        "1 validation error detected: Value 'email = \"\udfff\"' at 'filter' failed to satisfy constraint: "
        "Member must contain only valid Unicode characters")
    map_message = _validation_message("InitiateAuth", {
        "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "c", "ClientMetadata": {"k\ud800": "v"}})
    assert "at 'clientMetadata' failed to satisfy constraint: Map keys must satisfy constraint: [" in map_message
    assert map_message.endswith(", Member must contain only valid Unicode characters]")
    assert storable("emoji 😀 and \u202e RTL") and not storable("\ud83d")


def test_enum_values_are_listed_in_aws_order():
    # Captured AWS answers: [OPTIONAL, OFF, ON] (model OFF, ON, OPTIONAL); [SUPPRESS, RESEND].
    assert _enum_order(("OFF", "ON", "OPTIONAL")) == ("OPTIONAL", "OFF", "ON")
    assert _enum_order(("RESEND", "SUPPRESS")) == ("SUPPRESS", "RESEND")
    assert _validation_message("AdminCreateUser", {"UserPoolId": "us-east-1_abc", "Username": "u", "MessageAction": "X"}) \
        .endswith("Member must satisfy enum value set: [SUPPRESS, RESEND]")


def test_depth_limit_and_recursion():
    parse_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, "bad")
    for depth in (MAX_JSON_DEPTH + 1, 5_000, 100_000):
        with pytest.raises(ServiceError) as err:
            parse_json(b"[" * depth + b"]" * depth, "bad")
        assert (err.value.code, err.value.message) == ("SerializationException", "bad")


def test_header_safe_drops_control_characters_and_bounds_length():
    assert header_safe("a\rb\nc\x00d\x7fe") == "a b c d e"
    assert header_safe("x" * 5000) == "x" * 1024
    assert header_safe("caf\u00e9 \u2603") == "caf\u00e9 ?"


def test_anything_escaping_a_handler_is_counted_and_answered_as_json():
    app = create_app(Config(in_memory=True))

    def broken(request):
        raise RuntimeError("boom")

    app.surfaces.insert(0, broken)
    response = Client(app).get("/anything")
    assert response.status_code == 500
    assert json.loads(response.data) == {"__type": "InternalErrorException", "message": "Internal error."}
    assert app.internal_errors == 1


# -- the real server ---------------------------------------------------------------------------
def _json_error(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"].startswith("application/"), response.headers
    body = response.json()
    assert body["__type"] == code, body
    assert response.headers["x-amzn-ErrorType"] == code
    return body


@pytest.mark.parametrize("target,body,service", [
    (IDP + "InitiateAuth", {"AuthFlow": "X\rY", "ClientId": "c"}, "cognito-idp"),
    (IDP + "DescribeUserPool", {"UserPoolId": "a\r\nb\x00"}, "cognito-idp"),
    (IDENTITY + "DescribeIdentityPool", {"IdentityPoolId": "us-east-1:\rx"}, "cognito-identity"),
])
def test_carriage_return_in_an_echoed_value(endpoint, target, body, service):
    response = post_json(endpoint, target, body, service=service)
    error = _json_error(response, 400, "InvalidParameterException" if service == "cognito-idp"
                        else "ValidationException")
    assert "\r" in error["message"]  # the body keeps the value as sent
    header = response.headers["x-amzn-ErrorMessage"]
    assert "\r" not in header and "\n" not in header and header.startswith("1 validation error detected")


def test_carriage_return_echoed_by_sync(endpoint):
    response = requests.post(endpoint + "/identitypools/us-east-1%3Ax%0Dy/identities/i/datasets/d", json={},
                             timeout=30, headers=auth_header("cognito-sync"))
    _json_error(response, 400, "InvalidParameterException")
    assert "\r" not in response.headers["x-amzn-ErrorMessage"]


@pytest.mark.parametrize("depth", [150, 1_000, 50_000])
def test_deep_nesting(endpoint, depth):
    nested = "[" * depth + "]" * depth
    body = _json_error(post_json(endpoint, IDP + "InitiateAuth", '{"AuthFlow": ' + nested + "}"), 400,
                       "SerializationException")
    assert body["message"] == "Start of structure or map found where not expected."
    sync = requests.post(endpoint + "/identitypools/us-east-1:x/identities/us-east-1:y/datasets/d",
                         data='{"RecordPatches": ' + nested + "}", timeout=30,
                         headers={"Content-Type": "application/json",
                                  **auth_header("cognito-sync")})
    assert _json_error(sync, 400, "SerializationException")["message"] == "Could not parse request body into json."


@pytest.mark.parametrize("target,body,path", [
    (IDP + "AddCustomAttributes", {"UserPoolId": "us-east-1_abc", "CustomAttributes": [None]}, "customAttributes"),
    (IDP + "AdminUpdateUserAttributes", {"UserPoolId": "us-east-1_abc", "Username": "u", "UserAttributes": [None]},
     "userAttributes"),
    (IDP + "UpdateUserAttributes", {"AccessToken": "t", "UserAttributes": [None]}, "userAttributes"),
    (IDP + "SetUserSettings", {"AccessToken": "t", "MFAOptions": [None]}, "mFAOptions"),
    (IDP + "AdminSetUserSettings", {"UserPoolId": "us-east-1_abc", "Username": "u", "MFAOptions": [None]},
     "mFAOptions"),
    (IDP + "SetLogDeliveryConfiguration", {"UserPoolId": "us-east-1_abc", "LogConfigurations": [None]},
     "logConfigurations"),
    (IDENTITY + "CreateIdentityPool", {"IdentityPoolName": "p", "AllowUnauthenticatedIdentities": False,
                                       "CognitoIdentityProviders": [None]}, "cognitoIdentityProviders"),
    (IDENTITY + "UpdateIdentityPool", {"IdentityPoolId": "us-east-1:x", "IdentityPoolName": "p",
                                       "AllowUnauthenticatedIdentities": False, "CognitoIdentityProviders": [None]},
     "cognitoIdentityProviders"),
])
def test_null_list_element(endpoint, target, body, path):
    service = "cognito-identity" if target.startswith(IDENTITY) else "cognito-idp"
    error = _json_error(post_json(endpoint, target, body, service=service), 400,
                        "ValidationException" if service == "cognito-identity" else "InvalidParameterException")
    assert f"Value null at '{path}.1.member' failed to satisfy constraint: Member must not be null" \
        in error["message"]


def test_refresh_with_a_null_device_key_as_browsers_send_it(endpoint, idp):
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    _pool, client, _ = pool_client_user(idp, flows, PASSWORD, username="alice")
    tokens = idp.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD})["AuthenticationResult"]
    response = post_json(endpoint, IDP + "InitiateAuth", json.dumps({
        "ClientId": client, "AuthFlow": "REFRESH_TOKEN_AUTH", "ClientMetadata": {"k": None},
        "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"], "DEVICE_KEY": None}}))
    assert response.status_code == 200, response.text
    assert response.json()["AuthenticationResult"]["AccessToken"]


@pytest.mark.parametrize("target,raw,path", [
    (IDP + "SignUp", '{"ClientId": "abcdefghij", "Username": "a\\udfff", "Password": "x"}', "username"),
    (IDP + "AdminUpdateUserAttributes", '{"UserPoolId": "us-east-1_abc", "Username": "u", '
     '"UserAttributes": [{"Name": "name", "Value": "\\udfff"}]}', "userAttributes.1.member.value"),
    (IDP + "ListUsers", '{"UserPoolId": "us-east-1_abc", "Filter": "name = \\"\\ud800\\""}', "filter"),
    (IDP + "CreateUserPoolDomain", '{"UserPoolId": "us-east-1_abc", "Domain": "x\\udfffy"}', "domain"),
    (IDP + "DescribeUserPoolDomain", '{"Domain": "\\udfff"}', "domain"),
])
def test_lone_surrogates(endpoint, target, raw, path):
    error = _json_error(post_json(endpoint, target, raw), 400, "InvalidParameterException")
    assert f"at '{path}' failed to satisfy constraint: Member must" in error["message"]


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))


def test_oversized_bodies_are_refused_unread_and_memory_stays_flat(emulator, endpoint):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": IDP + "InitiateAuth"}
    limit = 6 * 1024 * 1024

    def chunks():
        yield b'{"ClientId": "'
        for _ in range(50):
            yield b"a" * (1024 * 1024)
        yield b'"}'

    # Warm up once with a streamed body (it is read up to the limit), then measure.
    first = requests.post(endpoint, data=chunks(), headers=headers, timeout=60)
    assert _json_error(first, 413, "RequestEntityTooLargeException")["message"] == \
        f"Request body exceeds the maximum of {limit} bytes."
    before = _rss_kib(emulator.proc.pid)
    big = b'{"ClientId": "' + b"a" * (50 * 1024 * 1024) + b'"}'
    for _ in range(3):
        response = requests.post(endpoint, data=big, headers=headers, timeout=60)
        assert _json_error(response, 413, "RequestEntityTooLargeException")["message"] == \
            f"Request body of {len(big)} bytes exceeds the maximum of {limit} bytes."
        assert len(response.content) < 1000  # nothing of the body is echoed
        streamed = requests.post(endpoint, data=chunks(), headers=headers, timeout=60)
        _json_error(streamed, 413, "RequestEntityTooLargeException")
    time.sleep(0.2)
    assert _rss_kib(emulator.proc.pid) - before < 40 * 1024  # far below one 50 MB body
    # Dev endpoints and the hosted UI have the same limit.
    dev = requests.post(endpoint + "/_emulator/clock", data=big, timeout=60)
    assert _json_error(dev, 413, "RequestEntityTooLargeException")
    dev_streamed = requests.post(endpoint + "/_emulator/clock", data=chunks(), timeout=60)
    assert _json_error(dev_streamed, 413, "RequestEntityTooLargeException")["message"] == \
        f"Request body exceeds the maximum of {limit} bytes."
    # A streamed body within the limit reaches the page whole.
    small = requests.post(endpoint + "/_emulator/clock", data=iter([b'{"advance_', b'seconds": 0}']), timeout=10)
    assert small.status_code == 200, small.text
    assert requests.get(endpoint + "/_emulator/health", timeout=10).json()["status"] == "ok"


def test_large_client_metadata_below_the_limit_is_read(endpoint):
    metadata = {f"key{i}": "v" * 1000 for i in range(2000)}  # about 2 MB
    response = post_json(endpoint, IDP + "InitiateAuth", json.dumps({
        "AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "a" * 26, "ClientMetadata": metadata,
        "AuthParameters": {"USERNAME": "u", "PASSWORD": "p"}}))
    assert _json_error(response, 400, "ResourceNotFoundException")["message"] == \
        f"User pool client {'a' * 26} does not exist."


@pytest.mark.parametrize("params,message", [
    ({"UserPoolId": ["us-east-1_abc"]}, "Start of list found where not expected"),
    ({"UserPoolId": {"a": 1}}, "Start of structure or map found where not expected."),
    ({"UserPoolId": 7}, "NUMBER_VALUE can not be converted to a String"),
    ({"UserPoolId": "us-east-1_abc", "Limit": "10"}, "STRING_VALUE can not be converted to an Integer"),
    ({"UserPoolId": "us-east-1_abc", "Limit": False}, "FALSE_VALUE can not be converted to an Integer"),
    ({"UserPoolId": "us-east-1_abc", "Limit": 2 ** 40}, f"Numeric value ({2 ** 40}) out of range of int"),
    ({"UserPoolId": "us-east-1_abc", "AttributesToGet": "email"}, "Expected list or null"),
])
def test_wrong_json_types_are_named_as_aws_does(params, message):
    with pytest.raises(ServiceError) as err:
        validate_input(_input("ListUsers"), params, "InvalidParameterException")
    assert (err.value.code, err.value.message) == ("SerializationException", message)


def test_structure_given_a_scalar_and_decimals_for_integers():
    with pytest.raises(ServiceError) as err:
        validate_input(_input("AdminCreateUser"), {"UserPoolId": "us-east-1_abc", "Username": "u",
                                                   "UserAttributes": ["email"]}, "InvalidParameterException")
    assert err.value.message == "Expected null"
    out = validate_input(_input("ListUsers"), {"UserPoolId": "us-east-1_abc", "Limit": 1.9},
                         "InvalidParameterException")
    assert out["Limit"] == 1


def test_blob_that_is_not_base64():
    with pytest.raises(ServiceError) as err:
        validate_input(_input("SetUICustomization"), {"UserPoolId": "us-east-1_abc", "ImageFile": "not base64!"},
                       "InvalidParameterException")
    assert (err.value.code, err.value.message) == ("SerializationException", "Failed to decode base64 value")


@pytest.mark.parametrize("raw", [b'{"Limit": NaN}', b'{"Limit": Infinity}', b'{"Limit": -Infinity}'])
def test_non_json_number_tokens(raw):
    with pytest.raises(ServiceError) as err:
        parse_json(raw, "bad")
    assert err.value.code == "SerializationException"


def _raw_exchange(endpoint: str, head: bytes, body: bytes) -> tuple[int, dict]:
    """Send bytes as they are, half-close, and read the answer (status, JSON body)."""
    host, port = endpoint.split("//", 1)[1].rstrip("/").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(head + body)
        conn.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    status_line, _, rest = data.partition(b"\r\n")
    _headers, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(payload)


def test_body_shorter_than_its_content_length(endpoint):
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth\r\nContent-Length: 100\r\n\r\n")
    status, body = _raw_exchange(endpoint, head, b'{"Auth')
    # The server hands the operation what arrived before the client closed: not a whole document.
    assert (status, body["__type"]) == (400, "SerializationException")


def test_malformed_chunked_body(endpoint):
    head = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
            b"X-Amz-Target: AWSCognitoIdentityProviderService.InitiateAuth\r\nTransfer-Encoding: chunked\r\n\r\n")
    status, body = _raw_exchange(endpoint, head, b"zz\r\n{}\r\n0\r\n\r\n")
    # The server drops a body whose chunk framing is broken: the operation sees no input at all.
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert "Value null at 'authFlow'" in body["message"]
