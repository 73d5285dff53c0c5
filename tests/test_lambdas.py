"""The Lambda invoker (Invoke API, URL per function, Python callable) and the Sync trigger that uses it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import EmulatorProcess, make_client, unique
from lambda_fixtures.servers import RecordingServer

from emulator import lambdas
from emulator.config import Config

TESTS = Path(__file__).resolve().parent
ARN = "arn:aws:lambda:us-east-1:000000000000:function:{}"
ROLES = {"unauthenticated": "arn:aws:iam::000000000000:role/Unauth",
         "authenticated": "arn:aws:iam::000000000000:role/Auth"}


def lambda_api(method, path, headers, body):
    """A Lambda Invoke API: `echo` answers {"got": event}, `fails` throws, `slow` sleeps, others 404."""
    name = path.split("/functions/", 1)[1].split("/", 1)[0]
    if name == "echo":
        return 200, {}, {"got": json.loads(body)}
    if name == "fails":
        return 200, {"X-Amz-Function-Error": "Unhandled"}, {"errorMessage": "boom", "errorType": "Error"}
    if name == "slow":
        time.sleep(1.5)
        return 200, {}, {}
    if name == "text":
        return 200, {}, b'"just a string"'
    return 404, {"x-amzn-ErrorType": "ResourceNotFoundException"}, {
        "Type": "User", "message": f"Function not found: {ARN.format(name)}"}


@pytest.fixture(scope="module")
def api():
    server = RecordingServer(lambda_api)
    yield server
    server.stop()


def webhook(method, path, headers, body):
    event = json.loads(body)
    if path == "/fail":
        return 400, {}, {"errorMessage": "webhook says no"}
    if path == "/fail-message":
        return 500, {}, {"message": "plain message"}
    return 200, {}, {**event, "seen": True}


@pytest.fixture(scope="module")
def hook():
    server = RecordingServer(webhook)
    yield server
    server.stop()


# -- the invoker itself ------------------------------------------------------------------------
def test_invoke_api(api):
    config = Config(lambda_endpoint=api.url)
    assert lambdas.invoke(config, ARN.format("echo"), {"a": 1}) == {"got": {"a": 1}}
    method, path, headers, body = api.requests[-1]
    assert path == "/2015-03-31/functions/echo/invocations"
    assert headers["X-Amz-Invocation-Type"] == "RequestResponse"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/lambda/aws4_request" in headers["Authorization"]
    lambdas.invoke(config, ARN.format("echo") + ":live", {})
    assert api.requests[-1][1] == "/2015-03-31/functions/echo/invocations?Qualifier=live"


def test_invoke_api_errors(api):
    config = Config(lambda_endpoint=api.url)
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("fails"), {})
    assert (e.value.kind, e.value.message) == ("function_error", "boom")
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("missing"), {})
    assert (e.value.kind, e.value.message) == ("not_found", f"Function not found: {ARN.format('missing')}")
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("text"), {})
    assert e.value.kind == "bad_response"
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("slow"), {}, timeout=0.3)
    assert e.value.kind == "timeout"
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(Config(lambda_endpoint="http://127.0.0.1:9"), ARN.format("echo"), {})
    assert e.value.kind == "unreachable"


def test_nothing_configured_is_not_found():
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(Config(), ARN.format("nowhere"), {})
    assert (e.value.kind, e.value.message) == ("not_found", f"Function not found: {ARN.format('nowhere')}")


def test_url_per_function(hook, tmp_path):
    path = tmp_path / "lambdas.json"
    path.write_text(json.dumps({"lambdas": {
        ARN.format("ok"): {"url": hook.url + "/ok"},
        "bad": {"url": hook.url + "/fail"},
        "bad2": hook.url + "/fail-message",
    }}))
    config = Config(config_file=str(path))
    assert lambdas.invoke(config, ARN.format("ok"), {"x": 1}) == {"x": 1, "seen": True}
    assert json.loads(hook.requests[-1][3]) == {"x": 1}
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("bad"), {})  # found by name
    assert (e.value.kind, e.value.message) == ("function_error", "webhook says no")
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, "bad2", {})
    assert (e.value.kind, e.value.message) == ("function_error", "plain message")


def test_python_callables_from_toml(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(TESTS))
    path = tmp_path / "lambdas.toml"
    path.write_text('[lambdas]\n'
                    f'"{ARN.format("award")}" = {{ callable = "lambda_fixtures.sync_triggers:award" }}\n'
                    'reject = { callable = "lambda_fixtures.sync_triggers:reject" }\n'
                    'odd = { callable = "lambda_fixtures.sync_triggers:not_an_event" }\n'
                    'slow = { callable = "lambda_fixtures.sync_triggers:slow" }\n'
                    'gone = { callable = "lambda_fixtures.sync_triggers:no_such_function" }\n')
    config = Config(config_file=str(path))
    event = {"datasetRecords": {"score": {"oldValue": None, "newValue": "60", "op": "replace"}}}
    out = lambdas.invoke(config, ARN.format("award"), event)
    assert out["datasetRecords"]["score"]["newValue"] == "120"
    assert out["datasetRecords"]["badge"]["newValue"] == "gold"
    assert event["datasetRecords"]["score"]["newValue"] == "60"  # the caller's event is not mutated
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("reject"), {})
    assert (e.value.kind, e.value.message) == ("function_error", "cheating detected")
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("odd"), {"datasetRecords": {}})
    assert e.value.kind == "bad_response"
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("slow"), {}, timeout=0.2)
    assert (e.value.kind, e.value.message) == ("timeout", "Task timed out after 0.20 seconds")
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("gone"), {})
    assert e.value.kind == "not_found"


def test_environment_variables(hook, monkeypatch, api):
    monkeypatch.syspath_prepend(str(TESTS))
    assert lambdas.env_variable("my-fn.v2") == "COGNITO_EMULATOR_LAMBDA_MY_FN_V2"
    monkeypatch.setenv("COGNITO_EMULATOR_LAMBDA_MY_FN", hook.url + "/ok")
    monkeypatch.setenv("COGNITO_EMULATOR_LAMBDA_REJECTER", "lambda_fixtures.sync_triggers:reject")
    # a mapped function wins over the Lambda endpoint
    config = Config(lambda_endpoint=api.url)
    assert lambdas.invoke(config, ARN.format("my-fn"), {"k": "v"}) == {"k": "v", "seen": True}
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("rejecter"), {})
    assert e.value.message == "cheating detected"
    monkeypatch.setenv("COGNITO_EMULATOR_LAMBDA_WEIRD", "not a target")
    with pytest.raises(lambdas.LambdaError) as e:
        lambdas.invoke(config, ARN.format("weird"), {})
    assert e.value.kind == "not_found"


# -- the Sync trigger, end to end ----------------------------------------------------------------
@pytest.fixture(scope="module")
def trigger_emulator(tmp_path_factory, api):
    """An emulator whose config file maps function ARNs to the Python callables in lambda_fixtures."""
    folder = tmp_path_factory.mktemp("sync-trigger")
    log = folder / "events.jsonl"
    config = folder / "cognito.json"
    fixtures = "lambda_fixtures.sync_triggers:"
    config.write_text(json.dumps({"lambdas": {
        ARN.format("award"): {"callable": fixtures + "award"},
        ARN.format("reject"): {"callable": fixtures + "reject"},
        ARN.format("drop"): {"callable": fixtures + "drop_everything"},
        ARN.format("odd"): {"callable": fixtures + "not_an_event"},
    }}))
    process = EmulatorProcess("--in-memory", "--config-file", str(config), "--lambda-endpoint", api.url,
                              env={"PYTHONPATH": str(TESTS), "LAMBDA_FIXTURE_LOG": str(log)})
    process.events = log
    yield process
    process.stop()


def _setup(process, trigger_arn):
    identity = make_client("cognito-identity", process.url)
    developer = make_client("cognito-sync", process.url)
    pool = identity.create_identity_pool(IdentityPoolName=unique("trig"),
                                         AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    identity.set_identity_pool_roles(IdentityPoolId=pool, Roles=ROLES)
    developer.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": trigger_arn})
    me = identity.get_id(IdentityPoolId=pool)["IdentityId"]
    creds = identity.get_credentials_for_identity(IdentityId=me)["Credentials"]
    client = make_client("cognito-sync", process.url, access_key=creds["AccessKeyId"],
                         secret_key=creds["SecretKey"], session_token=creds["SessionToken"])
    return pool, me, client, developer


def _update(client, pool, me, patches, dataset="game"):
    token = client.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName=dataset)["SyncSessionToken"]
    return client.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName=dataset,
                                 SyncSessionToken=token, RecordPatches=patches)


def _last_event(process) -> dict:
    return json.loads(process.events.read_text().splitlines()[-1])


def test_sync_trigger_changes_records(trigger_emulator):
    pool, me, client, developer = _setup(trigger_emulator, ARN.format("award"))
    out = _update(client, pool, me, [{"Op": "replace", "Key": "score", "Value": "60", "SyncCount": 0},
                                     {"Op": "replace", "Key": "name", "Value": "Zed", "SyncCount": 0}])
    assert sorted((r["Key"], r["Value"], r["SyncCount"]) for r in out["Records"]) == [
        ("badge", "gold", 1), ("name", "Zed", 1), ("score", "120", 1)]
    logged = _last_event(trigger_emulator)
    assert logged["arn"] == ARN.format("award") and logged["function"] == "award"
    assert logged["event"] == {
        "version": 2, "eventType": "SyncTrigger", "region": "us-east-1", "identityPoolId": pool,
        "identityId": me, "datasetName": "game",
        "datasetRecords": {"score": {"oldValue": None, "newValue": "60", "op": "replace"},
                           "name": {"oldValue": None, "newValue": "Zed", "op": "replace"}}}
    stored = developer.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")["Records"]
    assert sorted((r["Key"], r["Value"]) for r in stored) == [("badge", "gold"), ("name", "Zed"), ("score", "120")]

    _update(client, pool, me, [{"Op": "replace", "Key": "score", "Value": "10", "SyncCount": 1},
                               {"Op": "remove", "Key": "name", "SyncCount": 1}])
    assert _last_event(trigger_emulator)["event"]["datasetRecords"] == {
        "score": {"oldValue": "120", "newValue": "10", "op": "replace"},
        "name": {"oldValue": "Zed", "newValue": None, "op": "remove"}}

    # developer credentials do not run the trigger, as on AWS
    lines = len(trigger_emulator.events.read_text().splitlines())
    out = _update(developer, pool, me, [{"Op": "replace", "Key": "score", "Value": "7", "SyncCount": 2}])
    assert out["Records"][0]["Value"] == "7"
    assert len(trigger_emulator.events.read_text().splitlines()) == lines


def test_sync_trigger_rejects(trigger_emulator):
    pool, me, client, developer = _setup(trigger_emulator, ARN.format("reject"))
    with pytest.raises(ClientError) as e:
        _update(client, pool, me, [{"Op": "replace", "Key": "level", "Value": "99", "SyncCount": 0}])
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidLambdaFunctionOutputException",
                                             "The Lambda function returned an error: cheating detected")
    listed = developer.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")
    assert listed["Records"] == [] and listed["DatasetExists"] is False


def test_sync_trigger_may_drop_records(trigger_emulator):
    pool, me, client, _ = _setup(trigger_emulator, ARN.format("drop"))
    out = _update(client, pool, me, [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    assert out["Records"] == []


def test_sync_trigger_invalid_output(trigger_emulator):
    pool, me, client, _ = _setup(trigger_emulator, ARN.format("odd"))
    with pytest.raises(ClientError) as e:
        _update(client, pool, me, [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "InvalidLambdaFunctionOutputException",
        "The Lambda function returned invalid output: The function's response is not a JSON object.")


def test_sync_trigger_through_lambda_endpoint(trigger_emulator, api):
    pool, me, client, _ = _setup(trigger_emulator, ARN.format("fails"))
    with pytest.raises(ClientError) as e:
        _update(client, pool, me, [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidLambdaFunctionOutputException",
                                             "The Lambda function returned an error: boom")
    event = json.loads(api.requests[-1][3])
    assert event["eventType"] == "SyncTrigger" and event["identityId"] == me
    pool, me, client, _ = _setup(trigger_emulator, ARN.format("unknown-function"))
    with pytest.raises(ClientError) as e:
        _update(client, pool, me, [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "InvalidLambdaFunctionOutputException",
        f"The Lambda function could not be invoked: Function not found: {ARN.format('unknown-function')}")
