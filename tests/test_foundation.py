"""The server as a whole: dev endpoints, CORS, routing, persistence, CLI."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import ROOT, EmulatorProcess
from helpers import auth_header, boto_client, post_json, unique


def test_health(http):
    r = http.get("/_emulator/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["services"] == ["cognito-idp", "cognito-identity", "cognito-sync"]
    assert body["version"]


def test_clock_read_advance_set_reset(http, clock):
    before = http.get("/_emulator/clock").json()
    assert abs(before["offset_seconds"]) < 1e-6
    moved = clock.advance(3600)
    assert moved["offset_seconds"] == pytest.approx(3600)
    assert moved["epoch"] - before["epoch"] == pytest.approx(3600, abs=5)
    at = clock.set("2030-01-02T03:04:05Z")
    assert at["now"].startswith("2030-01-02T03:04:0")
    r = http.post("/_emulator/clock", json={"reset": True})
    assert abs(r.json()["offset_seconds"]) < 1e-6


def test_clock_freeze_and_unfreeze(http, clock):
    frozen = clock.freeze()
    assert frozen["frozen"] is True
    time.sleep(0.05)  # real time passes; the frozen clock does not (this is not an expiry test)
    assert http.get("/_emulator/clock").json()["epoch"] == frozen["epoch"]
    moved = clock.advance(60)
    assert moved["epoch"] == pytest.approx(frozen["epoch"] + 60) and moved["frozen"] is True
    at = http.post("/_emulator/clock", json={"set": "2031-05-06T07:08:09Z", "freeze": True}).json()
    assert at["now"] == "2031-05-06T07:08:09Z"
    running = http.post("/_emulator/clock", json={"freeze": False}).json()
    assert running["frozen"] is False and running["epoch"] >= at["epoch"]
    clock.reset()
    assert http.get("/_emulator/clock").json()["frozen"] is False


CLOCK_USAGE = ('Send JSON: {"advance_seconds": N}, {"set": "<ISO-8601>"}, {"freeze": true|false} '
               'or {"reset": true}')


@pytest.mark.parametrize(("payload", "message"), [
    ({"advance_seconds": "soon"}, "advance_seconds must be a number"),
    ({"set": "not a date"}, "set must be an ISO-8601 date-time or epoch seconds"),
    ({"what": 1}, CLOCK_USAGE),
    ([1], CLOCK_USAGE),
])
def test_clock_rejects_bad_requests(http, payload, message):
    r = http.post("/_emulator/clock", json=payload)
    assert r.status_code == 400
    assert r.json() == {"__type": "BadRequest", "message": message}


def test_outbox_is_json_and_can_be_emptied(http):
    r = http.get("/_emulator/messages", params={"pool_id": "us-east-1_none", "limit": 5})
    assert r.status_code == 200 and r.json() == {"messages": []}
    bad = http.get("/_emulator/messages", params={"limit": "x"})
    assert bad.status_code == 400
    assert bad.json() == {"__type": "BadRequest", "message": "limit must be a whole number"}


def test_outbox_filters_newest_first(idp, http):
    pool = idp.create_user_pool(PoolName=unique("outbox"), AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="c")["UserPoolClient"]["ClientId"]
    first, second = unique("ann"), unique("bob")
    for name in (first, second):
        idp.sign_up(ClientId=client, Username=name, Password="Passw0rd!",
                    UserAttributes=[{"Name": "email", "Value": f"{name}@example.com"}])
    idp.resend_confirmation_code(ClientId=client, Username=first)
    everything = http.get("/_emulator/messages", params={"pool_id": pool}).json()["messages"]
    assert [(m["username"], m["kind"]) for m in everything] == [
        (first, "ResendCode"), (second, "SignUp"), (first, "SignUp")]
    newest = everything[0]
    assert {"id", "created", "pool_id", "username", "channel", "destination", "kind", "code", "subject",
            "body"} <= set(newest)
    assert (newest["channel"], newest["destination"]) == ("EMAIL", f"{first}@example.com")
    assert len(newest["code"]) == 6 and newest["code"] in newest["body"]
    by_user = http.get("/_emulator/messages", params={"pool_id": pool, "username": first}).json()["messages"]
    assert [m["kind"] for m in by_user] == ["ResendCode", "SignUp"]
    by_destination = http.get("/_emulator/messages", params={"destination": f"{second}@example.com"}).json()
    assert [m["username"] for m in by_destination["messages"]] == [second]
    limited = http.get("/_emulator/messages", params={"pool_id": pool, "limit": 1}).json()["messages"]
    assert [m["id"] for m in limited] == [newest["id"]]
    by_kind = http.get("/_emulator/messages", params={"pool_id": pool, "kind": "SignUp"}).json()["messages"]
    assert [m["username"] for m in by_kind] == [second, first]


def test_wrong_content_type_is_a_serialization_error(endpoint):
    r = post_json(endpoint, "AWSCognitoIdentityProviderService.ListUserPools", "{}",
                  headers={"Content-Type": "text/plain"})
    assert r.status_code == 400
    assert r.json() == {"__type": "SerializationException",
                        "message": "Unsupported Content-Type 'text/plain'; expected application/x-amz-json-1.1."}


def test_one_log_line_per_api_call(tmp_path):
    server = EmulatorProcess("--in-memory", "--log-level", "INFO")
    try:
        idp = boto_client("cognito-idp", server.url)
        idp.list_user_pools(MaxResults=1)
        with pytest.raises(ClientError):
            idp.describe_user_pool(UserPoolId="us-east-1_nothere1")
    finally:
        server.stop()
    log = server.log()
    assert len(re.findall(r"cognito-idp ListUserPools 200 \d+\.\dms", log)) == 1, log
    assert len(re.findall(r"cognito-idp DescribeUserPool 400 \d+\.\dms", log)) == 1, log


def test_unknown_paths_answer_json_not_html(http):
    r = http.get("/no/such/thing")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["__type"] == "NotFound"


def test_cors_preflight_and_headers(endpoint):
    r = requests.options(endpoint + "/", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,x-amz-user-agent,content-type"})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    allowed = r.headers["Access-Control-Allow-Headers"].lower()
    for header in ("x-amz-target", "x-amz-user-agent", "x-amz-date", "x-amz-security-token",
                   "authorization", "content-type", "amz-sdk-invocation-id", "amz-sdk-request",
                   "cache-control"):
        assert header in allowed
    exposed = r.headers["Access-Control-Expose-Headers"].lower()
    for header in ("x-amzn-requestid", "x-amzn-errortype", "x-amzn-errormessage"):
        assert header in exposed
    api = requests.post(endpoint + "/", data="{}", headers={
        "Origin": "http://localhost:3000", "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.NoSuchOperation"})
    assert api.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    assert api.headers["x-amzn-RequestId"]


def test_unknown_operation_through_boto3_shape(endpoint):
    r = requests.post(endpoint + "/", data="{}", headers={
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": "AWSCognitoIdentityProviderService.NoSuchOperation"})
    assert r.status_code == 400
    assert r.json() == {"__type": "UnknownOperationException",
                        "message": "Unknown operation 'AWSCognitoIdentityProviderService.NoSuchOperation'."}


def test_malformed_json_is_a_serialization_error(endpoint):
    r = post_json(endpoint, "AWSCognitoIdentityProviderService.ListUserPools", "{oops")
    assert r.status_code == 400
    assert r.json() == {"__type": "SerializationException",
                        "message": "Start of structure or map found where not expected."}


def test_sync_uri_is_routed_to_its_operation(sync):
    # The operation is reached (and answers as a Cognito Sync error, not a routing error).
    with pytest.raises(ClientError) as err:
        sync.list_records(IdentityPoolId="us-east-1:00000000-0000-4000-8000-000000000000",
                          IdentityId="us-east-1:00000000-0000-4000-8000-000000000001",
                          DatasetName="settings", LastSyncCount=0)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert err.value.response["Error"]["Message"] == (
        "IdentityPool 'us-east-1:00000000-0000-4000-8000-000000000000' not found.")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_reset_wipes_everything_and_clock(tmp_path):
    server = EmulatorProcess("--in-memory")
    try:
        s = requests.Session()
        s.post(server.url + "/_emulator/clock", json={"advance_seconds": 500})
        idp = boto_client("cognito-idp", server.url)
        pool = idp.create_user_pool(PoolName="to-wipe")["UserPool"]["Id"]
        for path in ("/_emulator/reset", "/moto-api/reset"):
            r = s.post(server.url + path)
            assert r.status_code == 200
        assert idp.list_user_pools(MaxResults=60)["UserPools"] == []
        with pytest.raises(ClientError) as err:
            idp.describe_user_pool(UserPoolId=pool)
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert abs(s.get(server.url + "/_emulator/clock").json()["offset_seconds"]) < 1e-6
    finally:
        server.stop()


def test_state_survives_restart_with_data_dir(tmp_path):
    data = str(tmp_path / "state")
    server = EmulatorProcess("--data-dir", data)
    try:
        idp = boto_client("cognito-idp", server.url)
        pool = idp.create_user_pool(PoolName="durable")["UserPool"]["Id"]
        jwks = requests.get(f"{server.url}/{pool}/.well-known/jwks.json").json()
        requests.post(server.url + "/_emulator/clock", json={"advance_seconds": 1234})
    finally:
        server.stop()
    server = EmulatorProcess("--data-dir", data)
    try:
        idp = boto_client("cognito-idp", server.url)
        assert idp.describe_user_pool(UserPoolId=pool)["UserPool"]["Name"] == "durable"
        assert requests.get(f"{server.url}/{pool}/.well-known/jwks.json").json() == jwks
        offset = requests.get(server.url + "/_emulator/clock").json()["offset_seconds"]
        assert offset == pytest.approx(1234)
    finally:
        server.stop()


def test_reset_command_deletes_a_data_dir_state(tmp_path):
    data = str(tmp_path / "state")
    server = EmulatorProcess("--data-dir", data)
    try:
        pool = boto_client("cognito-idp", server.url).create_user_pool(PoolName="doomed")["UserPool"]["Id"]
    finally:
        server.stop()
    out = subprocess.run([sys.executable, "-m", "emulator", "reset", "--data-dir", data], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert "deleted" in out
    server = EmulatorProcess("--data-dir", data)
    try:
        idp = boto_client("cognito-idp", server.url)
        with pytest.raises(ClientError) as err:
            idp.describe_user_pool(UserPoolId=pool)
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finally:
        server.stop()


def test_settings_from_environment(tmp_path):
    server = EmulatorProcess("--in-memory", env={"COGNITO_EMULATOR_REGION": "eu-west-1",
                                                  "COGNITO_EMULATOR_ACCOUNT_ID": "123456789012"})
    try:
        # An unsigned-region request falls back to the configured region in ids and ARNs.
        r = post_json(server.url, "AWSCognitoIdentityProviderService.CreateUserPool", {"PoolName": "p"},
                      headers=auth_header(region=""))
        pool = r.json()["UserPool"]
        assert pool["Id"].startswith("eu-west-1_")
        assert pool["Arn"].startswith("arn:aws:cognito-idp:eu-west-1:123456789012:userpool/")
    finally:
        server.stop()


def test_coverage_command_prints_markdown():
    out = subprocess.run([sys.executable, "-m", "emulator", "coverage"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert "### cognito-idp (" in out and "### cognito-identity (" in out and "### cognito-sync (" in out
    assert "| InitiateAuth |" in out


def test_readme_coverage_table_is_true():
    # Exact equality would break whenever botocore adds operations; what must hold is that the
    # README claims exactly the operations that have handlers.
    from emulator.cli import README_END, README_START, coverage
    text = (ROOT / "README.md").read_text()
    table = text.split(README_START, 1)[1].split(README_END, 1)[0]
    def rows(text: str) -> dict[str, str]:  # operation -> where its code is (handled ones)
        return {cells[1].strip(): cells[2].strip() for line in text.splitlines()
                if (cells := line.split("|")) and len(cells) == 4 and cells[2].strip().startswith("`")}

    claimed, handled = rows(table), rows(coverage())
    assert claimed == handled, "run `make coverage` to regenerate the README's table"
    for where in handled.values():  # the table leads to the code
        path, function = (part.strip("`") for part in where.split())
        assert f"def {function}(" in (ROOT / path).read_text()


def test_two_processes_share_one_data_dir(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    data = str(tmp_path / "shared")
    first = EmulatorProcess("--data-dir", data)
    second = EmulatorProcess("--data-dir", data)
    try:
        clients = [boto_client("cognito-idp", p.url) for p in (first, second)]

        def create(i):
            return clients[i % 2].create_user_pool(PoolName=f"shared{i}")["UserPool"]["Id"]

        with ThreadPoolExecutor(8) as pool:
            created = set(pool.map(create, range(40)))
        assert len(created) == 40
        for client in clients:
            seen = set()
            kwargs = {"MaxResults": 60}
            while True:
                page = client.list_user_pools(**kwargs)
                seen |= {p["Id"] for p in page["UserPools"]}
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
            assert created <= seen
        # The clock is shared state too.
        requests.post(first.url + "/_emulator/clock", json={"advance_seconds": 77})
        clients[1].describe_user_pool(UserPoolId=next(iter(created)))  # any call reloads the clock
        assert requests.get(second.url + "/_emulator/clock").json()["offset_seconds"] == pytest.approx(77)
    finally:
        first.stop()
        second.stop()


def test_serves_https_with_a_generated_certificate(tmp_path):
    data = tmp_path / "tls-state"
    server = EmulatorProcess("--data-dir", str(data), "--tls")
    try:
        assert server.url.startswith("https://")
        cert = data / "tls" / "cert.pem"
        assert cert.exists()
        r = requests.get(server.url + "/_emulator/health", verify=str(cert))
        assert r.status_code == 200 and r.json()["status"] == "ok"
        idp = boto_client("cognito-idp", server.url, verify=str(cert))
        assert idp.list_user_pools(MaxResults=1)["UserPools"] == []
    finally:
        server.stop()
