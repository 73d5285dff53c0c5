"""User pools: create, describe, update, delete, list, custom attributes.

A pool is stored as the UserPoolType dict DescribeUserPool answers (every AWS default
filled in), next to indexed columns for lookups. Other modules read it with
`load_pool` and clean up after a deletion through `on_pool_deleted`.
"""

from __future__ import annotations

import copy
import secrets
import sqlite3
import string
from collections.abc import Callable

from emulator import paging
from emulator.store import dumps, loads, register_schema
from emulator.userpools import keys, registry
from protocol import ServiceError

register_schema("userpools.pools", [
    """
    CREATE TABLE user_pools (
        id TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        account_id TEXT NOT NULL,
        name TEXT NOT NULL,
        created REAL NOT NULL,
        data TEXT NOT NULL
    );
    CREATE INDEX user_pools_listing ON user_pools(region, account_id, created, id);
    """,
])

# Cleanups other modules register: fn(db, pool_id), called by DeleteUserPool.
on_pool_deleted: list[Callable[[sqlite3.Connection, str], None]] = []

MAX_POOLS = 1000
MAX_CUSTOM_ATTRIBUTES = 50
_ID_ALPHABET = string.ascii_letters + string.digits


def _s(name: str, mutable: bool = True, required: bool = False, lo: str = "0", hi: str = "2048") -> dict:
    return {"Name": name, "AttributeDataType": "String", "DeveloperOnlyAttribute": False,
            "Mutable": mutable, "Required": required,
            "StringAttributeConstraints": {"MinLength": lo, "MaxLength": hi}}


def _b(name: str) -> dict:
    return {"Name": name, "AttributeDataType": "Boolean", "DeveloperOnlyAttribute": False,
            "Mutable": True, "Required": False}


# The standard attributes as DescribeUserPool lists them for a new pool.
STANDARD_SCHEMA: list[dict] = [
    _s("sub", mutable=False, required=True, lo="1"),
    _s("name"), _s("given_name"), _s("family_name"), _s("middle_name"), _s("nickname"),
    _s("preferred_username"), _s("profile"), _s("picture"), _s("website"), _s("email"),
    _b("email_verified"), _s("gender"), _s("birthdate", lo="10", hi="10"), _s("zoneinfo"),
    _s("locale"), _s("phone_number"), _b("phone_number_verified"), _s("address"),
    {"Name": "updated_at", "AttributeDataType": "Number", "DeveloperOnlyAttribute": False,
     "Mutable": True, "Required": False, "NumberAttributeConstraints": {"MinValue": "0"}},
    {"Name": "identities", "AttributeDataType": "String", "DeveloperOnlyAttribute": False,
     "Mutable": True, "Required": False, "StringAttributeConstraints": {}},
]
STANDARD_NAMES = {a["Name"] for a in STANDARD_SCHEMA}

DEFAULT_PASSWORD_POLICY = {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True,
                           "RequireNumbers": True, "RequireSymbols": True,
                           "TemporaryPasswordValidityDays": 7}


# Pagination tokens, as the list operations of this package (clients.py among them) use them.
encode_token = paging.encode_token
decode_token = paging.decode_token


# -- storage ----------------------------------------------------------------------------------
def not_found(pool_id: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"User pool {pool_id} does not exist.")


def load_pool(db: sqlite3.Connection, pool_id: str) -> dict:
    """The pool's UserPoolType dict; ResourceNotFoundException when there is none."""
    row = db.execute("SELECT data FROM user_pools WHERE id = ?", (pool_id,)).fetchone()
    if row is None:
        raise not_found(pool_id)
    return loads(row["data"])


def pool_exists(db: sqlite3.Connection, pool_id: str) -> bool:
    return db.execute("SELECT 1 FROM user_pools WHERE id = ?", (pool_id,)).fetchone() is not None


def save_pool(db: sqlite3.Connection, pool: dict) -> None:
    """Write back a pool dict (from load_pool, possibly changed)."""
    pool.pop("EstimatedNumberOfUsers", None)
    db.execute("UPDATE user_pools SET name = ?, data = ? WHERE id = ?",
               (pool["Name"], dumps(pool), pool["Id"]))


def described(db: sqlite3.Connection, pool: dict) -> dict:
    """The pool as DescribeUserPool answers it (with the live user estimate)."""
    from emulator.userpools import users  # users imports pools
    out = copy.deepcopy(pool)
    out["EstimatedNumberOfUsers"] = users.count_users(db, pool["Id"])
    return out


# -- settings ---------------------------------------------------------------------------------
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
        raise ServiceError("InvalidParameterException",
                           "PASSWORD must be one of the AllowedFirstAuthFactors.")
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
        raise ServiceError("InvalidParameterException",
                           "All attributes in AttributesRequireVerificationBeforeUpdate must exist "
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
            raise ServiceError("InvalidParameterException", f"Duplicate attribute name: {name}")
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
        raise ServiceError("InvalidParameterException",
                           "You can not change AttributeDataType or set developerOnlyAttribute for standard "
                           f"schema attribute {name}")
    if name == "sub":
        if attr.get("Mutable") or attr.get("Required") is False:
            raise ServiceError("InvalidParameterException", "sub attribute cannot be modified.")
        return
    if "Mutable" in attr:
        current["Mutable"] = bool(attr["Mutable"])
    if "Required" in attr:
        current["Required"] = bool(attr["Required"])
    for key, lo_key, hi_key in (("StringAttributeConstraints", "MinLength", "MaxLength"),
                                ("NumberAttributeConstraints", "MinValue", "MaxValue")):
        if attr.get(key) and key in current:
            merged = {**current[key], **{k: v for k, v in attr[key].items() if v is not None}}
            _check_range(merged, key, lo_key, hi_key, name)
            current[key] = merged


def custom_attribute(attr: dict) -> dict:
    """A custom SchemaAttributeType as the pool stores it (name prefixed `custom:`)."""
    name = attr.get("Name") or ""
    if name.startswith("custom:"):
        name = name[len("custom:"):]
    if not name:
        raise ServiceError("InvalidParameterException", "Attribute name is required.")
    data_type = attr.get("AttributeDataType")
    if not data_type:
        raise ServiceError("InvalidParameterException",
                           "Invalid AttributeDataType input, consider using the provided AttributeDataType enum.")
    if attr.get("Required"):
        raise ServiceError("InvalidParameterException", "Required custom attributes are not supported currently.")
    developer_only = bool(attr.get("DeveloperOnlyAttribute", False))
    out = {"Name": ("dev:custom:" if developer_only else "custom:") + name,
           "AttributeDataType": data_type, "DeveloperOnlyAttribute": developer_only,
           "Mutable": bool(attr.get("Mutable", True)), "Required": False}
    # Only the constraints of the attribute's own type are kept; the others are ignored.
    if data_type == "String":
        constraints = {k: v for k, v in (attr.get("StringAttributeConstraints") or {}).items() if v is not None}
        _check_range(constraints, "StringAttributeConstraints", "MinLength", "MaxLength", "custom:" + name)
        out["StringAttributeConstraints"] = constraints
    elif data_type == "Number" and attr.get("NumberAttributeConstraints"):
        constraints = {k: v for k, v in attr["NumberAttributeConstraints"].items() if v is not None}
        _check_range(constraints, "NumberAttributeConstraints", "MinValue", "MaxValue", "custom:" + name)
        out["NumberAttributeConstraints"] = constraints
    return out


def _check_range(constraints: dict, kind: str, lo_key: str, hi_key: str, name: str) -> None:
    values = {}
    for key in (lo_key, hi_key):
        if constraints.get(key) is None:
            continue
        try:
            values[key] = int(constraints[key])
        except ValueError:
            values[key] = -1
        if values[key] < 0:
            raise ServiceError("InvalidParameterException", f"Invalid {kind} for schema attribute {name}")
        if kind == "StringAttributeConstraints" and values[key] > 2048:
            raise ServiceError("InvalidParameterException",
                               f"user.{name}: String attributes cannot have a length of more than 2048")
    if lo_key in values and hi_key in values and values[lo_key] > values[hi_key]:
        what = "length" if kind == "StringAttributeConstraints" else "value"
        raise ServiceError("InvalidParameterException",
                           f"user.{name}: Max {what} cannot be less than min {what}.")


def _check_sign_in_attributes(req: dict) -> None:
    alias = req.get("AliasAttributes") or []
    username = req.get("UsernameAttributes") or []
    if alias and username:
        raise ServiceError("InvalidParameterException",
                           "Only one of the aliasAttributes or usernameAttributes can be set in a User Pool.")


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
        from emulator.userpools import mfa_config
        if not mfa_config.has_non_sms_factor(pool):
            raise ServiceError("InvalidParameterException",
                               "SMS configuration and Auto verification for phone_number are required "
                               "when MFA is required/optional")
    email = dict(req.get("EmailConfiguration") or {})
    email.setdefault("EmailSendingAccount", "COGNITO_DEFAULT")
    if email["EmailSendingAccount"] == "DEVELOPER" and not email.get("SourceArn"):
        raise ServiceError("InvalidParameterException",
                           "SourceArn is required when EmailSendingAccount is DEVELOPER.")
    pool["EmailConfiguration"] = email
    temp_days = pool["Policies"]["PasswordPolicy"]["TemporaryPasswordValidityDays"]
    pool["AdminCreateUserConfig"] = _admin_create_user_config(req.get("AdminCreateUserConfig"), temp_days)
    if req.get("AccountRecoverySetting") is not None:
        mechanisms = (req["AccountRecoverySetting"].get("RecoveryMechanisms") or [])
        names = [m["Name"] for m in mechanisms]
        priorities = [m["Priority"] for m in mechanisms]
        if len(set(names)) != len(names) or len(set(priorities)) != len(priorities):
            raise ServiceError("InvalidParameterException",
                               "Recovery mechanisms must have unique names and priorities.")
        if "admin_only" in names and len(names) > 1:
            raise ServiceError("InvalidParameterException",
                               "admin_only cannot be combined with other recovery mechanisms.")
        pool["AccountRecoverySetting"] = {"RecoveryMechanisms": sorted(
            copy.deepcopy(mechanisms), key=lambda m: m["Priority"])}
    pool["UserPoolTier"] = req.get("UserPoolTier") or pool.get("UserPoolTier") or "ESSENTIALS"
    if req.get("UserPoolTags") is not None:
        pool["UserPoolTags"] = dict(req["UserPoolTags"])


def new_pool_id(region: str) -> str:
    return f"{region}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))


# -- operations -------------------------------------------------------------------------------
@registry.handler
def create_user_pool(ctx, req):
    db = ctx.db
    count = db.execute("SELECT COUNT(*) FROM user_pools WHERE region = ? AND account_id = ?",
                       (ctx.region, ctx.account_id)).fetchone()[0]
    if count >= MAX_POOLS:
        raise ServiceError("LimitExceededException",
                           f"Account has reached the limit of {MAX_POOLS} user pools.")
    _check_sign_in_attributes(req)
    pool_id = new_pool_id(ctx.region)
    now = ctx.now()
    pool: dict = {"Id": pool_id, "Name": req["PoolName"],
                  "Arn": f"arn:aws:cognito-idp:{ctx.region}:{ctx.account_id}:userpool/{pool_id}",
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
            raise ServiceError("InvalidParameterException",
                               "preferred_username cannot be both an alias and a required attribute.")


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
        raise ServiceError("InvalidParameterException",
                           "The user pool cannot be deleted because deletion protection is activated. "
                           "Deletion protection must be inactivated first.")
    if pool.get("Domain") or pool.get("CustomDomain"):
        raise ServiceError("InvalidParameterException",
                           "User pool cannot be deleted. It has a domain configured that should be "
                           "deleted first.")
    for cleanup in on_pool_deleted:
        cleanup(ctx.db, pool["Id"])
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
            raise ServiceError("InvalidParameterException",
                               f"{plain}: Existing attribute already has name {clash}.")
        existing.add(new["Name"])
        added.append(new)
    customs = sum(1 for a in pool["SchemaAttributes"] if a["Name"] not in STANDARD_NAMES)
    if customs + len(added) > MAX_CUSTOM_ATTRIBUTES:
        raise ServiceError("LimitExceededException",
                           f"Cannot have more than {MAX_CUSTOM_ATTRIBUTES} custom attributes.")
    pool["SchemaAttributes"].extend(added)
    pool["LastModifiedDate"] = ctx.now()
    save_pool(ctx.db, pool)
    return {}
