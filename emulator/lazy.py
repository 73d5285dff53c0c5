"""Libraries imported at their first use, not at every start.

The emulator's modules are all imported when it starts; these libraries are needed by no request
until the first token is signed or read (PyJWT, which loads cryptography's x509 module: ~17 ms)
or the first SAML document arrives (lxml: ~8 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType


class Lazy:
    """Stands for a module: the first attribute read imports it; each attribute read is then kept."""

    def __init__(self, load: Callable[[], ModuleType]) -> None:
        self._load = load

    def __getattr__(self, name: str):
        value = getattr(self._load(), name)
        setattr(self, name, value)  # two threads may both set it: to the same value
        return value


def _jwt() -> ModuleType:
    import jwt

    return jwt


def _etree() -> ModuleType:
    from lxml import etree

    return etree


def _x509() -> ModuleType:
    from cryptography import x509

    return x509


jwt = Lazy(_jwt)
etree = Lazy(_etree)
x509 = Lazy(_x509)
