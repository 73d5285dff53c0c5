"""User pool operations: CreateUserPool, DescribeUserPool, UpdateUserPool, DeleteUserPool, ListUserPools,
AddCustomAttributes."""

from __future__ import annotations

import copy

from emulator import paging
from emulator.store import delete_owned, dumps, loads
from emulator.userpools import errors, registry
from emulator.userpools.model import keys, mfa_config, users
from emulator.userpools.model.pools import (
    DEFAULT_PASSWORD_POLICY,
    MAX_CUSTOM_ATTRIBUTES,
    MAX_POOLS,
    STANDARD_NAMES,
    STANDARD_SCHEMA,
    check_range,
    custom_attribute,
    load_pool,
    new_pool_id,
    pool_arn,
    save_pool,
)


def _password_policy(given: dict | None) -> dict:
    if given is None:
        return dict(DEFAULT_PASSWORD_POLICY)
    policy = {"MinimumLength": given.get("MinimumLength") or 8}
    for flag in ("RequireUppercase", "RequireLowercase", "RequireNumbers", "RequireSymbols"):
        policy[flag] = bool(given.get(flag, False))
    if given.get("PasswordHistorySize") is not None:
        policy["PasswordHistorySize"] = given["PasswordHistorySize"]
    days = given.get("TemporaryPasswordValidityDays")
    policy["TemporaryPasswordValidityDays"] = days if days else 7
    return policy


def _policies(given: dict | None) -> dict:
    given = given or {}
    sign_in = given.get("SignInPolicy") or {}
    factors = sign_in.get("AllowedFirstAuthFactors") or ["PASSWORD"]
    if "PASSWORD" not in factors:
        raise errors.InvalidParameterException("PASSWORD must be one of the AllowedFirstAuthFactors.")
    return {"PasswordPolicy": _password_policy(given.get("PasswordPolicy")),
            "SignInPolicy": {"AllowedFirstAuthFactors": list(dict.fromkeys(factors))}}


def _verification_template(req: dict) -> dict:
    """VerificationMessageTemplate, kept in step with the legacy top-level message fields."""
    template = dict(req.get("VerificationMessageTemplate") or {})
    template.setdefault("DefaultEmailOption", "CONFIRM_WITH_CODE")
    for legacy, modern in (("SmsVerificationMessage", "SmsMessage"),
                           ("EmailVerificationMessage", "EmailMessage"),
                           ("EmailVerificationSubject", "EmailSubject")):
        if req.get(legacy) is not None and modern not in template:
            template[modern] = req[legacy]
    return template


def _admin_create_user_config(given: dict | None, temp_days: int) -> dict:
    config = dict(given or {})
    config["AllowAdminCreateUserOnly"] = bool(config.get("AllowAdminCreateUserOnly", False))
    config.setdefault("UnusedAccountValidityDays", temp_days)
    return config


def _user_attribute_update_settings(given: dict | None, auto_verified: list[str]) -> dict:
    needed = list((given or {}).get("AttributesRequireVerificationBeforeUpdate") or [])
    if any(a not in auto_verified for a in needed):
        raise errors.InvalidParameterException("All attributes in AttributesRequireVerificationBeforeUpdate must exist "
                           "in AutoVerifiedAttributes")
    return {"AttributesRequireVerificationBeforeUpdate": needed}


def _schema(given: list[dict] | None) -> list[dict]:
    schema = copy.deepcopy(STANDARD_SCHEMA)
    by_name = {a["Name"]: a for a in schema}
    seen: set[str] = set()
    custom: list[dict] = []
    for attr in given or []:
        name = attr.get("Name") or ""
        if name in seen:
            raise errors.InvalidParameterException(f"Duplicate attribute name: {name}")
        seen.add(name)
        if name in by_name:
            _override_standard(by_name[name], attr)
            continue
        custom.append(custom_attribute(attr))
    return schema + custom  # the model caps Schema at 50 entries, so the custom quota holds here


def _override_standard(current: dict, attr: dict) -> None:
    name = current["Name"]
    data_type = attr.get("AttributeDataType")
    if (data_type is not None and data_type != current["AttributeDataType"]) or attr.get("DeveloperOnlyAttribute"):
        raise errors.InvalidParameterException("You can not change AttributeDataType or set developerOnlyAttribute for standard "
                           f"schema attribute {name}")
    if name == "sub":
        if attr.get("Mutable") or attr.get("Required") is False:
            raise errors.InvalidParameterException("sub attribute cannot be modified.")
        return
    if "Mutable" in attr:
        current["Mutable"] = bool(attr["Mutable"])
    if "Required" in attr:
        current["Required"] = bool(attr["Required"])
    for key, lo_key, hi_key in (("StringAttributeConstraints", "MinLength", "MaxLength"),
                                ("NumberAttributeConstraints", "MinValue", "MaxValue")):
        if attr.get(key) and key in current:
            merged = {**current[key], **{k: v for k, v in attr[key].items() if v is not None}}
            check_range(merged, key, lo_key, hi_key, name)
            current[key] = merged


def _check_sign_in_attributes(req: dict) -> None:
    alias = req.get("AliasAttributes") or []
    username = req.get("UsernameAttributes") or []
    if alias and username:
        raise errors.InvalidParameterException("Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.")


def _mutable_settings(req: dict, pool: dict) -> None:
    """The settings CreateUserPool and UpdateUserPool share: absent ones take their default."""
    pool["Policies"] = _policies(req.get("Policies"))
    pool["DeletionProtection"] = req.get("DeletionProtection") or "INACTIVE"
    pool["LambdaConfig"] = dict(req.get("LambdaConfig") or {})
    auto_verified = list(dict.fromkeys(req.get("AutoVerifiedAttributes") or []))
    for key in ("AutoVerifiedAttributes", "SmsVerificationMessage", "EmailVerificationMessage",
                "EmailVerificationSubject", "SmsAuthenticationMessage", "DeviceConfiguration",
                "SmsConfiguration", "UserPoolAddOns", "AccountRecoverySetting"):
        pool.pop(key, None)
    if auto_verified:
        pool["AutoVerifiedAttributes"] = auto_verified
    for key in ("SmsVerificationMessage", "EmailVerificationMessage", "EmailVerificationSubject",
                "SmsAuthenticationMessage", "DeviceConfiguration", "SmsConfiguration",
                "UserPoolAddOns"):
        if req.get(key) is not None:
            pool[key] = copy.deepcopy(req[key])
    pool["VerificationMessageTemplate"] = _verification_template(req)
    template = pool["VerificationMessageTemplate"]
    for legacy, modern in (("SmsVerificationMessage", "SmsMessage"),
                           ("EmailVerificationMessage", "EmailMessage"),
                           ("EmailVerificationSubject", "EmailSubject")):
        if modern in template and legacy not in pool:
            pool[legacy] = template[modern]
    pool["UserAttributeUpdateSettings"] = _user_attribute_update_settings(
        req.get("UserAttributeUpdateSettings"), auto_verified)
    pool["MfaConfiguration"] = req.get("MfaConfiguration") or "OFF"
    if pool["MfaConfiguration"] != "OFF" and not pool.get("SmsConfiguration"):
        # MFA needs a way to deliver it: SMS here, or TOTP/email enabled by SetUserPoolMfaConfig.
        if not mfa_config.has_non_sms_factor(pool):
            raise errors.InvalidParameterException("SMS configuration and Auto verification for phone_number are required "
                               "when MFA is required/optional")
    email = dict(req.get("EmailConfiguration") or {})
    email.setdefault("EmailSendingAccount", "COGNITO_DEFAULT")
    if email["EmailSendingAccount"] == "DEVELOPER" and not email.get("SourceArn"):
        raise errors.InvalidParameterException("SourceArn is required when EmailSendingAccount is DEVELOPER.")
    pool["EmailConfiguration"] = email
    temp_days = pool["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"]
    pool["AdminCreateUserConfig"] = _admin_create_user_config(req.get("AdminCreateUserConfig"), temp_days)
    if req.get("AccountRecoverySetting") is not None:
        mechanisms = (req["AccountRecoverySetting"].get("RecoveryMechanisms") or [])
        names = [m["Name"] for m in mechanisms]
        priorities = [m["Priority"] for m in mechanisms]
        if len(set(names)) != len(names) or len(set(priorities)) != len(priorities):
            raise errors.InvalidParameterException("Recovery mechanisms must have unique names and priorities.")
        if "admin_only" in names and len(names) > 1:
            raise errors.InvalidParameterException("admin_only cannot be combined with other recovery mechanisms.")
        pool["AccountRecoverySetting"] = {"RecoveryMechanisms": sorted(
            copy.deepcopy(mechanisms), key=lambda m: m["Priority"])}
    pool["UserPoolTier"] = req.get("UserPoolTier") or pool.get("UserPoolTier") or "ESSENTIALS"
    if req.get("UserPoolTags") is not None:
        pool["UserPoolTags"] = dict(req["UserPoolTags"])


def described(db, pool: dict) -> dict:
    """The pool as DescribeUserPool answers it (with the live user estimate)."""
    out = copy.deepcopy(pool)
    out["EstimatedNumberOfUsers"] = users.count_users(db, pool["Id"])
    return out


@registry.handler
def create_user_pool(ctx, req, *, pool_id: str | None = None):
    # pool_id: the id a declared environment gives the pool (emulator.environments), else a new one
    db = ctx.db
    count = db.execute("SELECT COUNT(*) FROM user_pools WHERE region = ? AND account_id = ?",
                       (ctx.region, ctx.account_id)).fetchone()[0]
    if count >= MAX_POOLS:
        raise errors.LimitExceededException(f"Account has reached the limit of {MAX_POOLS} user pools.")
    _check_sign_in_attributes(req)
    pool_id = pool_id or new_pool_id(ctx.region)
    now = ctx.now()
    pool: dict = {"Id": pool_id, "Name": req["PoolName"],
                  "Arn": pool_arn(ctx.region, ctx.account_id, pool_id),
                  "CreationDate": now, "LastModifiedDate": now, "UserPoolTags": {}}
    pool["SchemaAttributes"] = _schema(req.get("Schema"))
    for key in ("AliasAttributes", "UsernameAttributes"):
        if req.get(key):
            pool[key] = list(dict.fromkeys(req[key]))
    if req.get("UsernameConfiguration") is not None:
        pool["UsernameConfiguration"] = {
            "CaseSensitive": bool(req["UsernameConfiguration"].get("CaseSensitive", True))}
    _check_alias_schema(pool)
    _mutable_settings(req, pool)
    db.execute("INSERT INTO user_pools(id, region, account_id, name, created, data) VALUES(?,?,?,?,?,?)",
               (pool_id, ctx.region, ctx.account_id, pool["Name"], now, dumps(pool)))
    return {"UserPool": described(db, pool)}


def _check_alias_schema(pool: dict) -> None:
    if "preferred_username" in (pool.get("AliasAttributes") or []):
        attr = next(a for a in pool["SchemaAttributes"] if a["Name"] == "preferred_username")
        if attr["Required"]:
            raise errors.InvalidParameterException("preferred_username cannot be both an alias and a required attribute.")


@registry.handler
def describe_user_pool(ctx, req):
    return {"UserPool": described(ctx.db, load_pool(ctx.db, req["UserPoolId"]))}


@registry.handler
def update_user_pool(ctx, req):
    pool = load_pool(ctx.db, req["UserPoolId"])
    if req.get("PoolName"):
        pool["Name"] = req["PoolName"]
    _mutable_settings(req, pool)
    pool["LastModifiedDate"] = ctx.now()
    save_pool(ctx.db, pool)
    return {}


@registry.handler
def delete_user_pool(ctx, req):
    pool = load_pool(ctx.db, req["UserPoolId"])
    if pool.get("DeletionProtection") == "ACTIVE":
        raise errors.InvalidParameterException("The user pool cannot be deleted because deletion protection is activated. "
                           "Deletion protection must be inactivated first.")
    if pool.get("Domain") or pool.get("CustomDomain"):
        raise errors.InvalidParameterException("User pool cannot be deleted. It has a domain configured that should be "
                           "deleted first.")
    delete_owned(ctx.db, "user_pool", pool["Id"])  # every table that declared rows of a pool
    keys.delete_keys(ctx.db, pool["Id"])
    ctx.db.execute("DELETE FROM user_pools WHERE id = ?", (pool["Id"],))
    return {}


@registry.handler
def list_user_pools(ctx, req):
    rows, token = paging.page(ctx.db, "SELECT data, created, id FROM user_pools WHERE region = ? AND account_id = ?",
                              [ctx.region, ctx.account_id], ["created", "id"], req["MaxResults"],
                              req.get("NextToken"))
    out = []
    for row in rows:
        pool = loads(row["data"])
        out.append({k: pool.get(k) for k in ("Id", "Name", "LambdaConfig", "LastModifiedDate", "CreationDate")})
    return {"UserPools": out, "NextToken": token}


@registry.handler
def add_custom_attributes(ctx, req):
    pool = load_pool(ctx.db, req["UserPoolId"])
    existing = {a["Name"] for a in pool["SchemaAttributes"]}
    added = []
    for attr in req["CustomAttributes"]:
        new = custom_attribute(attr)
        plain = new["Name"].removeprefix("dev:")
        clash = next((n for n in (plain, "dev:" + plain) if n in existing), None)
        if clash is not None:
            raise errors.InvalidParameterException(f"{plain}: Existing attribute already has name {clash}.")
        existing.add(new["Name"])
        added.append(new)
    customs = sum(1 for a in pool["SchemaAttributes"] if a["Name"] not in STANDARD_NAMES)
    if customs + len(added) > MAX_CUSTOM_ATTRIBUTES:
        raise errors.LimitExceededException(f"Cannot have more than {MAX_CUSTOM_ATTRIBUTES} custom attributes.")
    pool["SchemaAttributes"].extend(added)
    pool["LastModifiedDate"] = ctx.now()
    save_pool(ctx.db, pool)
    return {}
