"""Output serialization: plain handler values to the wire form the model describes."""

from __future__ import annotations

import base64
import datetime as dt
from email.utils import format_datetime
from typing import Any

from botocore.model import Shape


def parse_timestamp(value: str) -> float:
    """Epoch seconds from an ISO-8601 string or a numeric string."""
    try:
        return float(value)
    except ValueError:
        pass
    text = value.strip().replace("Z", "+00:00")
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp()


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    return float(value)


def format_timestamp(value: Any, fmt: str) -> Any:
    """A timestamp in the model's format: unixTimestamp (number), iso8601 or rfc822."""
    seconds = _epoch(value)
    if fmt == "iso8601":
        when = dt.datetime.fromtimestamp(seconds, dt.UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"
    if fmt == "rfc822":
        return format_datetime(dt.datetime.fromtimestamp(seconds, dt.UTC), usegmt=True)
    rounded = round(seconds, 3)
    return int(rounded) if rounded.is_integer() else rounded


def serialize_value(shape: Shape, value: Any, default_ts: str = "unixTimestamp") -> Any:
    """Walk `value` along `shape`: drop unknown and absent members, format leaves."""
    if value is None:
        return None
    if getattr(shape, "is_document_type", False):
        return value  # free-form JSON (e.g. WebAuthn options) goes out as it is
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            raise TypeError(f"{shape.name}: expected a dict, got {type(value).__name__}")
        out = {}
        for name, member in shape.members.items():
            if member.serialization.get("location") in ("header", "headers", "statusCode"):
                continue
            v = value.get(name)
            if v is None:
                continue
            out[member.serialization.get("name", name)] = serialize_value(member, v, default_ts)
        return out
    if t == "list":
        return [serialize_value(shape.member, v, default_ts) for v in value]
    if t == "map":
        return {k: serialize_value(shape.value, v, default_ts) for k, v in value.items()}
    if t == "timestamp":
        return format_timestamp(value, shape.serialization.get("timestampFormat", default_ts))
    if t == "blob":
        if isinstance(value, str):
            value = value.encode()
        return base64.b64encode(value).decode()
    if t == "boolean":
        return bool(value)
    if t in ("integer", "long"):
        return int(value)
    if t in ("double", "float"):
        return float(value)
    return value
