"""Administrator views and repairs of a user's sign-in factors: AdminGetUserAuthFactors and
AdminDeleteSoftwareToken (a lost authenticator app: forget the TOTP secret so the user can
associate a new one)."""

from __future__ import annotations

from emulator.userpools import registry
from emulator.userpools.accounts import mfa
from emulator.userpools.accounts import webauthn as webauthn_ops
from emulator.userpools.model import users


def delete_software_token(user: dict) -> None:
    """Forget the user's TOTP secret (verified or pending); TOTP stops being a factor."""
    settings = mfa.settings(user)
    settings["totp_secret"] = None
    settings["totp_pending"] = None
    settings["totp_enabled"] = False
    settings["totp_last_step"] = None
    settings.pop("totp_device_name", None)
    if settings.get("preferred") == "SOFTWARE_TOKEN_MFA":
        settings["preferred"] = None


@registry.handler
def admin_get_user_auth_factors(ctx, req):
    pool, user = users.admin_target(ctx.db, req)
    return webauthn_ops.auth_factors(ctx, pool, user)


@registry.handler
def admin_delete_software_token(ctx, req):
    pool, user = users.admin_target(ctx.db, req)
    delete_software_token(user)
    users.save_user(ctx.db, pool, user)
    return {}
