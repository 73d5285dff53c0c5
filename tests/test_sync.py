"""Cognito Sync through boto3: datasets, records, sync counts, conflicts, limits, access, push."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError
from helpers import boto_client, client_as, error, make_identity_pool, unique

PUSH = {"ApplicationArns": ["arn:aws:sns:us-east-1:000000000000:app/GCM/MyApp"],
        "RoleArn": "arn:aws:iam::000000000000:role/CognitoPush"}


def assert_error(exc_info, code: str, message: str) -> None:
    assert error(exc_info) == (code, message)


@pytest.fixture
def pool(identity) -> str:
    return make_identity_pool(identity)


@pytest.fixture
def as_identity(identity, endpoint):
    """fn(pool_id) -> (identity id, cognito-sync client signed with that identity's credentials)."""
    def make(pool_id: str, identity_id: str | None = None):
        identity_id = identity_id or identity.get_id(IdentityPoolId=pool_id)["IdentityId"]
        creds = identity.get_credentials_for_identity(IdentityId=identity_id)["Credentials"]
        return identity_id, client_as("cognito-sync", endpoint, creds)
    return make


def new_identity(identity, pool_id: str) -> str:
    return identity.get_id(IdentityPoolId=pool_id)["IdentityId"]


def put(client, pool_id, identity_id, dataset, patches, token=None, **extra):
    if token is None:
        token = client.list_records(IdentityPoolId=pool_id, IdentityId=identity_id,
                                    DatasetName=dataset)["SyncSessionToken"]
    return client.update_records(IdentityPoolId=pool_id, IdentityId=identity_id, DatasetName=dataset,
                                 SyncSessionToken=token, RecordPatches=patches, **extra)


def replace(key, value, count=0, **extra):
    return {"Op": "replace", "Key": key, "Value": value, "SyncCount": count, **extra}


# -- datasets -----------------------------------------------------------------------------------
def test_dataset_lifecycle(sync, identity, pool):
    me = new_identity(identity, pool)
    assert sync.list_datasets(IdentityPoolId=pool, IdentityId=me)["Datasets"] == []
    listed = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="settings")
    assert listed["DatasetExists"] is False and listed["DatasetSyncCount"] == 0 and listed["Records"] == []
    assert listed["DatasetDeletedAfterRequestedSyncCount"] is False and listed["SyncSessionToken"]

    out = put(sync, pool, me, "settings", [replace("theme", "dark"), replace("lang", "fr")],
              token=listed["SyncSessionToken"])
    assert sorted((r["Key"], r["Value"], r["SyncCount"]) for r in out["Records"]) == [
        ("lang", "fr", 1), ("theme", "dark", 1)]
    dataset = sync.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="settings")["Dataset"]
    assert dataset["IdentityId"] == me and dataset["DatasetName"] == "settings"
    assert dataset["NumRecords"] == 2 and dataset["DataStorage"] == len("themedarklangfr")
    assert dataset["LastModifiedBy"] == "000000000000"  # developer credentials: the account
    assert "CreationDate" in dataset and "LastModifiedDate" in dataset
    names = [d["DatasetName"] for d in sync.list_datasets(IdentityPoolId=pool, IdentityId=me)["Datasets"]]
    assert names == ["settings"]

    deleted = sync.delete_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="settings")["Dataset"]
    assert deleted["NumRecords"] == 2
    with pytest.raises(ClientError) as e:
        sync.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="settings")
    assert_error(e, "ResourceNotFoundException", "Dataset 'settings' not found.")
    with pytest.raises(ClientError) as e:
        sync.delete_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="settings")
    assert_error(e, "ResourceNotFoundException", "Dataset 'settings' not found.")
    after = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="settings", LastSyncCount=1)
    assert after["DatasetExists"] is False and after["Records"] == []
    assert after["DatasetDeletedAfterRequestedSyncCount"] is True
    assert sync.list_datasets(IdentityPoolId=pool, IdentityId=me)["Datasets"] == []

    # re-created: counts go on, so devices that saw the old data never mistake it for new
    again = put(sync, pool, me, "settings", [replace("theme", "light")])
    assert again["Records"][0]["SyncCount"] == 2
    fresh = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="settings", LastSyncCount=2)
    assert fresh["DatasetDeletedAfterRequestedSyncCount"] is False and fresh["DatasetSyncCount"] == 2


def test_list_datasets_pagination(sync, identity, pool):
    me = new_identity(identity, pool)
    for name in ("a", "b", "c"):
        put(sync, pool, me, name, [replace("k", "v")])
    first = sync.list_datasets(IdentityPoolId=pool, IdentityId=me, MaxResults=2)
    assert [d["DatasetName"] for d in first["Datasets"]] == ["a", "b"] and first["Count"] == 2
    second = sync.list_datasets(IdentityPoolId=pool, IdentityId=me, MaxResults=2, NextToken=first["NextToken"])
    assert [d["DatasetName"] for d in second["Datasets"]] == ["c"] and "NextToken" not in second
    with pytest.raises(ClientError) as e:
        sync.list_datasets(IdentityPoolId=pool, IdentityId=me, NextToken="garbage!")
    assert_error(e, "InvalidParameterException", "Invalid NextToken")
    for call in (lambda: sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="a", NextToken="x!"),
                 lambda: sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="none", NextToken="x!"),
                 lambda: sync.list_identity_pool_usage(NextToken="garbage!")):
        with pytest.raises(ClientError) as e:
            call()
        assert_error(e, "InvalidParameterException", "Invalid NextToken")
    for call in (lambda: sync.list_datasets(IdentityPoolId=pool, IdentityId=me, MaxResults=0),
                 lambda: sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="a", MaxResults=0)):
        with pytest.raises(ClientError) as e:
            call()
        assert_error(e, "InvalidParameterException", "MaxResults must be greater than 0")


def test_dataset_name_pattern(sync, identity, pool):
    me = new_identity(identity, pool)
    with pytest.raises(ClientError) as e:
        sync.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="bad name!")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "datasetName" in e.value.response["Error"]["Message"]
    assert "[a-zA-Z0-9_.:-]+" in e.value.response["Error"]["Message"]


# -- records: sync counts, conflicts, tombstones ----------------------------------------------------
def test_two_devices_conflict(sync, identity, pool, as_identity):
    me, phone = as_identity(pool)
    _, tablet = as_identity(pool, me)  # a second device of the same identity

    phone_session = phone.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")
    tablet_session = tablet.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game")
    put(phone, pool, me, "game", [replace("level", "3", DeviceLastModifiedDate=1700000000)],
        token=phone_session["SyncSessionToken"])

    # the tablet still believes "level" is new (SyncCount 0): conflict, and nothing of it is written
    with pytest.raises(ClientError) as e:
        put(tablet, pool, me, "game", [replace("coins", "10"), replace("level", "5")],
            token=tablet_session["SyncSessionToken"])
    assert_error(e, "ResourceConflictException", "Current SyncCount for: level is: 1 not: 0")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    state = tablet.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game", LastSyncCount=0)
    assert [(r["Key"], r["Value"], r["SyncCount"]) for r in state["Records"]] == [("level", "3", 1)]
    assert state["DatasetSyncCount"] == 1 and state["LastModifiedBy"] == me
    assert state["Records"][0]["DeviceLastModifiedDate"].timestamp() == 1700000000

    # after pulling, the tablet writes against the count it now knows
    out = put(tablet, pool, me, "game", [replace("coins", "10"), replace("level", "5", 1)],
              token=state["SyncSessionToken"])
    assert {r["Key"]: r["SyncCount"] for r in out["Records"]} == {"coins": 2, "level": 2}
    assert all(r["LastModifiedBy"] == me for r in out["Records"])
    changes = phone.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game", LastSyncCount=1)
    assert sorted((r["Key"], r["Value"]) for r in changes["Records"]) == [("coins", "10"), ("level", "5")]
    assert changes["DatasetSyncCount"] == 2
    nothing_new = phone.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="game", LastSyncCount=2)
    assert nothing_new["Records"] == [] and nothing_new["Count"] == 0


def test_remove_leaves_tombstone(sync, identity, pool):
    me = new_identity(identity, pool)
    put(sync, pool, me, "prefs", [replace("a", "1"), replace("b", "22")])
    out = put(sync, pool, me, "prefs", [{"Op": "remove", "Key": "a", "SyncCount": 1}])
    assert out["Records"][0]["Key"] == "a" and "Value" not in out["Records"][0]
    assert out["Records"][0]["SyncCount"] == 2
    changes = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs", LastSyncCount=1)
    assert [(r["Key"], r.get("Value"), r["SyncCount"]) for r in changes["Records"]] == [("a", None, 2)]
    everything = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs")
    assert sorted((r["Key"], r.get("Value")) for r in everything["Records"]) == [("a", None), ("b", "22")]
    dataset = sync.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="prefs")["Dataset"]
    assert dataset["NumRecords"] == 1 and dataset["DataStorage"] == 3
    # the tombstone's count must be presented to write the key again
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "prefs", [replace("a", "back")])
    assert_error(e, "ResourceConflictException", "Current SyncCount for: a is: 2 not: 0")
    assert put(sync, pool, me, "prefs", [replace("a", "back", 2)])["Records"][0]["SyncCount"] == 3


def test_list_records_pagination_and_counts(sync, identity, pool):
    me = new_identity(identity, pool)
    put(sync, pool, me, "big", [replace(f"k{i}", str(i)) for i in range(5)])
    first = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="big", MaxResults=3)
    assert first["Count"] == 3 and first["NextToken"]
    rest = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="big", MaxResults=3,
                             NextToken=first["NextToken"], SyncSessionToken=first["SyncSessionToken"])
    assert rest["Count"] == 2 and "NextToken" not in rest
    assert rest["SyncSessionToken"] == first["SyncSessionToken"]
    assert sorted(r["Key"] for r in first["Records"] + rest["Records"]) == [f"k{i}" for i in range(5)]
    with pytest.raises(ClientError) as e:
        sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="big", LastSyncCount=5)
    assert_error(e, "InvalidParameterException", "No such SyncCount: 5 exists for this Dataset")


def test_sync_session_token(sync, identity, pool, clock):
    me = new_identity(identity, pool)
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "d", [replace("k", "v")], token="not-a-token")
    assert_error(e, "InvalidParameterException", "SyncSessionToken not valid for these inputs")
    other = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="other")["SyncSessionToken"]
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "d", [replace("k", "v")], token=other)
    assert_error(e, "InvalidParameterException", "SyncSessionToken not valid for these inputs")
    token = sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="d")["SyncSessionToken"]
    assert put(sync, pool, me, "d", [replace("k", "v")], token=token)["Records"]
    clock.advance(3601)
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "d", [replace("k", "w", 1)], token=token)
    assert_error(e, "InvalidParameterException", "SyncSessionToken not valid for these inputs")
    with pytest.raises(ClientError) as e:
        sync.list_records(IdentityPoolId=pool, IdentityId=me, DatasetName="d", SyncSessionToken="nope")
    assert_error(e, "InvalidParameterException", "SyncSessionToken not valid for these inputs")


def test_patch_errors(sync, identity, pool):
    me = new_identity(identity, pool)
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "d", [replace("k", "1"), replace("k", "2")])
    assert_error(e, "InvalidParameterException", "Duplicate key in RecordPatches: k")
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "d", [{"Op": "replace", "Key": "k", "SyncCount": 0}])
    assert_error(e, "InvalidParameterException", "Value is required to replace the record: k")
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "d", [replace("k", "v", count=-1)])
    assert_error(e, "InvalidParameterException", "Invalid SyncCount for: k")
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "d", [{"Op": "rename", "Key": "k", "SyncCount": 0}])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "Member must satisfy enum value set: [replace, remove]" in e.value.response["Error"]["Message"]


# -- limits -------------------------------------------------------------------------------------
def test_record_count_limit(sync, identity, pool):
    me = new_identity(identity, pool)
    put(sync, pool, me, "many", [replace(f"k{i}", "v") for i in range(1024)])
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "many", [replace("one-more", "v")])
    assert_error(e, "LimitExceededException", "Dataset many cannot have more than 1024 records.")
    # removing one makes room
    put(sync, pool, me, "many", [{"Op": "remove", "Key": "k0", "SyncCount": 1}])
    assert put(sync, pool, me, "many", [replace("one-more", "v")])["Records"]


def test_dataset_size_limit(sync, identity, pool):
    me = new_identity(identity, pool)
    half = "x" * (600 * 1024)
    put(sync, pool, me, "fat", [replace("a", half)])
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "fat", [replace("b", half)])
    assert_error(e, "LimitExceededException", "Dataset fat cannot be larger than 1 MB.")
    dataset = sync.describe_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="fat")["Dataset"]
    assert dataset["NumRecords"] == 1 and dataset["DataStorage"] == 1 + len(half)


def test_dataset_count_limit(sync, identity, pool):
    me = new_identity(identity, pool)
    for i in range(20):
        put(sync, pool, me, f"ds{i}", [replace("k", "v")])
    with pytest.raises(ClientError) as e:
        put(sync, pool, me, "ds20", [replace("k", "v")])
    assert_error(e, "LimitExceededException", "Cannot create more than 20 datasets per identity.")
    usage = sync.describe_identity_usage(IdentityPoolId=pool, IdentityId=me)["IdentityUsage"]
    assert usage["DatasetCount"] == 20 and usage["DataStorage"] == 20 * 2


# -- who may touch what -----------------------------------------------------------------------------
def test_identity_credentials_touch_only_their_own_identity(sync, identity, pool, as_identity):
    alice, alice_sync = as_identity(pool)
    bob, bob_sync = as_identity(pool)
    put(bob_sync, pool, bob, "secret", [replace("pin", "1234")])
    forbidden = f"Access to Identity '{bob}' is forbidden."
    calls = [
        lambda: alice_sync.list_records(IdentityPoolId=pool, IdentityId=bob, DatasetName="secret"),
        lambda: alice_sync.list_datasets(IdentityPoolId=pool, IdentityId=bob),
        lambda: alice_sync.describe_dataset(IdentityPoolId=pool, IdentityId=bob, DatasetName="secret"),
        lambda: alice_sync.delete_dataset(IdentityPoolId=pool, IdentityId=bob, DatasetName="secret"),
        lambda: alice_sync.describe_identity_usage(IdentityPoolId=pool, IdentityId=bob),
        lambda: alice_sync.update_records(IdentityPoolId=pool, IdentityId=bob, DatasetName="secret",
                                          SyncSessionToken="x", RecordPatches=[replace("pin", "0", 1)]),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert_error(e, "NotAuthorizedException", forbidden)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # her own data is fine, and the developer sees everyone's
    assert alice_sync.list_datasets(IdentityPoolId=pool, IdentityId=alice)["Datasets"] == []
    records = sync.list_records(IdentityPoolId=pool, IdentityId=bob, DatasetName="secret")["Records"]
    assert [(r["Key"], r["Value"], r["LastModifiedBy"]) for r in records] == [("pin", "1234", bob)]


def test_identity_credentials_of_another_pool(identity, pool, as_identity):
    other_pool = identity.create_identity_pool(IdentityPoolName=unique("other"),
                                               AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    _, client = as_identity(pool)
    stranger = new_identity(identity, other_pool)
    with pytest.raises(ClientError) as e:
        client.list_datasets(IdentityPoolId=other_pool, IdentityId=stranger)
    assert_error(e, "NotAuthorizedException", f"Access to Identity '{stranger}' is forbidden.")


def test_expired_and_forged_identity_credentials(identity, endpoint, pool, as_identity, clock):
    me, client = as_identity(pool)
    assert client.list_datasets(IdentityPoolId=pool, IdentityId=me)["Count"] == 0
    creds = identity.get_credentials_for_identity(IdentityId=me)["Credentials"]
    forged = boto_client("cognito-sync", endpoint, access_key=creds["AccessKeyId"], secret_key="x",
                         session_token="not-the-token")
    with pytest.raises(ClientError) as e:
        forged.list_datasets(IdentityPoolId=pool, IdentityId=me)
    assert_error(e, "UnrecognizedClientException", "The security token included in the request is invalid.")
    clock.advance(3601)
    with pytest.raises(ClientError) as e:
        client.list_datasets(IdentityPoolId=pool, IdentityId=me)
    assert_error(e, "ExpiredTokenException", "The security token included in the request is expired")


def test_developer_only_operations(pool, as_identity):
    _, client = as_identity(pool)
    message = "This API can only be called with developer credentials."
    calls = [
        lambda: client.describe_identity_pool_usage(IdentityPoolId=pool),
        lambda: client.list_identity_pool_usage(),
        lambda: client.get_identity_pool_configuration(IdentityPoolId=pool),
        lambda: client.set_identity_pool_configuration(IdentityPoolId=pool, PushSync=PUSH),
        lambda: client.get_cognito_events(IdentityPoolId=pool),
        lambda: client.set_cognito_events(IdentityPoolId=pool, Events={}),
        lambda: client.bulk_publish(IdentityPoolId=pool),
        lambda: client.get_bulk_publish_details(IdentityPoolId=pool),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert_error(e, "NotAuthorizedException", message)


def test_unknown_pool_and_identity(sync, identity, pool):
    missing_pool = "us-east-1:00000000-0000-0000-0000-000000000000"
    missing_identity = "us-east-1:11111111-1111-1111-1111-111111111111"
    with pytest.raises(ClientError) as e:
        sync.list_datasets(IdentityPoolId=missing_pool, IdentityId=missing_identity)
    assert_error(e, "ResourceNotFoundException", f"IdentityPool '{missing_pool}' not found.")
    with pytest.raises(ClientError) as e:
        sync.describe_identity_pool_usage(IdentityPoolId=missing_pool)
    assert_error(e, "ResourceNotFoundException", f"IdentityPool '{missing_pool}' not found.")
    with pytest.raises(ClientError) as e:
        sync.list_records(IdentityPoolId=pool, IdentityId=missing_identity, DatasetName="d")
    assert_error(e, "ResourceNotFoundException", f"Identity '{missing_identity}' not found.")
    # an identity of another pool is not an identity of this one
    other_pool = identity.create_identity_pool(IdentityPoolName=unique("other"),
                                               AllowUnauthenticatedIdentities=True)["IdentityPoolId"]
    stranger = new_identity(identity, other_pool)
    with pytest.raises(ClientError) as e:
        sync.describe_identity_usage(IdentityPoolId=pool, IdentityId=stranger)
    assert_error(e, "ResourceNotFoundException", f"Identity '{stranger}' not found.")


def test_unsigned_request_is_refused(http, pool):
    r = http.get(f"/identitypools/{pool}")
    assert r.status_code == 403 and r.json()["__type"] == "MissingAuthenticationTokenException"


# -- usage --------------------------------------------------------------------------------------
def test_usage(sync, identity, pool, as_identity):
    me, client = as_identity(pool)
    empty = sync.describe_identity_usage(IdentityPoolId=pool, IdentityId=me)["IdentityUsage"]
    assert empty == {"IdentityId": me, "IdentityPoolId": pool, "DatasetCount": 0, "DataStorage": 0}
    put(client, pool, me, "a", [replace("key", "value")])
    put(client, pool, me, "b", [replace("k", "v")])
    usage = client.describe_identity_usage(IdentityPoolId=pool, IdentityId=me)["IdentityUsage"]
    assert usage["DatasetCount"] == 2 and usage["DataStorage"] == len("keyvalue") + 2
    assert "LastModifiedDate" in usage
    pool_usage = sync.describe_identity_pool_usage(IdentityPoolId=pool)["IdentityPoolUsage"]
    assert pool_usage["IdentityPoolId"] == pool and pool_usage["DataStorage"] == 10
    assert pool_usage["SyncSessionsCount"] == 2 and "LastModifiedDate" in pool_usage
    pools = []
    kwargs = {"MaxResults": 60}
    while True:
        page = sync.list_identity_pool_usage(**kwargs)
        assert page["MaxResults"] == 60 and page["Count"] == len(page["IdentityPoolUsages"])
        pools += page["IdentityPoolUsages"]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert pool_usage in pools


# -- configuration and events -------------------------------------------------------------------------
def test_identity_pool_configuration(sync, pool):
    assert sync.get_identity_pool_configuration(IdentityPoolId=pool).get("PushSync") is None
    streams = {"StreamName": "cognito-updates", "RoleArn": "arn:aws:iam::000000000000:role/CognitoStreams",
               "StreamingStatus": "ENABLED"}
    out = sync.set_identity_pool_configuration(IdentityPoolId=pool, PushSync=PUSH, CognitoStreams=streams)
    assert out["IdentityPoolId"] == pool and out["PushSync"] == PUSH and out["CognitoStreams"] == streams
    # a partial update keeps what it does not name
    out = sync.set_identity_pool_configuration(IdentityPoolId=pool, CognitoStreams={**streams,
                                                                                   "StreamingStatus": "DISABLED"})
    assert out["PushSync"] == PUSH and out["CognitoStreams"]["StreamingStatus"] == "DISABLED"
    got = sync.get_identity_pool_configuration(IdentityPoolId=pool)
    assert got["PushSync"] == PUSH and got["CognitoStreams"]["StreamingStatus"] == "DISABLED"
    with pytest.raises(ClientError) as e:
        sync.set_identity_pool_configuration(IdentityPoolId=pool, CognitoStreams={"StreamingStatus": "ENABLED"})
    assert_error(e, "InvalidParameterException", "StreamName and RoleArn are required to enable Cognito Streams.")
    with pytest.raises(ClientError) as e:
        sync.set_identity_pool_configuration(IdentityPoolId=pool, PushSync={**PUSH, "RoleArn": "arn:aws:iam::000000000000:user/someone"})
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        sync.set_identity_pool_configuration(IdentityPoolId=pool, PushSync={"ApplicationArns": PUSH["ApplicationArns"]})
    assert_error(e, "InvalidParameterException", "RoleArn is required when ApplicationArns is set.")


def test_cognito_events(sync, pool):
    assert sync.get_cognito_events(IdentityPoolId=pool)["Events"] == {}
    arn = "arn:aws:lambda:us-east-1:000000000000:function:onSync"
    sync.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": arn})
    assert sync.get_cognito_events(IdentityPoolId=pool)["Events"] == {"SyncTrigger": arn}
    with pytest.raises(ClientError) as e:
        sync.set_cognito_events(IdentityPoolId=pool, Events={"OnSomething": arn})
    assert_error(e, "InvalidParameterException", "Invalid event type: OnSomething")
    with pytest.raises(ClientError) as e:
        sync.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": "my-function"})
    assert_error(e, "InvalidParameterException", "Invalid Lambda function ARN: my-function")
    sync.set_cognito_events(IdentityPoolId=pool, Events={"SyncTrigger": ""})
    assert sync.get_cognito_events(IdentityPoolId=pool)["Events"] == {}


# -- push sync --------------------------------------------------------------------------------------
def test_push_sync_notifies_other_subscribed_devices(sync, pool, as_identity, outbox):
    me, client = as_identity(pool)
    with pytest.raises(ClientError) as e:
        client.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM", Token="tok")
    assert_error(e, "InvalidConfigurationException", f"Push sync is not configured for identity pool {pool}.")
    sync.set_identity_pool_configuration(IdentityPoolId=pool, PushSync=PUSH)

    phone_token, tablet_token = unique("phone"), unique("tablet")
    phone = client.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM", Token=phone_token)["DeviceId"]
    tablet = client.register_device(IdentityPoolId=pool, IdentityId=me, Platform="APNS",
                                    Token=tablet_token)["DeviceId"]
    assert phone != tablet
    again = client.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM", Token=phone_token)
    assert again["DeviceId"] == phone
    for device in (phone, tablet):
        client.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="notes", DeviceId=device)

    put(client, pool, me, "notes", [replace("todo", "milk")], DeviceId=phone)
    assert outbox.list(channel="PUSH", destination=phone_token) == []
    message = outbox.last(channel="PUSH", destination=tablet_token)
    assert message["kind"] == "PushSync" and message["subject"] == "APNS"
    payload = {"source": "cognito-sync", "identityPoolId": pool, "identityId": me, "datasetName": "notes",
               "syncCount": "1"}
    assert json.loads(message["body"]) == payload
    assert message["data"] == {"platform": "APNS", "deviceId": tablet, "payload": payload}

    client.unsubscribe_from_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="notes", DeviceId=tablet)
    put(client, pool, me, "notes", [replace("todo", "eggs", 1)], DeviceId=phone)
    assert len(outbox.list(channel="PUSH", destination=tablet_token)) == 1
    put(client, pool, me, "notes", [replace("todo", "bread", 2)], DeviceId=tablet)
    assert json.loads(outbox.last(channel="PUSH", destination=phone_token)["body"])["syncCount"] == "3"


def test_push_sync_errors(sync, identity, pool, as_identity):
    sync.set_identity_pool_configuration(IdentityPoolId=pool, PushSync=PUSH)
    me, client = as_identity(pool)
    with pytest.raises(ClientError) as e:
        sync.register_device(IdentityPoolId=pool, IdentityId=me, Platform="GCM", Token="t")
    assert_error(e, "NotAuthorizedException", "These credentials are not valid for accessing this resource")
    with pytest.raises(ClientError) as e:
        client.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="d", DeviceId="no-such-device")
    assert_error(e, "ResourceNotFoundException", "Device 'no-such-device' not found.")
    with pytest.raises(ClientError) as e:
        client.unsubscribe_from_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="d", DeviceId="nope")
    assert_error(e, "ResourceNotFoundException", "Device 'nope' not found.")
    # another identity's device is not found for this one
    other, other_client = as_identity(pool)
    device = other_client.register_device(IdentityPoolId=pool, IdentityId=other, Platform="ADM",
                                          Token="t")["DeviceId"]
    with pytest.raises(ClientError) as e:
        client.subscribe_to_dataset(IdentityPoolId=pool, IdentityId=me, DatasetName="d", DeviceId=device)
    assert_error(e, "ResourceNotFoundException", f"Device '{device}' not found.")
    with pytest.raises(ClientError) as e:
        client.register_device(IdentityPoolId=pool, IdentityId=other, Platform="GCM", Token="t")
    assert_error(e, "NotAuthorizedException", f"Access to Identity '{other}' is forbidden.")


# -- merged identities ------------------------------------------------------------------------------
def test_merged_identity_datasets(sync, identity):
    provider = unique("login.example.") + ".com"
    pool_id = identity.create_identity_pool(IdentityPoolName=unique("merge"), AllowUnauthenticatedIdentities=False,
                                            DeveloperProviderName=provider)["IdentityPoolId"]
    first = identity.get_open_id_token_for_developer_identity(IdentityPoolId=pool_id,
                                                              Logins={provider: "user-1"})["IdentityId"]
    second = identity.get_open_id_token_for_developer_identity(IdentityPoolId=pool_id,
                                                               Logins={provider: "user-2"})["IdentityId"]
    put(sync, pool_id, first, "profile", [replace("name", "Ann")])
    put(sync, pool_id, second, "profile", [replace("name", "Anne")])
    survivor = identity.merge_developer_identities(SourceUserIdentifier="user-2", DestinationUserIdentifier="user-1",
                                                   DeveloperProviderName=provider,
                                                   IdentityPoolId=pool_id)["IdentityId"]
    assert survivor == first
    listed = sync.list_records(IdentityPoolId=pool_id, IdentityId=first, DatasetName="profile")
    assert listed["MergedDatasetNames"] == [f"profile.{second}"]
    merged = sync.list_records(IdentityPoolId=pool_id, IdentityId=first, DatasetName=f"profile.{second}")
    assert [(r["Key"], r["Value"]) for r in merged["Records"]] == [("name", "Anne")]
    sync.delete_dataset(IdentityPoolId=pool_id, IdentityId=first, DatasetName=f"profile.{second}")
    listed = sync.list_records(IdentityPoolId=pool_id, IdentityId=first, DatasetName="profile")
    assert "MergedDatasetNames" not in listed
