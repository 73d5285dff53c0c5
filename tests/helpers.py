"""Plain helpers the test files share (fixtures stay in conftest.py): unique names, boto3 clients, a
ClientError's code and message, user pools with app clients and users, sign-in shortcuts, token
claims, identity pools, and raw JSON 1.1 requests with an Authorization header that looks signed."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import time
import uuid
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from pycognito import aws_srp

REGION = "us-east-1"
PASSWORD = "Passw0rd!"
# The sign-in flows of make_client's app clients unless told otherwise.
AUTH_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH",
              "ALLOW_ADMIN_USER_PASSWORD_AUTH"]
# What the JS libraries sign in with.
SRP_FLOWS = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
# The roles make_identity_pool gives an identity pool unless told otherwise.
ROLES = {"unauthenticated": "arn:aws:iam::000000000000:role/Unauth",
         "authenticated": "arn:aws:iam::000000000000:role/Auth"}


# -- names, waiting, emulators of a test's own -----------------------------------------------------
def unique(prefix: str = "t") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def wait_for(predicate, timeout: float = 5.0):
    """Poll for something another process does (never used for expiry: move the clock)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def emulator_now(url: str) -> float:
    """The clock of the emulator at `url`."""
    return requests.get(url + "/_emulator/clock", timeout=10).json()["epoch"]


def stop_checked(process) -> None:
    """Stop an emulator a test started itself; fail when it answered anything with an internal error."""
    health = requests.get(process.url + "/_emulator/health", timeout=10).json()
    process.stop()
    assert health["internal_errors"] == 0, process.log()


# -- boto3 clients ---------------------------------------------------------------------------------
def boto_client(service: str, endpoint_url: str, region: str = REGION, *,
                access_key: str = "AKIAEMULATORTEST", secret_key: str = "secret", session_token: str | None = None,
                max_pool_connections: int | None = None, **kwargs):
    """A boto3 client of the emulator that does not retry (`max_pool_connections` for many threads)."""
    config = BotoConfig(retries={"total_max_attempts": 1},
                        **({"max_pool_connections": max_pool_connections} if max_pool_connections else {}))
    return boto3.client(service, endpoint_url=endpoint_url, region_name=region, config=config,
                        aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                        aws_session_token=session_token, **kwargs)


def client_as(service: str, endpoint_url: str, creds: dict, **kwargs):
    """A boto3 client signed with an identity's temporary credentials (GetCredentialsForIdentity's form)."""
    return boto_client(service, endpoint_url, access_key=creds["AccessKeyId"], secret_key=creds["SecretKey"],
                       session_token=creds["SessionToken"], **kwargs)


# -- errors ----------------------------------------------------------------------------------------
def error(excinfo) -> tuple[str, str]:
    """(code, message) of the ClientError that `pytest.raises(ClientError) as excinfo` caught."""
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def error_from(call, *args, **kwargs) -> tuple[str, str]:
    """(code, message) of the ClientError that `call(*args, **kwargs)` must raise."""
    with pytest.raises(ClientError) as excinfo:
        call(*args, **kwargs)
    return error(excinfo)


# -- user pools, app clients, users ----------------------------------------------------------------
def make_pool(idp, *, tier: str | None = None, **kwargs) -> str:
    """A new user pool's id (`tier`: its UserPoolTier)."""
    kwargs.setdefault("PoolName", unique("pool"))
    if tier is not None:
        kwargs["UserPoolTier"] = tier
    return idp.create_user_pool(**kwargs)["UserPool"]["Id"]


def make_client(idp, pool_id: str, flows=AUTH_FLOWS, **kwargs) -> dict:
    """A new public app client with the sign-in `flows` (None: the service's default flows)."""
    if flows is not None:
        kwargs["ExplicitAuthFlows"] = flows
    return idp.create_user_pool_client(UserPoolId=pool_id, ClientName=unique("c"), **kwargs)["UserPoolClient"]


def make_user(idp, pool_id: str, username: str | None = None, password: str = PASSWORD, *,
              permanent: bool = True, attributes: dict | None = None) -> str:
    """A new user's name: CONFIRMED with the permanent `password` (permanent=False: FORCE_CHANGE_PASSWORD)."""
    username = username or unique("user")
    attrs = [{"Name": k, "Value": v} for k, v in (attributes or {}).items()]
    idp.admin_create_user(UserPoolId=pool_id, Username=username, UserAttributes=attrs,
                          TemporaryPassword=password if not permanent else "Temp0rary!x",
                          MessageAction="SUPPRESS")
    if permanent:
        idp.admin_set_user_password(UserPoolId=pool_id, Username=username, Password=password, Permanent=True)
    return username


def pool_and_client(idp, flows=AUTH_FLOWS, **pool_kwargs) -> tuple[dict, dict]:
    """A new pool (the UserPool of CreateUserPool) and a public app client with the sign-in `flows`."""
    pool_kwargs.setdefault("PoolName", unique("pool"))
    pool = idp.create_user_pool(**pool_kwargs)["UserPool"]
    return pool, make_client(idp, pool["Id"], flows)


def pool_client_user(idp, flows=AUTH_FLOWS, password: str = PASSWORD, *, username: str | None = None,
                     **pool_kwargs) -> tuple[str, str, str]:
    """(pool id, client id, username) of a new pool, a public app client with the sign-in `flows` and a
    CONFIRMED user with the permanent `password`."""
    pool_id = make_pool(idp, **pool_kwargs)
    return pool_id, make_client(idp, pool_id, flows)["ClientId"], make_user(idp, pool_id, username, password)


def attrs_of(user: dict) -> dict:
    """{name: value} of the UserAttributes (or Attributes) of a user in an answer."""
    return {a["Name"]: a["Value"] for a in user.get("UserAttributes", user.get("Attributes", []))}


# -- signing in ------------------------------------------------------------------------------------
def secret_hash(client: dict, username: str, secret: str | None = None) -> str:
    """SECRET_HASH of `username` for the client (with its own secret unless `secret` is given)."""
    key = secret if secret is not None else client["ClientSecret"]
    digest = hmac.new(key.encode(), (username + client["ClientId"]).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def password_auth(idp, client: dict, username: str, password: str = PASSWORD, **extra) -> dict:
    """InitiateAuth with USER_PASSWORD_AUTH (`extra`: more AuthParameters); the whole answer."""
    params = {"USERNAME": username, "PASSWORD": password, **extra}
    return idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters=params)


def tokens_for(idp, client: dict, username: str, password: str = PASSWORD) -> dict:
    """The AuthenticationResult of a USER_PASSWORD_AUTH sign-in (no challenge expected)."""
    return password_auth(idp, client, username, password)["AuthenticationResult"]


def admin_sign_in(idp, pool_id: str, client_id: str, username: str, password: str = PASSWORD) -> dict:
    """The AuthenticationResult of AdminInitiateAuth with ADMIN_USER_PASSWORD_AUTH (no challenge expected)."""
    result = idp.admin_initiate_auth(UserPoolId=pool_id, ClientId=client_id,
                                     AuthFlow="ADMIN_USER_PASSWORD_AUTH",
                                     AuthParameters={"USERNAME": username, "PASSWORD": password})
    assert "AuthenticationResult" in result, result
    return result["AuthenticationResult"]


def signed_in(idp, attributes: dict | None = None, **pool_kwargs) -> tuple[dict, dict, str, str]:
    """(pool, client, username, access token) of a new user signed in to a new pool."""
    pool, client = pool_and_client(idp, **pool_kwargs)
    username = make_user(idp, pool["Id"], attributes=attributes)
    tokens = admin_sign_in(idp, pool["Id"], client["ClientId"], username)
    return pool, client, username, tokens["AccessToken"]


def refresh(idp, client: dict, refresh_token: str) -> dict:
    """InitiateAuth with REFRESH_TOKEN_AUTH; the whole answer."""
    return idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="REFRESH_TOKEN_AUTH",
                             AuthParameters={"REFRESH_TOKEN": refresh_token})


def answer_code(idp, client: dict, challenge: dict, username: str, key: str, code: str) -> dict:
    """A wrong code for the `challenge` initiate_auth answered is refused; `code` then signs in."""
    def respond(value: str) -> dict:
        return idp.respond_to_auth_challenge(ClientId=client["ClientId"],
                                             ChallengeName=challenge["ChallengeName"], Session=challenge["Session"],
                                             ChallengeResponses={"USERNAME": username, key: value})
    with pytest.raises(ClientError) as e:
        respond("000000" if code != "000000" else "111111")
    assert error(e) == ("CodeMismatchException", "Invalid code or auth state for the user.")
    done = respond(code)
    assert "AccessToken" in done["AuthenticationResult"]
    return done


def java_timestamp(epoch: float, pad_day: bool = False) -> str:
    """An SRP TIMESTAMP as Java's date format writes it ("Thu Dec 3 21:53:51 UTC 2026"; pad_day: "Dec 03")."""
    dt = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    day = f"{dt.day:02d}" if pad_day else str(dt.day)
    return dt.strftime("%a %b ") + day + dt.strftime(" %H:%M:%S UTC %Y")


class Srp:
    """The client side of USER_SRP_AUTH, with pycognito's math and our own control of the answer."""

    def __init__(self, idp, pool_id: str, client: dict, username: str, password: str = PASSWORD,
                 secret: bool = False) -> None:
        self.idp, self.pool_id, self.client = idp, pool_id, client
        self.username, self.password = username, password
        self.helper = aws_srp.AWSSRP(username=username, password=password, pool_id=pool_id,
                                     client_id=client["ClientId"], client=idp,
                                     client_secret=client.get("ClientSecret") if secret else None)

    def start(self, **extra) -> dict:
        params = {**self.helper.get_auth_params(), **extra}
        return self.idp.initiate_auth(ClientId=self.client["ClientId"], AuthFlow="USER_SRP_AUTH",
                                      AuthParameters=params)

    def answer(self, challenge: dict, timestamp: str | None = None, password: str | None = None) -> dict:
        params = challenge["ChallengeParameters"]
        user_id = params["USER_ID_FOR_SRP"]
        if timestamp is None:
            timestamp = aws_srp.AWSSRP.get_cognito_formatted_timestamp(datetime.datetime.utcnow())
        key = self.helper.get_password_authentication_key(user_id, password or self.password,
                                                          int(params["SRP_B"], 16), params["SALT"])
        message = (self.pool_id.split("_")[1].encode() + user_id.encode()
                   + base64.b64decode(params["SECRET_BLOCK"]) + timestamp.encode())
        signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return {"USERNAME": user_id, "PASSWORD_CLAIM_SECRET_BLOCK": params["SECRET_BLOCK"],
                "TIMESTAMP": timestamp, "PASSWORD_CLAIM_SIGNATURE": signature}

    def respond(self, challenge: dict, **kw) -> dict:
        responses = self.answer(challenge, **{k: v for k, v in kw.items() if k in ("timestamp", "password")})
        responses.update(kw.get("extra") or {})
        return self.idp.respond_to_auth_challenge(ClientId=self.client["ClientId"],
                                                  ChallengeName="PASSWORD_VERIFIER",
                                                  ChallengeResponses=responses)

    def sign_in(self) -> dict:
        return self.respond(self.start())


def device_verifier(group_key: str, device_key: str) -> tuple[str, int, dict]:
    """What amazon-cognito-identity-js does: a random password, a salt, and v = g^x."""
    # Imported here, so that conftest (which imports this module) does not depend on the emulator's layout.
    from emulator.userpools.model import srp

    def b64(value: int) -> str:
        return base64.b64encode(bytes.fromhex(srp.pad_hex(value))).decode()

    password = base64.b64encode(os.urandom(40)).decode()
    salt = int.from_bytes(os.urandom(16), "big")
    x = srp.compute_x(salt, group_key, device_key, password)
    verifier = pow(srp.G, x, srp.N)
    return password, salt, {"Salt": b64(salt), "PasswordVerifier": b64(verifier)}


# -- trigger events --------------------------------------------------------------------------------
def envelope(event: dict, source: str, pool_id: str, username: str, client_id: str | None) -> None:
    """Check the common part of every user pool trigger event."""
    assert event["version"] == "1"
    assert event["triggerSource"] == source
    assert event["region"] == "us-east-1"
    assert event["userPoolId"] == pool_id
    assert event["userName"] == username
    assert event["callerContext"]["clientId"] == (client_id or "CLIENT_ID_NOT_APPLICABLE")
    assert event["callerContext"]["awsSdkVersion"].startswith("aws-sdk-")


# -- tokens and URLs -------------------------------------------------------------------------------
def claims(token: str) -> dict:
    """The payload of a JWT, unverified."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_uint(value: int) -> str:
    """An unsigned integer in base64url, big-endian (a JWK's "n" and "e")."""
    return b64url(value.to_bytes((value.bit_length() + 7) // 8, "big"))


def pkce() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge), the verifier 64 random url-safe characters."""
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def query_of(url: str) -> dict:
    """The query parameters of `url`, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# -- identity pools --------------------------------------------------------------------------------
def make_identity_pool(identity, roles: dict | None = ROLES, **config) -> str:
    """A new identity pool's id, open to guests unless `config` says otherwise, with `roles` set."""
    config.setdefault("IdentityPoolName", unique("pool"))
    config.setdefault("AllowUnauthenticatedIdentities", True)
    pool_id = identity.create_identity_pool(**config)["IdentityPoolId"]
    if roles is not None:
        identity.set_identity_pool_roles(IdentityPoolId=pool_id, Roles=roles)
    return pool_id


# -- raw requests ----------------------------------------------------------------------------------
def auth_header(service: str = "cognito-idp", region: str = REGION) -> dict:
    """An Authorization header that looks signed: the emulator reads its scope and checks the signature
    only with --verify-signatures."""
    scope = f"AKIDEXAMPLE/20260101/{region}/{service}/aws4_request"
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=00"}


def post_json(endpoint: str, target: str, body, *, service: str = "cognito-idp", headers: dict | None = None,
              timeout: float = 60) -> requests.Response:
    """POST a JSON 1.1 call as an SDK would (`headers` added or replacing its own), `body` sent as given
    when text or bytes, else as JSON."""
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(endpoint + "/", data=data, timeout=timeout, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target, **auth_header(service),
        **(headers or {})})
