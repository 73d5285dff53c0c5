"""Reading request bodies safely, for every protocol: size limits, framing errors, JSON depth,
and header-safe text for error messages."""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.exceptions import ClientDisconnected
from werkzeug.wrappers import Request

from protocol.errors import ServiceError, common

# A body nested deeper than this cannot match any shape of these services; refusing it early keeps
# the parser and every walk over the value far from Python's recursion limit.
MAX_JSON_DEPTH = 100
# The default body limit: a trigger's event (which carries ClientMetadata) cannot exceed Lambda's
# 6 MB synchronous payload, and no other member of these APIs comes near it.
MAX_BODY_BYTES = 6 * 1024 * 1024

_READ_SIZE = 64 * 1024


def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing one over `limit` bytes without reading the rest.

    Read in small pieces: one large read of a streamed body leaves body-sized blocks behind in
    the allocator, so memory would grow with every oversized request.
    """
    if request.content_length is not None and request.content_length > limit:
        raise too_large(request.content_length, limit)
    cached = getattr(request, "_cached_data", None)
    if cached is not None:
        return cached
    request.max_content_length = None  # the loop below enforces the limit
    pieces: list[bytes] = []
    size = 0
    try:
        stream = request.stream
        while piece := stream.read(_READ_SIZE):
            size += len(piece)
            if size > limit:
                raise too_large(None, limit)
            pieces.append(piece)
    except ClientDisconnected:
        raise body_error("The request body ended before its Content-Length.") from None
    except (OSError, ValueError):  # e.g. a malformed chunk header
        raise body_error("The request body is not valid HTTP chunked encoding.") from None
    body = b"".join(pieces)
    request._cached_data = body  # werkzeug's cache: get_data() answers it from here on
    return body


def body_error(message: str) -> ServiceError:
    """A body that could not be read as the request framed it."""
    return common.SerializationException(message, headers={"Connection": "close"})


def too_large(size: int | None, limit: int) -> ServiceError:
    """The answer to a body over `limit` bytes (`size` when the request said it)."""
    told = f"Request body of {size} bytes" if size is not None else "Request body"
    return common.RequestEntityTooLargeException(f"{told} exceeds the maximum of {limit} bytes.",
                                                 headers={"Connection": "close"})


def parse_json(raw: bytes, message: str) -> Any:
    """JSON from a request body; SerializationException(`message`) when it is not JSON or is
    nested deeper than MAX_JSON_DEPTH."""
    try:
        value = json.loads(raw, parse_constant=_not_json)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise common.SerializationException(message) from None
    if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _depth(value) > MAX_JSON_DEPTH:
        raise common.SerializationException(message)
    return value


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")  # NaN and Infinity: Python's parser would take them


def _depth(value: Any) -> int:
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        stack.extend((child, level + 1) for child in children)
    return deepest


_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_safe(text: str) -> str:
    """A value that may go into an HTTP header: Latin-1, no control characters (CR, LF, NUL
    would break the header), at most 1024 characters."""
    return _CONTROL.sub(" ", text[:1024].encode("latin-1", "replace").decode("latin-1"))
