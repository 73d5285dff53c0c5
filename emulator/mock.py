"""In-process mode: boto3/botocore calls to Cognito are answered by the emulator without
a socket, through the same handlers and the same (in-memory) store.

    from emulator.mock import mock_cognito

    with mock_cognito() as emulator:
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        idp.create_user_pool(PoolName="p")

Only clients created for cognito-idp, cognito-identity, cognito-sync and sts are
intercepted; other services go out as usual.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from botocore.awsrequest import AWSResponse
from botocore.hooks import HierarchicalEmitter
from werkzeug.test import Client

from emulator.app import Emulator, create_app
from emulator.config import Config

# botocore event names use the hyphenated service id
SERVICES = ("cognito-identity-provider", "cognito-identity", "cognito-sync", "sts")
BASE_URL = "http://cognito-emulator.local"


class _RawBody:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_kwargs):
        yield self._data

    def read(self, *_args, **_kwargs) -> bytes:
        data, self._data = self._data, b""
        return data


class _Interceptor:
    def __init__(self, emulator: Emulator) -> None:
        self.client = Client(emulator)

    def __call__(self, request, **_kwargs) -> AWSResponse:
        parts = urlsplit(request.url)
        body = request.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        response = self.client.open(parts.path or "/", method=request.method, query_string=parts.query,
                                    headers=headers, data=body,
                                    base_url=BASE_URL)
        data = response.get_data()
        return AWSResponse(request.url, response.status_code, dict(response.headers.items()), _RawBody(data))


_lock = threading.Lock()


@contextlib.contextmanager
def mock_cognito(config: Config | None = None) -> Iterator[Emulator]:
    """Answer Cognito (and STS) calls of every boto3 client created inside the block."""
    emulator = create_app(config or Config(in_memory=True, public_url=BASE_URL))
    handler = _Interceptor(emulator)

    original = HierarchicalEmitter.emit
    original_until = HierarchicalEmitter.emit_until_response

    def emit(self, event_name, **kwargs):
        if event_name.startswith("before-send."):
            service = event_name.split(".")[1]
            if service in SERVICES:
                return [(handler, handler(**kwargs))]
        return original(self, event_name, **kwargs)

    def emit_until_response(self, event_name, **kwargs):
        if event_name.startswith("before-send."):
            service = event_name.split(".")[1]
            if service in SERVICES:
                return handler, handler(**kwargs)
        return original_until(self, event_name, **kwargs)

    with _lock:
        HierarchicalEmitter.emit = emit
        HierarchicalEmitter.emit_until_response = emit_until_response
    try:
        yield emulator
    finally:
        with _lock:
            HierarchicalEmitter.emit = original
            HierarchicalEmitter.emit_until_response = original_until
        emulator.store.close()
