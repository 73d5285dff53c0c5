"""The cognito-idp wire seen by a raw HTTP client: validation messages, unknown operations,
malformed bodies, missing signatures, request ids, numeric timestamps."""

from __future__ import annotations

import json

import pytest
import requests
from helpers import auth_header, unique

TARGET = "AWSCognitoIdentityProviderService."
SIGNED = {"Content-Type": "application/x-amz-json-1.1", **auth_header()}


@pytest.fixture
def call(endpoint):
    def send(op: str, body=None, headers: dict | None = None, raw: str | None = None) -> requests.Response:
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return requests.post(endpoint + "/", data=data, timeout=30,
                             headers={**(SIGNED if headers is None else headers), "X-Amz-Target": TARGET + op})
    return send


def _check(response: requests.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["__type"] == code
    assert body["message"] == message
    assert response.headers["x-amzn-RequestId"]


def test_missing_required_member(call):
    _check(call("DescribeUserPool", {}), 400, "InvalidParameterException",
           "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: "
           "Member must not be null")


def test_bad_enum(call):
    _check(call("CreateUserPool", {"PoolName": "p", "MfaConfiguration": "MAYBE"}), 400, "InvalidParameterException",
           "1 validation error detected: Value 'MAYBE' at 'mfaConfiguration' failed to satisfy constraint: "
           "Member must satisfy enum value set: [OPTIONAL, OFF, ON]")


def test_too_long(call):
    name = "x" * 129
    _check(call("CreateUserPool", {"PoolName": name}), 400, "InvalidParameterException",
           f"1 validation error detected: Value '{name}' at 'poolName' failed to satisfy constraint: "
           "Member must have length less than or equal to 128")


def test_pattern(call):
    _check(call("CreateUserPool", {"PoolName": "bad!name"}), 400, "InvalidParameterException",
           "1 validation error detected: Value 'bad!name' at 'poolName' failed to satisfy constraint: "
           "Member must satisfy regular expression pattern: [\\w\\s+=,.@-]+")


def test_range(call):
    _check(call("ListUserPools", {"MaxResults": 61}), 400, "InvalidParameterException",
           "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: "
           "Member must have value less than or equal to 60")


def test_several_errors_counted_and_joined(call):
    response = call("CreateUserPoolClient", {"UserPoolId": "bad id!", "ClientName": "c" * 129})
    assert response.status_code == 400
    body = response.json()
    assert body["__type"] == "InvalidParameterException"
    assert body["message"].startswith("2 validation errors detected: ")
    parts = body["message"][len("2 validation errors detected: "):].split("; ")
    assert len(parts) == 2
    assert parts[0] == ("Value 'bad id!' at 'userPoolId' failed to satisfy constraint: "
                        "Member must satisfy regular expression pattern: [\\w-]+_[0-9a-zA-Z]+")
    assert parts[1] == (f"Value '{'c' * 129}' at 'clientName' failed to satisfy constraint: "
                        "Member must have length less than or equal to 128")


def test_enum_inside_list(call):
    response = call("CreateUserPoolClient", {"UserPoolId": "us-east-1_abc", "ClientName": "c",
                                             "ExplicitAuthFlows": ["NOPE"]})
    # AWS: Value '[NOPE]' at 'explicitAuthFlows' failed to satisfy constraint: Member must satisfy
    # constraint: [Member must satisfy enum value set: [...]]
    assert response.json()["message"].startswith(
        "1 validation error detected: Value '[NOPE]' at 'explicitAuthFlows' failed to satisfy constraint: "
        "Member must satisfy constraint: [Member must satisfy enum value set: [")


def test_unknown_operation(call):
    _check(call("NoSuchOperation", {}), 400, "UnknownOperationException",
           "Unknown operation 'AWSCognitoIdentityProviderService.NoSuchOperation'.")


def test_malformed_json(call):
    _check(call("DescribeUserPool", raw="{not json"), 400, "SerializationException",
           "Start of structure or map found where not expected.")


def test_unsigned_admin_call(call):
    _check(call("DescribeUserPool", {"UserPoolId": "us-east-1_abc"},
                headers={"Content-Type": "application/x-amz-json-1.1"}),
           400, "MissingAuthenticationTokenException", "Missing Authentication Token")


def test_unsigned_public_call_reaches_handler(call):
    response = call("SignUp", {"ClientId": "abcdefghijklmnopqrstuvwxyz", "Username": "u", "Password": "Passw0rd!"},
                    headers={"Content-Type": "application/x-amz-json-1.1"})
    _check(response, 400, "ResourceNotFoundException", "User pool client abcdefghijklmnopqrstuvwxyz does not exist.")


def test_success_has_request_id_and_numeric_timestamps(call):
    response = call("CreateUserPool", {"PoolName": unique("wire")})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/x-amz-json-1.1")
    assert response.headers["x-amzn-RequestId"]
    pool = response.json()["UserPool"]
    assert isinstance(pool["CreationDate"], (int, float))
    assert isinstance(pool["LastModifiedDate"], (int, float))
    client = call("CreateUserPoolClient", {"UserPoolId": pool["Id"], "ClientName": "c"}).json()["UserPoolClient"]
    assert isinstance(client["CreationDate"], (int, float))
    listed = call("ListUserPools", {"MaxResults": 60}).json()
    assert all(isinstance(p["CreationDate"], (int, float)) for p in listed["UserPools"])


def test_not_found_error_headers(call):
    response = call("DescribeUserPool", {"UserPoolId": "us-east-1_Nope12345"})
    _check(response, 400, "ResourceNotFoundException", "User pool us-east-1_Nope12345 does not exist.")
    assert response.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
