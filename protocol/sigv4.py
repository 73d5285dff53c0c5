"""What the SigV4 `Authorization` header says about the caller."""

from __future__ import annotations

import dataclasses
import re

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]*)/([^/]+)/aws4_request")


@dataclasses.dataclass(frozen=True)
class Caller:
    """The signer of a request; `signed` is False for unsigned requests."""

    signed: bool
    access_key: str | None = None
    region: str | None = None
    service: str | None = None
    security_token: str | None = None


def read_caller(headers, query: dict | None = None) -> Caller:
    """Parse the credential scope from the Authorization header or a presigned query."""
    auth = headers.get("Authorization", "")
    token = headers.get("X-Amz-Security-Token")
    match = _CREDENTIAL.search(auth) if auth.startswith("AWS4-HMAC-SHA256") else None
    if match is None and query and query.get("X-Amz-Credential"):
        match = _CREDENTIAL.search("Credential=" + query["X-Amz-Credential"])
        token = token or query.get("X-Amz-Security-Token")
    if match is None:
        return Caller(signed=False, security_token=token)
    key, _date, region, service = match.groups()
    return Caller(signed=True, access_key=key, region=region or None, service=service,
                  security_token=token)
