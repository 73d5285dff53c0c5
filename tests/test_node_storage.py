"""amazon-cognito-identity-js and Amplify v6 in Node, each with the storage it really uses there
(tests/node/storage_sessions.mjs), through a recording proxy so the wire can be asserted.

What a storage answers for a missing key decides what goes on the wire: identity-js's own Node
storage (MemoryStorage) answers `undefined`, so JSON.stringify drops `DEVICE_KEY`; a browser's
localStorage answers `null`, and the request then carries `"DEVICE_KEY": null`, which AWS takes
as absent. Amplify's in-memory storages answer `null`, but Amplify leaves out a device it lacks.
"""

from __future__ import annotations

import jwt
import pytest
from helpers import SRP_FLOWS, error_from, pool_client_user
from node_runner import PASSWORD, requires_node, run_script
from wire_recorder import RecordingProxy

pytestmark = requires_node

# (library, storage, what the storage answers for a missing key)
STORAGES = [
    ("identity-js", "default", "undefined"),             # its MemoryStorage (no window.localStorage in Node)
    ("identity-js", "local-storage-like", "null"),       # a Storage like the browser's (Web Storage semantics)
    ("amplify", "default", "null"),                       # defaultStorage: InMemoryStorage fallback in Node
    ("amplify", "shared-in-memory", "null"),              # sharedInMemoryStorage from aws-amplify/utils
]
IDS = [f"{lib}-{storage}" for lib, storage, _ in STORAGES]


@pytest.fixture
def wire(endpoint):
    proxy = RecordingProxy(endpoint)
    yield proxy
    proxy.close()


def _run(lib: str, storage: str, scenario: str, endpoint: str, wire: RecordingProxy, pool_id: str,
         client_id: str, username: str) -> dict:
    return run_script("storage_sessions.mjs", LIB=lib, STORAGE=storage, SCENARIO=scenario, ENDPOINT=wire.url,
                      EMULATOR=endpoint, POOL_ID=pool_id, CLIENT_ID=client_id, USERNAME=username, PASSWORD=PASSWORD)


def _ok(out: dict, step: str):
    value = out[step]
    assert not (isinstance(value, dict) and "error" in value), (step, value)
    return value


@pytest.mark.parametrize(("lib", "storage", "missing"), STORAGES, ids=IDS)
def test_session_lifecycle(lib, storage, missing, idp, endpoint, wire):
    """Sign in, restore from storage, refresh an hour later (automatically, then explicitly), global sign-out."""
    pool_id, client_id, username = pool_client_user(idp, SRP_FLOWS, PASSWORD)
    out = _run(lib, storage, "session", endpoint, wire, pool_id, client_id, username)
    assert out["missingKey"] == missing
    first = _ok(out, "signIn")
    assert out["deviceKeyStored"] is None and out["refreshToken"]
    restored = _ok(out, "restore")
    assert restored["username"] == username and restored["accessToken"] == first["accessToken"]
    if lib == "identity-js":
        assert out["expiredGetUser"] == {"error": {"name": "NotAuthorizedException",
                                                   "message": "Access Token has expired"}}
    auto = _ok(out, "autoRefresh")
    explicit = _ok(out, "refresh")
    assert len({first["accessToken"], auto["accessToken"], explicit["accessToken"]}) == 3

    # the two refreshes on the wire, each answered 200
    refreshes = [c for c in wire.calls() if c.target == "GetTokensFromRefreshToken"
                 or (c.target == "InitiateAuth" and c.json()["AuthFlow"] == "REFRESH_TOKEN_AUTH")]
    assert [c.status for c in refreshes] == [200, 200], [c.response for c in refreshes]
    for call in refreshes:
        body = call.json()
        if lib == "amplify":
            assert body == {"ClientId": client_id, "RefreshToken": out["refreshToken"]}
        elif missing == "null":  # the browser's case: the device key the storage does not have is null
            assert body["AuthParameters"] == {"REFRESH_TOKEN": out["refreshToken"], "DEVICE_KEY": None}
        else:  # undefined: JSON.stringify leaves the member out
            assert body["AuthParameters"] == {"REFRESH_TOKEN": out["refreshToken"]}
    assert jwt.decode(explicit["accessToken"], options={"verify_signature": False})["username"] == username

    assert _ok(out, "globalSignOut") is None
    assert [c.status for c in wire.calls("GlobalSignOut")] == [200]
    assert out["storedAfterSignOut"] is None
    if lib == "identity-js":
        assert out["afterGlobalSignOut"] == {"error": {"name": "NotAuthorizedException",
                                                       "message": "Access Token has been revoked"}}
    for token in (auto["accessToken"], explicit["accessToken"]):  # (the first one has expired)
        assert error_from(lambda t=token: idp.get_user(AccessToken=t)) == (
            "NotAuthorizedException", "Access Token has been revoked")
    assert error_from(lambda: idp.initiate_auth(ClientId=client_id, AuthFlow="REFRESH_TOKEN_AUTH", AuthParameters={
        "REFRESH_TOKEN": out["refreshToken"]})) == ("NotAuthorizedException", "Refresh Token has been revoked")


@pytest.mark.parametrize(("lib", "storage", "missing"), STORAGES, ids=IDS)
def test_remembered_device(lib, storage, missing, idp, endpoint, wire):
    """The device is confirmed and remembered; after a local sign-out the next sign-in proves it (device SRP)."""
    pool_id, client_id, username = pool_client_user(idp, SRP_FLOWS, PASSWORD, DeviceConfiguration={
        "ChallengeRequiredOnNewDevice": True, "DeviceOnlyRememberedOnUserPrompt": True})
    out = _run(lib, storage, "device", endpoint, wire, pool_id, client_id, username)
    first = _ok(out, "signIn")
    device_key = jwt.decode(first["accessToken"], options={"verify_signature": False})["device_key"]
    assert out["deviceKeyStored"] == device_key
    assert _ok(out, "rememberDevice") == [device_key]
    assert out["deviceKeyAfterSignOut"] == device_key  # a local sign-out keeps the device
    second = _ok(out, "secondSignIn")
    assert jwt.decode(second["accessToken"], options={"verify_signature": False})["device_key"] == device_key

    steps = [(c.target, c.json().get("AuthFlow") or c.json().get("ChallengeName"), c.status) for c in wire.calls()
             if c.target in ("InitiateAuth", "RespondToAuthChallenge")]
    assert steps[-4:] == [("InitiateAuth", "USER_SRP_AUTH", 200), ("RespondToAuthChallenge", "PASSWORD_VERIFIER", 200),
                          ("RespondToAuthChallenge", "DEVICE_SRP_AUTH", 200),
                          ("RespondToAuthChallenge", "DEVICE_PASSWORD_VERIFIER", 200)]
    assert [c.status for c in wire.calls("ConfirmDevice")] == [200]  # only after the first sign-in
    [device] = idp.admin_list_devices(UserPoolId=pool_id, Username=username)["Devices"]
    attrs = {a["Name"]: a["Value"] for a in device["DeviceAttributes"]}
    assert device["DeviceKey"] == device_key and attrs["dev:device_remembered_status"] == "remembered"
    # the device sign-in was recorded at the second sign-in's time (120 s after the first)
    assert (device["DeviceLastAuthenticatedDate"] - device["DeviceCreateDate"]).total_seconds() >= 119
