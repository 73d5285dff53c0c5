"""Input validation against botocore shapes, with AWS's message forms.

AWS reports every violated constraint of a request as
`N validation error(s) detected: Value ... at 'path' failed to satisfy constraint: ...`,
joined with `; `. Patterns in the models are Java regular expressions matched in full;
the `regex` module supports their `\\p{L}`-style classes.
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
from typing import Any

import regex
from botocore.model import Shape

from protocol.errors import ServiceError, common
from protocol.serialize import parse_timestamp

# Java's \w, \d and \s are ASCII-only while \p{..} classes are Unicode; the ASCII
# flag would narrow both, so the shorthand classes are spelled out as nested sets (V1).
_JAVA_SHORTHANDS = {
    "w": "[0-9A-Za-z_]", "W": "[^0-9A-Za-z_]",
    "d": "[0-9]", "D": "[^0-9]",
    "s": "[ \\t\\n\\x0B\\f\\r]", "S": "[^ \\t\\n\\x0B\\f\\r]",
}


def _java_to_regex(pattern: str) -> str:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            out.append(_JAVA_SHORTHANDS.get(nxt, ch + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


@functools.cache
def _compiled(pattern: str) -> regex.Pattern:
    return regex.compile(_java_to_regex(pattern), regex.V1)


def pattern_matches(pattern: str, value: str) -> bool:
    """True when `value` matches the Java-style model pattern in full."""
    try:
        return _compiled(pattern).fullmatch(value) is not None
    except regex.error:
        return True


def _java_string_hash(text: str) -> int:
    """Java's String.hashCode over UTF-16 code units, as an unsigned 32-bit value."""
    data = text.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i:i + 2], "big")) & 0xFFFFFFFF
    return h


@functools.cache
def _enum_order(values: tuple[str, ...]) -> tuple[str, ...]:
    """The order AWS lists an enum's values in its messages: a Java HashSet's iteration order
    (bucket by spread hash, insertion order within a bucket), e.g. [OPTIONAL, OFF, ON] for the
    model's [OFF, ON, OPTIONAL] and [SUPPRESS, RESEND] for [RESEND, SUPPRESS]."""
    table = 16
    while len(values) > table * 3 // 4:
        table *= 2

    def bucket(value: str) -> int:
        h = _java_string_hash(value)
        return (h ^ (h >> 16)) & (table - 1)

    return tuple(sorted(values, key=bucket))  # sorted() is stable: insertion order within a bucket


def _enum_constraint(values: list[str]) -> str:
    return "Member must satisfy enum value set: [" + ", ".join(_enum_order(tuple(values))) + "]"


def storable(text: str) -> bool:
    """False for strings that are not valid Unicode text (lone UTF-16 surrogates from JSON
    escapes such as "\\udfff"), which nothing downstream can store or encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


UNSTORABLE = "Member must contain only valid Unicode characters"


def _unstorable(problems: set[str]) -> list[str]:
    return [UNSTORABLE] if UNSTORABLE in problems else []


def _lower_first(name: str) -> str:
    return name[:1].lower() + name[1:]


def _render(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


class _Collector:
    def __init__(self, skip_patterns: frozenset[str] = frozenset()) -> None:
        self.messages: list[str] = []
        self.skip_patterns = skip_patterns

    def add(self, path: str, value: Any, constraint: str, sensitive: bool) -> None:
        if value is None:
            shown = "Value null"
        elif sensitive:
            shown = "Value"
        else:
            shown = f"Value '{_render(value)}'"
        self.messages.append(f"{shown} at '{path}' failed to satisfy constraint: {constraint}")


def _scalar_constraints(shape: Shape, value: Any, skip_pattern: bool = False) -> list[str]:
    """Messages of the constraints a present value violates (length before pattern, as AWS
    orders them)."""
    out: list[str] = []
    meta = shape.metadata
    t = shape.type_name
    if t in ("string", "list", "map", "blob"):
        n = len(value)
        if "min" in meta and n < meta["min"]:
            out.append(f"Member must have length greater than or equal to {meta['min']}")
        if "max" in meta and n > meta["max"]:
            out.append(f"Member must have length less than or equal to {meta['max']}")
    if t == "string":
        pattern_failed = "pattern" in meta and not skip_pattern and not pattern_matches(meta["pattern"], value)
        if pattern_failed:
            out.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if "enum" in meta and value not in meta["enum"]:
            out.append(_enum_constraint(meta["enum"]))
        elif not pattern_failed and not storable(value):
            out.append(UNSTORABLE)
    if t in ("integer", "long", "double", "float"):
        if "min" in meta and value < meta["min"]:
            out.append(f"Member must have value greater than or equal to {_num(meta['min'])}")
        if "max" in meta and value > meta["max"]:
            out.append(f"Member must have value less than or equal to {_num(meta['max'])}")
    return out


def _all_constraints(shape: Shape) -> list[str]:
    """Every constraint of a member shape, as AWS lists them inside `[...]` for map keys,
    map values and list members once one of them fails."""
    out: list[str] = []
    meta = shape.metadata
    if shape.type_name in ("integer", "long", "double", "float"):
        if "max" in meta:
            out.append(f"Member must have value less than or equal to {_num(meta['max'])}")
        if "min" in meta:
            out.append(f"Member must have value greater than or equal to {_num(meta['min'])}")
        return out
    if "max" in meta:
        out.append(f"Member must have length less than or equal to {meta['max']}")
    if "min" in meta:
        out.append(f"Member must have length greater than or equal to {meta['min']}")
    if "pattern" in meta:
        out.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
    if "enum" in meta:
        out.append(_enum_constraint(meta["enum"]))
    return out


def _num(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _serialization_error(message: str) -> ServiceError:
    return common.SerializationException(message)


# How AWS's JSON services (Jackson underneath) name a value of the wrong JSON type, and the
# target type with its article, as captured from real answers: "NUMBER_VALUE can not be converted
# to a String", "STRING_VALUE can not be converted to an Integer", "Expected list or null".
_TARGETS = {"string": "a String", "integer": "an Integer", "long": "a Long", "double": "a Double",
            "float": "a Float", "boolean": "a Boolean", "timestamp": "a Date", "blob": "a ByteBuffer"}
JAVA_RANGE = {"integer": (-(2 ** 31), 2 ** 31 - 1), "long": (-(2 ** 63), 2 ** 63 - 1)}
JAVA_NAME = {"integer": "int", "long": "long"}


def _token(value: Any) -> str:
    if value is True:
        return "TRUE_VALUE"
    if value is False:
        return "FALSE_VALUE"
    if isinstance(value, (int, float)):
        return "NUMBER_VALUE"
    return "STRING_VALUE"


def _wrong_type(t: str, value: Any) -> ServiceError:
    if isinstance(value, list):
        return _serialization_error("Start of list found where not expected")
    if isinstance(value, dict):
        return _serialization_error("Start of structure or map found where not expected.")
    if t == "list":
        return _serialization_error("Expected list or null")
    if t in ("structure", "map"):
        return _serialization_error("Expected null")
    return _serialization_error(f"{_token(value)} can not be converted to {_TARGETS.get(t, t)}")


def _coerce(shape: Shape, value: Any) -> Any:
    """Check the JSON type of `value` and convert it to the handler's plain form."""
    t = shape.type_name
    if value is None:
        return None
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if t == "string":
        ok = isinstance(value, str)
    elif t in ("integer", "long"):
        ok = number
        if ok:
            if isinstance(value, float):
                if not math.isfinite(value):
                    raise _serialization_error(f"Numeric value ({value}) out of range of {JAVA_NAME[t]}")
                value = int(value)  # a decimal is truncated, as AWS does
            low, high = JAVA_RANGE[t]
            if not low <= value <= high:
                raise _serialization_error(f"Numeric value ({value}) out of range of {JAVA_NAME[t]}")
    elif t in ("double", "float"):
        ok = number
        if ok:
            value = float(value)
            if not math.isfinite(value):
                raise _serialization_error(f"Numeric value out of range of {t}")
    elif t == "boolean":
        ok = isinstance(value, bool)
    elif t == "timestamp":
        ok = number or isinstance(value, str)
        if ok and isinstance(value, str):
            try:
                value = parse_timestamp(value)
            except ValueError:
                raise _wrong_type(t, value) from None
        elif ok:
            value = float(value)
            if not math.isfinite(value):
                raise _wrong_type(t, value)
    elif t == "blob":
        ok = isinstance(value, str)
        if ok:
            try:
                value = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise _serialization_error("Failed to decode base64 value") from None
    elif t in ("structure", "map"):
        ok = isinstance(value, dict)
    elif t == "list":
        ok = isinstance(value, list)
    else:
        ok = True
    if not ok:
        raise _wrong_type(t, value)
    return value


def _walk(shape: Shape, value: Any, path: str, errs: _Collector) -> Any:
    if getattr(shape, "is_document_type", False):
        return value  # free-form JSON: no shape to check against
    value = _coerce(shape, value)
    sensitive = bool(shape.metadata.get("sensitive"))
    for constraint in _scalar_constraints(shape, value, path in errs.skip_patterns):
        errs.add(path, value, constraint, sensitive)
    t = shape.type_name
    if t == "structure":
        return _walk_structure(shape, value, path, errs)
    if t == "list":
        member = shape.member
        out = []
        if member.type_name not in ("structure", "list", "map"):
            # AWS reports scalar members on the list itself:
            # Value '[x]' at 'flows' failed to satisfy constraint: Member must satisfy constraint: [...]
            failed = saw_null = False
            problems_seen: set[str] = set()
            for item in value:
                if item is None:
                    failed = saw_null = True
                    out.append(None)
                    continue
                item = _coerce(member, item)
                problems = _scalar_constraints(member, item)
                failed = failed or bool(problems)
                problems_seen.update(problems)
                out.append(item)
            if failed:
                errs.add(path, value, "Member must satisfy constraint: ["
                         + ", ".join(_all_constraints(member) + (["Member must not be null"] if saw_null else [])
                                     + _unstorable(problems_seen))
                         + "]",
                         sensitive or bool(member.metadata.get("sensitive")))
            return out
        for i, item in enumerate(value, start=1):
            item_path = f"{path}.{i}.member"
            if item is None:
                errs.add(item_path, None, "Member must not be null", False)
                continue
            out.append(_walk(member, item, item_path, errs))
        return out
    if t == "map":
        out_map = {}
        key_problems: set[str] = set()
        value_problems: set[str] = set()
        for k, v in value.items():
            key_problems.update(_scalar_constraints(shape.key, k))
            if v is None:
                continue  # a null map value is absent, as in AWS's JSON protocol
            if shape.value.type_name in ("structure", "list", "map"):
                out_map[k] = _walk(shape.value, v, f"{path}.{k}", errs)
                continue
            v = _coerce(shape.value, v)
            value_problems.update(_scalar_constraints(shape.value, v))
            out_map[k] = v
        hidden = sensitive or bool(shape.value.metadata.get("sensitive"))
        if key_problems:
            errs.add(path, value, "Map keys must satisfy constraint: ["
                     + ", ".join(_all_constraints(shape.key) + _unstorable(key_problems)) + "]", hidden)
        if value_problems:
            errs.add(path, value, "Map value must satisfy constraint: ["
                     + ", ".join(_all_constraints(shape.value) + _unstorable(value_problems)) + "]", hidden)
        return out_map
    return value


def _walk_structure(shape: Shape, value: dict, path: str, errs: _Collector) -> dict:
    out: dict[str, Any] = {}
    required = set(shape.required_members)
    for name, member in shape.members.items():
        member_path = f"{path}.{_lower_first(name)}" if path else _lower_first(name)
        present = name in value and value[name] is not None
        if not present:
            if name in required:
                errs.add(member_path, None, "Member must not be null", False)
            continue
        out[name] = _walk(member, value[name], member_path, errs)
    return out


def validate_input(shape: Shape | None, params: dict, error_code: str,
                   skip_patterns: frozenset[str] = frozenset()) -> dict:
    """Validate `params` against `shape`; return the plain values for the handler.

    Raises ServiceError(error_code) listing every violation as AWS words it, or
    SerializationException when a value has the wrong JSON type. `skip_patterns` names
    member paths (e.g. 'domain') whose model pattern the real service does not enforce.
    """
    if shape is None:
        return {}
    if not isinstance(params, dict):
        raise _serialization_error("Start of structure or map found where not expected.")
    errs = _Collector(skip_patterns)
    out = _walk_structure(shape, params, "", errs)
    if errs.messages:
        n = len(errs.messages)
        head = f"{n} validation error{'s' if n > 1 else ''} detected: "
        raise ServiceError(error_code, head + "; ".join(errs.messages), 400)
    return out
