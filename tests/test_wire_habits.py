"""What real clients put on the wire, reproduced byte for byte with raw requests (or recorded from the
real client through tests/wire_recorder.py), and what AWS answers to it.

Sources of each request shape:
- amazon-cognito-identity-js 6.3.21 (browser, recorded in tests/test_client_libraries_browser.py):
  `X-Amz-User-Agent: aws-amplify/5.0.4`, `Content-Type: application/x-amz-json-1.1`, compact JSON,
  `"ClientMetadata":{}` on every SRP step, `"DEVICE_KEY":null` when localStorage has no device
  (refreshSession, and the PASSWORD_VERIFIER retry after "device does not exist"),
  `"PaginationToken":null` from listDevices(limit, null), TIMESTAMP like "Thu Dec 3 21:53:51 UTC 2026".
- Amplify v6 6.22.1 (browser): also `amz-sdk-invocation-id`, `amz-sdk-request`, `cache-control: no-store`;
  user attribute values passed through as given (`toAttributeType`), numbers included.
- boto3 / AWS SDK for JavaScript v3: recorded below through the proxy.
AWS's answers to type mismatches, unknown keys, nulls and decimals are those measured on AWS JSON 1.1
(Coral) services (see docs/fidelity.md).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import uuid

import pytest
import requests
from botocore.loaders import create_loader
from helpers import boto_client, java_timestamp, pool_client_user, unique
from node_runner import NODE_DIR, requires_node
from wire_recorder import RecordingProxy

from emulator.userpools.model import srp

IDP = "AWSCognitoIdentityProviderService."
PASSWORD = "Passw0rd!Wire"
FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
# What the emulator needs to see on an admin call (signatures are read, not checked, by default).
SIGNED = {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIAEMULATORTEST/20260101/us-east-1/cognito-idp/"
                           "aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00",
          "X-Amz-Date": "20260101T000000Z"}
# Exactly the headers each browser library sets (the browser adds its own User-Agent, Origin, etc.).
IDENTITY_JS = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-User-Agent": "aws-amplify/5.0.4"}
AMPLIFY = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-User-Agent": "aws-amplify/6.22.1 auth/4 framework/0",
           "amz-sdk-request": "attempt=1; max=3", "cache-control": "no-store"}
ORIGIN = "http://localhost:5173"


def compact(body: dict) -> str:
    """JSON.stringify's form: no spaces, members in the order given."""
    return json.dumps(body, separators=(",", ":"))


def literal(body: dict, **raw: str) -> str:
    """compact(body), each string "@name@" in it written as the JSON text raw[name] (1.0, 6.1e1, "10")."""
    text = compact(body)
    for name, value in raw.items():
        text = text.replace(f'"@{name}@"', value)
    return text


def send(endpoint: str, op: str, body: dict | str, headers: dict, origin: str | None = ORIGIN) -> requests.Response:
    """POST with exactly `headers` (requests' own User-Agent and Accept-Encoding left out)."""
    session = requests.Session()
    session.headers.clear()
    extra = {"Origin": origin} if origin else {}
    data = body if isinstance(body, str) else compact(body)
    return session.post(endpoint + "/", data=data.encode(), timeout=30,
                        headers={**headers, **extra, "X-Amz-Target": IDP + op,
                                 **({"amz-sdk-invocation-id": str(uuid.uuid4())} if "amz-sdk-request" in headers else {})})


def ok(response: requests.Response) -> dict:
    assert response.status_code == 200, response.text[:500]
    return response.json()


def refused(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert body["__type"] == code, body
    return body.get("message") or body.get("Message")


# -- the JS libraries' own shapes ------------------------------------------------------------------
def test_identity_js_requests_as_it_sends_them(endpoint, idp, clock):
    """SRP sign-in with "ClientMetadata":{}, the PASSWORD_VERIFIER retry with "DEVICE_KEY":null, a refresh
    with "DEVICE_KEY":null and listDevices(10, null): every null is absent and every request accepted."""
    pool_id, client_id, username = pool_client_user(idp, FLOWS, PASSWORD)
    a = int.from_bytes(os.urandom(128), "big") % srp.N
    big_a = pow(srp.G, a, srp.N)
    start = ok(send(endpoint, "InitiateAuth", {
        "AuthFlow": "USER_SRP_AUTH", "ClientId": client_id,
        "AuthParameters": {"USERNAME": username, "SRP_A": format(big_a, "x")}, "ClientMetadata": {}}, IDENTITY_JS))
    params = start["ChallengeParameters"]
    assert start["ChallengeName"] == "PASSWORD_VERIFIER"
    pool_name, user_id = srp.pool_name(pool_id), params["USER_ID_FOR_SRP"]
    key = srp.client_session_key(pool_name, user_id, PASSWORD, a, int(params["SRP_B"], 16), int(params["SALT"], 16))
    stamp = java_timestamp(clock.now())
    done = ok(send(endpoint, "RespondToAuthChallenge", {
        "ChallengeName": "PASSWORD_VERIFIER", "ClientId": client_id, "ChallengeResponses": {
            "USERNAME": user_id, "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"], "TIMESTAMP": stamp,
            "PASSWORD_CLAIM_SIGNATURE": srp.claim_signature(key, pool_name, user_id, params["SECRET_BLOCK"], stamp),
            "DEVICE_KEY": None},
        # Session: data.Session, which JSON.stringify drops when the answer has none (as here)
        **({"Session": start["Session"]} if "Session" in start else {}), "ClientMetadata": {}}, IDENTITY_JS))
    tokens = done["AuthenticationResult"]
    assert "NewDeviceMetadata" not in tokens  # (no device tracking on this pool)

    refreshed = ok(send(endpoint, "InitiateAuth", {
        "ClientId": client_id, "AuthFlow": "REFRESH_TOKEN_AUTH",
        "AuthParameters": {"REFRESH_TOKEN": tokens["RefreshToken"], "DEVICE_KEY": None}}, IDENTITY_JS))
    assert refreshed["AuthenticationResult"]["AccessToken"] != tokens["AccessToken"]
    listed = ok(send(endpoint, "ListDevices", {
        "AccessToken": refreshed["AuthenticationResult"]["AccessToken"], "Limit": 10, "PaginationToken": None},
        IDENTITY_JS))
    assert listed == {"Devices": []}


def test_browser_preflights_and_headers_without_a_user_agent(endpoint, idp):
    """The CORS preflights Chromium sends for each browser client, and an Amplify call with only the SDK
    headers (a page cannot set User-Agent): allowed, answered, and readable cross-origin."""
    requested = {
        "identity-js": "content-type,x-amz-target,x-amz-user-agent",
        "amplify": "amz-sdk-invocation-id,amz-sdk-request,cache-control,content-type,x-amz-target,x-amz-user-agent",
        # SDK v3 in a browser with credentials (an admin call): signed
        "sdk-v3": "amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-content-sha256,"
                  "x-amz-date,x-amz-security-token,x-amz-target,x-amz-user-agent",
    }
    for client, headers in requested.items():
        r = requests.options(endpoint + "/", timeout=10, headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": headers})
        assert r.status_code in (200, 204), (client, r.status_code)
        assert r.headers["Access-Control-Allow-Origin"] == ORIGIN, client
        assert "POST" in r.headers["Access-Control-Allow-Methods"], client
        allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
        assert set(headers.split(",")) <= allowed, (client, set(headers.split(",")) - allowed)

    _pool_id, client_id, username = pool_client_user(idp, FLOWS, PASSWORD)
    r = send(endpoint, "InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {
        "USERNAME": username, "PASSWORD": PASSWORD}, "ClientId": client_id}, AMPLIFY)
    assert "AccessToken" in ok(r)["AuthenticationResult"]
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    # an error the library reads from x-amzn-ErrorType (identity-js) must be exposed to the page
    r = send(endpoint, "InitiateAuth", {"AuthFlow": "USER_PASSWORD_AUTH", "AuthParameters": {
        "USERNAME": username, "PASSWORD": PASSWORD + "x"}, "ClientId": client_id}, IDENTITY_JS)
    assert refused(r, 400, "NotAuthorizedException") == "Incorrect username or password."
    assert r.headers["x-amzn-ErrorType"].startswith("NotAuthorizedException")
    exposed = {h.strip().lower() for h in r.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"x-amzn-errortype", "x-amzn-requestid"} <= exposed


# -- content type and encoding ---------------------------------------------------------------------
def test_no_client_compresses_cognito_requests():
    """botocore compresses only operations whose model has the `requestcompression` trait, and no Cognito
    operation has it; the JS SDK's Cognito client has no compression middleware; identity-js and Amplify
    send plain JSON (recorded in the browser tests). So no real client sends a gzip body to Cognito."""
    loader = create_loader()
    for service in ("cognito-idp", "cognito-identity", "cognito-sync"):
        model = loader.load_service_model(service, "service-2")
        marked = [op for op, spec in model["operations"].items() if "requestcompression" in spec]
        assert marked == [], (service, marked)
    assert any("requestcompression" in spec for spec in
               loader.load_service_model("cloudwatch", "service-2")["operations"].values())  # the check can see it
    sdk = NODE_DIR / "node_modules" / "@aws-sdk" / "client-cognito-identity-provider"
    if sdk.is_dir():
        manifest = json.loads((sdk / "package.json").read_text())
        assert not [d for d in manifest["dependencies"] if "compression" in d]
        assert not [p for p in (sdk / "dist-cjs").rglob("*.js") if b"compression" in p.read_bytes().lower()]


def test_what_boto3_sends(endpoint, idp):
    """boto3 through the recording proxy: JSON 1.1, uncompressed, a signed admin call and an unsigned
    public one (botocore does not sign operations whose model says auth none)."""
    pool_id, client_id, username = pool_client_user(idp, FLOWS, PASSWORD)
    proxy = RecordingProxy(endpoint)
    try:
        client = boto_client("cognito-idp", proxy.url)
        client.admin_get_user(UserPoolId=pool_id, Username=username)
        client.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD})
        admin, public = proxy.calls()
    finally:
        proxy.close()
    for call in (admin, public):
        assert call.status == 200
        assert call.headers["content-type"] == "application/x-amz-json-1.1"
        assert "content-encoding" not in call.headers
        assert call.headers["user-agent"].startswith("Boto3/")
    assert admin.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAEMULATORTEST/")
    assert "authorization" not in public.headers
    assert admin.json() == {"UserPoolId": pool_id, "Username": username}


@requires_node
def test_what_the_js_sdk_v3_sends(endpoint):
    """@aws-sdk/client-cognito-identity-provider through the recording proxy (tests/node/sdk_v3.mjs)."""
    proxy = RecordingProxy(endpoint)
    try:
        result = subprocess.run(["node", "sdk_v3.mjs"], cwd=NODE_DIR, capture_output=True, text=True, timeout=120,
                                env={**os.environ, "ENDPOINT": proxy.url, "POOL_NAME": unique("sdkv3")})
        assert result.returncode == 0, result.stderr
        calls = proxy.calls()
    finally:
        proxy.close()
    assert calls and {c.target for c in calls} >= {"CreateUserPool", "DescribeUserPool"}
    for call in calls:
        assert call.headers["content-type"] == "application/x-amz-json-1.1"
        assert "content-encoding" not in call.headers
        assert call.headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
        assert call.headers["x-amz-user-agent"].startswith("aws-sdk-js/")
        assert call.headers["amz-sdk-request"].startswith("attempt=1")
    # the script asks for a pool that does not exist, on purpose: that one call is refused
    assert [(c.target, c.json()) for c in calls if c.status != 200] == [
        ("DescribeUserPool", {"UserPoolId": "us-east-1_Nope12345"})]


def test_content_type_variants_real_clients_send(endpoint, idp):
    """Every real client sends exactly application/x-amz-json-1.1 (above); a charset parameter, which
    some HTTP stacks append, does not change the media type."""
    _pool_id, client_id, username = pool_client_user(idp, FLOWS, PASSWORD)
    body = {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": client_id,
            "AuthParameters": {"USERNAME": username, "PASSWORD": PASSWORD}}
    for ctype in ("application/x-amz-json-1.1", "application/x-amz-json-1.1; charset=utf-8",
                  "APPLICATION/X-AMZ-JSON-1.1"):
        assert "AccessToken" in ok(send(endpoint, "InitiateAuth", body, {**IDENTITY_JS, "Content-Type": ctype}))[
            "AuthenticationResult"], ctype


# -- members: unknown, empty, null, numbers --------------------------------------------------------
def test_unknown_members_are_ignored(endpoint, idp):
    """A client built from a newer model sends members this model lacks: AWS ignores unknown keys at
    every level (top, nested structure, list element), and so must the emulator."""
    pool_id, client_id, _ = pool_client_user(idp, FLOWS, PASSWORD)
    username = unique("extra")
    r = send(endpoint, "SignUp", {
        "ClientId": client_id, "Username": username, "Password": PASSWORD, "FutureTopLevel": {"a": [1, None]},
        "UserAttributes": [{"Name": "name", "Value": "Ann", "FutureAttributeFlag": True}],
        "AnalyticsMetadata": {"AnalyticsEndpointId": "e1", "FutureMember": 3},
        "UserContextData": {"EncodedData": "x", "FutureMember": "y"}}, AMPLIFY)
    assert ok(r)["UserConfirmed"] is False
    user = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    assert {a["Name"]: a["Value"] for a in user["UserAttributes"]}["name"] == "Ann"


def test_empty_strings_for_optional_members(endpoint, idp):
    """An empty string is a present value: checked against the member's constraints (each failing one
    reported, length before pattern); where the member has no minimum it is accepted."""
    pool_id, _client_id, username = pool_client_user(idp, FLOWS, PASSWORD)
    r = send(endpoint, "ListUsers", {"UserPoolId": pool_id, "PaginationToken": ""}, {**IDENTITY_JS, **SIGNED})
    assert refused(r, 400, "InvalidParameterException") == (
        "2 validation errors detected: Value '' at 'paginationToken' failed to satisfy constraint: Member must "
        "have length greater than or equal to 1; Value '' at 'paginationToken' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [\\S]+")
    # Filter has no minimum length: "" filters nothing
    users = ok(send(endpoint, "ListUsers", {"UserPoolId": pool_id, "Filter": ""}, {**IDENTITY_JS, **SIGNED}))
    assert [u["Username"] for u in users["Users"]] == [username]


def test_integral_numbers_sent_as_floats(endpoint, idp):
    """Python's json writes 10.0 for a float; an integer member takes the number's value."""
    pool_id, _client_id, username = pool_client_user(idp, FLOWS, PASSWORD)
    idp.admin_create_user(UserPoolId=pool_id, Username=unique("second"), MessageAction="SUPPRESS")
    page = ok(send(endpoint, "ListUsers", literal({"UserPoolId": pool_id, "Limit": "@n@"}, n="1.0"), {**IDENTITY_JS, **SIGNED}))
    assert len(page["Users"]) == 1 and page["PaginationToken"]
    seen, token = [], None
    while True:  # the shared server may hold more than one page of pools
        body = {"MaxResults": "@n@", **({"NextToken": token} if token else {})}
        pools = ok(send(endpoint, "ListUserPools", literal(body, n="60.0"), {**IDENTITY_JS, **SIGNED}))
        assert len(pools["UserPools"]) <= 60
        seen += [p["Id"] for p in pools["UserPools"]]
        token = pools.get("NextToken")
        if not token:
            break
    assert pool_id in seen
    r = send(endpoint, "ListUserPools", literal({"MaxResults": "@n@"}, n="6.1e1"), {**IDENTITY_JS, **SIGNED})
    assert refused(r, 400, "InvalidParameterException") == (
        "1 validation error detected: Value '61' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 60")


# The type-mismatch answers measured on AWS JSON 1.1 (Coral) services name the JSON token and use an
# article: STRING_VALUE / NUMBER_VALUE / TRUE_VALUE / FALSE_VALUE "can not be converted to an Integer" /
# "to a String"; a decimal where an integer is expected is truncated, not refused. protocol/validate.py
# (_coerce) names the Python type instead ("INT_VALUE can not be converted to String") and refuses 1.5.
@pytest.mark.parametrize(("value", "message"), [
    (42, "NUMBER_VALUE can not be converted to a String"),      # Amplify v6 passes attribute values through
    (4.5, "NUMBER_VALUE can not be converted to a String"),
    (True, "TRUE_VALUE can not be converted to a String"),
    (False, "FALSE_VALUE can not be converted to a String"),
])
def test_non_string_attribute_value(endpoint, idp, value, message):
    _pool_id, client_id, _ = pool_client_user(idp, FLOWS, PASSWORD)
    r = send(endpoint, "SignUp", {"ClientId": client_id, "Username": unique("typed"), "Password": PASSWORD,
                                  "UserAttributes": [{"Name": "custom:age", "Value": value}]}, AMPLIFY)
    assert refused(r, 400, "SerializationException") == message


@pytest.mark.parametrize(("raw", "message"), [
    ('"10"', "STRING_VALUE can not be converted to an Integer"),
    ("true", "TRUE_VALUE can not be converted to an Integer"),
])
def test_non_number_limit(endpoint, idp, raw, message):
    pool_id, _client_id, _ = pool_client_user(idp, FLOWS, PASSWORD)
    r = send(endpoint, "ListUsers", literal({"UserPoolId": pool_id, "Limit": "@n@"}, n=raw), {**IDENTITY_JS, **SIGNED})
    assert refused(r, 400, "SerializationException") == message


def test_decimal_limit_is_truncated(endpoint, idp):
    pool_id, _client_id, _ = pool_client_user(idp, FLOWS, PASSWORD)
    idp.admin_create_user(UserPoolId=pool_id, Username=unique("second"), MessageAction="SUPPRESS")
    page = ok(send(endpoint, "ListUsers", literal({"UserPoolId": pool_id, "Limit": "@n@"}, n="1.5"), {**IDENTITY_JS, **SIGNED}))
    assert len(page["Users"]) == 1


# -- Cognito Sync (rest-json): timestamps as the SDKs write them -----------------------------------
def test_sync_timestamps_as_the_sdks_send_them(endpoint, identity):
    """RecordPatch.DeviceLastModifiedDate is an epoch-seconds number on the wire: boto3 writes it (recorded
    through the proxy) and the JS SDK v3 writes Date.getTime() / 1000, a fraction of a second included."""
    pool = identity.create_identity_pool(IdentityPoolName=unique("wire"), AllowUnauthenticatedIdentities=True)
    pool_id = pool["IdentityPoolId"]
    me = identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
    proxy = RecordingProxy(endpoint)
    try:
        sync = boto_client("cognito-sync", proxy.url)
        token = sync.list_records(IdentityPoolId=pool_id, IdentityId=me, DatasetName="d")["SyncSessionToken"]
        when = dt.datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=dt.UTC)
        sync.update_records(IdentityPoolId=pool_id, IdentityId=me, DatasetName="d", SyncSessionToken=token,
                            RecordPatches=[{"Op": "replace", "Key": "boto", "Value": "1", "SyncCount": 0,
                                            "DeviceLastModifiedDate": when}])
        [update] = [c for c in proxy.calls() if c.method == "POST"]
    finally:
        proxy.close()
    assert update.headers["content-type"] == "application/json"
    assert b'"DeviceLastModifiedDate": 1772600767.891}' in update.body  # epoch seconds, milliseconds kept

    # the JS SDK v3's form, sent raw: String(date.getTime() / 1000), a whole number for a whole second
    sync = boto_client("cognito-sync", endpoint)
    path = f"/identitypools/{pool_id}/identities/{me}/datasets/d"
    for key, stamp in (("js", "1772600767.891"), ("js-whole", "1772600767")):
        token = sync.list_records(IdentityPoolId=pool_id, IdentityId=me, DatasetName="d")["SyncSessionToken"]
        body = literal({"RecordPatches": [{"DeviceLastModifiedDate": "@t@", "Key": key, "Op": "replace",
                                           "SyncCount": 0, "Value": "2"}], "SyncSessionToken": token}, t=stamp)
        r = requests.post(endpoint + path, data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Amz-Date": SIGNED["X-Amz-Date"],
            "Authorization": SIGNED["Authorization"].replace("cognito-idp", "cognito-sync"),
            "x-amz-user-agent": "aws-sdk-js/3.1169.0", "amz-sdk-request": "attempt=1; max=3"})
        assert r.status_code == 200, r.text
    records = {rec["Key"]: rec["DeviceLastModifiedDate"].timestamp()
               for rec in sync.list_records(IdentityPoolId=pool_id, IdentityId=me, DatasetName="d")["Records"]}
    assert records == {"boto": pytest.approx(1772600767.891, abs=1e-6), "js": pytest.approx(1772600767.891, abs=1e-6),
                       "js-whole": 1772600767}
