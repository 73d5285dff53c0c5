"""Keyset paging shared by the List* operations of every service.

The opaque token holds the sort key of the last item returned, so each page is one range scan
of an index however deep the listing goes, and items added or removed meanwhile neither repeat
nor shift the pages after them. A token may also be tied to a scope (what was listed, such as
ListUsers' pool and filter): one issued for another scope is refused like any foreign token.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Sequence

from protocol import ServiceError

INVALID_TOKEN = "Invalid pagination token."


def encode_token(position: Sequence, scope: str | None = None) -> str:
    """An opaque token for a keyset position (the sort key of the last item returned), valid only
    for `scope` when one is given."""
    value = list(position) if scope is None else [scope, *position]
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_token(token: str | None, size: int = 1, message: str = INVALID_TOKEN, scope: str | None = None,
                 kinds: Sequence[type | tuple[type, ...]] | None = None) -> list | None:
    """The position in a token (None for no token): `size` keys, each a str or number (or of its
    type in `kinds`), issued for `scope`. InvalidParameterException with `message` when it is not."""
    if not token:
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, UnicodeDecodeError):
        value = None
    if scope is not None:
        if not isinstance(value, list) or not value or value[0] != scope:
            raise ServiceError("InvalidParameterException", message)
        value = value[1:]
    kinds = kinds or [(str, int, float)] * size
    if (not isinstance(value, list) or len(value) != size
            or not all(isinstance(v, kind) for v, kind in zip(value, kinds, strict=True))):
        raise ServiceError("InvalidParameterException", message)
    return value


def _after(keys: Sequence[str], op: str) -> str:
    """`k1 > ?`, `(k1 > ? OR (k1 = ? AND k2 > ?))`, ...: the rows past a position, in key order."""
    if len(keys) == 1:
        return f"{keys[0]} {op} ?"
    return f"({keys[0]} {op} ? OR ({keys[0]} = ? AND {_after(keys[1:], op)}))"


def _after_args(position: Sequence) -> list:
    if len(position) == 1:
        return [position[0]]
    return [position[0], position[0], *_after_args(position[1:])]


def page(db: sqlite3.Connection, sql: str, args: Sequence, keys: Sequence[str], limit: int,
         token: str | None, *, descending: bool = False,
         message: str = INVALID_TOKEN) -> tuple[list[sqlite3.Row], str | None]:
    """One page of `sql` (a `SELECT ... WHERE ...` whose columns include `keys`) in `keys` order,
    starting after the position in `token`: up to `limit` rows, and the token of the next page
    (None after the last). A key may be qualified ("g.name"); its column is the name after the dot."""
    return page_after(db, sql, args, keys, limit, decode_token(token, len(keys), message), descending=descending)


def page_after(db: sqlite3.Connection, sql: str, args: Sequence, keys: Sequence[str], limit: int,
               position: Sequence | None, *, descending: bool = False,
               scope: str | None = None) -> tuple[list[sqlite3.Row], str | None]:
    """`page` from a position the caller decoded itself (decode_token), for a query built with
    it; the next page's token is tied to `scope` when one is given."""
    args = list(args)
    if position is not None:
        sql += " AND " + _after(keys, "<" if descending else ">")
        args += _after_args(position)
    direction = " DESC" if descending else ""
    sql += " ORDER BY " + ", ".join(key + direction for key in keys) + " LIMIT ?"
    rows = db.execute(sql, (*args, limit + 1)).fetchall()
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_token([last[key.rsplit(".", 1)[-1]] for key in keys], scope)
