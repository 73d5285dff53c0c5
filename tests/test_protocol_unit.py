"""Unit tests of the protocol layer: validation messages, routing, bindings, errors.

These drive the dispatcher with werkzeug's test client and a registry of our own, so
that paths no real operation would take (an operation without a handler) are covered.
"""

from __future__ import annotations

import json

import pytest
from werkzeug.test import Client
from werkzeug.wrappers import Request

from protocol import Registry, ServiceError
from protocol.dispatch import Dispatcher
from protocol.validate import pattern_matches, validate_input

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-2/cognito-idp/aws4_request, "
        "SignedHeaders=host, Signature=abc")


def make_app(handlers: dict[str, callable], service="cognito-idp", error="InvalidParameterException"):
    registry = Registry(service, validation_error=error)
    for name, fn in handlers.items():
        fn.__name__ = name
        registry.handler(fn)
    seen = {}

    def invoke(call, handler):
        seen["call"] = call
        return handler(None, call.params)

    dispatcher = Dispatcher([registry], invoke)

    def app(environ, start_response):
        return dispatcher.handle(Request(environ))(environ, start_response)

    return Client(app), seen


def post(client, target, body, auth=AUTH, ctype="application/x-amz-json-1.1"):
    headers = {"X-Amz-Target": target, "Content-Type": ctype}
    if auth:
        headers["Authorization"] = auth
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post("/", data=data, headers=headers)


IDP = "AWSCognitoIdentityProviderService."


def body(response) -> dict:
    return json.loads(response.get_data(as_text=True))


def test_missing_required_member_message():
    client, _ = make_app({"describe_user_pool_client": lambda ctx, req: {}})
    r = post(client, IDP + "DescribeUserPoolClient", {"UserPoolId": "us-east-1_abc"})
    assert r.status_code == 400
    assert body(r) == {"__type": "InvalidParameterException", "message":
                      "1 validation error detected: Value null at 'clientId' failed to satisfy "
                      "constraint: Member must not be null"}
    assert r.headers["x-amzn-ErrorType"] == "InvalidParameterException"
    assert r.headers["x-amzn-RequestId"]


def test_several_violations_are_counted_and_joined():
    client, _ = make_app({"describe_user_pool_client": lambda ctx, req: {}})
    r = post(client, IDP + "DescribeUserPoolClient", {"UserPoolId": "bad pool", "ClientId": "x" * 200})
    msg = body(r)["message"]
    assert msg.startswith("2 validation errors detected: ")
    assert ("Value 'bad pool' at 'userPoolId' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: [\\w-]+_[0-9a-zA-Z]+") in msg
    assert "at 'clientId' failed to satisfy constraint: Member must have length less than or equal to 128" in msg
    assert "; Value " in msg


def test_enum_and_range_and_sensitive_values():
    client, _ = make_app({"initiate_auth": lambda ctx, req: {}, "list_users": lambda ctx, req: {}})
    r = post(client, IDP + "InitiateAuth", {"AuthFlow": "NOPE", "ClientId": "abc"}, auth=None)
    assert r.status_code == 400
    assert "Value 'NOPE' at 'authFlow' failed to satisfy constraint: Member must satisfy enum value set: [" \
        in body(r)["message"]
    r = post(client, IDP + "ListUsers", {"UserPoolId": "us-east-1_abc", "Limit": 61})
    assert body(r)["message"] == ("1 validation error detected: Value '61' at 'limit' failed to satisfy "
                                 "constraint: Member must have value less than or equal to 60")
    client, _ = make_app({"sign_up": lambda ctx, req: {}})
    r = post(client, IDP + "SignUp", {"ClientId": "abc", "Username": "bob", "Password": " x"}, auth=None)
    assert "Value at 'password' failed to satisfy constraint: Member must satisfy regular expression" \
        in body(r)["message"]
    assert " x" not in body(r)["message"]


def test_nested_list_member_paths():
    client, _ = make_app({"admin_update_user_attributes": lambda ctx, req: {}})
    r = post(client, IDP + "AdminUpdateUserAttributes", {
        "UserPoolId": "us-east-1_abc", "Username": "bob",
        "UserAttributes": [{"Name": "email", "Value": "a@b.c"}, {"Value": "x"}]})
    assert body(r)["message"] == ("1 validation error detected: Value null at 'userAttributes.2.member.name' "
                                 "failed to satisfy constraint: Member must not be null")


def test_handler_receives_plain_values_and_output_is_filtered():
    def describe_user_pool(ctx, req):
        return {"UserPool": {"Id": req["UserPoolId"], "CreationDate": 1700000000.5, "Secret": "x"},
                "Internal": 1}
    client, seen = make_app({"describe_user_pool": describe_user_pool})
    r = post(client, IDP + "DescribeUserPool", {"UserPoolId": "us-east-1_abc", "Unknown": 1})
    assert r.status_code == 200
    assert body(r) == {"UserPool": {"Id": "us-east-1_abc", "CreationDate": 1700000000.5}}
    call = seen["call"]
    assert call.params == {"UserPoolId": "us-east-1_abc"}
    assert call.caller.region == "eu-west-2" and call.caller.access_key == "AKIDEXAMPLE"


def test_operation_without_handler_names_it_before_validating():
    client, _ = make_app({})
    r = post(client, IDP + "AdminCreateUser", {})
    assert r.status_code == 400
    assert body(r)["__type"] == "NotImplementedException"
    assert "AdminCreateUser" in body(r)["message"]


def test_unknown_operation_and_target():
    client, _ = make_app({})
    r = post(client, IDP + "MakeCoffee", {})
    assert r.status_code == 400 and body(r)["__type"] == "UnknownOperationException"
    r = post(client, "SomeOtherService.MakeCoffee", {})
    assert body(r)["__type"] == "UnknownOperationException"


def test_malformed_json_and_wrong_types():
    client, _ = make_app({"describe_user_pool": lambda ctx, req: {}})
    r = post(client, IDP + "DescribeUserPool", "{not json")
    assert r.status_code == 400 and body(r)["__type"] == "SerializationException"
    r = post(client, IDP + "DescribeUserPool", "[1, 2]")
    assert body(r)["__type"] == "SerializationException"
    r = post(client, IDP + "DescribeUserPool", {"UserPoolId": 12})
    assert body(r)["__type"] == "SerializationException"
    r = post(client, IDP + "DescribeUserPool", {"UserPoolId": "us-east-1_a"}, ctype="text/plain")
    assert body(r)["__type"] == "SerializationException"


def test_unsigned_request_to_signed_operation_is_refused():
    client, _ = make_app({"describe_user_pool": lambda ctx, req: {}, "sign_up": lambda ctx, req: {}})
    r = post(client, IDP + "DescribeUserPool", {"UserPoolId": "us-east-1_a"}, auth=None)
    assert r.status_code == 400
    assert body(r) == {"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}


def test_service_error_status_from_model_and_internal_errors():
    def boom(ctx, req):
        raise RuntimeError("kaput")

    def missing(ctx, req):
        raise ServiceError("ResourceNotFoundException", "User pool us-east-1_a does not exist.")
    client, _ = make_app({"describe_user_pool": missing, "delete_user_pool": boom})
    r = post(client, IDP + "DescribeUserPool", {"UserPoolId": "us-east-1_a"})
    assert r.status_code == 400
    assert body(r) == {"__type": "ResourceNotFoundException", "message": "User pool us-east-1_a does not exist."}
    r = post(client, IDP + "DeleteUserPool", {"UserPoolId": "us-east-1_a"})
    assert r.status_code == 500 and body(r)["__type"] == "InternalErrorException"
    assert "kaput" not in body(r)["message"]


def test_identity_validation_error_type():
    client, _ = make_app({"get_id": lambda ctx, req: {}}, service="cognito-identity", error="ValidationException")
    r = post(client, "AWSCognitoIdentityService.GetId", {"IdentityPoolId": "us-east-1_abc"}, auth=None)
    assert body(r)["__type"] == "ValidationException"
    assert body(r)["message"] == ("1 validation error detected: Value 'us-east-1_abc' at 'identityPoolId' "
                                 "failed to satisfy constraint: Member must satisfy regular expression "
                                 "pattern: [\\w-]+:[0-9a-f-]+")


def test_rest_json_routing_with_path_query_and_header_bindings():
    got = {}

    def list_records(ctx, req):
        got["list"] = req
        return {"Records": [{"Key": "k", "Value": "v", "SyncCount": 1, "LastModifiedDate": 1700000000}],
                "DatasetSyncCount": 1}

    def update_records(ctx, req):
        got["update"] = req
        return {"Records": []}

    client, _ = make_app({"list_records": list_records, "update_records": update_records},
                         service="cognito-sync")
    headers = {"Authorization": AUTH.replace("cognito-idp", "cognito-sync")}
    r = client.get("/identitypools/us-east-1%3A0a/identities/us-east-1%3A0b/datasets/prefs/records"
                   "?lastSyncCount=3&maxResults=10&syncSessionToken=tok", headers=headers)
    assert r.status_code == 200, r.get_data(as_text=True)
    assert got["list"] == {"IdentityPoolId": "us-east-1:0a", "IdentityId": "us-east-1:0b", "DatasetName": "prefs",
                           "LastSyncCount": 3, "MaxResults": 10, "SyncSessionToken": "tok"}
    assert body(r)["Records"][0]["LastModifiedDate"] == 1700000000
    r = client.post("/identitypools/us-east-1%3A0a/identities/us-east-1%3A0b/datasets/prefs",
                    data=json.dumps({"SyncSessionToken": "tok", "RecordPatches": []}),
                    headers={**headers, "x-amz-Client-Context": "ctx", "Content-Type": "application/json"})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert got["update"]["ClientContext"] == "ctx" and got["update"]["DatasetName"] == "prefs"
    r = client.delete("/identitypools/x/identities/y/datasets/z", headers=headers)
    assert r.status_code == 400 and body(r)["__type"] == "NotImplementedException"
    assert "DeleteDataset" in body(r)["message"]


@pytest.mark.parametrize("pattern,value,ok", [
    (r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+", "Ünïcode-name_1", True),
    (r"[\p{L}\p{M}\p{S}\p{N}\p{P}]+", "has space", False),
    (r"[\w-]+_[0-9a-zA-Z]+", "us-east-1_AbC123xyz", True),
    (r"[\w-]+_[0-9a-zA-Z]+", "us-east-1_AbC 123", False),
    (r"[\w+]+", "é", False),  # Java's \w is ASCII
    (r"[\S]+", "abc", True),
])
def test_java_patterns(pattern, value, ok):
    assert pattern_matches(pattern, value) is ok


def test_validate_input_decodes_timestamps_and_blobs():
    import botocore.session
    model = botocore.session.get_session().get_service_model("cognito-idp")
    shape = model.operation_model("AdminListUserAuthEvents").input_shape
    assert validate_input(shape, {"UserPoolId": "us-east-1_a", "Username": "u"}, "X") == {
        "UserPoolId": "us-east-1_a", "Username": "u"}


def test_scalar_list_members_are_reported_on_the_list():
    client, _ = make_app({"create_user_pool_client": lambda ctx, req: {}})
    r = post(client, IDP + "CreateUserPoolClient", {"UserPoolId": "us-east-1_abc", "ClientName": "c",
                                                    "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "NOPE"]})
    msg = body(r)["message"]
    assert msg.startswith("1 validation error detected: Value '[ALLOW_USER_SRP_AUTH, NOPE]' at "
                          "'explicitAuthFlows' failed to satisfy constraint: Member must satisfy "
                          "constraint: [Member must satisfy enum value set: [")


def test_pattern_exemption_for_custom_domains():
    registry = Registry("cognito-idp", validation_error="InvalidParameterException")
    registry.exempt_pattern("CreateUserPoolDomain", "domain")
    shape = registry.model.operation_model("CreateUserPoolDomain").input_shape
    params = {"Domain": "auth.example.com", "UserPoolId": "us-east-1_abc"}
    assert validate_input(shape, params, "X", registry.pattern_exemptions("CreateUserPoolDomain")) == params
    with pytest.raises(ServiceError):
        validate_input(shape, params, "X")


def test_map_value_constraints_are_listed_whole():
    # AWS lists every constraint of the map's value shape once one fails, e.g.
    # "Map value must satisfy constraint: [Member must have length less than or equal to 50000, ...]".
    client, _ = make_app({"get_id": lambda ctx, req: {}}, service="cognito-identity", error="ValidationException")
    r = post(client, "AWSCognitoIdentityService.GetId",
             {"IdentityPoolId": "us-east-1:0a", "Logins": {"graph.facebook.com": ""}}, auth=None)
    assert body(r)["message"] == (
        "1 validation error detected: Value at 'logins' failed to satisfy constraint: Map value must satisfy "
        "constraint: [Member must have length less than or equal to 50000, Member must have length greater "
        "than or equal to 1]")


def test_length_is_reported_before_pattern():
    client, _ = make_app({"admin_get_user": lambda ctx, req: {}})
    r = post(client, IDP + "AdminGetUser", {"UserPoolId": "us-east-1_abc", "Username": ""})
    assert body(r)["message"] == (
        "2 validation errors detected: Value at 'username' failed to satisfy constraint: Member must have "
        "length greater than or equal to 1; Value at 'username' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+")
