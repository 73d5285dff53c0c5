"""SHA-256 digests of text: how the emulator keeps the secrets it hands out (refresh tokens,
sign-in sessions, OAuth codes and flows, session tokens of temporary credentials, one-time codes)
and looks them up again, and a stable fingerprint of any text."""

from __future__ import annotations

import hashlib
import hmac


def digest(text: str) -> str:
    """The SHA-256 of `text` (UTF-8), in hex."""
    return hashlib.sha256(text.encode()).hexdigest()


def matches(text: str, stored: str) -> bool:
    """Whether `stored` is the digest of `text`, compared in constant time."""
    return hmac.compare_digest(digest(text), stored)
