"""User MFA settings and TOTP: AssociateSoftwareToken, VerifySoftwareToken,
SetUserMFAPreference, AdminSetUserMFAPreference, and the helpers the sign-in engine uses.

A user's `mfa` dict (kept in the user record) holds:
  sms_enabled, email_enabled, totp_enabled, webauthn_enabled: bool
  preferred: "SMS_MFA" | "SOFTWARE_TOKEN_MFA" | "EMAIL_OTP" | None
  totp_secret: verified base32 secret or None; totp_device_name: str | None
  totp_pending: base32 secret from AssociateSoftwareToken not yet verified
  totp_last_step: last RFC 6238 time step accepted (a code is never accepted twice)
  mfa_options: legacy MFAOptions list (SetUserSettings / AdminSetUserSettings)
"""

from __future__ import annotations

import hmac
from typing import Any

import pyotp

from emulator.userpools import errors
from emulator.userpools.model import mfa_config, users

STEP = 30
SECRET_LENGTH = 32  # base32 characters: 160 bits

_SETTINGS_KEYS = {"SMSMfaSettings": ("sms_enabled", "SMS_MFA"),
                  "SoftwareTokenMfaSettings": ("totp_enabled", "SOFTWARE_TOKEN_MFA"),
                  "EmailMfaSettings": ("email_enabled", "EMAIL_OTP")}


# -- user MFA state ----------------------------------------------------------------------
_MFA_DEFAULTS = {"sms_enabled": False, "email_enabled": False, "totp_enabled": False, "webauthn_enabled": False,
                 "preferred": None, "totp_secret": None, "totp_pending": None, "totp_last_step": None}


def settings(user: dict) -> dict:
    """The user's MFA dict, created with defaults when absent (mutate, then save the user)."""
    mfa = user.get("mfa")
    if not isinstance(mfa, dict):
        mfa = {}
        user["mfa"] = mfa
    elif "mfa_options" in mfa and _MFA_DEFAULTS.keys() <= mfa.keys():
        return mfa  # already complete (asked for several times per request)
    for key, value in _MFA_DEFAULTS.items():
        mfa.setdefault(key, value)
    mfa.setdefault("mfa_options", [])
    return mfa


def _legacy_sms(user: dict) -> bool:
    return any((o or {}).get("DeliveryMedium") == "SMS" for o in settings(user)["mfa_options"])


def user_factors(user: dict) -> list[str]:
    """The factors the user has turned on, whatever the pool allows."""
    mfa = settings(user)
    out = []
    if mfa["sms_enabled"] or _legacy_sms(user):
        out.append("SMS_MFA")
    if mfa["totp_enabled"] and mfa["totp_secret"]:
        out.append("SOFTWARE_TOKEN_MFA")
    if mfa["email_enabled"]:
        out.append("EMAIL_OTP")
    return out


def preferred_factor(user: dict) -> str | None:
    """The user's preferred MFA factor (only when it is also enabled)."""
    mfa = settings(user)
    preferred = mfa.get("preferred")
    return preferred if preferred in user_factors(user) else None


def user_mfa_settings(user: dict) -> dict:
    """UserMFASettingList, PreferredMfaSetting and MFAOptions for GetUser/AdminGetUser."""
    out: dict[str, Any] = {}
    factors = user_factors(user)
    if factors:
        out["UserMFASettingList"] = factors
    preferred = preferred_factor(user)
    if preferred:
        out["PreferredMfaSetting"] = preferred
    options = settings(user)["mfa_options"]
    if options:
        out["MFAOptions"] = options
    return out


def set_mfa_options(user: dict, options: list[dict]) -> None:
    """Legacy SMS MFA settings (SetUserSettings/AdminSetUserSettings): an SMS option turns
    SMS MFA on, an empty list turns the legacy setting off."""
    mfa = settings(user)
    mfa["mfa_options"] = [{k: v for k, v in o.items() if k in ("DeliveryMedium", "AttributeName")}
                          for o in options if o]


def pool_mfa_mode(pool: dict) -> str:
    return pool.get("MfaConfiguration") or "OFF"


def _pool_factors(pool: dict) -> list[str]:
    """The factors the pool offers (SetUserPoolMfaConfig)."""
    return mfa_config.enabled_factors(pool)


def enabled_factors(pool: dict, user: dict) -> list[str]:
    """The factors that apply at sign-in: enabled by the user, offered by the pool, with a
    destination to send a code to. Empty when the pool's MFA is OFF."""
    if pool_mfa_mode(pool) == "OFF":
        return []
    attrs = user.get("attributes") or {}
    offered = _pool_factors(pool)
    out = []
    for factor in user_factors(user):
        if factor not in offered:
            continue
        if factor == "SMS_MFA" and not attrs.get("phone_number"):
            continue
        if factor == "EMAIL_OTP" and not attrs.get("email"):
            continue
        out.append(factor)
    return out


# -- TOTP ------------------------------------------------------------------------------
def new_secret() -> str:
    return pyotp.random_base32(SECRET_LENGTH)


def matching_step(secret: str, code: str, now: float, after: int | None) -> int | None:
    """The time step (now ±1) whose code equals `code` and is later than `after`."""
    # str.isdigit() is true of non-ASCII digits too, which compare_digest refuses (TypeError).
    if not (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP)
    for step in (current - 1, current, current + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def consume_totp(db, pool: dict, user: dict, code: str, now: float) -> bool:
    """Check a sign-in TOTP code against the user's verified secret; a code (time step)
    is accepted only once. Saves the user on success."""
    mfa = settings(user)
    secret = mfa.get("totp_secret")
    if not secret:
        return False
    step = matching_step(secret, code, now, mfa.get("totp_last_step"))
    if step is None:
        return False
    mfa["totp_last_step"] = step
    users.save_user(db, pool, user)
    return True


def totp_already_used(user: dict, code: str, now: float) -> bool:
    """Whether `code` is the user's code for a time step (now ±1) already accepted once."""
    mfa = settings(user)
    secret, last = mfa.get("totp_secret"), mfa.get("totp_last_step")
    if not secret or last is None:
        return False
    step = matching_step(secret, code, now, None)
    return step is not None and step <= last


# -- operations ------------------------------------------------------------------------


def apply_preferences(pool: dict, user: dict, req: dict, *, admin: bool) -> None:
    """SetUserMFAPreference semantics: only the settings passed change; PreferredMfa needs
    Enabled; a factor needs its delivery (phone, email) or a verified token."""
    mfa = settings(user)
    attrs = user.get("attributes") or {}
    for key, (_flag, factor) in _SETTINGS_KEYS.items():
        value = req.get(key)
        if value is None:
            continue
        enabled = value.get("Enabled")
        preferred = value.get("PreferredMfa")
        if enabled:
            if factor == "SOFTWARE_TOKEN_MFA" and not mfa.get("totp_secret"):
                raise errors.InvalidParameterException("User does not have delivery config set to turn on SOFTWARE_TOKEN_MFA"
                                   if admin else "User has not set up software token mfa")
            if factor == "SMS_MFA" and not attrs.get("phone_number"):
                raise errors.InvalidParameterException("User does not have delivery config set to turn on SMS_MFA")
            if factor == "EMAIL_OTP" and not attrs.get("email"):
                raise errors.InvalidParameterException("User does not have delivery config set to turn on EMAIL_OTP")
        if preferred and enabled is False:
            raise errors.InvalidParameterException("Cannot set preferred MFA to a disabled MFA type")
    for key, (flag, factor) in _SETTINGS_KEYS.items():
        value = req.get(key)
        if value is None:
            continue
        if "Enabled" in value and value["Enabled"] is not None:
            mfa[flag] = bool(value["Enabled"])
            if not mfa[flag]:
                if factor == "SMS_MFA":
                    mfa["mfa_options"] = []
                if mfa.get("preferred") == factor:
                    mfa["preferred"] = None
        if value.get("PreferredMfa"):
            mfa["preferred"] = factor
        elif value.get("PreferredMfa") is False and mfa.get("preferred") == factor:
            mfa["preferred"] = None
    web = req.get("WebAuthnMfaSettings")
    if web is not None and web.get("Enabled") is not None:
        mfa["webauthn_enabled"] = bool(web["Enabled"])


