"""Declared environments: `seed` (seed files, amplify_outputs.json, CloudFormation templates),
`serve --seed`, and `export` / `import` of whole states, through the real command line and real
servers, checked with boto3 and pycognito as an app would use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyotp
import pytest
import requests
from botocore.exceptions import ClientError
from emulator_process import ROOT, EmulatorProcess
from helpers import Srp, boto_client, claims, client_as, device_verifier, emulator_now, error, stop_checked
from pycognito import Cognito

HERE = Path(__file__).resolve().parent / "environments"
SEED = HERE / "seed.yaml"
POOL = "us-east-1_Seeded001"
WEB = "1example23456789web"
SERVER = "1example23456789srv"
SERVER_SECRET = "s3cretvalue0123456789abcdefghijklmnopqrstuvwxyzABCD"
IDENTITY_POOL = "us-east-1:11111111-2222-3333-4444-555555555555"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
PASSWORD = "Passw0rdOK"


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`cognito-emulator ARGS` as a user runs it (no COGNITO_EMULATOR_* setting inherited)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_EMULATOR_")}
    return subprocess.run([sys.executable, "-m", "emulator", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**clean, **(env or {})})


def ok(*args: str) -> str:
    done = cli(*args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def refused(*args: str) -> str:
    """The one-line message a failing command exits with."""
    done = cli(*args)
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr.strip()


def exported(data_dir: Path, *extra: str) -> dict:
    state = json.loads(ok("export", "--data-dir", str(data_dir), *extra))
    state.pop("exported_at")
    return state


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def sign_in(url: str, pool_id: str, client_id: str, username: str, password: str = PASSWORD) -> Cognito:
    """pycognito's SRP sign-in, as an app does it."""
    user = Cognito(pool_id, client_id, username=username,
                   boto3_client_kwargs={"endpoint_url": url, "region_name": pool_id.split("_")[0],
                                        "aws_access_key_id": "test", "aws_secret_access_key": "test"})
    user.authenticate(password=password)
    return user


def totp_sign_in(idp, url: str, username: str) -> dict:
    """SRP, then the SOFTWARE_TOKEN_MFA challenge answered with the declared secret's code."""
    step = Srp(idp, POOL, {"ClientId": WEB}, username, PASSWORD).sign_in()
    assert step["ChallengeName"] == "SOFTWARE_TOKEN_MFA"
    code = pyotp.TOTP(TOTP_SECRET).at(emulator_now(url))
    return idp.respond_to_auth_challenge(ClientId=WEB, ChallengeName="SOFTWARE_TOKEN_MFA", Session=step["Session"],
                                         ChallengeResponses={"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": code})


@pytest.fixture
def data_dir(tmp_path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def running(data_dir):
    """A server on `data_dir`, as a developer leaves one running while seeding it."""
    process = EmulatorProcess("--data-dir", str(data_dir), "--workers", "1")
    yield process
    stop_checked(process)


# -- seed files --------------------------------------------------------------------------------------
def test_seed_into_a_running_server(running, data_dir):
    out = ok("seed", str(SEED), "--data-dir", str(data_dir))
    assert out.splitlines()[0] == ("created: 1 user pool, 1 resource server, 2 app clients, 1 group, 1 domain, "
                                   "3 users, 1 identity pool, 1 google test identity")
    idp = boto_client("cognito-idp", running.url)
    pool = idp.describe_user_pool(UserPoolId=POOL)["UserPool"]
    assert pool["Name"] == "app-users" and pool["Domain"] == "seeded-app"
    assert pool["Policies"]["PasswordPolicy"]["RequireSymbols"] is False
    assert idp.get_user_pool_mfa_config(UserPoolId=POOL)["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    server = idp.describe_user_pool_client(UserPoolId=POOL, ClientId=SERVER)["UserPoolClient"]
    assert server["ClientSecret"] == SERVER_SECRET and server["AllowedOAuthScopes"] == ["api/read"]
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=POOL, Username="alice")["Groups"]] \
        == ["admins"]
    assert idp.admin_get_user(UserPoolId=POOL, Username="bob")["UserStatus"] == "FORCE_CHANGE_PASSWORD"

    # The declared user signs in with real SRP; the server sees what another process wrote.
    alice = sign_in(running.url, POOL, WEB, "alice")
    assert claims(alice.id_token)["cognito:groups"] == ["admins"]
    assert claims(alice.id_token)["email_verified"] is True
    assert "AccessToken" in totp_sign_in(idp, running.url, "carol")["AuthenticationResult"]
    first = idp.initiate_auth(ClientId=WEB, AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": "bob", "PASSWORD": "Temp0raryPW"})
    assert first["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    # The declared secret is the client's: client_credentials with it gets a token.
    token = requests.post(f"{running.url}/oauth2/token", timeout=30, auth=(SERVER, SERVER_SECRET),
                          data={"grant_type": "client_credentials", "scope": "api/read"})
    assert token.status_code == 200 and claims(token.json()["access_token"])["scope"] == "api/read"

    identity = boto_client("cognito-identity", running.url)
    described = identity.describe_identity_pool(IdentityPoolId=IDENTITY_POOL)
    assert described["IdentityPoolName"] == "app_identities" and described["AllowUnauthenticatedIdentities"]
    assert identity.get_identity_pool_roles(IdentityPoolId=IDENTITY_POOL)["Roles"] == {
        "authenticated": "arn:aws:iam::000000000000:role/auth",
        "unauthenticated": "arn:aws:iam::000000000000:role/unauth"}
    # The social sandbox's test identity, ready for a browser test to click.
    google = requests.get(f"{running.url}/_emulator/social/google/users", timeout=10).json()["users"]
    assert [(u["email"], u["name"], u["attributes"]) for u in google] == [
        ("ada@example.com", "Ada Lovelace", {"hd": "example.com"})]


def test_seeding_twice_changes_nothing(data_dir):
    ok("seed", str(SEED), "--data-dir", str(data_dir))
    before = exported(data_dir)
    out = ok("seed", str(SEED), "--data-dir", str(data_dir))
    assert out.splitlines()[:2] == [
        "created: nothing",
        "unchanged: 1 user pool, 1 resource server, 2 app clients, 1 group, 1 domain, 3 users, 1 identity pool, "
        "1 google test identity"]
    assert exported(data_dir) == before


def test_seed_adds_what_the_file_gained(tmp_path, data_dir):
    ok("seed", str(SEED), "--data-dir", str(data_dir))
    grown = SEED.read_text().replace("    users:\n", "    users:\n      - username: dave\n        password: Passw0rdOK\n")
    out = ok("seed", write(tmp_path, "grown.yaml", grown), "--data-dir", str(data_dir))
    assert out.splitlines()[0] == "created: 1 user"


ERIN = "6f1c0d4e-8f5a-4b9e-9a43-1d2c3b4a5e6f"


def test_seed_json_and_toml(tmp_path, data_dir):
    as_json = {"user_pools": [{"id": "us-west-2_Json00001", "PoolName": "json-pool",
                               "clients": [{"id": "jsonclient0001", "ClientName": "app"}],
                               "users": [{"username": "erin", "password": "Passw0rd!", "sub": ERIN,
                                          "attributes": [{"Name": "email", "Value": "erin@example.com"}]}]}]}
    ok("seed", write(tmp_path, "seed.json", json.dumps(as_json)), "--data-dir", str(data_dir))
    toml = '''
[[user_pools]]
id = "us-east-1_Toml00001"
PoolName = "toml-pool"
[[user_pools.clients]]
ClientName = "toml-app"
ExplicitAuthFlows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
[[user_pools.users]]
username = "frank"
password = "Passw0rd!"
enabled = false
'''
    ok("seed", write(tmp_path, "seed.toml", toml), "--data-dir", str(data_dir))
    state = exported(data_dir)
    assert state["user_pools"] == ["us-west-2_Json00001", "us-east-1_Toml00001"]
    users = state["tables"]["users"]
    rows = [dict(zip(users["columns"], row, strict=True)) for row in users["rows"]]
    assert {r["username"]: r["enabled"] for r in rows} == {"erin": 1, "frank": 0}
    assert json.loads(rows[0]["attributes"])["email"] == "erin@example.com"
    assert rows[0]["sub"] == ERIN  # a declared sub is kept


ONE_USER = "user_pools:\n  - id: us-east-1_A1\n    PoolName: p\n    users:\n      - username: u\n" \
           "        password: Passw0rd!\n"
BAD_SEEDS = [
    ("password.yaml", SEED.read_text().replace("password: Passw0rdOK\n        attributes", "password: short\n"
                                                "        attributes"),
     "password.yaml:30: user_pools[0].users[0].password: InvalidPasswordException: Password did not conform with "
     "password policy: Password not long enough"),
    ("typo.yaml", SEED.read_text().replace("PoolName:", "PoolNme:"),
     "typo.yaml:3: user_pools[0].PoolNme: not an input field of CreateUserPool (did you mean PoolName?)"),
    ("own.yaml", SEED.read_text().replace("    groups:\n      - GroupName", "    group:\n      - GroupName"),
     "own.yaml:25: user_pools[0].group: unknown field (did you mean groups?); a user pool takes id, clients, domain, "
     "resource_servers, identity_providers, groups, users, mfa_config and its operation's input fields"),
    ("validation.yaml", SEED.read_text().replace("MinimumLength: 8", "MinimumLength: 3"),
     "validation.yaml:5: user_pools[0].Policies.PasswordPolicy.MinimumLength: CreateUserPool refused it: "
     "InvalidParameterException: 1 validation error detected: Value '3' at 'policies.passwordPolicy.minimumLength' "
     "failed to satisfy constraint: Member must have value greater than or equal to 6"),
    ("group.yaml", SEED.read_text().replace("groups: [admins]", "groups: [admin]"),
     "group.yaml:32: user_pools[0].users[0].groups[0]: AdminAddUserToGroup refused it: ResourceNotFoundException: "
     "Group not found."),
    ("status.yaml", SEED.read_text().replace("      - username: bob\n        temporary_password: Temp0raryPW\n",
                                             "      - username: bob\n        status: CONFIRMED\n"),
     "status.yaml:33: user_pools[0].users[1]: a CONFIRMED user needs a password"),
    ("totp.yaml", SEED.read_text().replace(TOTP_SECRET, "not-base32!"),
     "totp.yaml:37: user_pools[0].users[2].mfa.totp_secret: not a base32 secret (A-Z, 2-7)"),
    ("id.json", '{"user_pools": [\n  {"id": "nope", "PoolName": "x"}\n]}',
     "id.json:2: user_pools[0].id: 'nope' is not a user pool id (region_Id, e.g. us-east-1_Example12)"),
    ("syntax.yaml", "user_pools:\n  - id: us-east-1_X\n    PoolName: [a\n",
     "syntax.yaml:4: not valid YAML: while parsing a flow sequence, did not find expected ',' or ']'"),
    ("syntax.json", '{"user_pools": [\n  {"id": "us-east-1_X",}\n]}',
     "syntax.json:2: not valid JSON: Expecting property name enclosed in double quotes (column 24)"),
    ("syntax.toml", '[[user_pools]]\nid = "us-east-1_X\n',
     "syntax.toml: not valid TOML: Illegal character '\\n' (at line 2, column 18)"),
    ("sub.yaml", SEED.read_text().replace("      - username: bob\n", "      - username: bob\n        sub: b0b\n"),
     "sub.yaml:34: user_pools[0].users[1].sub: 'b0b' is not a UUID"),
    ("both.yaml", f"{ONE_USER}        temporary_password: Passw0rd!\n",
     "both.yaml:7: user_pools[0].users[0].temporary_password: declare password or temporary_password, not both"),
    ("state.yaml", f"{ONE_USER}        status: ACTIVE\n",
     "state.yaml:7: user_pools[0].users[0].status: 'ACTIVE' is not one of CONFIRMED, FORCE_CHANGE_PASSWORD, "
     "RESET_REQUIRED, UNCONFIRMED"),
    ("enabled.yaml", f"{ONE_USER}        enabled: 1\n",
     "enabled.yaml:7: user_pools[0].users[0].enabled: expected true or false"),
    ("preferred.yaml", f"{ONE_USER}        mfa: {{preferred: FAX}}\n",
     "preferred.yaml:7: user_pools[0].users[0].mfa.preferred: expected SMS, TOTP or EMAIL"),
    ("factor.yaml", f"{ONE_USER}        mfa: {{sms: maybe}}\n",
     "factor.yaml:7: user_pools[0].users[0].mfa.sms: expected true or false"),
    ("sms.yaml", f"{ONE_USER}        mfa: {{sms: true}}\n",
     "sms.yaml:7: user_pools[0].users[0].mfa: InvalidParameterException: User does not have delivery config set "
     "to turn on SMS_MFA"),
    ("attributes.yaml", f"{ONE_USER}        attributes: [1]\n",
     "attributes.yaml:7: user_pools[0].users[0].attributes: expected a mapping of names to values, "
     "or a list of {Name, Value}"),
    ("unknown.yaml", f"{ONE_USER}        attributes: {{shoe_size: 42}}\n",
     "unknown.yaml:7: user_pools[0].users[0].attributes: InvalidParameterException: Attributes did not conform to "
     "the schema: shoe_size: Attribute does not exist in the schema."),
    ("passwd.yaml", ONE_USER.replace("password:", "passwd:"),
     "passwd.yaml:6: user_pools[0].users[0].passwd: unknown field (did you mean password?); a user takes username, "
     "password, temporary_password, status, attributes, groups, enabled, mfa, sub"),
    ("nameless.yaml", ONE_USER.replace("username: u", "attributes: {}"),
     "nameless.yaml:5: user_pools[0].users[0].username: expected a username (text)"),
    ("user.yaml", ONE_USER.replace("      - username: u\n        password: Passw0rd!\n", "      - u\n"),
     "user.yaml:5: user_pools[0].users[0]: expected a mapping (user)"),
    ("taken.yaml", "user_pools:\n  - id: us-east-1_A1\n    PoolName: p\n    clients: [{id: shared1, ClientName: a}]\n"
                   "  - id: us-east-1_B2\n    PoolName: q\n    clients: [{id: shared1, ClientName: b}]\n",
     "taken.yaml:7: user_pools[1].clients[0].id: app client shared1 already belongs to user pool us-east-1_A1"),
    ("top.yaml", "user_pool:\n  - id: us-east-1_X\n",
     "top.yaml:1: user_pool: unknown field (did you mean user_pools?); a seed file takes user_pools, identity_pools, "
     "social_identities"),
    ("social.yaml", "social_identities:\n  myspace:\n    - email: a@example.com\n",
     "social.yaml:2: social_identities.myspace: unknown provider; one of google, facebook, amazon, apple"),
    ("socialuser.yaml", "social_identities:\n  google:\n    - name: No Email\n",
     "socialuser.yaml:3: social_identities.google[0]: email is required"),
    ("identity.yaml", "identity_pools:\n  - id: us-east-1:xyz\n    IdentityPoolName: x\n",
     "identity.yaml:2: identity_pools[0].id: 'us-east-1:xyz' is not an identity pool id "
     "(region:UUID, e.g. us-east-1:0b5e6d4c-...)"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_SEEDS, ids=[b[0] for b in BAD_SEEDS])
def test_bad_seed_files_name_line_and_field_and_apply_nothing(tmp_path, data_dir, name, text, message):
    assert refused("seed", write(tmp_path, name, text), "--data-dir", str(data_dir)) == \
        f"cognito-emulator seed: {tmp_path / name}{message[len(name):]}"
    state = exported(data_dir)
    assert state["user_pools"] == [] and state["identity_pools"] == [] and state["tables"] == {}


def test_a_missing_file_is_refused(tmp_path, data_dir):
    missing = tmp_path / "none.yaml"
    assert refused("seed", str(missing), "--data-dir", str(data_dir)) == \
        f"cognito-emulator seed: {missing}: cannot read: No such file or directory"


def test_serve_seed_flag_and_environment_variable(tmp_path):
    process = EmulatorProcess("--in-memory", "--seed", str(SEED))
    try:
        idp = boto_client("cognito-idp", process.url)
        assert idp.describe_user_pool(UserPoolId=POOL)["UserPool"]["Name"] == "app-users"
        assert sign_in(process.url, POOL, WEB, "alice").id_token
    finally:
        stop_checked(process)
    other = write(tmp_path, "other.yaml", "user_pools:\n  - id: us-east-1_EnvSeed01\n    PoolName: from-env\n")
    process = EmulatorProcess("--in-memory", env={"COGNITO_EMULATOR_SEED": other})
    try:
        idp = boto_client("cognito-idp", process.url)
        assert idp.describe_user_pool(UserPoolId="us-east-1_EnvSeed01")["UserPool"]["Name"] == "from-env"
    finally:
        stop_checked(process)


def test_serve_refuses_to_start_with_a_bad_seed(tmp_path):
    bad = write(tmp_path, "bad.yaml", "user_pools:\n  - id: nope\n")
    with pytest.raises(RuntimeError) as failed:
        EmulatorProcess("--in-memory", "--seed", bad)
    assert f"cognito-emulator: {bad}:2: user_pools[0].id: 'nope' is not a user pool id" in str(failed.value)


def test_progress_on_many_users(tmp_path, data_dir):
    people = "".join(f"      - username: user{n}\n        password: Passw0rd!\n" for n in range(1500))
    text = f"user_pools:\n  - id: us-east-1_Many00001\n    PoolName: many\n    users:\n{people}"
    done = cli("seed", write(tmp_path, "many.yaml", text), "--data-dir", str(data_dir), "--progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "created: 1 user pool, 1500 users"
    assert f"users of us-east-1_Many00001 [{'#' * 30}] 1500/1500" in done.stderr
    quiet = cli("seed", write(tmp_path, "many.yaml", text), "--data-dir", str(data_dir))
    assert quiet.stderr == ""  # not a terminal, not asked for


# -- export / import --------------------------------------------------------------------------------
def test_export_import_round_trip(tmp_path, data_dir):
    ok("seed", str(SEED), "--data-dir", str(data_dir))
    first = EmulatorProcess("--data-dir", str(data_dir), "--workers", "1")
    try:
        idp = boto_client("cognito-idp", first.url)
        alice = sign_in(first.url, POOL, WEB, "alice")
        # Alice confirms a device, and keeps data in Sync under her identity.
        signed_in = idp.initiate_auth(ClientId=WEB, AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": "alice", "PASSWORD": PASSWORD})["AuthenticationResult"]
        device = signed_in["NewDeviceMetadata"]
        _password, _salt, verifier = device_verifier(device["DeviceGroupKey"], device["DeviceKey"])
        idp.confirm_device(AccessToken=signed_in["AccessToken"], DeviceKey=device["DeviceKey"],
                           DeviceSecretVerifierConfig=verifier, DeviceName="laptop")
        identity = boto_client("cognito-identity", first.url)
        logins = {f"cognito-idp.us-east-1.amazonaws.com/{POOL}": alice.id_token}
        identity_id = identity.get_id(IdentityPoolId=IDENTITY_POOL, Logins=logins)["IdentityId"]
        creds = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
        sync = client_as("cognito-sync", first.url, creds)
        session = sync.list_records(IdentityPoolId=IDENTITY_POOL, IdentityId=identity_id,
                                    DatasetName="settings")["SyncSessionToken"]
        sync.update_records(IdentityPoolId=IDENTITY_POOL, IdentityId=identity_id, DatasetName="settings",
                            SyncSessionToken=session,
                            RecordPatches=[{"Op": "replace", "Key": "theme", "Value": "dark", "SyncCount": 0}])
        idp.update_user_attributes(AccessToken=alice.access_token,
                                   UserAttributes=[{"Name": "name", "Value": "Alice A."}])
        [ada] = requests.get(f"{first.url}/_emulator/social/google/users", timeout=10).json()["users"]
        # Exported while the server runs.
        state_file = tmp_path / "state.json"
        ok("export", "--data-dir", str(data_dir), "-o", str(state_file))
    finally:
        stop_checked(first)
    state = json.loads(state_file.read_text())
    assert (state["format"], state["version"]) == ("cognito-emulator-state", 1)
    assert state["user_pools"] == [POOL] and state["identity_pools"] == [IDENTITY_POOL]
    assert "social_identities" in state["tables"]

    fresh = tmp_path / "fresh"
    assert ok("import", str(state_file), "--data-dir", str(fresh)).splitlines() == [
        f"imported 2 pool(s): {POOL}, {IDENTITY_POOL}"]
    # What was imported exports the same again.
    assert exported(fresh) == {k: v for k, v in state.items() if k != "exported_at"}
    second = EmulatorProcess("--data-dir", str(fresh), "--workers", "1")
    try:
        idp = boto_client("cognito-idp", second.url)
        # Tokens issued before still verify (the signing keys came along), and passwords still work.
        me = idp.get_user(AccessToken=alice.access_token)
        assert {a["Name"]: a["Value"] for a in me["UserAttributes"]}["name"] == "Alice A."
        again = sign_in(second.url, POOL, WEB, "alice")
        assert claims(again.id_token)["sub"] == claims(alice.id_token)["sub"]
        kept = idp.admin_get_device(UserPoolId=POOL, Username="alice", DeviceKey=device["DeviceKey"])["Device"]
        assert {a["Name"]: a["Value"] for a in kept["DeviceAttributes"]}["device_name"] == "laptop"
        assert "AccessToken" in totp_sign_in(idp, second.url, "carol")["AuthenticationResult"]
        # The identity and its Sync data are there, for the same credentials' owner.
        identity = boto_client("cognito-identity", second.url)
        logins = {f"cognito-idp.us-east-1.amazonaws.com/{POOL}": again.id_token}
        assert identity.get_id(IdentityPoolId=IDENTITY_POOL, Logins=logins)["IdentityId"] == identity_id
        creds = identity.get_credentials_for_identity(IdentityId=identity_id, Logins=logins)["Credentials"]
        sync = client_as("cognito-sync", second.url, creds)
        records = sync.list_records(IdentityPoolId=IDENTITY_POOL, IdentityId=identity_id, DatasetName="settings")
        assert [(r["Key"], r["Value"]) for r in records["Records"]] == [("theme", "dark")]
        # The social sandbox's declared test identity came along, with its id.
        google = requests.get(f"{second.url}/_emulator/social/google/users", timeout=10).json()["users"]
        assert [(u["email"], u["id"]) for u in google] == [("ada@example.com", ada["id"])]
    finally:
        stop_checked(second)


def test_import_refuses_a_pool_that_exists_unless_replacing(tmp_path, data_dir):
    ok("seed", str(SEED), "--data-dir", str(data_dir))
    state_file = tmp_path / "state.json"
    ok("export", "--data-dir", str(data_dir), "--pool", POOL, "-o", str(state_file))
    assert json.loads(state_file.read_text())["identity_pools"] == []
    assert refused("import", str(state_file), "--data-dir", str(data_dir)) == (
        f"cognito-emulator import: {state_file}: user pool {POOL} already exists; import with --replace to "
        "replace it (its current state is deleted)")
    server = EmulatorProcess("--data-dir", str(data_dir), "--workers", "1")
    try:
        idp = boto_client("cognito-idp", server.url)
        idp.admin_create_user(UserPoolId=POOL, Username="made-later", MessageAction="SUPPRESS")
        ok("import", str(state_file), "--data-dir", str(data_dir), "--replace")
        with pytest.raises(ClientError) as gone:
            idp.admin_get_user(UserPoolId=POOL, Username="made-later")
        assert error(gone) == ("UserNotFoundException", "User does not exist.")
        assert sign_in(server.url, POOL, WEB, "alice").id_token
    finally:
        stop_checked(server)


def test_seeding_an_exported_state_imports_it_once(tmp_path, data_dir):
    ok("seed", str(SEED), "--data-dir", str(data_dir))
    state_file = tmp_path / "state.json"
    ok("export", "--data-dir", str(data_dir), "-o", str(state_file))
    fresh = tmp_path / "fresh"
    assert ok("seed", str(state_file), "--data-dir", str(fresh)).splitlines() == [
        f"imported 2 pool(s): {POOL}, {IDENTITY_POOL}"]
    assert ok("seed", str(state_file), "--data-dir", str(fresh)).splitlines() == [
        "imported 0 pool(s): none", f"already there, left as they are: {IDENTITY_POOL}, {POOL}"]


def test_import_refuses_rows_that_collide(tmp_path, data_dir):
    ok("seed", str(SEED), "--data-dir", str(data_dir))
    state_file = tmp_path / "state.json"
    ok("export", "--data-dir", str(data_dir), "--pool", POOL, "-o", str(state_file))
    # Another pool of the target already has the domain.
    other = tmp_path / "other"
    ok("seed", write(tmp_path, "other.yaml", "user_pools:\n  - id: us-east-1_Other0001\n    PoolName: o\n"
                     "    domain: seeded-app\n"), "--data-dir", str(other))
    message = refused("import", str(state_file), "--data-dir", str(other))
    assert message.startswith(f"cognito-emulator import: {state_file}:")
    assert message.endswith("tables.user_pool_domains.rows[0]: conflicts with the state already there "
                            "(UNIQUE constraint failed: user_pool_domains.domain)")
    assert exported(other)["user_pools"] == ["us-east-1_Other0001"]


def test_export_of_an_unknown_pool(data_dir):
    assert refused("export", "--data-dir", str(data_dir), "--pool", "us-east-1_Nothing00") == \
        "cognito-emulator export: user pool us-east-1_Nothing00 does not exist"


def test_bad_state_files(tmp_path, data_dir):
    ok("seed", str(SEED), "--data-dir", str(data_dir))
    state = json.loads(ok("export", "--data-dir", str(data_dir)))
    fresh = str(tmp_path / "fresh")

    def attempt(name: str, changed: dict) -> str:
        return refused("import", write(tmp_path, name, json.dumps(changed, indent=1)), "--data-dir", fresh)

    newer = attempt("newer.json", {**state, "version": 2})
    assert newer.endswith("newer.json:3: version: version 2 is not one this emulator reads (it reads 1)")
    other = attempt("other.json", {**state, "format": "something-else"})
    assert other.endswith('other.json:2: format: not an exported state (expected "format": "cognito-emulator-state")')
    tables = dict(state["tables"], emulator_write_lock={"columns": ["id"], "rows": [[1]]})
    assert "tables.emulator_write_lock: not a table of a user pool's or identity pool's state in this emulator" \
        in attempt("lock.json", {**state, "tables": tables})
    users = state["tables"]["users"]
    stranger = [POOL if c != "pool_id" else "us-east-1_Other0001" for c in users["columns"]]
    tables = dict(state["tables"], users={"columns": users["columns"], "rows": [*users["rows"], stranger]})
    assert "tables.users.rows[3]: pool_id 'us-east-1_Other0001' is not one of the file's pools" \
        in attempt("stranger.json", {**state, "tables": tables})
    tables = dict(state["tables"], users={"columns": [*users["columns"], "shoe_size"], "rows": users["rows"]})
    assert "tables.users.columns: column 'shoe_size' is not one of table users's" \
        in attempt("column.json", {**state, "tables": tables})
    tables = dict(state["tables"], users=[])
    assert "tables.users: expected {columns: [...], rows: [[...], ...]}" in attempt("shape.json", {**state, "tables": tables})
    tables = dict(state["tables"], users={"columns": users["columns"], "rows": [users["rows"][0][:3]]})
    assert f"tables.users.rows[0]: expected a list of {len(users['columns'])} values" \
        in attempt("short.json", {**state, "tables": tables})
    assert "user_pools: expected a list of pool ids" in attempt("ids.json", {**state, "user_pools": POOL})
    # Nothing of the refused files was applied.
    assert exported(Path(fresh))["user_pools"] == []


# -- Amplify Gen 2 outputs ----------------------------------------------------------------------------
AMPLIFY = HERE / "amplify_outputs.json"
AMPLIFY_POOL = "eu-west-1_AmpL1fy01"
AMPLIFY_CLIENT = "7ampl1fyw3bcl13nt0000001"


def test_amplify_outputs(running, data_dir):
    out = ok("seed", str(AMPLIFY), "--data-dir", str(data_dir), "--public-url", running.url)
    assert out.splitlines()[0] == "created: 1 user pool, 1 app client, 2 groups, 1 domain, 1 identity pool"
    assert f'userPoolEndpoint: "{running.url}", identityPoolEndpoint: "{running.url}"' in out
    idp = boto_client("cognito-idp", running.url, region="eu-west-1")
    pool = idp.describe_user_pool(UserPoolId=AMPLIFY_POOL)["UserPool"]
    assert pool["UsernameAttributes"] == ["email"] and pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["Policies"]["PasswordPolicy"]["MinimumLength"] == 10
    assert pool["Policies"]["PasswordPolicy"]["RequireSymbols"] is False
    assert next(a for a in pool["SchemaAttributes"] if a["Name"] == "email")["Required"] is True
    assert pool["Domain"] == "ampapp"
    mfa = idp.get_user_pool_mfa_config(UserPoolId=AMPLIFY_POOL)
    assert mfa["MfaConfiguration"] == "OPTIONAL" and mfa["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    client = idp.describe_user_pool_client(UserPoolId=AMPLIFY_POOL, ClientId=AMPLIFY_CLIENT)["UserPoolClient"]
    assert client["CallbackURLs"] == ["http://localhost:3000/"] and "ClientSecret" not in client
    assert client["AllowedOAuthFlows"] == ["code"]
    groups = idp.list_groups(UserPoolId=AMPLIFY_POOL)["Groups"]
    assert sorted((g["GroupName"], g["Precedence"]) for g in groups) == [("ADMINS", 0), ("EDITORS", 1)]
    identity = boto_client("cognito-identity", running.url, region="eu-west-1")
    described = identity.describe_identity_pool(IdentityPoolId="eu-west-1:0b5e6d4c-1111-4222-8333-944445555666")
    assert described["AllowUnauthenticatedIdentities"] is True
    assert described["CognitoIdentityProviders"][0]["ClientId"] == AMPLIFY_CLIENT
    # The app's own flow works: it signs up with the email as username and the pool's policy.
    idp.sign_up(ClientId=AMPLIFY_CLIENT, Username="gina@example.com", Password="Passw0rdLong",
                UserAttributes=[{"Name": "email", "Value": "gina@example.com"}])
    with pytest.raises(ClientError) as short:
        idp.sign_up(ClientId=AMPLIFY_CLIENT, Username="hal@example.com", Password="Passw0rd1",
                    UserAttributes=[{"Name": "email", "Value": "hal@example.com"}])
    assert error(short) == ("InvalidPasswordException",
                            "Password did not conform with policy: Password not long enough")
    again = ok("seed", str(AMPLIFY), "--data-dir", str(data_dir))
    assert again.splitlines()[0] == "created: nothing"


def test_bad_amplify_outputs(tmp_path, data_dir):
    outputs = json.loads(AMPLIFY.read_text())
    del outputs["auth"]["user_pool_client_id"]
    path = write(tmp_path, "amplify_outputs.json", json.dumps(outputs, indent=2))
    assert refused("seed", path, "--data-dir", str(data_dir)) == \
        f"cognito-emulator seed: {path}:3: auth.user_pool_client_id: missing: amplify_outputs.json's auth section names it"
    outputs = json.loads(AMPLIFY.read_text())
    outputs["auth"]["password_policy"]["min_length"] = 2
    text = json.dumps(outputs, indent=2)
    path = write(tmp_path, "amplify_outputs.json", text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if '"password_policy"' in row)
    message = refused("seed", path, "--data-dir", str(data_dir))
    assert message.startswith(f"cognito-emulator seed: {path}:{line}: auth.password_policy: CreateUserPool refused it: "
                              "InvalidParameterException: 1 validation error detected: Value '2' at "
                              "'policies.passwordPolicy.minimumLength'")
    assert exported(data_dir)["user_pools"] == []


# -- CloudFormation --------------------------------------------------------------------------------------
TEMPLATE = HERE / "template.yaml"


def test_cloudformation_template(running, data_dir):
    out = ok("seed", str(TEMPLATE), "--data-dir", str(data_dir))
    assert out.splitlines()[0] == ("created: 1 user pool, 1 identity provider, 1 resource server, 2 app clients, "
                                   "1 domain, 1 group, 1 user, 1 identity pool, 1 role attachment")
    idp = boto_client("cognito-idp", running.url)
    pools = idp.list_user_pools(MaxResults=10)["UserPools"]
    assert [p["Name"] for p in pools] == ["app-dev-users"]  # !Sub with a parameter's default
    pool_id = pools[0]["Id"]
    pool = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["DeletionProtection"] == "INACTIVE"  # !If on a condition
    assert pool["Domain"] == "app-dev-000000000000"
    assert "custom:tenant" in [a["Name"] for a in pool["SchemaAttributes"]]
    assert idp.get_user_pool_mfa_config(UserPoolId=pool_id)["SoftwareTokenMfaConfiguration"] == {"Enabled": True}
    clients = {c["ClientName"]: c["ClientId"] for c in idp.list_user_pool_clients(UserPoolId=pool_id,
                                                                                   MaxResults=10)["UserPoolClients"]}
    assert sorted(clients) == ["ServerClient", "cognito-emulator-web"]
    web = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=clients["cognito-emulator-web"])["UserPoolClient"]
    assert web["SupportedIdentityProviders"] == ["COGNITO", "Corp"]
    assert web["AllowedOAuthScopes"] == ["openid", "email", "api.example.com/read"]
    server = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=clients["ServerClient"])["UserPoolClient"]
    assert len(server["ClientSecret"]) == 51
    group = idp.get_group(UserPoolId=pool_id, GroupName="admins")["Group"]
    assert group["RoleArn"] == "arn:aws:iam::000000000000:role/AdminRole"  # !GetAtt of a role outside Cognito
    dana = idp.admin_get_user(UserPoolId=pool_id, Username="dana@example.com")
    assert dana["UserStatus"] == "FORCE_CHANGE_PASSWORD"
    assert {a["Name"]: a["Value"] for a in dana["UserAttributes"]}["custom:tenant"] == "acme"
    assert [g["GroupName"] for g in idp.admin_list_groups_for_user(UserPoolId=pool_id,
                                                                    Username="dana@example.com")["Groups"]] == ["admins"]
    identity = boto_client("cognito-identity", running.url)
    identity_pool = identity.list_identity_pools(MaxResults=10)["IdentityPools"][0]
    assert identity_pool["IdentityPoolName"] == "Identities"
    provider = f"cognito-idp.us-east-1.amazonaws.com/{pool_id}"
    described = identity.describe_identity_pool(IdentityPoolId=identity_pool["IdentityPoolId"])
    assert described["CognitoIdentityProviders"][0] == {"ProviderName": provider,
                                                        "ClientId": clients["cognito-emulator-web"],
                                                        "ServerSideTokenCheck": False}
    roles = identity.get_identity_pool_roles(IdentityPoolId=identity_pool["IdentityPoolId"])
    assert roles["Roles"] == {"authenticated": "arn:aws:iam::000000000000:role/AuthRole"}
    assert roles["RoleMappings"] == {f"{provider}:{clients['cognito-emulator-web']}": {
        "Type": "Token", "AmbiguousRoleResolution": "AuthenticatedRole"}}
    again = ok("seed", str(TEMPLATE), "--data-dir", str(data_dir))
    assert again.splitlines()[0] == "created: nothing"


def test_cdk_synthesized_json_template(tmp_path, data_dir):
    template = {"Resources": {
        "AuthUserPoolABC123": {"Type": "AWS::Cognito::UserPool", "Properties": {
            "UserPoolName": "cdk-pool", "AccountRecoverySetting": {"RecoveryMechanisms": [
                {"Name": "verified_email", "Priority": 1}]}}},
        "AuthUserPoolClientDEF456": {"Type": "AWS::Cognito::UserPoolClient", "Properties": {
            "UserPoolId": {"Ref": "AuthUserPoolABC123"},
            "ExplicitAuthFlows": ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}},
        "IdentityPool": {"Type": "AWS::Cognito::IdentityPool", "Properties": {
            "IdentityPoolName": "cdk_identities", "AllowUnauthenticatedIdentities": True,
            "CognitoIdentityProviders": [{
                "ClientId": {"Ref": "AuthUserPoolClientDEF456"},
                "ProviderName": {"Fn::GetAtt": ["AuthUserPoolABC123", "ProviderName"]}}]}}}}
    path = write(tmp_path, "Stack.template.json", json.dumps(template, indent=1))
    assert ok("seed", path, "--data-dir", str(data_dir)).splitlines()[0] == \
        "created: 1 user pool, 1 app client, 1 identity pool"
    state = exported(data_dir)
    pools = state["tables"]["user_pools"]
    assert [dict(zip(pools["columns"], r, strict=True))["name"] for r in pools["rows"]] == ["cdk-pool"]


POOL_RESOURCE = "Resources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n    Properties:\n"
BAD_TEMPLATES = [
    ("ref.yaml", "Resources:\n  Client:\n    Type: AWS::Cognito::UserPoolClient\n    Properties:\n"
                 "      UserPoolId: !Ref Pool\n      ClientName: c\n",
     "ref.yaml:5: Resources.Client.Properties.UserPoolId.Ref: 'Pool' is not a resource or parameter of the template"),
    ("type.yaml", "Resources:\n  Logs:\n    Type: AWS::Cognito::LogDeliveryConfiguration\n",
     "type.yaml:3: Resources.Logs.Type: AWS::Cognito::LogDeliveryConfiguration is not a resource the emulator "
     "makes (it makes AWS::Cognito::UserPool, AWS::Cognito::UserPoolClient, AWS::Cognito::UserPoolDomain, "
     "AWS::Cognito::UserPoolGroup, AWS::Cognito::UserPoolUser, AWS::Cognito::UserPoolUserToGroupAttachment, "
     "AWS::Cognito::UserPoolResourceServer, AWS::Cognito::UserPoolIdentityProvider, AWS::Cognito::IdentityPool, "
     "AWS::Cognito::IdentityPoolRoleAttachment)"),
    ("property.yaml", "Resources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n    Properties:\n"
                      "      UserPoolName: p\n      AutoVerifiedAttribute: [email]\n",
     "property.yaml:6: Resources.Pool.Properties.AutoVerifiedAttribute: not an input field of CreateUserPool "
     "(did you mean AutoVerifiedAttributes?)"),
    ("attribute.yaml", "Resources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n  Idp:\n"
                       "    Type: AWS::Cognito::IdentityPool\n    Properties:\n"
                       "      AllowUnauthenticatedIdentities: true\n      IdentityPoolName: !GetAtt Pool.Colour\n",
     "attribute.yaml:8: Resources.Idp.Properties.IdentityPoolName.Fn::GetAtt: AWS::Cognito::UserPool has no "
     "attribute Colour here (known: UserPoolId, Arn, ProviderName, ProviderURL)"),
    ("parameter.yaml", "Parameters:\n  Name:\n    Type: String\nResources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n"
                       "    Properties:\n      UserPoolName: !Ref Name\n",
     "parameter.yaml:2: Parameters.Name: a parameter without a Default cannot be resolved here"),
    ("circular.yaml", "Resources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n    Properties:\n"
                      "      UserPoolName: !GetAtt Pool.Arn\n",
     "circular.yaml:5: Resources.Pool.Properties.UserPoolName.Fn::GetAtt: Pool is referred to while it is being made "
     "(a circular reference)"),
    ("empty.yaml", "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n",
     "empty.yaml:2: Resources: expected a mapping of resources"),
    ("typeless.yaml", "Resources:\n  A:\n    Properties: {}\n",
     "typeless.yaml:2: Resources.A: expected a resource with a Type"),
    ("import.yaml", f"{POOL_RESOURCE}      UserPoolName: !ImportValue shared-name\n",
     "import.yaml:5: Resources.Pool.Properties.UserPoolName.Fn::ImportValue: Fn::ImportValue names another "
     "stack's outputs, which a single template cannot resolve"),
    ("select.yaml", f"{POOL_RESOURCE}      UserPoolName: !Select [5, [a, b]]\n",
     "select.yaml:5: Resources.Pool.Properties.UserPoolName.Fn::Select: expected [index, [values]] with the index "
     "in range"),
    ("map.yaml", f"{POOL_RESOURCE}      UserPoolName: !FindInMap [Names, dev, pool]\n",
     "map.yaml:5: Resources.Pool.Properties.UserPoolName.Fn::FindInMap: no such mapping entry ['Names', 'dev', "
     "'pool']"),
    ("condition.yaml", "Resources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n    Condition: Nope\n",
     "condition.yaml:4: Resources.Pool.Condition: 'Nope' is not a condition of the template"),
    ("user.yaml", f"{POOL_RESOURCE}      UserPoolName: p\n  U:\n    Type: AWS::Cognito::UserPoolUser\n"
                  "    Properties:\n      UserPoolId: !Ref Pool\n      Username: u\n      Password: x\n",
     "user.yaml:11: Resources.U.Properties.Password: not a property of AWS::Cognito::UserPoolUser"),
    ("mapping.yaml", "Resources:\n  Ids:\n    Type: AWS::Cognito::IdentityPool\n    Properties:\n"
                     "      AllowUnauthenticatedIdentities: true\n  Roles:\n"
                     "    Type: AWS::Cognito::IdentityPoolRoleAttachment\n    Properties:\n"
                     "      IdentityPoolId: !Ref Ids\n      RoleMappings:\n        web: {Type: Token}\n",
     "mapping.yaml:11: Resources.Roles.Properties.RoleMappings.web: expected a role mapping with IdentityProvider"),
    ("tag.yaml", "Resources:\n  Pool:\n    Type: AWS::Cognito::UserPool\n    Properties:\n"
                 "      UserPoolName: !Nope x\n",
     "tag.yaml:5: not valid YAML: unknown tag !Nope"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_TEMPLATES, ids=[b[0] for b in BAD_TEMPLATES])
def test_bad_templates(tmp_path, data_dir, name, text, message):
    assert refused("seed", write(tmp_path, name, text), "--data-dir", str(data_dir)) == \
        f"cognito-emulator seed: {tmp_path / name}{message[len(name):]}"
    assert exported(data_dir)["user_pools"] == []


# -- PostgreSQL ---------------------------------------------------------------------------------------------
def test_seed_export_import_on_postgresql(tmp_path):
    postgres = pytest.importorskip("postgres")
    if postgres.binaries() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    server = postgres.PostgresServer()
    try:
        source, target = server.new_database(), server.new_database()
        ok("seed", str(SEED), "--database-url", source)
        assert ok("seed", str(SEED), "--database-url", source).splitlines()[0] == "created: nothing"
        state_file = tmp_path / "state.json"
        ok("export", "--database-url", source, "-o", str(state_file))
        ok("import", str(state_file), "--database-url", target)
        again = json.loads(ok("export", "--database-url", target))
        state = json.loads(state_file.read_text())
        assert {k: v for k, v in again.items() if k != "exported_at"} == \
            {k: v for k, v in state.items() if k != "exported_at"}
        emulator = EmulatorProcess("--database-url", target, "--workers", "1")
        try:
            assert sign_in(emulator.url, POOL, WEB, "alice").id_token
        finally:
            stop_checked(emulator)
    finally:
        server.stop()


def test_the_kind_can_be_named(data_dir):
    assert refused("seed", str(AMPLIFY), "--from", "cloudformation", "--data-dir", str(data_dir)) == \
        f"cognito-emulator seed: {AMPLIFY}: Resources: expected a mapping of resources"
    assert ok("seed", str(AMPLIFY), "--from", "amplify", "--data-dir", str(data_dir)).startswith("created: 1 user pool")
