"""Registers managed login and the OAuth endpoints (their Blueprints) on the emulator's app."""

from __future__ import annotations

from emulator.oauth import (
    account_pages,
    challenge_pages,
    common,
    endpoints,
    federation,
    managed_login,
    pages,
    saml,
)
from emulator.social import pages as social_pages

# Every route module is imported above: its routes are on its Blueprint (managed login's pages
# are spread over these three modules).
MANAGED_LOGIN_PAGES = (pages, challenge_pages, account_pages)
BLUEPRINTS = (managed_login.blueprint, endpoints.blueprint, federation.blueprint, saml.blueprint)


def install(emulator) -> None:
    """Register the pages and endpoints on `emulator.flask` (once per emulator); the routes find
    the emulator in the Flask app's extensions."""
    app = emulator.flask
    if common.EMULATOR in app.extensions:
        return
    app.extensions[common.EMULATOR] = emulator
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    social_pages.install(emulator)  # the social providers' sandbox the identity providers may use
