"""Strict mode (--verify-signatures): SigV4 signatures checked as AWS checks them, through boto3
(cognito-idp, cognito-identity, cognito-sync, STS), the AWS SDK for JavaScript v3 and the AWS CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from unittest import mock

import boto3
import botocore
import pytest
import requests
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import ROLES, boto_client, make_identity_pool, unique
from node_runner import requires_node, run_script

GOOD = ("AKIDSTRICTGOOD", "right-secret")
FROM_FILE = ("AKIDFROMFILE", "file-secret")
MISMATCH = ("The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.")
INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
STAMP = r"(\d{8}T\d{6}Z)"


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    config = tmp_path_factory.mktemp("strict") / "cognito.toml"
    config.write_text(f'[credentials]\n{FROM_FILE[0]} = "{FROM_FILE[1]}"\n')
    process = EmulatorProcess("--in-memory", "--verify-signatures", "--config", str(config),
                              env={"COGNITO_EMULATOR_CREDENTIALS": json.dumps({GOOD[0]: GOOD[1]})})
    yield process
    process.stop()


@pytest.fixture
def clock(strict):
    """The strict emulator's clock, put back after the test."""
    class Clock:
        def advance(self, seconds: float) -> float:
            r = requests.post(strict.url + "/_emulator/clock", json={"advance_seconds": seconds})
            assert r.status_code == 200, r.text
            return r.json()["epoch"]

        def now(self) -> float:
            return requests.get(strict.url + "/_emulator/clock").json()["epoch"]

    yield Clock()
    requests.post(strict.url + "/_emulator/clock", json={"reset": True})


def client(strict, service: str, creds=GOOD, token: str | None = None):
    return boto_client(service, strict.url, access_key=creds[0], secret_key=creds[1], session_token=token)


def unsigned(strict, service: str):
    return boto3.client(service, endpoint_url=strict.url, region_name="us-east-1",
                        config=BotoConfig(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}))


def error(e) -> tuple[str, str, int]:
    response = e.value.response
    status = response["ResponseMetadata"]["HTTPStatusCode"]
    return response["Error"]["Code"], response["Error"]["Message"], status


def signing_at(epoch: float):
    """Sign as a client whose clock shows `epoch` (the emulator's time after it was moved)."""
    when = dt.datetime.fromtimestamp(epoch, dt.UTC).replace(tzinfo=None)
    return mock.patch("botocore.auth.get_current_datetime", lambda *a, **k: when)


def identity_credentials(strict) -> tuple[str, str, dict]:
    identity = client(strict, "cognito-identity")
    pool = make_identity_pool(identity)
    me = unsigned(strict, "cognito-identity").get_id(IdentityPoolId=pool)["IdentityId"]
    creds = unsigned(strict, "cognito-identity").get_credentials_for_identity(IdentityId=me)["Credentials"]
    return pool, me, creds


# -- boto3, JSON 1.1 --------------------------------------------------------------------------------------
def test_right_secret_passes_wrong_and_unknown_refused(strict):
    for service, call in (("cognito-idp", lambda c: c.list_user_pools(MaxResults=5)),
                          ("cognito-identity", lambda c: c.list_identity_pools(MaxResults=5))):
        call(client(strict, service))
        call(client(strict, service, FROM_FILE))
        with pytest.raises(ClientError) as e:
            call(client(strict, service, (GOOD[0], "wrong-secret")))
        assert error(e) == ("InvalidSignatureException", MISMATCH, 400)
        with pytest.raises(ClientError) as e:
            call(client(strict, service, ("AKIDNOBODYKNOWS", "x")))
        assert error(e) == ("UnrecognizedClientException", INVALID_TOKEN, 400)
        # a long-term key with a session token it does not have
        with pytest.raises(ClientError) as e:
            call(client(strict, service, GOOD, token="made-up"))
        assert error(e) == ("UnrecognizedClientException", INVALID_TOKEN, 400)


def test_unsigned_requests(strict):
    with pytest.raises(ClientError) as e:
        unsigned(strict, "cognito-idp").list_user_pools(MaxResults=5)
    assert error(e) == ("MissingAuthenticationTokenException", "Missing Authentication Token", 400)
    # operations that take no signature (sign-up, sign-in) work as before
    idp = client(strict, "cognito-idp")
    pool = idp.create_user_pool(PoolName=unique("strict"))["UserPool"]["Id"]
    flows = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    app = idp.create_user_pool_client(UserPoolId=pool, ClientName="app", ExplicitAuthFlows=flows)
    public = unsigned(strict, "cognito-idp")
    username = unique("u")
    public.sign_up(ClientId=app["UserPoolClient"]["ClientId"], Username=username, Password="Passw0rd!long")
    idp.admin_confirm_sign_up(UserPoolId=pool, Username=username)
    out = public.initiate_auth(ClientId=app["UserPoolClient"]["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                               AuthParameters={"USERNAME": username, "PASSWORD": "Passw0rd!long"})
    assert out["AuthenticationResult"]["AccessToken"]


def test_stale_or_future_date_refused(strict, clock):
    idp = client(strict, "cognito-idp")
    sent = {}

    def keep_date(request, **_):
        sent["date"] = request.headers["X-Amz-Date"].decode() if isinstance(
            request.headers["X-Amz-Date"], bytes) else request.headers["X-Amz-Date"]
    idp.meta.events.register("before-send", keep_date)
    emulator_now = clock.advance(20 * 60)
    with pytest.raises(ClientError) as e:
        idp.list_user_pools(MaxResults=5)
    code, message, status = error(e)
    assert (code, status) == ("InvalidSignatureException", 400)
    found = re.fullmatch(rf"Signature expired: {STAMP} is now earlier than {STAMP} \({STAMP} - 15 min\.\)",
                         message)
    assert found, message
    parse = [dt.datetime.strptime(s, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()
             for s in found.groups()]
    assert found.group(1) == sent["date"]
    assert parse[2] - parse[1] == 15 * 60 and abs(parse[2] - emulator_now) < 30

    clock.advance(-40 * 60)
    with pytest.raises(ClientError) as e:
        idp.list_user_pools(MaxResults=5)
    code, message, status = error(e)
    assert (code, status) == ("InvalidSignatureException", 400)
    pattern = rf"Signature not yet current: {STAMP} is still later than {STAMP} \({STAMP} \+ 15 min\.\)"
    assert re.fullmatch(pattern, message), message
    # a client whose clock agrees with the emulator's is accepted
    with signing_at(clock.now()):
        idp.list_user_pools(MaxResults=5)


# -- boto3, rest-json (Cognito Sync) with emulator-issued credentials -------------------------------------
def test_identity_credentials_work_for_sync(strict):
    pool, me, creds = identity_credentials(strict)
    assert creds["AccessKeyId"].startswith("ASIA")
    mine = client(strict, "cognito-sync", (creds["AccessKeyId"], creds["SecretKey"]), creds["SessionToken"])
    # the identity id travels URL-encoded in the path (us-east-1%3A...), double-encoded in the signature
    listed = mine.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")
    out = mine.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game",
                              SyncSessionToken=listed["SyncSessionToken"],
                              RecordPatches=[{"Op": "replace", "Key": "level", "Value": "3", "SyncCount": 0}])
    assert [(r["Key"], r["Value"]) for r in out["Records"]] == [("level", "3")]
    assert client(strict, "cognito-sync").list_datasets(IdentityPoolId=pool, IdentityId=me)["Count"] == 1

    key, secret, session = creds["AccessKeyId"], creds["SecretKey"], creds["SessionToken"]
    unrecognized = ("UnrecognizedClientException", INVALID_TOKEN)
    for creds_, token, expected in (((key, "wrong-secret"), session, ("InvalidSignatureException", MISMATCH)),
                                    ((key, secret), None, unrecognized),
                                    ((key, secret), "not-the-token", unrecognized),
                                    (("AKIDNOBODYKNOWS", "x"), None, unrecognized)):
        with pytest.raises(ClientError) as e:
            client(strict, "cognito-sync", creds_, token).list_records(IdentityPoolId=pool, IdentityId=me,
                                                                        DatasetName="game")
        assert error(e) == (*expected, 403)


def test_expired_identity_credentials(strict, clock):
    pool, me, creds = identity_credentials(strict)
    later = clock.advance(3601)
    with signing_at(later):
        with pytest.raises(ClientError) as e:
            client(strict, "cognito-sync", (creds["AccessKeyId"], creds["SecretKey"]),
                   creds["SessionToken"]).list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")
        assert error(e) == ("ExpiredTokenException", EXPIRED_TOKEN, 403)
        with pytest.raises(ClientError) as e:
            client(strict, "sts", (creds["AccessKeyId"], creds["SecretKey"]),
                   creds["SessionToken"]).get_caller_identity()
        assert error(e) == ("ExpiredToken", EXPIRED_TOKEN, 403)
        # a developer key does not expire
        client(strict, "cognito-sync").list_datasets(IdentityPoolId=pool, IdentityId=me)


# -- STS (query protocol) ----------------------------------------------------------------------------------
def test_sts(strict, clock):
    pool, me, creds = identity_credentials(strict)
    mine = (creds["AccessKeyId"], creds["SecretKey"])
    sts = client(strict, "sts", mine, creds["SessionToken"])
    assert sts.get_caller_identity()["Arn"] == "arn:aws:sts::000000000000:assumed-role/Unauth/" \
                                              "CognitoIdentityCredentials"
    with pytest.raises(ClientError) as e:
        client(strict, "sts", (mine[0], "wrong"), creds["SessionToken"]).get_caller_identity()
    assert error(e) == ("SignatureDoesNotMatch", MISMATCH, 403)
    with pytest.raises(ClientError) as e:
        client(strict, "sts", ("AKIDNOBODYKNOWS", "x")).get_caller_identity()
    assert error(e) == ("InvalidClientTokenId", INVALID_TOKEN, 403)
    assert client(strict, "sts").get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:root"

    # presigned GetCallerIdentity (the form IAM-based login systems pass around)
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=900, HttpMethod="GET")
    assert "X-Amz-Signature=" in url
    answer = requests.get(url)
    assert answer.status_code == 200 and "assumed-role/Unauth/CognitoIdentityCredentials" in answer.text
    # botocore signs for the operation's own method (POST) unless told otherwise: the method is signed
    answer = requests.get(sts.generate_presigned_url("get_caller_identity", ExpiresIn=900))
    assert answer.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in answer.text
    answer = requests.get(url.replace("Version=2011-06-15", "Version=2011-06-16"))
    assert answer.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in answer.text

    # AssumeRoleWithWebIdentity takes no signature
    token = unsigned(strict, "cognito-identity").get_open_id_token(IdentityId=me)["Token"]
    assumed = unsigned(strict, "sts").assume_role_with_web_identity(
        RoleArn=ROLES["authenticated"], RoleSessionName="strict-session", WebIdentityToken=token)
    assert assumed["Credentials"]["AccessKeyId"].startswith("ASIA")
    c = assumed["Credentials"]
    assert client(strict, "sts", (c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"]) \
        .get_caller_identity()["Arn"].endswith(":assumed-role/Auth/strict-session")

    clock.advance(16 * 60)
    with pytest.raises(ClientError) as e:
        sts.get_caller_identity()
    code, message, status = error(e)
    assert (code, status) == ("SignatureDoesNotMatch", 403) and message.startswith("Signature expired: ")


# -- other clients -----------------------------------------------------------------------------------------
@requires_node
def test_aws_sdk_js_v3(strict):
    out = run_script("sigv4_strict.mjs", ENDPOINT=strict.url, POOL_NAME=unique("js"), CREDENTIALS=json.dumps(
        [list(GOOD), [GOOD[0], "wrong-secret"], ["AKIDNOBODYKNOWS", "x"]]))
    ok, wrong, unknown = out["results"]
    assert ok["ok"] is True and ok["pools"] >= 1
    assert wrong == {"name": "InvalidSignatureException", "message": MISMATCH, "status": 400}
    assert unknown == {"name": "UnrecognizedClientException", "message": INVALID_TOKEN, "status": 400}


def _aws(strict, creds, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": creds[0], "AWS_SECRET_ACCESS_KEY": creds[1],
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_MAX_ATTEMPTS": "1"}
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run(["aws", "--endpoint-url", strict.url, "--output", "json", *args],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli(strict):
    ok = _aws(strict, GOOD, "cognito-idp", "list-user-pools", "--max-results", "5")
    assert ok.returncode == 0, ok.stderr
    assert "UserPools" in json.loads(ok.stdout)
    wrong = _aws(strict, (GOOD[0], "wrong-secret"), "cognito-idp", "list-user-pools", "--max-results", "5")
    assert wrong.returncode != 0
    assert ("An error occurred (InvalidSignatureException) when calling the ListUserPools operation: "
            + MISMATCH) in wrong.stderr
    unknown = _aws(strict, ("AKIDNOBODYKNOWS", "x"), "cognito-identity", "list-identity-pools",
                   "--max-results", "5")
    assert unknown.returncode != 0
    assert ("An error occurred (UnrecognizedClientException) when calling the ListIdentityPools operation: "
            + INVALID_TOKEN) in unknown.stderr
    who = _aws(strict, FROM_FILE, "sts", "get-caller-identity")
    assert who.returncode == 0, who.stderr
    assert json.loads(who.stdout)["Arn"] == "arn:aws:iam::000000000000:root"


# -- settings ------------------------------------------------------------------------------------------------
def test_unreadable_credentials_setting_stops_start_up():
    with pytest.raises(RuntimeError) as e:
        EmulatorProcess("--in-memory", "--verify-signatures", env={"COGNITO_EMULATOR_CREDENTIALS": "{nope"})
    assert "cognito-emulator: COGNITO_EMULATOR_CREDENTIALS is not JSON" in str(e.value)


def test_signatures_are_not_checked_by_default(idp):
    boto_client("cognito-idp", idp.meta.endpoint_url, access_key="AKIDANYTHING",
                secret_key="any-secret").list_user_pools(MaxResults=1)


def test_non_ascii_signature_is_refused(strict):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    auth = (f"AWS4-HMAC-SHA256 Credential={GOOD[0]}/{stamp[:8]}/us-east-1/cognito-idp/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=\u00e9t\u00e9")
    r = requests.post(strict.url + "/", data="{}", timeout=10, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools",
        "X-Amz-Date": stamp, "Authorization": auth.encode("utf-8")})
    assert r.status_code == 400, r.text
    # The HTTP server drops a header value that is not visible ASCII: the request is unsigned.
    assert r.json()["__type"] in ("InvalidSignatureException", "MissingAuthenticationTokenException")
