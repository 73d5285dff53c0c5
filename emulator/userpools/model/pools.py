"""User pools: create, describe, update, delete, list, custom attributes.

A pool is stored as the UserPoolType dict DescribeUserPool answers (every AWS default
filled in), next to indexed columns for lookups. Other modules read it with
`load_pool`; tables that hold rows of a pool say so in `register_schema(owned=...)`.
"""

from __future__ import annotations

import secrets
import sqlite3
import string

from emulator.store import dumps, loads, register_schema
from emulator.userpools import errors
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

MAX_POOLS = 1000
MAX_CUSTOM_ATTRIBUTES = 50
MAX_TAGS = 50  # UserPoolTags
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


# -- storage ----------------------------------------------------------------------------------
def not_found(pool_id: str) -> ServiceError:
    return errors.ResourceNotFoundException(f"User pool {pool_id} does not exist.")


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


# -- settings ---------------------------------------------------------------------------------


def allowed_first_factors(pool: dict) -> list[str]:
    """The pool's SignInPolicy: the factors a USER_AUTH sign-in may start with."""
    policy = ((pool.get("Policies") or {}).get("SignInPolicy") or {})
    return list(policy.get("AllowedFirstAuthFactors") or ["PASSWORD"])


def custom_attribute(attr: dict) -> dict:
    """A custom SchemaAttributeType as the pool stores it (name prefixed `custom:`)."""
    name = attr.get("Name") or ""
    if name.startswith("custom:"):
        name = name[len("custom:"):]
    if not name:
        raise errors.InvalidParameterException("Attribute name is required.")
    data_type = attr.get("AttributeDataType")
    if not data_type:
        raise errors.InvalidParameterException("Invalid AttributeDataType input, consider using the provided AttributeDataType enum.")
    if attr.get("Required"):
        raise errors.InvalidParameterException("Required custom attributes are not supported currently.")
    developer_only = bool(attr.get("DeveloperOnlyAttribute", False))
    out = {"Name": ("dev:custom:" if developer_only else "custom:") + name,
           "AttributeDataType": data_type, "DeveloperOnlyAttribute": developer_only,
           "Mutable": bool(attr.get("Mutable", True)), "Required": False}
    # Only the constraints of the attribute's own type are kept; the others are ignored.
    if data_type == "String":
        constraints = {k: v for k, v in (attr.get("StringAttributeConstraints") or {}).items() if v is not None}
        check_range(constraints, "StringAttributeConstraints", "MinLength", "MaxLength", "custom:" + name)
        out["StringAttributeConstraints"] = constraints
    elif data_type == "Number" and attr.get("NumberAttributeConstraints"):
        constraints = {k: v for k, v in attr["NumberAttributeConstraints"].items() if v is not None}
        check_range(constraints, "NumberAttributeConstraints", "MinValue", "MaxValue", "custom:" + name)
        out["NumberAttributeConstraints"] = constraints
    return out


def check_range(constraints: dict, kind: str, lo_key: str, hi_key: str, name: str) -> None:
    values = {}
    for key in (lo_key, hi_key):
        if constraints.get(key) is None:
            continue
        try:
            values[key] = int(constraints[key])
        except ValueError:
            values[key] = -1
        if values[key] < 0:
            raise errors.InvalidParameterException(f"Invalid {kind} for schema attribute {name}")
        if kind == "StringAttributeConstraints" and values[key] > 2048:
            raise errors.InvalidParameterException(f"user.{name}: String attributes cannot have a length of more than 2048")
    if lo_key in values and hi_key in values and values[lo_key] > values[hi_key]:
        what = "length" if kind == "StringAttributeConstraints" else "value"
        raise errors.InvalidParameterException(f"user.{name}: Max {what} cannot be less than min {what}.")


def pool_arn(region: str, account_id: str, pool_id: str) -> str:
    return f"arn:aws:cognito-idp:{region}:{account_id}:userpool/{pool_id}"


def new_pool_id(region: str) -> str:
    return f"{region}_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(9))


# -- operations -------------------------------------------------------------------------------


