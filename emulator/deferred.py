"""Values computed after the unit of work commits.

A token's RSA signature is pure work on claims already decided: computing it inside the
write lock would make every other writer wait for it. A handler returns a `Deferred` in its
output instead, and the output is resolved once the transaction has committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

_pending = threading.local()


class Deferred:
    """A string made on first use (once)."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], str]) -> None:
        self._make: Callable[[], str] | None = make
        self._value = ""
        _pending.any = True

    def value(self) -> str:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value

    __str__ = value


def resolve(value: Any) -> Any:
    """`value` with every Deferred in it (in dicts and lists, at any depth) made; cheap when this
    thread made none since the last call."""
    if not getattr(_pending, "any", False):
        return value
    _pending.any = False
    return _resolved(value)


def _resolved(value: Any) -> Any:
    if isinstance(value, Deferred):
        return value.value()
    if isinstance(value, dict):
        return {k: _resolved(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v) for v in value]
    return value
