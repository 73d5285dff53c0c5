"""User attributes against the pool's schema: names, types, constraints, mutability,
required attributes, client read/write permissions, verified flags.

Attribute values are strings everywhere (the wire, the store, Lambda events). A user's
attributes are a dict name -> value that always contains `sub`.
"""

from __future__ import annotations

import re

from emulator.userpools import errors
from protocol import ServiceError

STANDARD = ("address", "birthdate", "email", "family_name", "gender", "given_name", "locale",
            "middle_name", "name", "nickname", "phone_number", "picture", "preferred_username",
            "profile", "updated_at", "website", "zoneinfo")
VERIFIED_FLAGS = {"email_verified": "email", "phone_number_verified": "phone_number"}
SYSTEM = ("sub", "email_verified", "phone_number_verified", "identities")
# Attributes whose verification is tracked (alias / auto-verification candidates).
CONTACTS = ("email", "phone_number")

PHONE_RE = re.compile(r"^\+[0-9]{4,19}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+$")
# AWS's wording differs by operation (sources in docs/fidelity.md). Creating a user (SignUp,
# AdminCreateUser) reports every problem behind one prefix; updating one reports each problem as
# `user.<name>: ...`; deleting adds an "Invalid user attributes: " prefix. Every problem line ends
# with a newline, the last one included.
SCHEMA_ERROR = "Attributes did not conform to the schema: "
INVALID_ATTRIBUTES = "Invalid user attributes: "
NOT_IN_SCHEMA = "Attribute does not exist in the schema."
IMMUTABLE = "Attribute cannot be updated."
NON_MUTABLE = "Cannot modify the non-mutable attribute {name}"
NULL_VALUE = "Attribute value for {name} must not be null"
REQUIRED_DELETED = "Invalid user attributes: {name}: Required attribute cannot be deleted."

# Names AWS uses inside schema error messages.
_ERROR_NAMES = {"name": "name.formatted"}


def _fallback_schema() -> list[dict]:
    out = [{"Name": "sub", "AttributeDataType": "String", "Mutable": False, "Required": True,
            "DeveloperOnlyAttribute": False, "StringAttributeConstraints": {"MinLength": "1", "MaxLength": "2048"}}]
    for name in STANDARD:
        data_type = "Number" if name == "updated_at" else "String"
        out.append({"Name": name, "AttributeDataType": data_type, "Mutable": True, "Required": False,
                    "DeveloperOnlyAttribute": False})
    for name in ("email_verified", "phone_number_verified"):
        out.append({"Name": name, "AttributeDataType": "Boolean", "Mutable": True, "Required": False,
                    "DeveloperOnlyAttribute": False})
    out.append({"Name": "identities", "AttributeDataType": "String", "Mutable": True, "Required": False,
                "DeveloperOnlyAttribute": False})
    return out


def schema(pool: dict) -> dict[str, dict]:
    """name -> SchemaAttributeType of the pool (custom ones keyed `custom:x`, developer-only `dev:custom:x`)."""
    attrs = pool.get("SchemaAttributes") or _fallback_schema()
    out: dict[str, dict] = {}
    for attr in attrs:
        name = attr["Name"]
        if attr.get("DeveloperOnlyAttribute") and not name.startswith("dev:"):
            name = "dev:" + (name if name.startswith("custom:") else "custom:" + name)
        elif not name.startswith(("custom:", "dev:")) and name not in STANDARD and name not in SYSTEM:
            name = "custom:" + name
        out[name] = attr
    for flag in VERIFIED_FLAGS:
        out.setdefault(flag, {"Name": flag, "AttributeDataType": "Boolean", "Mutable": True})
    return out


def custom_names(pool: dict) -> list[str]:
    return [n for n in schema(pool) if n.startswith("custom:")]


def required_names(pool: dict) -> list[str]:
    return [n for n, a in schema(pool).items() if a.get("Required") and n != "sub"]


def error_name(name: str) -> str:
    return _ERROR_NAMES.get(name, name)


def _lines(problems: list[str], prefix: str = "") -> str:
    return "".join(f"{prefix}{p}\n" for p in problems)


def schema_error(problems: list[str]) -> ServiceError:
    """Attribute problems when a user is created (SignUp, AdminCreateUser): `name: problem` each."""
    return errors.InvalidParameterException(SCHEMA_ERROR + _lines(problems))


def update_error(problems: list[str]) -> ServiceError:
    """Attribute problems when a user is updated: `user.name: problem` each, no prefix."""
    return errors.InvalidParameterException(_lines(problems, "user."))


def non_mutable(name: str) -> ServiceError:
    return errors.InvalidParameterException(NON_MUTABLE.format(name=name))


def required_deleted(name: str) -> ServiceError:
    """A required attribute (or a username attribute) emptied or deleted after creation."""
    return errors.InvalidParameterException(REQUIRED_DELETED.format(name=name))


def update_changes(attribute_list: list[dict] | None) -> dict[str, str]:
    """The [{Name, Value}] of (Admin)UpdateUserAttributes as {name: value}, after the checks AWS
    makes before the schema: `sub` can never be written, and every attribute needs a value."""
    attribute_list = list(attribute_list or [])
    if any(a.get("Name") == "sub" for a in attribute_list):
        raise non_mutable("sub")
    for a in attribute_list:
        if a.get("Value") is None:
            raise errors.InvalidParameterException(NULL_VALUE.format(name=a["Name"]))
    return to_dict(attribute_list)


def check_deletable(pool: dict, names: list[str], required: set[str]) -> None:
    """(Admin)DeleteUserAttributes: `sub`, unknown, immutable and required attributes stay."""
    if "sub" in names:
        raise non_mutable("sub")
    defs = schema(pool)
    problems = []
    for name in names:
        if name not in defs:
            problems.append(f"user.{name}: {NOT_IN_SCHEMA}")
        elif defs[name].get("Mutable") is False:
            problems.append(f"user.{name}: {IMMUTABLE}")
    if problems:
        raise errors.InvalidParameterException(INVALID_ATTRIBUTES + _lines(problems))
    for name in names:
        if name in required:
            raise required_deleted(name)


def to_dict(attribute_list: list[dict] | None) -> dict[str, str]:
    """[{Name, Value}] -> {name: value} (last one wins)."""
    return {a["Name"]: a.get("Value", "") or "" for a in (attribute_list or [])}


def to_list(attrs: dict[str, str], names: list[str] | None = None) -> list[dict]:
    """{name: value} -> [{Name, Value}] with `sub` first, restricted to `names` when given."""
    keys = [k for k in attrs if names is None or k in names]
    keys.sort(key=lambda k: 0 if k == "sub" else 1)
    return [{"Name": k, "Value": attrs[k]} for k in keys]


def validate_values(pool: dict, attrs: dict[str, str], *, creating: bool, admin: bool) -> None:
    """Check names, types, constraints and mutability of attributes being written."""
    if "sub" in attrs:
        raise non_mutable("sub")
    defs = schema(pool)
    problems: list[str] = []
    for name, value in attrs.items():
        if name.startswith("dev:") and not admin:
            continue  # reported by the permission check
        attr = defs.get(name)
        if attr is None:
            problems.append(f"{name}: {NOT_IN_SCHEMA}")
            continue
        if not creating and attr.get("Mutable") is False:
            # Immutable attributes are written only when the user is created, set or not.
            problems.append(f"{name}: {IMMUTABLE}")
            continue
        problem = _value_problem(name, attr, value)
        if problem:
            problems.append(problem)
    if problems:
        raise schema_error(problems) if creating else update_error(problems)
    if attrs.get("email"):
        if not EMAIL_RE.match(attrs["email"]):
            raise errors.InvalidParameterException("Invalid email address format.")
    if attrs.get("phone_number"):
        if not PHONE_RE.match(attrs["phone_number"]):
            raise errors.InvalidParameterException("Invalid phone number format.")
    for flag in VERIFIED_FLAGS:
        if flag in attrs and attrs[flag].lower() not in ("true", "false"):
            raise errors.InvalidParameterException(f"Invalid value for attribute {flag}; expected true or false.")


def _value_problem(name: str, attr: dict, value: str) -> str | None:
    data_type = attr.get("AttributeDataType", "String")
    if data_type == "Number":
        if value == "":
            return None
        try:
            number = float(value)
        except ValueError:
            return f"{name}: Number must be a valid number"
        limits = attr.get("NumberAttributeConstraints") or {}
        if limits.get("MinValue") not in (None, "") and number < float(limits["MinValue"]):
            return f"{name}: Number must be greater than or equal to {limits['MinValue']}"
        if limits.get("MaxValue") not in (None, "") and number > float(limits["MaxValue"]):
            return f"{name}: Number must be less than or equal to {limits['MaxValue']}"
        return None
    if data_type == "Boolean":
        return None
    limits = attr.get("StringAttributeConstraints") or {}
    max_len = int(limits.get("MaxLength") or 2048)
    min_len = int(limits.get("MinLength") or 0)
    if len(value) > max_len:
        return f"{name}: String must be no longer than {max_len} characters"
    if value and len(value) < min_len:
        return f"{name}: String must be no shorter than {min_len} characters"
    return None


def check_required(pool: dict, attrs: dict[str, str]) -> None:
    """Required attributes must have a non-empty value (SignUp, attribute deletion)."""
    missing = [f"{error_name(n)}: The attribute is required" for n in required_names(pool) if not attrs.get(n)]
    if missing:
        raise schema_error(missing)


def _client_list(client: dict | None, key: str) -> list[str] | None:
    if client is None:
        return None
    value = client.get(key)
    return list(value) if value else None


def check_client_write(client: dict | None, names: list[str]) -> None:
    """A client may only write its WriteAttributes (all but verified flags by default)."""
    allowed = _client_list(client, "WriteAttributes")
    for name in names:
        if name.startswith("dev:"):
            bad = True
        elif allowed is None:
            bad = name in VERIFIED_FLAGS
        else:
            bad = name not in allowed
        if bad:
            raise errors.NotAuthorizedException("A client attempted to write unauthorized attribute")


def readable(client: dict | None, attrs: dict[str, str]) -> dict[str, str]:
    """The attributes a client may read (its ReadAttributes; sub always; never dev:)."""
    allowed = _client_list(client, "ReadAttributes")
    return {k: v for k, v in attrs.items()
            if not k.startswith("dev:") and (allowed is None or k == "sub" or k in allowed)}


def is_verified(attrs: dict[str, str], contact: str) -> bool:
    return attrs.get(f"{contact}_verified", "false").lower() == "true" and bool(attrs.get(contact))


def normalise_flags(attrs: dict[str, str]) -> None:
    """Verified flags are stored lower-case."""
    for flag in VERIFIED_FLAGS:
        if flag in attrs:
            attrs[flag] = attrs[flag].lower()
