"""A Kinesis PutRecord client (JSON 1.1, SigV4) for Cognito Streams.

Works with any Kinesis-compatible endpoint (LocalStack, kinesalite). Credentials come from
the AWS_* environment variables, else dummy ones, as for the Lambda Invoke API.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request

from emulator.lambdas import signed_headers


class KinesisError(Exception):
    """PutRecord failed: the endpoint could not be reached or answered an error."""


def put_record(endpoint: str, region: str, stream_name: str, data: bytes, partition_key: str,
               timeout: float = 5.0) -> dict:
    """PutRecord; returns the endpoint's answer ({"ShardId", "SequenceNumber"})."""
    url = endpoint.rstrip("/") + "/"
    body = json.dumps({"StreamName": stream_name, "Data": base64.b64encode(data).decode(),
                       "PartitionKey": partition_key}).encode()
    headers = signed_headers("POST", url, body, "kinesis", region, {
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.PutRecord"})
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = response.read()
    except urllib.error.HTTPError as err:
        raise KinesisError(f"PutRecord to {stream_name} failed: HTTP {err.code} "
                           f"{err.read().decode(errors='replace')[:300]}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        raise KinesisError(f"PutRecord to {stream_name} failed: {err}") from None
    try:
        parsed = json.loads(answer) if answer.strip() else {}
    except ValueError:
        parsed = {}
    return parsed if isinstance(parsed, dict) else {}
