"""mfa_config_ops: split from mfa_config.py (see ARCHITECTURE.md)."""

from __future__ import annotations

import copy

from emulator.userpools import errors, registry
from emulator.userpools.model import pools
from emulator.userpools.model.mfa_config import KEY, get_mfa_config


@registry.handler
def get_user_pool_mfa_config(ctx, req):
    return get_mfa_config(pools.load_pool(ctx.db, req["UserPoolId"]))


@registry.handler
def set_user_pool_mfa_config(ctx, req):
    pool = pools.load_pool(ctx.db, req["UserPoolId"])
    stored = dict(pool.get(KEY) or {})
    sms = req.get("SmsMfaConfiguration")
    totp = req.get("SoftwareTokenMfaConfiguration")
    email = req.get("EmailMfaConfiguration")
    mode = req.get("MfaConfiguration") or pool.get("MfaConfiguration") or "OFF"
    if email is not None:
        if pool.get("UserPoolTier") == "LITE":
            raise errors.FeatureUnavailableInTierException("Email MFA is not available in the LITE tier.")
        if (pool.get("EmailConfiguration") or {}).get("EmailSendingAccount") != "DEVELOPER":
            raise errors.InvalidParameterException("Email MFA requires the user pool to send email with Amazon SES "
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
        raise errors.InvalidParameterException("Invalid MFA configuration given, can't turn off MFA and configure an MFA together.")
    if mode != "OFF" and not factor_on:
        if totp is None:
            raise errors.InvalidParameterException("At least one of [SmsMfaConfiguration] or [SoftwareTokenMfaConfiguration] must be "
                               "provided.")
        raise errors.InvalidParameterException("Invalid MFA configuration given, can't disable all MFAs with a required or optional "
                           "configuration.")
    if sms is not None and not sms.get("SmsConfiguration") and not pool.get("SmsConfiguration"):
        raise errors.InvalidParameterException("[SmsConfiguration] is a required member of [SoftwareTokenMfaConfiguration].")
    pool[KEY] = stored
    pool["MfaConfiguration"] = mode
    if sms is not None:
        if sms.get("SmsAuthenticationMessage"):
            pool["SmsAuthenticationMessage"] = sms["SmsAuthenticationMessage"]
        if sms.get("SmsConfiguration"):
            pool["SmsConfiguration"] = copy.deepcopy(sms["SmsConfiguration"])
    pool["LastModifiedDate"] = ctx.now()
    pools.save_pool(ctx.db, pool)
    return get_mfa_config(pool)
