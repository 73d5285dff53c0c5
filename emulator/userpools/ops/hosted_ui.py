"""Mounts managed login and the OAuth 2.0 / OIDC endpoints (emulator.oauth) on the app.

Imported with the other user pool modules, before the store opens, so the oauth tables
are registered in time.
"""

from __future__ import annotations

from emulator.oauth import mount


def install(emulator) -> None:
    mount.install(emulator)
