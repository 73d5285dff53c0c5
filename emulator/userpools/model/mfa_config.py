"""Get/SetUserPoolMfaConfig: the pool's MFA mode and which factors it offers.

The factor settings live in the pool dict under `_Mfa` (not part of UserPoolType, so
DescribeUserPool does not show them); sign-in reads them with `get_mfa_config(pool)`.
"""

from __future__ import annotations

import copy

KEY = "_Mfa"


def get_mfa_config(pool: dict) -> dict:
    """The pool's MFA configuration as GetUserPoolMfaConfig answers it.

    A factor is enabled when: SMS — `SmsMfaConfiguration` present; TOTP —
    `SoftwareTokenMfaConfiguration.Enabled`; email — `EmailMfaConfiguration` present.
    """
    stored = pool.get(KEY) or {}
    out: dict = {"MfaConfiguration": pool.get("MfaConfiguration") or "OFF",
                 "SoftwareTokenMfaConfiguration": {
                     "Enabled": bool((stored.get("SoftwareTokenMfaConfiguration") or {}).get("Enabled"))}}
    if stored.get("SmsMfaConfiguration") is not None:
        out["SmsMfaConfiguration"] = copy.deepcopy(stored["SmsMfaConfiguration"])
    if stored.get("EmailMfaConfiguration") is not None:
        out["EmailMfaConfiguration"] = copy.deepcopy(stored["EmailMfaConfiguration"])
    out["WebAuthnConfiguration"] = copy.deepcopy(stored.get("WebAuthnConfiguration") or {
        "UserVerification": "preferred", "FactorConfiguration": "SINGLE_FACTOR"})
    return out


def enabled_factors(pool: dict) -> list[str]:
    """Enabled MFA factors among "SMS_MFA", "SOFTWARE_TOKEN_MFA", "EMAIL_OTP"."""
    config = get_mfa_config(pool)
    factors = []
    if "SmsMfaConfiguration" in config or (pool.get("MfaConfiguration", "OFF") != "OFF"
                                           and pool.get("SmsConfiguration") and KEY not in pool):
        factors.append("SMS_MFA")
    if config["SoftwareTokenMfaConfiguration"]["Enabled"]:
        factors.append("SOFTWARE_TOKEN_MFA")
    if "EmailMfaConfiguration" in config:
        factors.append("EMAIL_OTP")
    return factors


def has_non_sms_factor(pool: dict) -> bool:
    return any(f != "SMS_MFA" for f in enabled_factors(pool))


