"""Get/SetUserPoolMfaConfig: the pool's MFA mode and which factors it offers.

The factor settings live in the pool dict under `_Mfa` (not part of UserPoolType, so
DescribeUserPool does not show them); sign-in reads them with `get_mfa_config(pool)`.
"""

from __future__ import annotations

import copy

from emulator.userpools import pools, registry
from protocol import ServiceError

_KEY = "_Mfa"


def get_mfa_config(pool: dict) -> dict:
    """The pool's MFA configuration as GetUserPoolMfaConfig answers it.

    A factor is enabled when: SMS — `SmsMfaConfiguration` present; TOTP —
    `SoftwareTokenMfaConfiguration.Enabled`; email — `EmailMfaConfiguration` present.
    """
    stored = pool.get(_KEY) or {}
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
                                           and pool.get("SmsConfiguration") and _KEY not in pool):
        factors.append("SMS_MFA")
    if config["SoftwareTokenMfaConfiguration"]["Enabled"]:
        factors.append("SOFTWARE_TOKEN_MFA")
    if "EmailMfaConfiguration" in config:
        factors.append("EMAIL_OTP")
    return factors


def has_non_sms_factor(pool: dict) -> bool:
    return any(f != "SMS_MFA" for f in enabled_factors(pool))


@registry.handler
def get_user_pool_mfa_config(ctx, req):
    return get_mfa_config(pools.load_pool(ctx.db, req["UserPoolId"]))


@registry.handler
def set_user_pool_mfa_config(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    stored = dict(pool.get(_KEY) or {})
    sms = req.get("SmsMfaConfiguration")
    totp = req.get("SoftwareTokenMfaConfiguration")
    email = req.get("EmailMfaConfiguration")
    mode = req.get("MfaConfiguration") or pool.get("MfaConfiguration") or "OFF"
    if email is not None:
        if pool.get("UserPoolTier") == "LITE":
            raise ServiceError("FeatureUnavailableInTierException",
                               "Email MFA is not available in the LITE tier.")
        if (pool.get("EmailConfiguration") or {}).get("EmailSendingAccount") != "DEVELOPER":
            raise ServiceError("InvalidParameterException",
                               "Email MFA requires the user pool to send email with Amazon SES "
                               "(EmailSendingAccount DEVELOPER).")
    stored["SmsMfaConfiguration"] = copy.deepcopy(sms) if sms is not None else None
    stored["SoftwareTokenMfaConfiguration"] = {"Enabled": bool((totp or {}).get("Enabled"))}
    stored["EmailMfaConfiguration"] = copy.deepcopy(email) if email is not None else None
    if req.get("WebAuthnConfiguration") is not None:
        webauthn = {"UserVerification": "preferred", "FactorConfiguration": "SINGLE_FACTOR",
                    **req["WebAuthnConfiguration"]}
        stored["WebAuthnConfiguration"] = webauthn
    stored = {k: v for k, v in stored.items() if v is not None}
    factor_on = sms is not None or bool((totp or {}).get("Enabled")) or email is not None
    if req.get("MfaConfiguration") == "OFF" and factor_on:  # WebAuthn is not an MFA factor here
        raise ServiceError("InvalidParameterException",
                           "Invalid MFA configuration given, can't turn off MFA and configure an MFA together.")
    if mode != "OFF" and not factor_on:
        if totp is None:
            raise ServiceError("InvalidParameterException",
                               "At least one of [SmsMfaConfiguration] or [SoftwareTokenMfaConfiguration] must be "
                               "provided.")
        raise ServiceError("InvalidParameterException",
                           "Invalid MFA configuration given, can't disable all MFAs with a required or optional "
                           "configuration.")
    if sms is not None and not sms.get("SmsConfiguration") and not pool.get("SmsConfiguration"):
        raise ServiceError("InvalidParameterException",
                           "[SmsConfiguration] is a required member of [SoftwareTokenMfaConfiguration].")
    pool[_KEY] = stored
    pool["MfaConfiguration"] = mode
    if sms is not None:
        if sms.get("SmsAuthenticationMessage"):
            pool["SmsAuthenticationMessage"] = sms["SmsAuthenticationMessage"]
        if sms.get("SmsConfiguration"):
            pool["SmsConfiguration"] = copy.deepcopy(sms["SmsConfiguration"])
    pool["LastModifiedDate"] = ctx.now()
    pools.save_pool(ctx.db, pool)
    return get_mfa_config(pool)
