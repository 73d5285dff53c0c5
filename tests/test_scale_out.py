"""Several workers on one SQLite file, and several nodes on one PostgreSQL database, behave as one
emulator: races spread over workers and nodes have one winner, and killing a worker or a node
with kill -9 under write load loses no write it acknowledged.

The PostgreSQL tests start a real server (tests/postgres.py); `make test` installs Debian's
postgresql when it is missing.
"""

from __future__ import annotations

import concurrent.futures
import os
import signal
import tempfile
import threading
import time

import pytest
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import boto_client, make_client, make_pool, make_user, unique
from postgres import PostgresServer, binaries

RACERS = 64


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _wait_workers(process: EmulatorProcess, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        workers = _children(process.proc.pid)
        if len(workers) >= count:
            return workers
        time.sleep(0.05)
    raise AssertionError(f"{count} workers did not start")


def _outcomes(calls) -> dict[str, int]:
    """Run the calls at once; count the outcomes ("ok" or the error code)."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        try:
            call()
            return "ok"
        except ClientError as err:
            return err.response["Error"]["Code"]

    with concurrent.futures.ThreadPoolExecutor(len(calls)) as executor:
        results = list(executor.map(run, calls))
    return {outcome: results.count(outcome) for outcome in set(results)}


def _clients(urls: list[str], service: str = "cognito-idp") -> list:
    return [boto_client(service, url) for url in urls]


# -- the races, against any set of endpoints -------------------------------------------------------
def race_same_username_sign_ups(urls: list[str]) -> None:
    idps = _clients(urls)
    pool_id = make_pool(idps[0])
    client_id = make_client(idps[0], pool_id)["ClientId"]
    name = unique("same")
    calls = [lambda i=i: idps[i % len(idps)].sign_up(ClientId=client_id, Username=name, Password="Passw0rd!x")
             for i in range(RACERS)]
    assert _outcomes(calls) == {"ok": 1, "UsernameExistsException": RACERS - 1}
    users = idps[-1].list_users(UserPoolId=pool_id)["Users"]
    assert [u["Username"] for u in users] == [name]


def race_one_code(urls: list[str], outbox_url: str) -> None:
    import requests

    idps = _clients(urls)
    pool_id = make_pool(idps[0], AutoVerifiedAttributes=["email"])
    client_id = make_client(idps[0], pool_id)["ClientId"]
    username = make_user(idps[0], pool_id, attributes={"email": "racer@example.com", "email_verified": "true"})
    idps[0].forgot_password(ClientId=client_id, Username=username)
    messages = requests.get(outbox_url + "/_emulator/messages", params={"username": username}, timeout=10).json()
    code = messages["messages"][0]["code"]
    calls = [lambda i=i: idps[i % len(idps)].confirm_forgot_password(
        ClientId=client_id, Username=username, ConfirmationCode=code, Password=f"Passw0rd!{i}") for i in range(16)]
    outcomes = _outcomes(calls)
    assert outcomes.pop("ok") == 1, outcomes
    assert set(outcomes) <= {"CodeMismatchException", "ExpiredCodeException"}, outcomes


def race_one_sync_count(urls: list[str]) -> None:
    identities = _clients(urls, "cognito-identity")
    syncs = _clients(urls, "cognito-sync")
    pool_id = identities[0].create_identity_pool(IdentityPoolName=unique("ip"),
                                                 AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    identity_id = identities[0].get_id(IdentityPoolId=pool_id)["IdentityId"]
    tokens = [s.list_records(IdentityPoolId=pool_id, IdentityId=identity_id, DatasetName="d")["SyncSessionToken"]
              for s in syncs]
    calls = [lambda i=i: syncs[i % len(syncs)].update_records(
        IdentityPoolId=pool_id, IdentityId=identity_id, DatasetName="d", SyncSessionToken=tokens[i % len(syncs)],
        RecordPatches=[{"Op": "replace", "Key": "k", "Value": str(i), "SyncCount": 0}]) for i in range(16)]
    outcomes = _outcomes(calls)
    assert outcomes == {"ok": 1, "ResourceConflictException": 15}, outcomes
    records = syncs[-1].list_records(IdentityPoolId=pool_id, IdentityId=identity_id, DatasetName="d")["Records"]
    assert [r["SyncCount"] for r in records] == [1]


def writes_survive_kill(urls: list[str], victim: int, *, seconds: float = 2.0) -> tuple[str, list[str]]:
    """Create users through `urls` for a while, kill -9 `victim` meanwhile; the acknowledged users."""
    idps = _clients(urls)
    pool_id = make_pool(idps[0])
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def writer(n: int) -> None:
        idp = idps[n % len(idps)]
        i = 0
        while time.monotonic() < stop:
            name = f"w{n}-{i}"
            i += 1
            try:
                idp.admin_create_user(UserPoolId=pool_id, Username=name, MessageAction="SUPPRESS")
            except Exception:  # noqa: BLE001 (a connection to the killed process fails; not acknowledged)
                continue
            with lock:
                acknowledged.append(name)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    time.sleep(seconds / 3)
    os.kill(victim, signal.SIGKILL)
    for t in threads:
        t.join()
    return pool_id, acknowledged


def assert_all_present(url: str, pool_id: str, names: list[str]) -> None:
    idp = boto_client("cognito-idp", url)
    found: set[str] = set()
    for page in idp.get_paginator("list_users").paginate(UserPoolId=pool_id):
        found.update(u["Username"] for u in page["Users"])
    missing = set(names) - found
    assert names and not missing, f"{len(missing)} acknowledged users lost, e.g. {sorted(missing)[:5]}"


# -- several workers on one SQLite file ----------------------------------------------------------------
@pytest.fixture(scope="module")
def workers():
    data = tempfile.mkdtemp(prefix="cognito-emulator-workers-")
    process = EmulatorProcess("--workers", "3", "--data-dir", data)
    _wait_workers(process, 3)
    yield process
    process.stop()


def test_same_username_sign_ups_over_workers(workers):
    race_same_username_sign_ups([workers.url] * 4)


def test_one_code_over_workers(workers):
    race_one_code([workers.url], workers.url)


def test_one_sync_count_over_workers(workers):
    race_one_sync_count([workers.url] * 2)


def test_state_written_by_one_worker_is_read_by_all(workers):
    idp = boto_client("cognito-idp", workers.url)
    pool_id = make_pool(idp)
    for i in range(30):  # new connections land on every worker
        fresh = boto_client("cognito-idp", workers.url)
        fresh.update_user_pool(UserPoolId=pool_id, UserPoolAddOns={"AdvancedSecurityMode": "OFF"},
                               UserPoolTags={"n": str(i)})
        again = boto_client("cognito-idp", workers.url)
        assert again.describe_user_pool(UserPoolId=pool_id)["UserPool"]["UserPoolTags"] == {"n": str(i)}


def test_kill_a_worker_under_write_load():
    data = tempfile.mkdtemp(prefix="cognito-emulator-kill-")
    process = EmulatorProcess("--workers", "2", "--data-dir", data)
    try:
        victim = _wait_workers(process, 2)[0]
        pool_id, acknowledged = writes_survive_kill([process.url], victim)
        assert_all_present(process.url, pool_id, acknowledged)
    finally:
        process.stop()
    restarted = EmulatorProcess("--workers", "1", "--data-dir", data)
    try:
        assert_all_present(restarted.url, pool_id, acknowledged)
    finally:
        restarted.stop()


def test_kill_the_whole_node_under_write_load():
    data = tempfile.mkdtemp(prefix="cognito-emulator-kill-")
    process = EmulatorProcess("--workers", "2", "--data-dir", data)
    workers = _wait_workers(process, 2)
    try:
        pool_id, acknowledged = writes_survive_kill([process.url], process.proc.pid)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    finally:
        process.stop()
    restarted = EmulatorProcess("--workers", "1", "--data-dir", data)
    try:
        assert_all_present(restarted.url, pool_id, acknowledged)
    finally:
        restarted.stop()


# -- several nodes on one PostgreSQL database ------------------------------------------------------------
@pytest.fixture(scope="module")
def postgres():
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nodes(postgres):
    url = postgres.new_database()
    started = [EmulatorProcess("--workers", "2", "--database-url", url) for _ in range(2)]
    yield started
    for node in started:
        node.stop()


def test_same_username_sign_ups_over_nodes(nodes):
    race_same_username_sign_ups([n.url for n in nodes])


def test_one_code_over_nodes(nodes):
    race_one_code([n.url for n in nodes], nodes[0].url)


def test_one_sync_count_over_nodes(nodes):
    race_one_sync_count([n.url for n in nodes])


def test_nodes_share_the_clock_keys_and_outbox(nodes):
    import requests

    first, second = (boto_client("cognito-idp", n.url) for n in nodes)
    pool_id = make_pool(first)
    client = make_client(first, pool_id)
    make_user(first, pool_id, "shared")
    tokens = first.initiate_auth(ClientId=client["ClientId"], AuthFlow="USER_PASSWORD_AUTH",
                                 AuthParameters={"USERNAME": "shared", "PASSWORD": "Passw0rd!"})
    access = tokens["AuthenticationResult"]["AccessToken"]
    assert second.get_user(AccessToken=access)["Username"] == "shared"  # same signing keys
    requests.post(nodes[0].url + "/_emulator/clock", json={"advance_seconds": 7200}, timeout=10)
    try:
        with pytest.raises(ClientError) as exc:  # the other node's clock moved too
            second.get_user(AccessToken=access)
        assert exc.value.response["Error"]["Code"] == "NotAuthorizedException"
    finally:
        requests.post(nodes[0].url + "/_emulator/clock", json={"reset": True}, timeout=10)


def test_kill_a_node_under_write_load(postgres):
    url = postgres.new_database()
    first, second = (EmulatorProcess("--workers", "1", "--database-url", url) for _ in range(2))
    try:
        workers = _wait_workers(first, 1)
        pool_id, acknowledged = writes_survive_kill([first.url, second.url], first.proc.pid)
        for pid in workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        assert_all_present(second.url, pool_id, acknowledged)
    finally:
        first.stop()
        second.stop()
