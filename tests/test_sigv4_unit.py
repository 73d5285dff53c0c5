"""SigV4 verification without a server: AWS's published examples, requests signed by botocore
(header and presigned forms, JSON and rest-json with encoded path segments), and every refusal."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from emulator import signing
from emulator.config import Config
from protocol.sigv4 import (
    EXPIRED_TOKEN,
    INVALID_TOKEN,
    SIGNATURE_MISMATCH,
    SignatureError,
    SigningKey,
    Verifier,
    canonical_query,
    canonical_request,
    canonical_uri,
)

EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AWS_EXAMPLE_TIME = dt.datetime(2015, 8, 30, 12, 36, tzinfo=dt.UTC).timestamp()
KEYS = {"AKIDGOOD": SigningKey("right-secret")}
LIST_POOLS = "AWSCognitoIdentityProviderService.ListUserPools"


def to_request(aws: AWSRequest) -> Request:
    """The werkzeug Request the emulator would see for a botocore-prepared request."""
    prepared = aws.prepare()
    url = urlsplit(prepared.url)
    headers = {k: v for k, v in prepared.headers.items()}
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode()
    builder = EnvironBuilder(method=prepared.method, path="/", base_url=f"{url.scheme}://{url.netloc}",
                             headers=headers, data=body)
    environ = builder.get_environ()
    environ["RAW_URI"] = url.path + (("?" + url.query) if url.query else "")
    environ["QUERY_STRING"] = url.query
    return Request(environ)


def signed(method: str, url: str, service: str, *, body: bytes = b"", headers: dict | None = None,
           key: str = "AKIDGOOD", secret: str = "right-secret", token: str | None = None,
           presign: bool = False, context: dict | None = None) -> Request:
    aws = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    aws.context.update(context or {})
    creds = Credentials(key, secret, token)
    if presign:
        SigV4QueryAuth(creds, service, "us-east-1", expires=3600).add_auth(aws)
    else:
        SigV4Auth(creds, service, "us-east-1").add_auth(aws)
    return to_request(aws)


def json_call(target: str = "AWSCognitoIdentityProviderService.ListUserPools", **kw) -> Request:
    return signed("POST", "http://localhost:9229/", "cognito-idp", body=b'{"MaxResults": 5}',
                  headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target}, **kw)


def refusal(request: Request, keys=None, now: float | None = None, service: str | None = None) -> tuple:
    verifier = Verifier(lambda k: (keys or KEYS).get(k), lambda: dt.datetime.now(dt.UTC).timestamp()
                        if now is None else now)
    with pytest.raises(SignatureError) as e:
        verifier.verify(request, service)
    return e.value.kind, e.value.message


def accepted(request: Request, keys=None, now: float | None = None, service: str | None = None) -> None:
    Verifier(lambda k: (keys or KEYS).get(k),
             lambda: dt.datetime.now(dt.UTC).timestamp() if now is None else now).verify(request, service)


# -- the canonical request, as AWS documents it ----------------------------------------------------------
def test_aws_documented_example_iam_list_users():
    headers = {"content-type": ["application/x-www-form-urlencoded; charset=utf-8"],
               "host": ["iam.amazonaws.com"], "x-amz-date": ["20150830T123600Z"]}
    canonical = canonical_request("GET", "/", "Action=ListUsers&Version=2010-05-08", headers,
                                  ["content-type", "host", "x-amz-date"], hashlib.sha256(b"").hexdigest())
    assert hashlib.sha256(canonical.encode()).hexdigest() == \
        "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    environ = EnvironBuilder(method="GET", path="/", base_url="https://iam.amazonaws.com", headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date, "
                         "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
        query_string="Action=ListUsers&Version=2010-05-08").get_environ()
    environ["RAW_URI"] = "/?Action=ListUsers&Version=2010-05-08"
    keys = {"AKIDEXAMPLE": SigningKey(EXAMPLE_SECRET)}
    accepted(Request(environ), keys, now=AWS_EXAMPLE_TIME + 60, service="iam")


def test_aws_test_suite_get_vanilla():
    environ = EnvironBuilder(method="GET", path="/", base_url="https://example.amazonaws.com", headers={
        "X-Amz-Date": "20150830T123600Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                         "SignedHeaders=host;x-amz-date, "
                         "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    ).get_environ()
    environ["RAW_URI"] = "/"
    accepted(Request(environ), {"AKIDEXAMPLE": SigningKey(EXAMPLE_SECRET)}, now=AWS_EXAMPLE_TIME)


def test_canonical_uri_double_encodes_and_normalizes():
    # the wire form is encoded once by the client; SigV4 (but for S3) encodes it again
    assert canonical_uri("/identitypools/us-east-1%3Aabc/identities") == \
        "/identitypools/us-east-1%253Aabc/identities"
    assert canonical_uri("/a b/ü") == "/a%20b/%C3%BC"
    assert canonical_uri("/a/./b/../c//d/") == "/a/c/d/"
    assert canonical_uri("") == canonical_uri("/") == "/"
    assert canonical_uri("/~user-_.") == "/~user-_."


def test_canonical_query_sorts_and_encodes():
    assert canonical_query("b=2&a=3&a=1&c") == "a=1&a=3&b=2&c="
    assert canonical_query("x=a%20b&y=%2B&z=a+b") == "x=a%20b&y=%2B&z=a%2Bb"
    assert canonical_query("X-Amz-Signature=abc&k=v", skip=("X-Amz-Signature",)) == "k=v"


# -- botocore-signed requests -------------------------------------------------------------------------------
def test_json_request_signed_by_botocore():
    accepted(json_call(), service="cognito-idp")


def test_rest_json_request_with_encoded_path_segments():
    url = ("http://localhost:9229/identitypools/us-east-1%3A11111111-2222-3333-4444-555555555555"
           "/identities/us-east-1%3Aaaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/datasets"
           "?maxResults=3&nextToken=a%2Fb")
    accepted(signed("GET", url, "cognito-sync"), service="cognito-sync")
    tampered = signed("GET", url, "cognito-sync")
    tampered.environ["RAW_URI"] = tampered.environ["RAW_URI"].replace("maxResults=3", "maxResults=4")
    assert refusal(tampered) == ("mismatch", SIGNATURE_MISMATCH)


def test_presigned_query_form():
    url = "http://localhost:9229/?Action=GetCallerIdentity&Version=2011-06-15"
    request = signed("GET", url, "sts", presign=True)
    assert "X-Amz-Signature=" in request.environ["RAW_URI"] and "Authorization" not in request.headers
    accepted(request, service="sts")
    tampered = signed("GET", url, "sts", presign=True)
    tampered.environ["RAW_URI"] = tampered.environ["RAW_URI"].replace("GetCallerIdentity", "GetSessionToken")
    assert refusal(tampered) == ("mismatch", SIGNATURE_MISMATCH)
    wrong = signed("GET", url, "sts", presign=True, secret="wrong")
    assert refusal(wrong) == ("mismatch", SIGNATURE_MISMATCH)


def test_unsigned_payload():
    request = signed("POST", "https://localhost:9229/", "cognito-idp", body=b'{"MaxResults": 5}',
                     headers={"Content-Type": "application/x-amz-json-1.1",
                              "X-Amz-Target": "AWSCognitoIdentityProviderService.ListUserPools",
                              "X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"},
                     context={"payload_signing_enabled": False})
    accepted(request)


def test_claimed_payload_hash_must_be_the_bodys():
    body = b'{"MaxResults": 5}'
    request = signed("POST", "http://localhost:9229/", "cognito-idp", body=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": LIST_POOLS,
        "X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest()})
    accepted(request)
    other = signed("POST", "http://localhost:9229/", "cognito-idp", body=b'{"MaxResults": 6}', headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": LIST_POOLS,
        "X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest()})
    assert refusal(other) == ("mismatch", SIGNATURE_MISMATCH)


def test_tampered_body_or_header():
    aws = AWSRequest(method="POST", url="http://localhost:9229/", data=b'{"MaxResults": 5}', headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": LIST_POOLS})
    SigV4Auth(Credentials("AKIDGOOD", "right-secret"), "cognito-idp", "us-east-1").add_auth(aws)
    accepted(to_request(aws))
    aws.data = b'{"MaxResults": 50}'
    assert refusal(to_request(aws)) == ("mismatch", SIGNATURE_MISMATCH)
    request = json_call()
    request.environ["HTTP_X_AMZ_TARGET"] = "AWSCognitoIdentityProviderService.DeleteUserPool"
    assert refusal(Request(request.environ)) == ("mismatch", SIGNATURE_MISMATCH)


# -- refusals ---------------------------------------------------------------------------------------------
def test_wrong_secret_and_unknown_key():
    assert refusal(json_call(secret="wrong")) == ("mismatch", SIGNATURE_MISMATCH)
    assert refusal(json_call(key="AKIDUNKNOWN")) == ("unrecognized", INVALID_TOKEN)


def test_request_date_within_15_minutes():
    request = json_call()
    stamp = request.headers["X-Amz-Date"]
    when = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC).timestamp()
    accepted(request, now=when + 899)
    accepted(request, now=when - 899)
    now = when + 16 * 60

    def basic(t):
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    assert refusal(request, now=now) == (
        "mismatch",
        f"Signature expired: {stamp} is now earlier than {basic(now - 900)} ({basic(now)} - 15 min.)")
    now = when - 16 * 60
    assert refusal(request, now=now) == (
        "mismatch", f"Signature not yet current: {stamp} is still later than {basic(now + 900)} "
                    f"({basic(now)} + 15 min.)")


def test_credential_scoped_to_another_service():
    assert refusal(json_call(), service="cognito-identity") == (
        "mismatch", "Credential should be scoped to correct service: 'cognito-identity'. ")


def test_session_credentials():
    digest = hashlib.sha256(b"the-token").hexdigest()
    now = dt.datetime.now(dt.UTC).timestamp()
    keys = {"ASIATEMP": SigningKey("temp-secret", token_check=lambda t: hashlib.sha256(t.encode()).hexdigest()
                                   == digest, expires_at=now + 3600)}
    accepted(json_call(key="ASIATEMP", secret="temp-secret", token="the-token"), keys)
    assert refusal(json_call(key="ASIATEMP", secret="temp-secret"), keys) == ("unrecognized", INVALID_TOKEN)
    assert refusal(json_call(key="ASIATEMP", secret="temp-secret", token="other"), keys) == \
        ("unrecognized", INVALID_TOKEN)
    # a long-term key refuses a session token
    assert refusal(json_call(token="stray")) == ("unrecognized", INVALID_TOKEN)
    # a key given with its session token in clear
    accepted(json_call(key="ASIAPAIR", secret="s", token="tok"), {"ASIAPAIR": SigningKey("s", "tok")})
    expired = {"ASIATEMP": SigningKey("temp-secret", session_token="the-token", expires_at=now - 1)}
    assert refusal(json_call(key="ASIATEMP", secret="temp-secret", token="the-token"), expired) == \
        ("expired_token", EXPIRED_TOKEN)


def test_incomplete_authorization_header():
    request = json_call()
    request.environ["HTTP_AUTHORIZATION"] = \
        "AWS4-HMAC-SHA256 Credential=AKIDGOOD/20240101/us-east-1/cognito-idp"
    request.environ.pop("HTTP_X_AMZ_DATE")
    auth = request.environ["HTTP_AUTHORIZATION"]
    assert refusal(Request(request.environ)) == ("incomplete", (
        "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' "
        "parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
        f"Authorization={auth}"))
    request.environ["HTTP_AUTHORIZATION"] = "AWS AKIDGOOD:abcdef"
    assert refusal(Request(request.environ))[1].startswith(
        "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' "
        "parameter. Authorization header requires 'SignedHeaders' parameter.")
    request = json_call()
    auth = request.headers["Authorization"].replace("Credential=", "Credential ")
    request.environ["HTTP_AUTHORIZATION"] = auth
    kind, message = refusal(Request(request.environ))
    assert kind == "incomplete" and message.startswith("'Credential AKIDGOOD/") and message.endswith(
        f"not a valid key=value pair (missing equal-sign) in Authorization header: '{auth}'.")


def test_scope_date_must_match_request_date():
    request = json_call()
    stamp = request.headers["X-Amz-Date"]
    request.environ["HTTP_AUTHORIZATION"] = request.headers["Authorization"].replace(
        f"/{stamp[:8]}/", "/20200101/")
    assert refusal(Request(request.environ)) == ("mismatch", (
        f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        f"'20200101' != '{stamp[:8]}', from '{stamp}'."))


def test_error_codes_per_protocol():
    codes = {kind: (SignatureError(kind, "").code("json"), SignatureError(kind, "").code("query"))
             for kind in ("incomplete", "unrecognized", "mismatch", "expired_token")}
    assert codes == {"incomplete": ("IncompleteSignatureException", "IncompleteSignature"),
                     "unrecognized": ("UnrecognizedClientException", "InvalidClientTokenId"),
                     "mismatch": ("InvalidSignatureException", "SignatureDoesNotMatch"),
                     "expired_token": ("ExpiredTokenException", "ExpiredToken")}


# -- where the emulator's keys come from -------------------------------------------------------------------
def test_credentials_setting_and_config_file(tmp_path):
    config = Config(credentials=json.dumps({"AKIDONE": "s1", "ASIATWO": {"secret_access_key": "s2",
                                                                          "session_token": "t2"}}))
    keys = signing.configured_credentials(config)
    assert keys["AKIDONE"] == SigningKey("s1") and keys["ASIATWO"] == SigningKey("s2", "t2")
    with pytest.raises(signing.CredentialsError, match="COGNITO_EMULATOR_CREDENTIALS is not JSON"):
        signing.configured_credentials(Config(credentials="{nope"))
    with pytest.raises(signing.CredentialsError, match="AKIDBAD needs a secret"):
        signing.configured_credentials(Config(credentials='{"AKIDBAD": 3}'))
    path = tmp_path / "cognito.toml"
    path.write_text('[credentials]\nAKIDFILE = "from-file"\n[credentials.ASIAFILE]\n'
                    'secret_access_key = "s"\nsession_token = "t"\n')
    assert signing.file_credentials(str(path)) == {"AKIDFILE": SigningKey("from-file"),
                                                   "ASIAFILE": SigningKey("s", "t")}
    assert signing.file_credentials(None) == {}
    with pytest.raises(signing.CredentialsError, match="cannot be read"):
        signing.file_credentials(str(tmp_path / "missing.json"))


def test_server_without_raw_target():
    """Behind a WSGI server that keeps no RAW_URI, the path is re-encoded the way SDKs encode it."""
    url = "http://localhost:9229/identitypools/us-east-1%3A11111111-2222/identities/us-east-1%3Aab/datasets"
    request = signed("GET", url, "cognito-sync")
    environ = dict(request.environ)
    environ.pop("RAW_URI")
    environ.pop("REQUEST_URI", None)
    environ["PATH_INFO"] = "/identitypools/us-east-1:11111111-2222/identities/us-east-1:ab/datasets"
    accepted(Request(environ))
