"""Cognito Streams: every sync as a stream record, put to a Kinesis-compatible endpoint; BulkPublish."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from botocore.exceptions import ClientError
from conftest import EmulatorProcess
from helpers import boto_client, make_identity_pool
from lambda_fixtures.servers import RecordingServer

STREAM_ROLE = "arn:aws:iam::000000000000:role/CognitoStreams"


def kinesis_api(method, path, headers, body):
    """Kinesis PutRecord: known streams answer a sequence number; `missing-stream` does not exist."""
    request = json.loads(body)
    if headers.get("X-Amz-Target") != "Kinesis_20131202.PutRecord":
        return 400, {}, {"__type": "UnknownOperationException"}
    if request["StreamName"] == "missing-stream":
        return 400, {}, {"__type": "ResourceNotFoundException",
                         "message": "Stream missing-stream under account 000000000000 not found."}
    return 200, {}, {"ShardId": "shardId-000000000000", "SequenceNumber": "49590338271490256608559692538361571095921575989136588898"}


@pytest.fixture(scope="module")
def kinesis():
    server = RecordingServer(kinesis_api)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def streaming_emulator(kinesis):
    process = EmulatorProcess("--in-memory", "--kinesis-endpoint", kinesis.url)
    yield process
    process.stop()


class Setup:
    def __init__(self, url: str, stream: str | None = "cognito-updates", status: str = "ENABLED") -> None:
        self.url = url
        self.identity = boto_client("cognito-identity", url)
        self.sync = boto_client("cognito-sync", url)
        self.pool = make_identity_pool(self.identity)
        if stream:
            self.sync.set_identity_pool_configuration(IdentityPoolId=self.pool, CognitoStreams={
                "StreamName": stream, "RoleArn": STREAM_ROLE, "StreamingStatus": status})

    def new_identity(self) -> str:
        return self.identity.get_id(IdentityPoolId=self.pool)["IdentityId"]

    def update(self, identity_id, dataset, patches):
        token = self.sync.list_records(IdentityPoolId=self.pool, IdentityId=identity_id,
                                       DatasetName=dataset)["SyncSessionToken"]
        return self.sync.update_records(IdentityPoolId=self.pool, IdentityId=identity_id, DatasetName=dataset,
                                        SyncSessionToken=token, RecordPatches=patches)

    def streamed(self) -> list[dict]:
        r = requests.get(self.url + "/_emulator/streams", params={"identity_pool_id": self.pool}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["records"]


def put_records_for(kinesis, pool) -> list[dict]:
    found = []
    for _, _, headers, body in kinesis.requests:
        request = json.loads(body)
        data = json.loads(base64.b64decode(request["Data"]))
        if data["identityPoolId"] == pool:
            found.append({"request": request, "headers": headers, "data": data})
    return found


def test_each_sync_is_streamed_to_kinesis(streaming_emulator, kinesis):
    s = Setup(streaming_emulator.url)
    me = s.new_identity()
    out = s.update(me, "scores", [{"Op": "replace", "Key": "level", "Value": "7", "SyncCount": 0,
                                   "DeviceLastModifiedDate": 1700000000.5}])
    written = out["Records"][0]
    sent = put_records_for(kinesis, s.pool)
    assert len(sent) == 1
    request, headers, data = sent[0]["request"], sent[0]["headers"], sent[0]["data"]
    assert request["StreamName"] == "cognito-updates" and request["PartitionKey"] == me
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=")
    assert "/us-east-1/kinesis/aws4_request" in headers["Authorization"]
    millis = int(round(written["LastModifiedDate"].timestamp() * 1000))
    assert data == {
        "identityPoolId": s.pool, "identityId": me, "dataSetName": "scores", "operation": "replace",
        "kinesisSyncRecords": [{"key": "level", "value": "7", "syncCount": 1, "lastModifiedDate": millis,
                                "deviceLastModifiedDate": 1700000000500, "op": "replace"}],
        "lastModifiedDate": millis, "kinesisSyncRecordsURL": None, "payloadType": "Inline", "syncCount": 1}
    stored = s.streamed()
    assert len(stored) == 1 and stored[0]["data"] == data
    assert stored[0]["delivery"] == "delivered" and stored[0]["streamName"] == "cognito-updates"

    s.update(me, "scores", [{"Op": "remove", "Key": "level", "SyncCount": 1}])
    removal = put_records_for(kinesis, s.pool)[-1]["data"]
    assert removal["syncCount"] == 2 and removal["operation"] == "replace"
    assert removal["kinesisSyncRecords"][0]["op"] == "remove" and removal["kinesisSyncRecords"][0]["value"] is None

    s.sync.delete_dataset(IdentityPoolId=s.pool, IdentityId=me, DatasetName="scores")
    deleted = put_records_for(kinesis, s.pool)[-1]["data"]
    assert deleted["operation"] == "remove" and deleted["kinesisSyncRecords"] == []
    assert deleted["dataSetName"] == "scores"


def test_disabled_stream_sends_nothing(streaming_emulator, kinesis):
    s = Setup(streaming_emulator.url, status="DISABLED")
    s.update(s.new_identity(), "d", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    assert put_records_for(kinesis, s.pool) == [] and s.streamed() == []


def test_large_sync_goes_by_url(streaming_emulator, kinesis):
    s = Setup(streaming_emulator.url)
    me = s.new_identity()
    big = "x" * (60 * 1024)
    s.update(me, "big", [{"Op": "replace", "Key": "blob", "Value": big, "SyncCount": 0}])
    data = put_records_for(kinesis, s.pool)[-1]["data"]
    assert data["payloadType"] == "S3Url" and data["kinesisSyncRecords"] is None
    assert data["kinesisSyncRecordsURL"].startswith(streaming_emulator.url + "/_emulator/streams/")
    records = requests.get(data["kinesisSyncRecordsURL"], timeout=10).json()
    assert records[0]["key"] == "blob" and records[0]["value"] == big
    assert requests.get(streaming_emulator.url + "/_emulator/streams/nope/records", timeout=10).status_code == 404


def test_kinesis_failure_is_recorded(streaming_emulator):
    s = Setup(streaming_emulator.url, stream="missing-stream")
    out = s.update(s.new_identity(), "d", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    assert out["Records"]  # the sync itself succeeded
    delivery = s.streamed()[0]["delivery"]
    assert delivery.startswith("failed: PutRecord to missing-stream failed: HTTP 400")


def test_without_kinesis_endpoint_records_are_kept(endpoint):
    s = Setup(endpoint)
    s.update(s.new_identity(), "d", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    stored = s.streamed()
    assert len(stored) == 1 and stored[0]["delivery"] == "stored"
    assert stored[0]["data"]["kinesisSyncRecords"][0]["key"] == "k"


def test_bulk_publish(streaming_emulator, kinesis):
    s = Setup(streaming_emulator.url)
    details = s.sync.get_bulk_publish_details(IdentityPoolId=s.pool)
    assert details["IdentityPoolId"] == s.pool and details["BulkPublishStatus"] == "NOT_STARTED"
    assert "BulkPublishStartTime" not in details
    first, second = s.new_identity(), s.new_identity()
    s.update(first, "a", [{"Op": "replace", "Key": "k1", "Value": "1", "SyncCount": 0},
                          {"Op": "replace", "Key": "k2", "Value": "2", "SyncCount": 0}])
    s.update(first, "a", [{"Op": "remove", "Key": "k2", "SyncCount": 1}])
    s.update(second, "b", [{"Op": "replace", "Key": "x", "Value": "y", "SyncCount": 0}])
    before = len(put_records_for(kinesis, s.pool))

    assert s.sync.bulk_publish(IdentityPoolId=s.pool)["IdentityPoolId"] == s.pool
    details = s.sync.get_bulk_publish_details(IdentityPoolId=s.pool)
    assert details["BulkPublishStatus"] == "SUCCEEDED"
    assert details["BulkPublishCompleteTime"] >= details["BulkPublishStartTime"]
    published = [p["data"] for p in put_records_for(kinesis, s.pool)[before:]]
    assert sorted((d["identityId"], d["dataSetName"], d["syncCount"]) for d in published) == sorted(
        [(first, "a", 2), (second, "b", 1)])
    of_a = next(d for d in published if d["dataSetName"] == "a")
    assert [(r["key"], r["value"]) for r in of_a["kinesisSyncRecords"]] == [("k1", "1")]

    with pytest.raises(ClientError) as e:
        s.sync.bulk_publish(IdentityPoolId=s.pool)
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "AlreadyStreamedException", f"Identity pool {s.pool} was already bulk published in the last 24 hours.")
    try:
        requests.post(streaming_emulator.url + "/_emulator/clock", json={"advance_seconds": 24 * 3600 + 1},
                      timeout=10)
        s.sync.bulk_publish(IdentityPoolId=s.pool)
        assert s.sync.get_bulk_publish_details(IdentityPoolId=s.pool)["BulkPublishStatus"] == "SUCCEEDED"
    finally:
        requests.post(streaming_emulator.url + "/_emulator/clock", json={"reset": True}, timeout=10)


def test_bulk_publish_errors(streaming_emulator):
    s = Setup(streaming_emulator.url, stream=None)
    with pytest.raises(ClientError) as e:
        s.sync.bulk_publish(IdentityPoolId=s.pool)
    err = e.value.response["Error"]
    assert (err["Code"], err["Message"]) == (
        "InvalidParameterException", f"Cognito Streams is not enabled for identity pool {s.pool}.")
    missing = "us-east-1:00000000-0000-0000-0000-000000000000"
    for call in (s.sync.bulk_publish, s.sync.get_bulk_publish_details):
        with pytest.raises(ClientError) as e:
            call(IdentityPoolId=missing)
        err = e.value.response["Error"]
        assert (err["Code"], err["Message"]) == ("ResourceNotFoundException", f"IdentityPool '{missing}' not found.")

    failing = Setup(streaming_emulator.url, stream="missing-stream")
    failing.update(failing.new_identity(), "d", [{"Op": "replace", "Key": "k", "Value": "v", "SyncCount": 0}])
    failing.sync.bulk_publish(IdentityPoolId=failing.pool)
    details = failing.sync.get_bulk_publish_details(IdentityPoolId=failing.pool)
    assert details["BulkPublishStatus"] == "FAILED"
    assert details["FailureMessage"].startswith("PutRecord to missing-stream failed: HTTP 400")
    # a failed publish may be retried at once
    failing.sync.bulk_publish(IdentityPoolId=failing.pool)
