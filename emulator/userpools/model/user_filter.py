"""The ListUsers Filter grammar: `attribute operator "value"`, one condition.

Pure: `parse` turns the string into a Condition or raises ServiceError with AWS's
message. Operators: `=` (exact) and `^=` (prefix). The value is double-quoted; `\\"`
and `\\\\` escape a quote and a backslash.
"""

from __future__ import annotations

import dataclasses
import re

from emulator.userpools import errors

# Attribute names ListUsers can search (custom attributes cannot be searched).
SEARCHABLE = ("username", "email", "phone_number", "name", "given_name", "family_name",
              "preferred_username", "cognito:user_status", "status", "sub")

PARSE_ERROR = "Error while parsing filter."

_HEAD = re.compile(r'\s*([A-Za-z_:][\w:.\-]*)\s*(\^=|=)\s*"')


@dataclasses.dataclass(frozen=True)
class Condition:
    attribute: str
    operator: str  # "=" or "^="
    value: str

    @property
    def prefix(self) -> bool:
        return self.operator == "^="


def parse(text: str | None) -> Condition | None:
    """The condition of a Filter string; None for an empty filter (all users)."""
    if text is None or not text.strip():
        return None
    match = _HEAD.match(text)
    if not match:
        raise errors.InvalidParameterException(PARSE_ERROR)
    attribute, operator = match.group(1), match.group(2)
    value, end = _quoted(text, match.end())
    if text[end:].strip():
        raise errors.InvalidParameterException(PARSE_ERROR)
    if attribute not in SEARCHABLE:
        raise errors.InvalidParameterException(f"Invalid search attribute: {attribute}")
    return Condition(attribute, operator, value)


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The value after an opening quote at text[start-1]; returns (value, index after close)."""
    out: list[str] = []
    i = start
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                break
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise errors.InvalidParameterException(PARSE_ERROR)


def prefix_upper_bound(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: unbounded).

    Lets a prefix match run as an index range `col >= prefix AND col < bound`.
    """
    chars = list(prefix)
    while chars:
        last = ord(chars[-1])
        if last < 0x10FFFF:
            # Skip the surrogate block, which cannot appear in stored text.
            nxt = last + 1 if last + 1 != 0xD800 else 0xE000
            chars[-1] = chr(nxt)
            return "".join(chars)
        chars.pop()
    return None
