"""Managed login (hosted UI) and the OAuth 2.0 / OIDC endpoints of user pools.

Served on the emulator's own port at AWS's paths (/oauth2/authorize, /login, /oauth2/token,
/oauth2/userInfo, /oauth2/revoke, /logout, ...); the pool is found from client_id (or from the
access token), and must have a domain (CreateUserPoolDomain), as on AWS.
"""

from __future__ import annotations

from emulator.oauth import common, saml  # their tables are registered at import


def install(emulator) -> None:
    """Register the pages and endpoints on `emulator.flask` (once per emulator)."""
    if getattr(emulator, "oauth_installed", False):
        return
    emulator.oauth_installed = True
    from emulator.oauth import endpoints, federation, pages
    from emulator.userpools import pools
    if common.delete_pool not in pools.on_pool_deleted:
        pools.on_pool_deleted.append(common.delete_pool)
    pages.install(emulator)
    endpoints.install(emulator)
    federation.install(emulator)
    saml.install(emulator)
