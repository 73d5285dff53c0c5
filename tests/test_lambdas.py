"""The Lambda invoker (Invoke API, URL per function, Python callable) and the Sync trigger that uses it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import boto_client, client_as, make_identity_pool, unique
from lambda_fixtures.servers import RecordingServer

from emulator import lambdas
from emulator.config import Config

TESTS = Path(__file__).resolve().parent
ARN = "arn:aws:lambda:us-east-1:000000000000:function:{}"


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
    # the variables of the --lambda-endpoint and --lambda-timeout settings name no function
    monkeypatch.setenv("COGNITO_EMULATOR_LAMBDA_TIMEOUT", "2")
    monkeypatch.setenv("COGNITO_EMULATOR_LAMBDA_ENDPOINT", hook.url + "/ok")
    assert lambdas.resolve(Config(), ARN.format("timeout")) is None
    assert lambdas.resolve(Config(), ARN.format("endpoint")) is None


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
        ARN.format("garble"): {"callable": fixtures + "garble"},
        ARN.format("move"): {"callable": fixtures + "move"},
    }}))
    process = EmulatorProcess("--in-memory", "--config-file", str(config), "--lambda-endpoint", api.url,
                              env={"PYTHONPATH": str(TESTS), "LAMBDA_FIXTURE_LOG": str(log)})
    process.events = log
    yield process
    process.stop()


def _setup(process, trigger_arn):
    identity = boto_client("cognito-identity", process.url)
    developer = boto_client("cognito-sync", process.url)
    pool = make_identity_pool(identity)
    developer.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": trigger_arn})
    me = identity.get_id(IdentityPoolId=pool)["IdentityId"]
    creds = identity.get_credentials_for_identity(IdentityId=me)["Credentials"]
    client = client_as("cognito-sync", process.url, creds)
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


@pytest.mark.parametrize("function, message", [
    ("garble", "The Lambda function returned invalid output: datasetRecords must map each key to "
               "{newValue, oldValue, op} with op replace or remove."),
    ("move", "The Lambda function may not change identityPoolId, identityId or datasetName."),
])
def test_sync_trigger_malformed_records(trigger_emulator, function, message):
    pool, me, client, developer = _setup(trigger_emulator, ARN.format(function))
    with pytest.raises(ClientError) as e:
        _update(client, pool, me, [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("InvalidLambdaFunctionOutputException", message)
    assert developer.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")["Records"] == []


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


# -- retries: Cognito tries a timed out, throttled or service-failed trigger up to three times -------------
class Flaky:
    """A function server whose paths answer from a script of statuses, one per call, then succeed."""

    def __init__(self, scripts: dict[str, list[int]], delay: dict[str, float] | None = None) -> None:
        self.scripts = {path: list(statuses) for path, statuses in scripts.items()}
        self.delay = delay or {}
        self.server = RecordingServer(self._call)
        self.url = self.server.url

    def _call(self, method, path, headers, body):
        name = path.strip("/")
        time.sleep(self.delay.get(name, 0))
        event = json.loads(body)
        statuses = self.scripts.get(name) or []
        status = statuses.pop(0) if statuses else 200
        if status == 200:
            if "response" in event:
                event["response"]["autoConfirmUser"] = True
            return 200, {}, event
        if status == 500:
            return 500, {}, {"errorMessage": f"{name} says no"}
        return status, {}, {"message": "try later"}

    def calls(self, name: str) -> int:
        return sum(1 for _, path, _, _ in self.server.requests if path.strip("/") == name)

    def stop(self) -> None:
        self.server.stop()


def test_retries_timeouts_throttling_and_service_errors(tmp_path):
    flaky = Flaky({"twice": [429, 503], "throttled": [429] * 5, "broken": [502] * 5, "throws": [500] * 5},
                  delay={"slow": 0.6})
    try:
        path = tmp_path / "lambdas.json"
        names = ("twice", "throttled", "broken", "throws", "slow")
        path.write_text(json.dumps({"lambdas": {name: flaky.url + "/" + name for name in names}}))
        config = Config(config_file=str(path), lambda_timeout=0.2)
        assert lambdas.invoke(config, ARN.format("twice"), {"n": 1}, attempts=3) == {"n": 1}
        assert flaky.calls("twice") == 3
        for name, kind, message in (("throttled", "throttled", "TooManyRequestsException"),
                                    ("broken", "service_error", "ServiceException"),
                                    ("slow", "timeout", "Task timed out after 0.20 seconds")):
            with pytest.raises(lambdas.LambdaError) as e:
                lambdas.invoke(config, ARN.format(name), {}, attempts=3)
            assert (e.value.kind, e.value.message) == (kind, message)
            assert flaky.calls(name) == 3, name
        # a function error is final
        with pytest.raises(lambdas.LambdaError) as e:
            lambdas.invoke(config, ARN.format("throws"), {}, attempts=3)
        assert (e.value.kind, e.value.message) == ("function_error", "throws says no")
        assert flaky.calls("throws") == 1
        # one attempt unless asked
        with pytest.raises(lambdas.LambdaError):
            lambdas.invoke(config, ARN.format("throttled"), {})
        assert flaky.calls("throttled") == 4
    finally:
        flaky.stop()


def lambda_api_errors(method, path, headers, body):
    name = path.split("/functions/", 1)[1].split("/", 1)[0]
    if name == "throttled":
        return 429, {"x-amzn-ErrorType": "TooManyRequestsException"}, {
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded", "message": "Rate Exceeded."}
    if name == "down":
        return 500, {"x-amzn-ErrorType": "ServiceException:http://internal.amazon.com/"}, {"message": "oops"}
    if name == "bad-request":
        return 400, {"x-amzn-ErrorType": "InvalidRequestContentException"}, {"message": "bad"}
    return 200, {}, {"ok": True}


def test_lambda_api_throttling_and_service_errors_are_retried():
    server = RecordingServer(lambda_api_errors)
    try:
        config = Config(lambda_endpoint=server.url)
        for name, kind, message in (("throttled", "throttled", "TooManyRequestsException"),
                                    ("down", "service_error", "ServiceException")):
            before = len(server.requests)
            with pytest.raises(lambdas.LambdaError) as e:
                lambdas.invoke(config, ARN.format(name), {}, attempts=3)
            assert (e.value.kind, e.value.message) == (kind, message)
            assert len(server.requests) - before == 3
        before = len(server.requests)
        with pytest.raises(lambdas.LambdaError) as e:
            lambdas.invoke(config, ARN.format("bad-request"), {}, attempts=3)
        assert e.value.kind == "unreachable" and len(server.requests) - before == 1
    finally:
        server.stop()


def test_lambda_timeout_setting_is_the_default_timeout():
    assert Config().lambda_timeout == 5.0
    from emulator.config import from_environment
    assert from_environment({"COGNITO_EMULATOR_LAMBDA_TIMEOUT": "0.5"}).lambda_timeout == 0.5


@pytest.fixture(scope="module")
def retry_emulator(tmp_path_factory):
    """An emulator with a 0.3 s trigger timeout whose functions are reached on a Flaky server."""
    flaky = Flaky({"twice": [503, 429], "throttled": [429] * 9, "throws": [500] * 9}, delay={"hangs": 1.0})
    config = tmp_path_factory.mktemp("retries") / "cognito.toml"
    config.write_text("[lambdas]\n" + "".join(f'{name} = "{flaky.url}/{name}"\n'
                                              for name in ("twice", "throttled", "throws", "hangs")))
    process = EmulatorProcess("--in-memory", "--config", str(config), "--lambda-timeout", "0.3")
    process.flaky = flaky
    yield process
    process.stop()
    flaky.stop()


def _sign_up(process, function: str) -> dict:
    idp = boto_client("cognito-idp", process.url)
    pool = idp.create_user_pool(PoolName=unique("retry"), LambdaConfig={"PreSignUp": ARN.format(function)})
    client = idp.create_user_pool_client(UserPoolId=pool["UserPool"]["Id"], ClientName="app")
    return idp.sign_up(ClientId=client["UserPoolClient"]["ClientId"], Username=unique("u"),
                       Password="Passw0rd!long")


def test_trigger_that_fails_twice_then_succeeds(retry_emulator):
    out = _sign_up(retry_emulator, "twice")
    assert out["UserConfirmed"] is True  # the third attempt's response was honoured
    assert retry_emulator.flaky.calls("twice") == 3


@pytest.mark.parametrize(("function", "code", "message", "calls"), [
    ("hangs", "UnexpectedLambdaException",
     "PreSignUp invocation failed due to error Socket timeout while invoking Lambda function.", 3),
    ("throttled", "UnexpectedLambdaException",
     "PreSignUp invocation failed due to error TooManyRequestsException.", 3),
    ("throws", "UserLambdaValidationException", "PreSignUp failed with error throws says no.", 1),
])
def test_trigger_failures_after_retries(retry_emulator, function, code, message, calls):
    before = retry_emulator.flaky.calls(function)
    with pytest.raises(ClientError) as e:
        _sign_up(retry_emulator, function)
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == (code, message)
    assert retry_emulator.flaky.calls(function) - before == calls


def test_sync_trigger_errors_map_to_cognito_sync_codes():
    from emulator.sync.events import _mapped
    cases = {"timeout": "LambdaSocketTimeoutException", "throttled": "LambdaThrottledException",
             "function_error": "InvalidLambdaFunctionOutputException",
             "bad_response": "InvalidLambdaFunctionOutputException"}
    for kind, code in cases.items():
        assert _mapped(lambdas.LambdaError(kind, "x")).code == code
