"""Races around call-outs. An operation that invokes a Lambda function (or fetches an issuer's keys)
commits and releases the store while it waits, so concurrent requests interleave right there; what
the operation checked before the call must still hold in the transaction that writes after it, and
the loser of a race gets AWS's error, never a second user or an internal error.

Every function here is slow (SLOW seconds, the function's own work, not an expiry) and the racing
requests are released together by a barrier, so they all wait inside the call-out at once.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from collections import Counter

import jwt
import pytest
import requests
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.asymmetric import rsa
from helpers import (
    PASSWORD,
    b64url_uint,
    boto_client,
    client_as,
    error,
    make_client,
    make_identity_pool,
    make_pool,
    make_user,
    password_auth,
    query_of,
    tokens_for,
    unique,
)
from lambda_fixtures import user_pool_functions as functions
from lambda_fixtures.user_pool_functions import Functions, messages
from test_oauth_endpoints import Browser, OidcProvider, _federated_pool, authorize_query, location

SLOW = 0.3
OIDC = "race-login.example.test"
_healthy = functions.healthy


# -- fixtures --------------------------------------------------------------------------------------
class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class SlowIssuer:
    """An OpenID Connect issuer whose discovery document and keys take SLOW seconds each."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.fetches = 0
        issuer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                time.sleep(SLOW)
                issuer.fetches += 1
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": f"https://{OIDC}", "jwks_uri": issuer.url + "/jwks.json"}
                else:
                    numbers = issuer.key.public_key().public_numbers()
                    body = {"keys": [{"kty": "RSA", "kid": "k1", "alg": "RS256", "use": "sig",
                                      "n": b64url_uint(numbers.n), "e": b64url_uint(numbers.e)}]}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def token(self, sub: str) -> str:
        now = int(time.time())
        return jwt.encode({"iss": f"https://{OIDC}", "sub": sub, "aud": "app", "iat": now, "exp": now + 3600},
                          self.key, algorithm="RS256", headers={"kid": "k1"})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def issuer():
    server = SlowIssuer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fx(tmp_path_factory, issuer):
    """The module's emulator, its functions, and the slow OIDC issuer as one identity provider."""
    found = Functions(tmp_path_factory.mktemp("races"),
                      env={"COGNITO_EMULATOR_OIDC_ISSUERS": json.dumps({OIDC: issuer.url})})
    yield found
    found.stop()


def _client(fx, service: str):
    """A boto3 client that many threads may use at once."""
    return boto_client(service, fx.url, max_pool_connections=64)


@pytest.fixture(scope="module")
def idp(fx):
    return _client(fx, "cognito-idp")


@pytest.fixture(scope="module")
def admin(fx):
    """A client of its own for the functions that call back into the emulator."""
    return boto_client("cognito-idp", fx.url)


def slow(handler=None):
    def function(event):
        time.sleep(SLOW)
        return handler(event) if handler else event
    return function


def race(count: int, call) -> list[tuple]:
    """`call(i)` in `count` threads released together: each outcome is ("ok", answer) or
    (error code, message)."""
    barrier = threading.Barrier(count)
    results: list[tuple] = [("not run", None)] * count

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = ("ok", call(i))
        except ClientError as err:
            results[i] = (err.response["Error"]["Code"], err.response["Error"]["Message"])
        except Exception as err:  # noqa: BLE001 (reported by the assertions)
            results[i] = ("raised", repr(err))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def one_winner(results: list[tuple], loser: tuple[str, str]) -> dict:
    """Exactly one success, and every other request got `loser`; the winner's answer."""
    tally = Counter(r[0] if r[0] == "ok" else r for r in results)
    assert tally == Counter({"ok": 1, loser: len(results) - 1}), tally
    return next(r[1] for r in results if r[0] == "ok")


def user_count(idp, pool_id: str) -> int:
    return len(idp.list_users(UserPoolId=pool_id)["Users"])


# -- creating users --------------------------------------------------------------------------------
def _case_variant(base: str, i: int) -> str:
    """The i-th spelling of `base` with some of its first six letters upper-cased."""
    return "".join(c.upper() if j < 6 and (i >> j) & 1 else c for j, c in enumerate(base))


KINDS = {
    # kind: (pool settings, the name the i-th request uses, SignUp's and AdminCreateUser's errors)
    "username": ({}, lambda base, i: base,
                 ("User already exists", "User account already exists")),
    "email": ({"UsernameAttributes": ["email"]}, lambda base, i: f"{base}@example.com",
              ("An account with the given email already exists.",) * 2),
    "case": ({"UsernameConfiguration": {"CaseSensitive": False}}, _case_variant,
             ("User already exists", "User account already exists")),
}


@pytest.mark.parametrize("operation", ["SignUp", "AdminCreateUser"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_concurrent_creation_of_one_user(fx, idp, operation, kind):
    settings, name, messages_ = KINDS[kind]
    pool_id = make_pool(idp, LambdaConfig={"PreSignUp": fx.add(slow())}, **settings)
    client = make_client(idp, pool_id)
    base = "abcdefgh" + uuid.uuid4().hex[:8]

    def call(i):
        if operation == "SignUp":
            return idp.sign_up(ClientId=client["ClientId"], Username=name(base, i), Password=PASSWORD)
        return idp.admin_create_user(UserPoolId=pool_id, Username=name(base, i), MessageAction="SUPPRESS")

    message = messages_[0] if operation == "SignUp" else messages_[1]
    one_winner(race(48, call), ("UsernameExistsException", message))
    assert user_count(idp, pool_id) == 1


def test_concurrent_first_sign_ins_migrate_the_user_once(fx, idp):
    def migrate(event):
        time.sleep(SLOW)
        if event["request"]["password"] != PASSWORD:
            raise Exception("Bad password")
        event["response"].update(userAttributes={"email": "legacy@example.com", "email_verified": "true"},
                                 finalUserStatus="CONFIRMED", messageAction="SUPPRESS")
        return event

    arn = fx.add(migrate)
    pool_id = make_pool(idp, LambdaConfig={"UserMigration": arn})
    client = make_client(idp, pool_id)
    results = race(16, lambda i: password_auth(idp, client, "legacy-user"))
    # The function vouched for the same user each time: every sign-in that lost the race signs in
    # as the user the winner created, with the password it was created with.
    assert [r[0] for r in results] == ["ok"] * 16, results
    assert all(r[1]["AuthenticationResult"]["AccessToken"] for r in results)
    assert user_count(idp, pool_id) == 1


def test_concurrent_forgot_password_migrates_the_user_once(fx, idp):
    def migrate(event):
        time.sleep(SLOW)
        event["response"].update(userAttributes={"email": "old@example.com", "email_verified": "true"},
                                 messageAction="SUPPRESS")
        return event

    pool_id = make_pool(idp, LambdaConfig={"UserMigration": fx.add(migrate)})
    client = make_client(idp, pool_id)
    results = race(8, lambda i: idp.forgot_password(ClientId=client["ClientId"], Username="old-user"))
    assert [r[0] for r in results] == ["ok"] * 8, results
    assert user_count(idp, pool_id) == 1
    assert idp.admin_get_user(UserPoolId=pool_id, Username="old-user")["UserStatus"] == "RESET_REQUIRED"


def test_concurrent_first_federated_sign_ins_create_one_user(fx, idp):
    provider = OidcProvider()
    provider.server.socket.listen(64)  # the emulator redeems every racer's code at once
    try:
        pool_id, client = _federated_pool(idp, provider)
        idp.update_user_pool(UserPoolId=pool_id, LambdaConfig={"PreSignUp": fx.add(slow())})
        returns = []
        for _ in range(8):  # each browser gets as far as the IdP's redirect back to the emulator
            browser = Browser(fx.url)
            at_idp = location(browser.authorize(**authorize_query(client, identity_provider="MyIdP")))
            returns.append((browser, location(requests.get(at_idp, allow_redirects=False, timeout=10))))
        results = race(8, lambda i: query_of(location(
            returns[i][0].session.get(returns[i][1], allow_redirects=False, timeout=30))))
    finally:
        provider.close()
    assert [r[0] for r in results] == ["ok"] * 8, results
    assert all("code" in r[1] for r in results), results
    assert [u["Username"] for u in idp.list_users(UserPoolId=pool_id)["Users"]] == ["MyIdP_idp-user-1"]


# -- single-use codes and sessions -----------------------------------------------------------------
def test_concurrent_confirmations_of_one_code(fx, idp):
    post = fx.add(slow())
    pool_id = make_pool(idp, LambdaConfig={"PostConfirmation": post}, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id)
    username = unique("confirm")
    idp.sign_up(ClientId=client["ClientId"], Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}])
    code = messages(fx, pool_id=pool_id, username=username)[0]["code"]
    results = race(16, lambda i: idp.confirm_sign_up(ClientId=client["ClientId"], Username=username,
                                                      ConfirmationCode=code))
    one_winner(results, ("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED"))
    assert len(fx.all(post)) == 1


def test_one_custom_challenge_session_answered_concurrently(fx, idp):
    def define(event):
        session = event["request"]["session"]
        done = bool(session and session[-1]["challengeResult"])
        event["response"].update(issueTokens=done, failAuthentication=False,
                                 challengeName=None if done else "CUSTOM_CHALLENGE")
        return event

    def create(event):
        event["response"].update(publicChallengeParameters={"q": "?"}, privateChallengeParameters={"a": "42"})
        return event

    def verify(event):
        time.sleep(SLOW)
        event["response"]["answerCorrect"] = event["request"]["challengeAnswer"] == "42"
        return event

    config = {"DefineAuthChallenge": fx.add(define), "CreateAuthChallenge": fx.add(create),
              "VerifyAuthChallengeResponse": fx.add(verify)}
    pool_id = make_pool(idp, LambdaConfig=config)
    client = make_client(idp, pool_id, flows=["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    username = make_user(idp, pool_id)
    challenge = idp.initiate_auth(ClientId=client["ClientId"], AuthFlow="CUSTOM_AUTH",
                                  AuthParameters={"USERNAME": username})
    results = race(16, lambda i: idp.respond_to_auth_challenge(
        ClientId=client["ClientId"], ChallengeName="CUSTOM_CHALLENGE", Session=challenge["Session"],
        ChallengeResponses={"USERNAME": username, "ANSWER": "42"}))
    won = one_winner(results, ("NotAuthorizedException",
                               "Invalid session for the user, session can only be used once."))
    assert won["AuthenticationResult"]["AccessToken"]


def test_one_refresh_token_rotated_concurrently(fx, idp):
    pool_id = make_pool(idp, LambdaConfig={"PreTokenGeneration": fx.add(slow())})
    client = make_client(idp, pool_id, RefreshTokenRotation={"Feature": "ENABLED", "RetryGracePeriodSeconds": 0})
    username = make_user(idp, pool_id)
    refresh = tokens_for(idp, client, username)["RefreshToken"]
    results = race(8, lambda i: idp.get_tokens_from_refresh_token(ClientId=client["ClientId"],
                                                                  RefreshToken=refresh))
    won = one_winner(results, ("RefreshTokenReuseException", "Refresh token has already been used."))
    assert won["AuthenticationResult"]["RefreshToken"] != refresh


def test_wrong_passwords_during_pre_authentication_still_lock_the_user(fx, idp):
    pool_id = make_pool(idp, LambdaConfig={"PreAuthentication": fx.add(slow())})
    client = make_client(idp, pool_id)
    username = make_user(idp, pool_id)
    # A stopped clock: the lock (1 s after the fifth failure) cannot run out however slow the machine.
    requests.post(fx.url + "/_emulator/clock", json={"freeze": True}, timeout=10)
    results = race(12, lambda i: password_auth(idp, client, username, password="Wrong-passw0rd!"))
    # Five failures lock the user; the attempts that waited in the trigger meanwhile are refused.
    assert Counter(results) == Counter({("NotAuthorizedException", "Incorrect username or password."): 5,
                                        ("NotAuthorizedException", "Password attempts exceeded"): 7}), results


# -- users changed while a trigger runs -------------------------------------------------------------
CHANGES = {
    "delete": (lambda admin, pool_id, name: admin.admin_delete_user(UserPoolId=pool_id, Username=name),
               ("UserNotFoundException", "User does not exist.")),
    "disable": (lambda admin, pool_id, name: admin.admin_disable_user(UserPoolId=pool_id, Username=name),
                ("NotAuthorizedException", "User is disabled.")),
}


@pytest.mark.parametrize("trigger", ["PreAuthentication", "PostAuthentication", "PreTokenGeneration"])
@pytest.mark.parametrize("change", list(CHANGES))
def test_user_changed_during_a_sign_in_trigger_gets_no_tokens(fx, idp, admin, trigger, change):
    act, expected = CHANGES[change]
    where: dict = {}

    def function(event):
        if event["userName"] == where.get("username"):
            act(admin, event["userPoolId"], event["userName"])
        return event

    pool_id = make_pool(idp, LambdaConfig={trigger: fx.add(function)})
    client = make_client(idp, pool_id, PreventUserExistenceErrors="LEGACY")
    where["username"] = make_user(idp, pool_id)
    with pytest.raises(ClientError) as e:
        password_auth(idp, client, where["username"])
    assert error(e) == expected


def test_changes_made_during_custom_message_are_kept(fx, idp, admin):
    def custom(event):
        if event["triggerSource"] == "CustomMessage_UpdateUserAttribute":
            admin.admin_disable_user(UserPoolId=event["userPoolId"], Username=event["userName"])
            admin.admin_update_user_attributes(UserPoolId=event["userPoolId"], Username=event["userName"],
                                               UserAttributes=[{"Name": "given_name", "Value": "Zed"}])
        return event

    pool_id = make_pool(idp, LambdaConfig={"CustomMessage": fx.add(custom)}, AutoVerifiedAttributes=["email"])
    username = make_user(idp, pool_id, attributes={"email": "before@example.com", "email_verified": "true"})
    idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username,
                                     UserAttributes=[{"Name": "email", "Value": "after@example.com"}])
    got = idp.admin_get_user(UserPoolId=pool_id, Username=username)
    attributes = {a["Name"]: a["Value"] for a in got["UserAttributes"]}
    assert got["Enabled"] is False
    assert (attributes["given_name"], attributes["email"], attributes["email_verified"]) == (
        "Zed", "after@example.com", "false")


def test_user_deleted_during_custom_message_is_not_written_back(fx, idp, admin):
    def custom(event):
        if event["triggerSource"] == "CustomMessage_UpdateUserAttribute":
            admin.admin_delete_user(UserPoolId=event["userPoolId"], Username=event["userName"])
        return event

    pool_id = make_pool(idp, LambdaConfig={"CustomMessage": fx.add(custom)}, AutoVerifiedAttributes=["email"])
    username = make_user(idp, pool_id, attributes={"email": "gone@example.com"})
    with pytest.raises(ClientError) as e:
        idp.admin_update_user_attributes(UserPoolId=pool_id, Username=username,
                                         UserAttributes=[{"Name": "email", "Value": "new@example.com"}])
    assert error(e) == ("UserNotFoundException", "User does not exist.")
    assert user_count(idp, pool_id) == 0


# -- identity pools and Cognito Sync ---------------------------------------------------------------
def test_concurrent_get_id_for_one_login_gives_one_identity(fx, issuer):
    identity = _client(fx, "cognito-identity")
    pool = identity.create_identity_pool(
        IdentityPoolName=unique("race"), AllowUnauthenticatedIdentities=False,
        OpenIdConnectProviderARNs=[f"arn:aws:iam::000000000000:oidc-provider/{OIDC}"])["IdentityPoolId"]
    token = issuer.token(unique("sub"))
    before = issuer.fetches
    results = race(12, lambda i: identity.get_id(IdentityPoolId=pool, Logins={OIDC: token}))
    assert issuer.fetches > before  # the keys were fetched while the requests raced
    assert [r[0] for r in results] == ["ok"] * 12, results
    assert len({r[1]["IdentityId"] for r in results}) == 1
    assert len(identity.list_identities(IdentityPoolId=pool, MaxResults=60)["Identities"]) == 1


def test_concurrent_update_records_with_one_sync_count(fx):
    identity, developer = _client(fx, "cognito-identity"), _client(fx, "cognito-sync")
    pool = make_identity_pool(identity)
    trigger = fx.add(slow())
    developer.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": trigger})
    me = identity.get_id(IdentityPoolId=pool)["IdentityId"]
    creds = identity.get_credentials_for_identity(IdentityId=me)["Credentials"]
    client = client_as("cognito-sync", fx.url, creds, max_pool_connections=64)
    token = client.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")["SyncSessionToken"]
    results = race(12, lambda i: client.update_records(
        IdentityPoolId=pool, IdentityId=me, DatasetName="game", SyncSessionToken=token,
        RecordPatches=[{"Op": "replace", "Key": "score", "Value": str(i), "SyncCount": 0}]))
    won = one_winner(results, ("ResourceConflictException", "Current SyncCount for: score is: 1 not: 0"))
    stored = developer.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")["Records"]
    assert [(r["Key"], r["Value"], r["SyncCount"]) for r in stored] == [
        ("score", won["Records"][0]["Value"], 1)]
    # Each call ran the trigger, except those that arrived after the winner committed (refused
    # first); the winner's did.
    events = fx.all(trigger)
    assert 1 <= len(events) <= 12
    assert any(e["datasetRecords"]["score"]["newValue"] == won["Records"][0]["Value"] for e in events)


def test_identity_deleted_during_the_sync_trigger(fx):
    identity, developer = _client(fx, "cognito-identity"), _client(fx, "cognito-sync")
    pool = make_identity_pool(identity)

    def delete(event):
        identity.delete_identities(IdentityIdsToDelete=[event["identityId"]])
        return event

    developer.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": fx.add(delete)})
    me = identity.get_id(IdentityPoolId=pool)["IdentityId"]
    creds = identity.get_credentials_for_identity(IdentityId=me)["Credentials"]
    client = client_as("cognito-sync", fx.url, creds, max_pool_connections=64)
    token = client.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")["SyncSessionToken"]
    with pytest.raises(ClientError) as e:
        client.update_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game", SyncSessionToken=token,
                              RecordPatches=[{"Op": "replace", "Key": "score", "Value": "1", "SyncCount": 0}])
    assert error(e) == ("ResourceNotFoundException", f"Identity '{me}' not found.")
