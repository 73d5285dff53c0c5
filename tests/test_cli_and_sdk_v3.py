"""The AWS CLI and the AWS SDK for JavaScript v3 against the running emulator: pools, clients, groups,
listing, and a service error as each tool reports it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from helpers import unique
from node_runner import NODE_DIR

SDK_V3 = NODE_DIR / "node_modules" / "@aws-sdk" / "client-cognito-identity-provider"


def _aws(endpoint: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_PAGER": "", "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    return subprocess.run(["aws", "--endpoint-url", endpoint, "--output", "json", "cognito-idp", *args],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(shutil.which("aws") is None, reason="the AWS CLI is not installed")
def test_aws_cli(endpoint):
    name = unique("cli")
    created = _aws(endpoint, "create-user-pool", "--pool-name", name)
    assert created.returncode == 0, created.stderr
    pool = json.loads(created.stdout)["UserPool"]
    assert pool["Name"] == name and pool["EstimatedNumberOfUsers"] == 0
    assert pool["AdminCreateUserConfig"] == {"AllowAdminCreateUserOnly": False, "UnusedAccountValidityDays": 7}

    made = _aws(endpoint, "create-user-pool-client", "--user-pool-id", pool["Id"], "--client-name", "web",
                "--explicit-auth-flows", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
                "--token-validity-units", "AccessToken=minutes", "--access-token-validity", "30")
    assert made.returncode == 0, made.stderr
    client = json.loads(made.stdout)["UserPoolClient"]
    assert client["ExplicitAuthFlows"] == ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
    assert client["TokenValidityUnits"] == {"AccessToken": "minutes"}
    assert client["AccessTokenValidity"] == 30

    # Other tests share this server: walk every page of list-user-pools with --next-token.
    seen, token = [], None
    while True:
        listed = _aws(endpoint, "list-user-pools", "--max-results", "60", *(["--next-token", token] if token else []))
        assert listed.returncode == 0, listed.stderr
        page = json.loads(listed.stdout)
        seen += [p["Id"] for p in page["UserPools"]]
        token = page.get("NextToken")
        if not token:
            break
    assert pool["Id"] in seen
    clients = json.loads(_aws(endpoint, "list-user-pool-clients", "--user-pool-id", pool["Id"]).stdout)
    assert [c["ClientId"] for c in clients["UserPoolClients"]] == [client["ClientId"]]

    assert _aws(endpoint, "create-group", "--user-pool-id", pool["Id"], "--group-name", "g",
                "--precedence", "2").returncode == 0
    groups = json.loads(_aws(endpoint, "list-groups", "--user-pool-id", pool["Id"]).stdout)["Groups"]
    assert [(g["GroupName"], g["Precedence"]) for g in groups] == [("g", 2)]

    missing = _aws(endpoint, "describe-user-pool", "--user-pool-id", "us-east-1_Nope12345")
    assert missing.returncode == 254 or missing.returncode == 255
    assert ("An error occurred (ResourceNotFoundException) when calling the DescribeUserPool operation: "
            "User pool us-east-1_Nope12345 does not exist.") in missing.stderr
    assert _aws(endpoint, "delete-user-pool", "--user-pool-id", pool["Id"]).returncode == 0


@pytest.mark.skipif(shutil.which("node") is None or not SDK_V3.is_dir(),
                    reason="node or @aws-sdk/client-cognito-identity-provider (tests/node) is not installed")
def test_js_sdk_v3(endpoint):
    name = unique("sdkv3")
    result = subprocess.run(["node", "sdk_v3.mjs"], cwd=NODE_DIR, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "ENDPOINT": endpoint, "POOL_NAME": name})
    assert result.returncode == 0, result.stderr
    out = json.loads([line for line in result.stdout.splitlines() if line.startswith("{")][-1])
    assert "error" not in out or out["error"] is None or isinstance(out["error"], dict), out
    assert out["pool"]["name"] == name and out["pool"]["creationDateIsDate"] is True
    assert out["pool"]["schemaAttributes"] >= 20
    assert out["client"]["secretLength"] == 51
    assert out["client"]["units"] == {}
    assert out["client"]["revocation"] is True and out["client"]["authSessionValidity"] == 3
    assert out["listed"] is True
    assert out["clients"] == [out["client"]["id"]]
    assert out["describedSecretMatches"] is True
    assert out["groups"] == [["admins", 1]]
    assert out["error"] == {"name": "ResourceNotFoundException", "typed": True,
                            "message": "User pool us-east-1_Nope12345 does not exist.", "status": 400}
