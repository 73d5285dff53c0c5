"""Unit tests of the routing decision (protocol.router) and the query protocol (protocol.query):
which requests are API calls of which service, and the query protocol's fields and XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import botocore.model
import pytest
from helpers import auth_header
from werkzeug.datastructures import MultiDict
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from protocol import Registry, ServiceError
from protocol.protocols import JSON, REST_JSON
from protocol.query import QUERY, _FormReader, _members_xml
from protocol.router import Router

IDP = Registry("cognito-idp", validation_error="InvalidParameterException")
SYNC = Registry("cognito-sync", validation_error="InvalidParameterException")
STS = Registry("sts", validation_error="ValidationError")


def request(method: str, path: str, **kwargs) -> Request:
    return Request(EnvironBuilder(method=method, path=path, **kwargs).get_environ())


@pytest.fixture(scope="module")
def router() -> Router:
    router = Router()
    for registry in (IDP, SYNC, STS):
        router.add(registry)
    return router


def test_protocols_come_from_the_models(router):
    assert router.json == {"AWSCognitoIdentityProviderService": IDP}
    assert router.rest == [SYNC] and router.query == [STS]
    with pytest.raises(ValueError, match="not supported"):
        Router().add(Registry("s3", validation_error="X"))  # rest-xml


def test_json_by_target(router):
    route = router.route(request("POST", "/", headers={"X-Amz-Target": "AWSCognitoIdentityProviderService.ListUsers"}))
    assert (route.protocol, route.registry, route.operation) == (JSON, IDP, "ListUsers")
    route = router.route(request("POST", "/anything", headers={"X-Amz-Target": "Nobody.DoIt"}))
    assert (route.protocol, route.registry, route.operation, route.target) == (JSON, None, "DoIt", "Nobody.DoIt")


def test_every_rest_operation_routes_to_itself(router):
    model = SYNC.model
    for op_name in model.operation_names:
        http = model.operation_model(op_name).http
        uri = http["requestUri"].split("?", 1)[0]
        path = re.sub(r"\{(\w+)\+?\}", lambda m: f"value-of-{m.group(1)}", uri)
        route = router.route(request(http["method"], path))
        assert route is not None, op_name
        assert (route.protocol, route.registry, route.operation) == (REST_JSON, SYNC, op_name)
        assert all(v == f"value-of-{k}" for k, v in route.path_params.items())
        assert router.route(request(http["method"], path + "/")).operation == op_name  # trailing slash


def test_rest_paths_and_methods_that_are_no_operation(router):
    assert router.route(request("GET", "/identitypools/a:b")).operation == "DescribeIdentityPoolUsage"
    assert router.route(request("GET", "/identitypools/a%253Ab")).path_params == {"IdentityPoolId": "a:b"}
    assert router.route(request("HEAD", "/identitypools/a")) is None  # werkzeug's implicit HEAD
    assert router.route(request("PATCH", "/identitypools/a")) is None
    assert router.route(request("GET", "/identitypools//configuration")) is None
    assert router.route(request("GET", "/_emulator/health")) is None


def test_query_by_action_or_signature(router):
    form = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}
    route = router.route(request("POST", "/", data=form))
    assert (route.protocol, route.registry, route.operation) == (QUERY, STS, "GetCallerIdentity")
    assert router.route(request("GET", "/", query_string=form)).operation == "GetCallerIdentity"
    # a signature for sts claims the request wherever it goes, Action or not
    route = router.route(request("POST", "/elsewhere", data={"x": "1"}, headers=auth_header("sts")))
    assert (route.registry, route.operation) == (STS, "")
    # unsigned: only an Action at the root, in a form or the query string
    assert router.route(request("POST", "/elsewhere", data=form)) is None
    assert router.route(request("POST", "/", data="Action=GetCallerIdentity", content_type="text/plain")) is None
    assert router.route(request("PUT", "/", query_string=form)) is None
    # a signature for another service is not STS's
    assert router.route(request("POST", "/", data={"x": "1"}, headers=auth_header("cognito-idp"))) is None


# -- the query protocol's fields --------------------------------------------------------------------
def _model() -> botocore.model.ServiceModel:
    """A query service with the shapes STS does not have: flattened lists, maps, nested structures."""
    return botocore.model.ServiceModel({
        "metadata": {"protocol": "query", "apiVersion": "2020-01-01", "xmlNamespace": "urn:test"},
        "operations": {"Op": {"name": "Op", "http": {"method": "POST", "requestUri": "/"},
                              "input": {"shape": "In"}, "output": {"shape": "In", "resultWrapper": "OpResult"}}},
        "shapes": {
            "In": {"type": "structure", "members": {
                "Name": {"shape": "Str"}, "Count": {"shape": "Int"}, "On": {"shape": "Bool"},
                "Tags": {"shape": "TagList"}, "Flat": {"shape": "FlatList", "locationName": "Item"},
                "Attrs": {"shape": "Attrs"}, "Inner": {"shape": "Inner"}, "When": {"shape": "Time"},
                "Empty": {"shape": "TagList"}}},
            "Inner": {"type": "structure", "members": {"Value": {"shape": "Str"}}},
            "Tag": {"type": "structure", "members": {"Key": {"shape": "Str"}, "Value": {"shape": "Str"}}},
            "TagList": {"type": "list", "member": {"shape": "Tag"}},
            "FlatList": {"type": "list", "member": {"shape": "Str"}, "flattened": True},
            "Attrs": {"type": "map", "key": {"shape": "Str"}, "value": {"shape": "Str"}},
            "Str": {"type": "string"}, "Int": {"type": "integer"}, "Bool": {"type": "boolean"},
            "Time": {"type": "timestamp"},
        }}, "test")


def test_query_fields_read_back_as_botocore_writes_them():
    import botocore.serialize
    model = _model()
    params = {"Name": "n & <m>", "Count": 3, "On": True, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b"}],
              "Flat": ["x", "y"], "Attrs": {"k1": "v1", "k2": "v2"}, "Inner": {"Value": "deep"}, "Empty": []}
    op = model.operation_model("Op")
    fields = botocore.serialize.QuerySerializer().serialize_to_request(params, op)["body"]
    assert fields["Item.1"] == "x" and fields["Tags.member.2.Key"] == "b" and fields["Empty"] == ""
    read = _FormReader(MultiDict(fields), "ValidationError").read(op.input_shape, "", "")
    assert read == params


def test_query_numbers_are_checked():
    op = _model().operation_model("Op")
    with pytest.raises(ServiceError) as err:
        _FormReader(MultiDict({"Count": "many"}), "ValidationError").read(op.input_shape, "", "")
    assert (err.value.code, err.value.message) == (
        "ValidationError", "Value 'many' at 'count' failed to satisfy constraint: Member must be a number")


def test_query_output_parses_with_botocore():
    import botocore.parsers
    model = _model()
    op = model.operation_model("Op")
    result = {"Name": "n & <m>", "Count": 3, "On": False, "Tags": [{"Key": "a", "Value": "1"}],
              "Flat": ["x", "y"], "Attrs": {"k1": "v1"}, "Inner": {"Value": "deep"}, "When": 1700000000.0}
    body = f"<OpResponse><OpResult>{_members_xml(op.output_shape, result)}</OpResult></OpResponse>"
    ET.fromstring(body)  # well-formed
    parsed = botocore.parsers.QueryParser().parse(
        {"body": body.encode(), "headers": {}, "status_code": 200}, op.output_shape)
    parsed.pop("ResponseMetadata", None)
    when = parsed.pop("When")
    assert when.timestamp() == 1700000000.0
    assert parsed == {k: v for k, v in result.items() if k != "When"}
    assert "<When>2023-11-14T22:13:20Z</When>" in body


def test_query_errors_are_xml():
    registry = STS
    err = ServiceError("InvalidIdentityToken", "a <b> & c")
    response = QUERY.write_error(registry, err, 400, "rid")
    assert response.status_code == 400 and response.mimetype == "text/xml"
    assert response.get_data(as_text=True) == (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        "<Code>InvalidIdentityToken</Code><Message>a &lt;b&gt; &amp; c</Message></Error>"
        "<RequestId>rid</RequestId></ErrorResponse>")
    assert "<Type>Receiver</Type>" in QUERY.write_error(registry, err, 500, "rid").get_data(as_text=True)
