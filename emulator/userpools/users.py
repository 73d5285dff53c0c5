"""Users of a user pool: the store, lookups by username/alias, and the Admin* user operations.

A user is a dict: `username`, `sub`, `status`, `enabled`, `attributes` (name -> string,
always with `sub`), `created`, `modified`, `password` (see passwords.py), `mfa` (see mfa.py),
`misc` (pending attribute values, links, ...), `pool_id`, `seq` (stable creation order).
Every looked-up or filtered value is also an indexed column.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import uuid

from emulator.store import dumps, loads, register_schema
from emulator.userpools import attributes as attrs_mod
from emulator.userpools import codes, delivery, mfa, passwords, pools, registry, triggers, user_filter
from protocol import ServiceError

register_schema("userpools.users", [
    """
    CREATE TABLE users (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        pool_id TEXT NOT NULL,
        username TEXT NOT NULL,
        username_lc TEXT NOT NULL,
        sub TEXT NOT NULL,
        email TEXT,
        email_lc TEXT,
        email_verified INTEGER NOT NULL DEFAULT 0,
        phone_number TEXT,
        phone_number_verified INTEGER NOT NULL DEFAULT 0,
        preferred_username TEXT,
        preferred_username_lc TEXT,
        name TEXT,
        given_name TEXT,
        family_name TEXT,
        status TEXT NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        created REAL NOT NULL,
        modified REAL NOT NULL,
        attributes TEXT NOT NULL,
        password TEXT,
        mfa TEXT,
        misc TEXT
    );
    CREATE UNIQUE INDEX users_username ON users(pool_id, username);
    CREATE INDEX users_username_lc ON users(pool_id, username_lc, seq);
    CREATE INDEX users_sub ON users(pool_id, sub);
    CREATE INDEX users_email ON users(pool_id, email, seq);
    CREATE INDEX users_email_lc ON users(pool_id, email_lc, seq);
    CREATE INDEX users_phone ON users(pool_id, phone_number, seq);
    CREATE INDEX users_preferred ON users(pool_id, preferred_username, seq);
    CREATE INDEX users_preferred_lc ON users(pool_id, preferred_username_lc, seq);
    CREATE INDEX users_name ON users(pool_id, name, seq);
    CREATE INDEX users_given_name ON users(pool_id, given_name, seq);
    CREATE INDEX users_family_name ON users(pool_id, family_name, seq);
    CREATE INDEX users_status ON users(pool_id, status, seq);
    CREATE INDEX users_enabled ON users(pool_id, enabled, seq);
    CREATE INDEX users_seq ON users(pool_id, seq);
    CREATE TABLE user_links (
        pool_id TEXT NOT NULL,
        provider_name TEXT NOT NULL,
        provider_user_id TEXT NOT NULL,
        username TEXT NOT NULL,
        attribute_name TEXT,
        created REAL NOT NULL,
        PRIMARY KEY (pool_id, provider_name, provider_user_id)
    );
    CREATE INDEX user_links_user ON user_links(pool_id, username);
    """,
])

NOT_FOUND = "User does not exist."
STATUSES = ("UNCONFIRMED", "CONFIRMED", "FORCE_CHANGE_PASSWORD", "RESET_REQUIRED", "EXTERNAL_PROVIDER",
            "ARCHIVED", "COMPROMISED", "UNKNOWN")
MAX_LIMIT = 60
MAX_LINKED_IDENTITIES = 5
_PHONE_SHAPED = re.compile(r"^\+[0-9]+$")
_EMAIL_SHAPED = re.compile(r"^[^@\s]+@[^@\s]+$")


# -- pool rules --------------------------------------------------------------------------------
def case_insensitive(pool: dict) -> bool:
    return (pool.get("UsernameConfiguration") or {}).get("CaseSensitive") is False


def username_attributes(pool: dict) -> list[str]:
    return list(pool.get("UsernameAttributes") or [])


def alias_attributes(pool: dict) -> list[str]:
    return list(pool.get("AliasAttributes") or [])


def _fold(pool: dict, value: str | None) -> str | None:
    return value.lower() if value is not None and case_insensitive(pool) else value


# -- storage -----------------------------------------------------------------------------------
def _row_user(row) -> dict:
    return {
        "seq": row["seq"], "pool_id": row["pool_id"], "username": row["username"], "sub": row["sub"],
        "status": row["status"], "enabled": bool(row["enabled"]), "created": row["created"],
        "modified": row["modified"], "attributes": loads(row["attributes"], {}),
        "password": loads(row["password"], {}), "mfa": loads(row["mfa"], {}), "misc": loads(row["misc"], {}),
        # The row as read: save_user compares it with the row it overwrites (see there).
        "_stored": {key: row[key] for key in _STORED},
    }


_STORED = ("status", "enabled", "created", "modified", "attributes", "password", "mfa", "misc")


def _stored_fields(row) -> dict:
    return {"status": row["status"], "enabled": bool(row["enabled"]), "created": row["created"],
            "modified": row["modified"], "attributes": loads(row["attributes"], {}),
            "password": loads(row["password"], {}), "mfa": loads(row["mfa"], {}), "misc": loads(row["misc"], {})}


def _columns(user: dict) -> dict:
    a = user["attributes"]
    email = a.get("email") or None
    preferred = a.get("preferred_username") or None
    return {
        "username": user["username"], "username_lc": user["username"].lower(), "sub": user["sub"],
        "email": email, "email_lc": email.lower() if email else None,
        "email_verified": 1 if a.get("email_verified", "").lower() == "true" else 0,
        "phone_number": a.get("phone_number") or None,
        "phone_number_verified": 1 if a.get("phone_number_verified", "").lower() == "true" else 0,
        "preferred_username": preferred, "preferred_username_lc": preferred.lower() if preferred else None,
        "name": a.get("name") or None, "given_name": a.get("given_name") or None,
        "family_name": a.get("family_name") or None, "status": user["status"],
        "enabled": 1 if user.get("enabled", True) else 0, "created": user["created"],
        "modified": user["modified"], "attributes": dumps(a), "password": dumps(user.get("password") or {}),
        "mfa": dumps(user.get("mfa") or {}), "misc": dumps(user.get("misc") or {}),
    }


def save_user(db, pool: dict, user: dict, *, exists_message: str = "User already exists") -> dict:
    """Insert a new user (no `seq` yet) or write back a loaded one; returns the user.

    Operations that call out (Lambda triggers, key fetches) release the store meanwhile
    (Store.suspended), so the world may have changed since they loaded or checked anything.
    Hence, in the transaction that writes:
    - a new user is checked once more for a free username (case-folded in case-insensitive
      pools) and, in email/phone-as-username pools, a free email/phone: a concurrent SignUp,
      AdminCreateUser, migration or import may have taken it (UsernameExistsException with
      `exists_message`, AWS's text for the operation);
    - a loaded user that was deleted meanwhile is not written back (UserNotFoundException), and
      what another request changed meanwhile is kept unless this operation changed the same
      field (attributes compare one by one), rather than overwritten with what was loaded.
    """
    user["pool_id"] = pool["Id"]
    user["attributes"]["sub"] = user["sub"]
    if user.get("seq") is None:
        check_username_free(db, pool, user["username"],
                            {} if user["status"] == "EXTERNAL_PROVIDER" else user["attributes"],
                            message=exists_message)
        cols = _columns(user)
        names = ["pool_id", *cols]
        cur = db.execute(f"INSERT INTO users({', '.join(names)}) VALUES({', '.join('?' for _ in names)})",
                         [pool["Id"], *cols.values()])
        user["seq"] = cur.lastrowid
    else:
        current = db.execute("SELECT * FROM users WHERE seq = ?", (user["seq"],)).fetchone()
        if current is None:
            raise ServiceError("UserNotFoundException", NOT_FOUND)
        stored = user.get("_stored")
        if stored is not None and any(current[key] != stored[key] for key in _STORED):
            _keep_concurrent_changes(user, _stored_fields(stored), _stored_fields(current))
        cols = _columns(user)
        assignments = ", ".join(f"{k} = ?" for k in cols)
        db.execute(f"UPDATE users SET {assignments} WHERE seq = ?", [*cols.values(), user["seq"]])
    user["_stored"] = {key: cols[key] for key in _STORED}
    return user


def _keep_concurrent_changes(user: dict, loaded: dict, current: dict) -> None:
    """Another request wrote this user since `user` was loaded (while the operation called out):
    take its values for every field (attribute) this operation left as loaded."""
    for field in ("status", "enabled", "created", "modified", "password", "mfa", "misc"):
        if user.get(field) == loaded[field]:
            user[field] = current[field]
    mine, before = user["attributes"], loaded["attributes"]
    merged = dict(current["attributes"])
    for name in set(mine) | set(before):
        if mine.get(name) != before.get(name):
            if name in mine:
                merged[name] = mine[name]
            else:
                merged.pop(name, None)
    mine.clear()
    mine.update(merged)


def reload_user(db, pool: dict, user: dict) -> dict:
    """Re-read a loaded user in place after the operation released the store (a call-out), so
    that what follows sees changes made meanwhile; UserNotFoundException when it was deleted."""
    row = db.execute("SELECT * FROM users WHERE seq = ? AND pool_id = ?", (user["seq"], pool["Id"])).fetchone()
    if row is None:
        raise ServiceError("UserNotFoundException", NOT_FOUND)
    user.clear()
    user.update(_row_user(row))
    return user


def new_user(pool: dict, username: str, attributes: dict[str, str], *, status: str, now: float,
             sub: str | None = None) -> dict:
    sub = sub or str(uuid.uuid4())
    attributes = {"sub": sub, **{k: v for k, v in attributes.items() if k != "sub"}}
    return {"seq": None, "pool_id": pool["Id"], "username": username, "sub": sub, "status": status,
            "enabled": True, "created": now, "modified": now, "attributes": attributes,
            "password": {}, "mfa": {}, "misc": {}}


def count_users(db, pool_id: str) -> int:
    return db.execute("SELECT COUNT(*) FROM users WHERE pool_id = ?", (pool_id,)).fetchone()[0]


def _one(db, sql: str, args: tuple) -> dict | None:
    row = db.execute(sql, args).fetchone()
    return _row_user(row) if row else None


def by_username(db, pool: dict, username: str) -> dict | None:
    """Exact (or case-folded, in case-insensitive pools) username match only."""
    if case_insensitive(pool):
        return _one(db, "SELECT * FROM users WHERE pool_id = ? AND username_lc = ? ORDER BY seq LIMIT 1",
                    (pool["Id"], username.lower()))
    return _one(db, "SELECT * FROM users WHERE pool_id = ? AND username = ?", (pool["Id"], username))


def by_sub(db, pool_id: str, sub: str) -> dict | None:
    return _one(db, "SELECT * FROM users WHERE pool_id = ? AND sub = ?", (pool_id, sub))


def _by_attribute(db, pool: dict, attribute: str, value: str, *, verified_only: bool = False,
                  exclude_seq: int | None = None) -> dict | None:
    """The first user whose email / phone_number / preferred_username (indexed columns) is `value`;
    email and preferred_username compare case-folded in case-insensitive pools."""
    column = attribute
    if attribute != "phone_number" and case_insensitive(pool):
        column, value = f"{attribute}_lc", value.lower()
    sql = f"SELECT * FROM users WHERE pool_id = ? AND {column} = ?"
    args: list = [pool["Id"], value]
    if verified_only:
        sql += f" AND {attribute}_verified = 1"
    if exclude_seq is not None:
        sql += " AND seq != ?"
        args.append(exclude_seq)
    return _one(db, sql + " ORDER BY seq LIMIT 1", tuple(args))


def find_user(db, pool: dict, name: str) -> dict | None:
    """The user `name` designates: the username, else a username attribute (email/phone as
    username), else an active alias (verified email/phone, preferred_username), else the sub."""
    if not name:
        return None
    user = by_username(db, pool, name)
    if user:
        return user
    ua, aa = username_attributes(pool), alias_attributes(pool)
    if "email" in ua and "@" in name:
        user = _by_attribute(db, pool, "email", name)
    elif "email" in aa and "@" in name:
        user = _by_attribute(db, pool, "email", name, verified_only=True)
    if user:
        return user
    if name.startswith("+"):
        if "phone_number" in ua:
            user = _by_attribute(db, pool, "phone_number", name)
        elif "phone_number" in aa:
            user = _by_attribute(db, pool, "phone_number", name, verified_only=True)
        if user:
            return user
    if "preferred_username" in aa:
        user = _by_attribute(db, pool, "preferred_username", name)
        if user:
            return user
    try:
        uuid.UUID(name)
    except ValueError:
        return None
    return by_sub(db, pool["Id"], name.lower())


def get_user(db, pool: dict, name: str) -> dict:
    """find_user, or UserNotFoundException "User does not exist."."""
    user = find_user(db, pool, name)
    if user is None:
        raise ServiceError("UserNotFoundException", NOT_FOUND)
    return user


def delete_user_row(db, pool: dict, user: dict) -> None:
    """Remove a user and everything hanging off it (codes, links, groups, devices)."""
    db.execute("DELETE FROM users WHERE seq = ?", (user["seq"],))
    codes.discard(db, pool["Id"], user["username"])
    db.execute("DELETE FROM user_links WHERE pool_id = ? AND username = ?", (pool["Id"], user["username"]))
    _cleanup_user_elsewhere(db, pool["Id"], user["username"])


def _cleanup_user_elsewhere(db, pool_id: str, username: str) -> None:
    """Remove what other modules keep about a deleted user (groups, devices, tokens, ...)."""
    from emulator.userpools import auth_events, devices, groups, tokens, webauthn_ops
    groups.remove_user_everywhere(db, pool_id, username)
    devices.delete_user_data(db, pool_id, username)
    tokens.delete_user_data(db, pool_id, username)
    webauthn_ops.delete_user_data(db, pool_id, username)
    auth_events.delete_user_events(db, pool_id, username)


def _delete_pool(db, pool_id: str) -> None:
    db.execute("DELETE FROM users WHERE pool_id = ?", (pool_id,))
    db.execute("DELETE FROM user_links WHERE pool_id = ?", (pool_id,))
    codes.delete_pool(db, pool_id)


pools.on_pool_deleted.append(_delete_pool)


# -- shapes ------------------------------------------------------------------------------------
def user_type(pool: dict, user: dict, attributes_to_get: list[str] | None = None) -> dict:
    """UserType (ListUsers, AdminCreateUser, ListUsersInGroup)."""
    out = {
        "Username": user["username"],
        "Attributes": attrs_mod.to_list(user["attributes"], attributes_to_get),
        "UserCreateDate": user["created"],
        "UserLastModifiedDate": user["modified"],
        "Enabled": bool(user["enabled"]),
        "UserStatus": user["status"],
    }
    options = mfa.user_mfa_settings(user).get("MFAOptions")
    if options:
        out["MFAOptions"] = options
    return out


def lambda_attributes(pool: dict, user: dict) -> dict[str, str]:
    """userAttributes as Lambda triggers see them (strings, with cognito:user_status and alias markers)."""
    out = dict(user["attributes"])
    out["cognito:user_status"] = user["status"]
    aliases = alias_attributes(pool)
    if "email" in aliases and attrs_mod.is_verified(out, "email"):
        out["cognito:email_alias"] = out["email"]
    if "phone_number" in aliases and attrs_mod.is_verified(out, "phone_number"):
        out["cognito:phone_number_alias"] = out["phone_number"]
    return out


def touch(user: dict, now: float) -> None:
    user["modified"] = now


# -- usernames ---------------------------------------------------------------------------------
def resolve_new_username(pool: dict, username: str, attributes: dict[str, str]) -> str:
    """The stored username for a new user: a UUID in email/phone-as-username pools (the typed
    value goes into the attribute), else the given username (checked against alias rules)."""
    ua = username_attributes(pool)
    if ua:
        is_email = bool(_EMAIL_SHAPED.match(username))
        is_phone = bool(_PHONE_SHAPED.match(username))
        if ua == ["email"] and not is_email:
            raise ServiceError("InvalidParameterException", "Username should be an email.")
        if ua == ["phone_number"] and not is_phone:
            raise ServiceError("InvalidParameterException", "Username should be a phone number.")
        if not (is_email or is_phone) or (is_email and "email" not in ua) or (is_phone and "phone_number" not in ua):
            raise ServiceError("InvalidParameterException", "Username should be either an email or a phone number.")
        if is_email:
            attributes["email"] = username
        else:
            attributes["phone_number"] = username
        return str(uuid.uuid4())
    aa = alias_attributes(pool)
    if "email" in aa and _EMAIL_SHAPED.match(username):
        raise ServiceError("InvalidParameterException",
                           "Username cannot be of email format, since user pool is configured for email alias.")
    if "phone_number" in aa and _PHONE_SHAPED.match(username):
        raise ServiceError("InvalidParameterException", "Username cannot be of phone number format, "
                           "since user pool is configured for phone_number alias.")
    return username


def check_username_free(db, pool: dict, username: str, attributes: dict[str, str], *,
                        message: str = "User already exists") -> None:
    """UsernameExistsException when the username (or, for email/phone-as-username pools, the
    email/phone) is taken."""
    if by_username(db, pool, username) is not None:
        raise ServiceError("UsernameExistsException", message)
    ua = username_attributes(pool)
    if "email" in ua and attributes.get("email") and _by_attribute(db, pool, "email", attributes["email"]):
        raise ServiceError("UsernameExistsException", "An account with the given email already exists.")
    if "phone_number" in ua and attributes.get("phone_number") and \
            _by_attribute(db, pool, "phone_number", attributes["phone_number"]):
        raise ServiceError("UsernameExistsException", "An account with the given phone_number already exists.")


def claim_aliases(db, pool: dict, user: dict, *, force: bool, only: list[str] | None = None) -> None:
    """Make the user's verified aliases unique: AliasExistsException when another user holds
    one, or (force) take it over, leaving the other user's attribute unverified."""
    aa = alias_attributes(pool)
    a = user["attributes"]
    for attribute in ("email", "phone_number"):
        if attribute not in aa or (only is not None and attribute not in only):
            continue
        if not attrs_mod.is_verified(a, attribute):
            continue
        other = _by_attribute(db, pool, attribute, a[attribute], verified_only=True, exclude_seq=user.get("seq"))
        if other is None:
            continue
        if not force:
            raise ServiceError("AliasExistsException", f"An account with the {attribute} already exists.")
        other["attributes"][f"{attribute}_verified"] = "false"
        save_user(db, pool, other)
    if "preferred_username" in aa and a.get("preferred_username") and (only is None or "preferred_username" in only):
        if _by_attribute(db, pool, "preferred_username", a["preferred_username"],
                         exclude_seq=user.get("seq")) is not None:
            raise ServiceError("AliasExistsException", "An account with the preferred_username already exists.")


def check_unique_username_attributes(db, pool: dict, user: dict) -> None:
    """In email/phone-as-username pools the values stay unique when they change."""
    ua = username_attributes(pool)
    a = user["attributes"]
    if "email" in ua and a.get("email") and _by_attribute(db, pool, "email", a["email"], exclude_seq=user.get("seq")):
        raise ServiceError("AliasExistsException", "An account with the given email already exists.")
    if "phone_number" in ua and a.get("phone_number") and _by_attribute(
            db, pool, "phone_number", a["phone_number"], exclude_seq=user.get("seq")):
        raise ServiceError("AliasExistsException", "An account with the given phone_number already exists.")


# -- helpers shared with signup.py -------------------------------------------------------------
def admin_target(db, req: dict) -> tuple[dict, dict]:
    """The pool and user an Admin* request names (UserPoolId, Username); not-found errors as AWS."""
    pool = pools.load_pool(db, req["UserPoolId"])
    return pool, get_user(db, pool, req["Username"])


def verify_contact_from_code(user: dict, attribute: str | None) -> None:
    if attribute in ("email", "phone_number") and user["attributes"].get(attribute):
        user["attributes"][f"{attribute}_verified"] = "true"


def recovery_target(pool: dict, user: dict) -> str | None:
    """Where ForgotPassword / AdminResetUserPassword sends the code: 'email', 'phone_number',
    'admin_only', or None (no verified channel)."""
    a = user["attributes"]
    setting = (pool.get("AccountRecoverySetting") or {}).get("RecoveryMechanisms")
    if setting:
        for mechanism in sorted(setting, key=lambda m: m.get("Priority", 0)):
            name = mechanism.get("Name")
            if name == "admin_only":
                return "admin_only"
            if name == "verified_email" and attrs_mod.is_verified(a, "email"):
                return "email"
            if name == "verified_phone_number" and attrs_mod.is_verified(a, "phone_number"):
                return "phone_number"
        return None
    # Without a setting: a verified phone first, then a verified email.
    if attrs_mod.is_verified(a, "phone_number"):
        return "phone_number"
    if attrs_mod.is_verified(a, "email"):
        return "email"
    return None


def no_recovery_channel() -> ServiceError:
    return ServiceError("InvalidParameterException",
                        "Cannot reset password for the user as there is no registered/verified email or "
                        "phone_number")


def run_post_confirmation(ctx, pool: dict, user: dict, source: str, client_id: str | None,
                          client_metadata: dict | None) -> None:
    triggers.run_trigger(ctx, pool, "PostConfirmation", source, username=user["username"],
                         request={"userAttributes": lambda_attributes(pool, user),
                                  "clientMetadata": client_metadata or {}},
                         client_id=client_id)


def apply_attribute_changes(ctx, pool: dict, user: dict, changes: dict[str, str], *, admin: bool,
                            client_id: str | None = None, client_metadata: dict | None = None) -> list[dict]:
    """Apply validated attribute changes; returns the CodeDeliveryDetails of codes sent.

    Changing email/phone_number unverifies it (unless the same call verifies it, admin only);
    when the attribute is auto-verified a code is sent; with
    AttributesRequireVerificationBeforeUpdate the new value waits in misc["pending_attributes"]
    until verified, and the old one stays active.
    """
    a = user["attributes"]
    sent: list[dict] = []
    require_first = set((pool.get("UserAttributeUpdateSettings") or {}).get(
        "AttributesRequireVerificationBeforeUpdate") or [])
    auto = set(delivery.auto_verified(pool))
    pending = user.setdefault("misc", {}).setdefault("pending_attributes", {})
    to_verify: list[str] = []
    for name, value in changes.items():
        if name in ("email", "phone_number") and value != a.get(name):
            flag = f"{name}_verified"
            verified_now = admin and changes.get(flag, "").lower() == "true"
            if not verified_now and name in require_first and name in auto and attrs_mod.is_verified(a, name) \
                    and value:
                pending[name] = value
                to_verify.append(name)
                continue
            pending.pop(name, None)
            if value:
                a[name] = value
            else:
                a.pop(name, None)
            if not verified_now:
                a[flag] = "false"
                if value and name in auto:
                    to_verify.append(name)
        elif value == "" and name not in attrs_mod.VERIFIED_FLAGS:
            a.pop(name, None)
        else:
            a[name] = value.lower() if name in attrs_mod.VERIFIED_FLAGS else value
    for name in ("email", "phone_number"):
        if not a.get(name):
            a.pop(f"{name}_verified", None)
    for name in to_verify:
        code = codes.issue(ctx.db, pool["Id"], user["username"], f"verify:{name}", now=ctx.now(),
                           ttl=codes.VERIFY_TTL, data={"value": pending.get(name, a.get(name))})
        target = dict(user)
        target["attributes"] = {**a, name: pending.get(name, a.get(name))}
        sent.append(delivery.send_code(ctx, pool, target, "UpdateUserAttribute", name, code,
                                       client_id=client_id, client_metadata=client_metadata))
    if not pending:
        user["misc"].pop("pending_attributes", None)
    return sent


def migrate_user(ctx, pool: dict, name: str, password: str | None, response: dict) -> dict:
    """Create the user a UserMigration function answered for (`name` as the user typed it).

    With a password (UserMigration_Authentication) the user is CONFIRMED unless the function
    says RESET_REQUIRED; without one (UserMigration_ForgotPassword) it is RESET_REQUIRED.
    """
    db, now = ctx.db, ctx.now()
    # The function ran with the store released: a concurrent sign-in (or ForgotPassword) of the
    # same user may have migrated it meanwhile. Carry on with that user instead of failing.
    existing = find_user(db, pool, name)
    if existing is not None:
        return existing
    _check_migration_response(response)
    given = {k: (str(v).lower() if isinstance(v, bool) else str(v))
             for k, v in (response.get("userAttributes") or {}).items()
             if k not in ("sub", "username", "cognito:user_status") and v is not None}
    attrs_mod.validate_values(pool, given, creating=True, admin=True)
    attrs_mod.normalise_flags(given)
    username = resolve_new_username(pool, name, given) if username_attributes(pool) else name
    check_username_free(db, pool, username, given)
    final = response.get("finalUserStatus")
    if password is None:
        status = "CONFIRMED" if final == "CONFIRMED" else "RESET_REQUIRED"
    else:
        status = "RESET_REQUIRED" if final == "RESET_REQUIRED" else "CONFIRMED"
    user = new_user(pool, username, given, status=status, now=now,
                    sub=username if username_attributes(pool) else None)
    claim_aliases(db, pool, user, force=bool(response.get("forceAliasCreation")))
    if password is not None:
        passwords.set_password(db, pool, user, password, temporary=False, now=now, check_history=False)
    if response.get("enableSMSMFA") and user["attributes"].get("phone_number"):
        mfa.set_mfa_options(user, [{"DeliveryMedium": "SMS", "AttributeName": "phone_number"}])
    save_user(db, pool, user)
    if response.get("messageAction") != "SUPPRESS":
        mediums = list(response.get("desiredDeliveryMediums") or ["SMS"])
        reachable = [m for m in mediums if user["attributes"].get("email" if m == "EMAIL" else "phone_number")]
        if reachable:
            # The welcome message uses the invitation template; {####} is the password the user signed
            # in with (nothing is known in the forgot-password flow).
            delivery.send_invitation(ctx, pool, user, password or "", reachable, kind="UserMigration")
    return user


def _check_migration_response(response: dict) -> None:
    """InvalidLambdaResponseException for a UserMigration answer AWS would not accept."""
    attributes = response.get("userAttributes")
    mediums = response.get("desiredDeliveryMediums")
    if not isinstance(attributes, dict) \
            or response.get("finalUserStatus") not in (None, "CONFIRMED", "RESET_REQUIRED") \
            or response.get("messageAction") not in (None, "SUPPRESS", "RESEND") \
            or not (mediums is None or (isinstance(mediums, list) and set(mediums) <= {"EMAIL", "SMS"})):
        raise triggers.invalid_response()


# -- Admin operations --------------------------------------------------------------------------
@registry.handler
def admin_create_user(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    action = req.get("MessageAction")
    given = attrs_mod.to_dict(req.get("UserAttributes"))
    if action == "RESEND":
        return _resend_invitation(ctx, pool, req)
    attrs_mod.validate_values(pool, given, creating=True, admin=True)
    username = resolve_new_username(pool, req["Username"], given)
    attrs_mod.normalise_flags(given)
    check_username_free(db, pool, username, given, message="User account already exists")
    temporary = req.get("TemporaryPassword")
    if temporary is not None:
        passwords.check_policy(pool, temporary, prefix=passwords.ADMIN_PREFIX)
    # The trigger may reject; its autoConfirm/autoVerify answers do not apply to AdminCreateUser.
    triggers.run_trigger(
        ctx, pool, "PreSignUp", "PreSignUp_AdminCreateUser", username=username,
        request={"userAttributes": dict(given),
                 "validationData": attrs_mod.to_dict(req.get("ValidationData")) or None,
                 "clientMetadata": req.get("ClientMetadata") or {}},
        response={"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False})
    user = new_user(pool, username, given, status="FORCE_CHANGE_PASSWORD", now=now,
                    sub=username if username_attributes(pool) else None)
    # Unlike SignUp, AdminCreateUser stores only the attributes given: no implicit *_verified=false.
    temporary = temporary or passwords.generate_temporary(pool)
    passwords.set_password(db, pool, user, temporary, temporary=True, now=now)
    # save_user checks the username again (PreSignUp ran with the store released), before the
    # aliases, as when the username was taken before the call; an alias error undoes the insert.
    save_user(db, pool, user, exists_message="User account already exists")
    claim_aliases(db, pool, user, force=bool(req.get("ForceAliasCreation")))
    if action != "SUPPRESS":
        _invite(ctx, pool, user, temporary, req)
    return {"User": user_type(pool, user)}


def _invite(ctx, pool: dict, user: dict, temporary: str, req: dict) -> None:
    mediums = list(req.get("DesiredDeliveryMediums") or ["SMS"])
    a = user["attributes"]
    usable = [m for m in mediums if a.get("email" if m == "EMAIL" else "phone_number")]
    if not usable:
        # Nothing reachable by the requested medium: fall back to whatever contact exists.
        usable = [m for m, k in (("EMAIL", "email"), ("SMS", "phone_number")) if a.get(k)][:1]
    if usable:
        delivery.send_invitation(ctx, pool, user, temporary, usable, req.get("ClientMetadata"))


def _resend_invitation(ctx, pool: dict, req: dict) -> dict:
    db, now = ctx.db, ctx.now()
    user = get_user(db, pool, req["Username"])
    if user["status"] != "FORCE_CHANGE_PASSWORD":
        raise ServiceError("UnsupportedUserStateException",
                           f"Resend not possible. {user['username']} status is not FORCE_CHANGE_PASSWORD.")
    temporary = req.get("TemporaryPassword")
    if temporary is not None:
        passwords.check_policy(pool, temporary, prefix=passwords.ADMIN_PREFIX)
    temporary = temporary or passwords.generate_temporary(pool)
    passwords.set_password(db, pool, user, temporary, temporary=True, now=now)
    touch(user, now)
    save_user(db, pool, user)
    _invite(ctx, pool, user, temporary, req)
    return {"User": user_type(pool, user)}


@registry.handler
def admin_get_user(ctx, req):
    pool, user = admin_target(ctx.db, req)
    out = {
        "Username": user["username"],
        "UserAttributes": attrs_mod.to_list(user["attributes"]),
        "UserCreateDate": user["created"],
        "UserLastModifiedDate": user["modified"],
        "Enabled": bool(user["enabled"]),
        "UserStatus": user["status"],
    }
    out.update(mfa.user_mfa_settings(user))
    return out


@registry.handler
def admin_delete_user(ctx, req):
    pool, user = admin_target(ctx.db, req)
    delete_user_row(ctx.db, pool, user)
    return {}


@registry.handler
def admin_update_user_attributes(ctx, req):
    db, now = ctx.db, ctx.now()
    pool, user = admin_target(db, req)
    changes = attrs_mod.update_changes(req["UserAttributes"])
    attrs_mod.validate_values(pool, changes, creating=False, admin=True)
    required = set(attrs_mod.required_names(pool))
    emptied = [n for n, v in changes.items() if v == "" and n in required]
    if emptied:
        raise attrs_mod.required_deleted(emptied[0])
    apply_attribute_changes(ctx, pool, user, changes, admin=True, client_metadata=req.get("ClientMetadata"))
    check_unique_username_attributes(db, pool, user)
    changed_aliases = [n for n in ("email", "phone_number", "preferred_username")
                       if n in changes or f"{n}_verified" in changes]
    claim_aliases(db, pool, user, force=False, only=changed_aliases)
    for name in username_attributes(pool):
        if name in changes and not user["attributes"].get(name):
            raise attrs_mod.required_deleted(name)
    touch(user, now)
    save_user(db, pool, user)
    return {}


@registry.handler
def admin_delete_user_attributes(ctx, req):
    db, now = ctx.db, ctx.now()
    pool, user = admin_target(db, req)
    names = list(req["UserAttributeNames"])
    attrs_mod.check_deletable(pool, names, set(attrs_mod.required_names(pool)) | set(username_attributes(pool)))
    a = user["attributes"]
    for name in names:
        a.pop(name, None)
        if name in ("email", "phone_number"):
            a.pop(f"{name}_verified", None)
            user.get("misc", {}).get("pending_attributes", {}).pop(name, None)
    touch(user, now)
    save_user(db, pool, user)
    return {}


def _set_enabled(ctx, req: dict, enabled: bool) -> dict:
    pool, user = admin_target(ctx.db, req)
    user["enabled"] = enabled
    touch(user, ctx.now())
    save_user(ctx.db, pool, user)
    return {}


@registry.handler
def admin_disable_user(ctx, req):
    return _set_enabled(ctx, req, False)


@registry.handler
def admin_enable_user(ctx, req):
    return _set_enabled(ctx, req, True)


@registry.handler
def admin_set_user_password(ctx, req):
    db, now = ctx.db, ctx.now()
    pool, user = admin_target(db, req)
    password = req["Password"]
    passwords.check_policy(pool, password, user, prefix=passwords.ADMIN_PREFIX)
    permanent = bool(req.get("Permanent"))
    passwords.set_password(db, pool, user, password, temporary=not permanent, now=now)
    if user["status"] != "EXTERNAL_PROVIDER":
        user["status"] = "CONFIRMED" if permanent else "FORCE_CHANGE_PASSWORD"
    codes.discard(db, pool["Id"], user["username"], "forgot_password")
    touch(user, now)
    save_user(db, pool, user)
    return {}


@registry.handler
def admin_reset_user_password(ctx, req):
    db, now = ctx.db, ctx.now()
    pool, user = admin_target(db, req)
    if not user["enabled"]:
        raise ServiceError("NotAuthorizedException", "User is disabled.")
    if user["status"] in ("UNCONFIRMED", "FORCE_CHANGE_PASSWORD", "EXTERNAL_PROVIDER"):
        # Only a user with a password of their own can be sent through a reset.
        raise ServiceError("NotAuthorizedException", "User password cannot be reset in the current state.")
    target = recovery_target(pool, user)
    if target in ("email", "phone_number"):
        code = codes.issue(db, pool["Id"], user["username"], "forgot_password", now=now,
                           ttl=codes.FORGOT_PASSWORD_TTL, data={"attribute": target})
        delivery.send_code(ctx, pool, user, "ForgotPassword", target, code,
                           client_metadata=req.get("ClientMetadata"))
    elif target is None and not (delivery.auto_verified(pool)):
        raise no_recovery_channel()
    user["status"] = "RESET_REQUIRED"
    touch(user, now)
    save_user(db, pool, user)
    return {}


@registry.handler
def admin_confirm_sign_up(ctx, req):
    db, now = ctx.db, ctx.now()
    pool, user = admin_target(db, req)
    if user["status"] != "UNCONFIRMED":
        raise ServiceError("NotAuthorizedException", f"User cannot be confirmed. Current status is {user['status']}")
    user["status"] = "CONFIRMED"
    codes.discard(db, pool["Id"], user["username"], "signup")
    touch(user, now)
    save_user(db, pool, user)
    run_post_confirmation(ctx, pool, user, "PostConfirmation_ConfirmSignUp", None, req.get("ClientMetadata"))
    return {}


@registry.handler
def admin_set_user_settings(ctx, req):
    pool, user = admin_target(ctx.db, req)
    options = list(req["MFAOptions"])
    for option in options:
        if option.get("DeliveryMedium") == "SMS" and not user["attributes"].get("phone_number"):
            raise ServiceError("InvalidParameterException",
                               "User does not have a phone number to deliver SMS MFA codes.")
    mfa.set_mfa_options(user, options)
    touch(user, ctx.now())
    save_user(ctx.db, pool, user)
    return {}


# -- linking federated identities ------------------------------------------------------------
def linked_username(db, pool_id: str, provider_name: str, provider_user_id: str) -> str | None:
    """The local user an external identity is linked to (AdminLinkProviderForUser), or None."""
    row = db.execute("SELECT username FROM user_links WHERE pool_id = ? AND provider_name = ? AND "
                     "provider_user_id = ?", (pool_id, provider_name, provider_user_id)).fetchone()
    return row["username"] if row else None


def _provider_type(db, pool_id: str, provider_name: str) -> str | None:
    from emulator.userpools import identity_providers
    try:
        provider = identity_providers.load_provider(db, pool_id, provider_name)
    except ServiceError:
        return None
    return provider.get("ProviderType") or provider_name


def _identities(user: dict) -> list[dict]:
    try:
        value = json.loads(user["attributes"].get("identities") or "[]")
    except ValueError:
        value = []
    return value if isinstance(value, list) else []


@registry.handler
def admin_link_provider_for_user(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    dest, source = req["DestinationUser"], req["SourceUser"]
    if dest.get("ProviderName") != "Cognito" or not dest.get("ProviderAttributeValue"):
        raise ServiceError("InvalidParameterException",
                           "DestinationUser must be a native Cognito user (ProviderName Cognito).")
    if not source.get("ProviderName") or source.get("ProviderName") == "Cognito" or \
            not source.get("ProviderAttributeValue"):
        raise ServiceError("InvalidParameterException", "SourceUser must name an external identity provider.")
    provider_type = _provider_type(db, pool["Id"], source["ProviderName"])
    if provider_type is None:
        raise ServiceError("InvalidParameterException",
                           f"Identity provider {source['ProviderName']} does not exist for the user pool.")
    user = get_user(db, pool, dest["ProviderAttributeValue"])
    provider, external_id = source["ProviderName"], source["ProviderAttributeValue"]
    current = linked_username(db, pool["Id"], provider, external_id)
    if current is not None:
        if current == user["username"]:
            return {}
        raise ServiceError("AliasExistsException", "An account with the given identity is already linked "
                           "to another user.")
    federated = by_username(db, pool, f"{provider}_{external_id}")
    if federated is not None and federated["status"] == "EXTERNAL_PROVIDER":
        raise ServiceError("AliasExistsException", f"User {federated['username']} already exists and is "
                           "linked to a federated identity; delete it before linking.")
    identities = _identities(user)
    if len(identities) >= MAX_LINKED_IDENTITIES:
        raise ServiceError("LimitExceededException", "Exceeded the limit of linked identities for the user.")
    db.execute("INSERT INTO user_links(pool_id, provider_name, provider_user_id, username, attribute_name, "
               "created) VALUES(?,?,?,?,?,?)", (pool["Id"], provider, external_id, user["username"],
                                                source.get("ProviderAttributeName"), now))
    identities.append({"userId": external_id, "providerName": provider, "providerType": provider_type,
                       "issuer": None, "primary": "false", "dateCreated": str(int(now * 1000))})
    user["attributes"]["identities"] = json.dumps(identities, separators=(",", ":"))
    touch(user, now)
    save_user(db, pool, user)
    return {}


@registry.handler
def admin_disable_provider_for_user(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    target = req["User"]
    provider, external_id = target.get("ProviderName"), target.get("ProviderAttributeValue")
    if not provider or provider == "Cognito" or not external_id:
        raise ServiceError("InvalidParameterException", "User must name an external identity provider user.")
    username = linked_username(db, pool["Id"], provider, external_id)
    if username is not None:
        db.execute("DELETE FROM user_links WHERE pool_id = ? AND provider_name = ? AND provider_user_id = ?",
                   (pool["Id"], provider, external_id))
        user = by_username(db, pool, username)
        if user is not None:
            identities = [i for i in _identities(user)
                          if not (i.get("providerName") == provider and i.get("userId") == external_id)]
            if identities:
                user["attributes"]["identities"] = json.dumps(identities, separators=(",", ":"))
            else:
                user["attributes"].pop("identities", None)
            touch(user, now)
            save_user(db, pool, user)
    federated = by_username(db, pool, f"{provider}_{external_id}")
    if federated is not None and federated["status"] == "EXTERNAL_PROVIDER":
        federated["enabled"] = False
        touch(federated, now)
        save_user(db, pool, federated)
    elif username is None:
        raise ServiceError("UserNotFoundException", NOT_FOUND)
    return {}


# -- ListUsers ---------------------------------------------------------------------------------
# Pages are walked with a keyset cursor over an index, so every page costs the same whatever the
# pool's size: `seq` (creation order) for no filter and for exact matches (index (pool, column,
# seq)); (column, seq) for prefix matches (index range, then seq within equal values).

def _page_scope(pool_id: str, filter_text: str | None) -> str:
    """What a pagination token is valid for: the pool and the filter it was issued with."""
    return hashlib.sha256(f"{pool_id}\n{filter_text or ''}".encode()).hexdigest()[:16]


def _encode_page(cursor: dict, scope: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({**cursor, "scope": scope}).encode()).decode().rstrip("=")


def _decode_page(ctx, token: str, scope: str) -> dict:
    """The cursor a token continues after ({"after": seq[, "key": value]}); AWS's error for a
    token that is not one of ours or was issued for another pool or filter."""
    try:
        value = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(value.get("after"), int) or value.get("scope") != scope or \
                not isinstance(value.get("key", ""), str):
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError, binascii.Error):
        raise ServiceError("InvalidParameterException",
                           f"Paging marker {token} is invalid for request {ctx.request_id}") from None


def _filter_sql(pool: dict, condition: user_filter.Condition,
                start: str | None = None) -> tuple[str, list, str | None]:
    """(SQL condition over indexed columns, its arguments, the column a prefix match ranges over).

    `start` (a page cursor's value) replaces a prefix range's lower bound, so the index seek
    starts at the cursor and deep pages cost no more than the first."""
    attribute, value = condition.attribute, condition.value
    if attribute == "status":
        wanted = [v for v in ("Enabled", "Disabled")
                  if (v.startswith(value) if condition.prefix else v == value)]
        if not wanted:
            return "0 = 1", [], None
        return (f"enabled IN ({', '.join('?' for _ in wanted)})", [1 if w == "Enabled" else 0 for w in wanted],
                None)
    if attribute == "cognito:user_status":
        column, value = "status", value.upper()
    elif attribute == "username":
        column = "username_lc" if case_insensitive(pool) else "username"
        value = value.lower() if case_insensitive(pool) else value
    elif attribute in ("email", "preferred_username") and case_insensitive(pool):
        column, value = f"{attribute}_lc", value.lower()
    else:
        column = attribute
    if not condition.prefix:
        return f"{column} = ?", [value], None
    lower = value if start is None else max(value, start)
    upper = user_filter.prefix_upper_bound(value)
    if upper is None:
        return f"{column} >= ?", [lower], column
    return f"{column} >= ? AND {column} < ?", [lower, upper], column


@registry.handler
def list_users(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    condition = user_filter.parse(req.get("Filter"))
    limit = req.get("Limit") or MAX_LIMIT
    scope = _page_scope(pool["Id"], req.get("Filter"))
    cursor = _decode_page(ctx, req["PaginationToken"], scope) if req.get("PaginationToken") else None
    names = req.get("AttributesToGet")
    if names is not None:
        defs = attrs_mod.schema(pool)
        for name in names:
            if name not in defs and name not in attrs_mod.SYSTEM:
                raise ServiceError("InvalidParameterException", "One or more requested attributes do not exist.")
    where, args = "pool_id = ?", [pool["Id"]]
    keyed = None
    if condition is not None:
        extra, extra_args, keyed = _filter_sql(pool, condition, cursor.get("key") if cursor else None)
        where += " AND " + extra
        args += extra_args
    if keyed is None:
        if cursor is not None:
            where += " AND seq > ?"
            args.append(cursor["after"])
        order = "seq"
    else:
        if cursor is not None:
            if "key" not in cursor:
                raise ServiceError("InvalidParameterException", f"Paging marker {req['PaginationToken']} is "
                                   f"invalid for request {ctx.request_id}")
            where += f" AND ({keyed} > ? OR seq > ?)"
            args += [cursor["key"], cursor["after"]]
        order = f"{keyed}, seq"
    rows = db.execute(f"SELECT * FROM users WHERE {where} ORDER BY {order} LIMIT ?", [*args, limit + 1]).fetchall()
    page = rows[:limit]
    users = [_row_user(r) for r in page]
    out: dict = {"Users": [user_type(pool, u, names) for u in users]}
    if len(rows) > limit:
        last = {"after": page[-1]["seq"]}
        if keyed is not None:
            last["key"] = page[-1][keyed]
        out["PaginationToken"] = _encode_page(last, scope)
    return out
