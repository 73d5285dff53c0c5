"""Users of a user pool: the store, lookups by username/alias, username and alias rules.

A user is a dict: `username`, `sub`, `status`, `enabled`, `attributes` (name -> string,
always with `sub`), `created`, `modified`, `password` (see passwords.py), `mfa` (see mfa.py),
`misc` (pending attribute values, links, ...), `pool_id`, `seq` (stable creation order).
Every looked-up or filtered value is also an indexed column.
"""

from __future__ import annotations

import re
import uuid

from emulator.store import delete_owned, dumps, loads, register_schema
from emulator.userpools import errors
from emulator.userpools.model import attributes as attrs_mod
from emulator.userpools.model import pools
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
    # Attributes most users lack, indexed only where set: a new user dirties fewer pages, and every
    # filter on them (=, >=, <) implies IS NOT NULL, so it still uses them.
    "".join(f"DROP INDEX {index}; CREATE INDEX {index} ON users(pool_id, {column}, seq) WHERE {column} IS NOT NULL;"
            for index, column in (("users_email", "email"), ("users_email_lc", "email_lc"),
                                  ("users_phone", "phone_number"), ("users_preferred", "preferred_username"),
                                  ("users_preferred_lc", "preferred_username_lc"), ("users_name", "name"),
                                  ("users_given_name", "given_name"), ("users_family_name", "family_name"))),
], owned={"user_pool": ("users", "user_links"), "user": ("user_links",)})

NOT_FOUND = "User does not exist."
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
def row_user(row) -> dict:
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
        user["seq"] = db.execute(
            f"INSERT INTO users({', '.join(names)}) VALUES({', '.join('?' for _ in names)}) RETURNING seq",
            [pool["Id"], *cols.values()]).fetchone()[0]
    else:
        current = db.execute("SELECT * FROM users WHERE seq = ?", (user["seq"],)).fetchone()
        if current is None:
            raise errors.UserNotFoundException(NOT_FOUND)
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
        raise errors.UserNotFoundException(NOT_FOUND)
    user.clear()
    user.update(row_user(row))
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
    return row_user(row) if row else None


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


def load_pool_and_user(db, pool_id: str, name: str) -> tuple[dict, dict | None]:
    """The pool (ResourceNotFoundException when there is none) and the user `name` designates
    (find_user); one statement when `name` is a username as stored, as it usually is."""
    row = db.execute("SELECT p.data AS pool_data, u.* FROM user_pools p LEFT JOIN users u "
                     "ON u.pool_id = p.id AND u.username = ? WHERE p.id = ?", (name, pool_id)).fetchone()
    if row is None:
        raise pools.not_found(pool_id)
    pool = loads(row["pool_data"])
    return pool, joined_user(db, pool, name, row)


def joined_user(db, pool: dict, name: str | None, row) -> dict | None:
    """The user a statement joined by `u.username = name` found (its columns in `row`), else the
    one find_user finds (an alias, the sub, another case)."""
    if row["seq"] is not None:  # usernames are unique, case-folded too in case-insensitive pools
        return row_user(row)
    return find_user(db, pool, name) if name else None


def get_user(db, pool: dict, name: str) -> dict:
    """find_user, or UserNotFoundException "User does not exist."."""
    user = find_user(db, pool, name)
    if user is None:
        raise errors.UserNotFoundException(NOT_FOUND)
    return user


def delete_user_row(db, pool: dict, user: dict) -> None:
    """Remove a user and everything hanging off it (codes, links, groups, devices)."""
    db.execute("DELETE FROM users WHERE seq = ?", (user["seq"],))
    # Token records stay, so that a deleted user's tokens answer "User does not exist."
    delete_owned(db, "user", pool["Id"], user["username"])


# -- shapes ------------------------------------------------------------------------------------


def event_user_attributes(pool: dict, user: dict) -> dict:
    """userAttributes as Lambda events carry them (strings, with the status)."""
    attrs = dict(lambda_attributes(pool, user))
    if user.get("sub"):
        attrs.setdefault("sub", user["sub"])
    return attrs


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
            raise errors.InvalidParameterException("Username should be an email.")
        if ua == ["phone_number"] and not is_phone:
            raise errors.InvalidParameterException("Username should be a phone number.")
        if not (is_email or is_phone) or (is_email and "email" not in ua) or (is_phone and "phone_number" not in ua):
            raise errors.InvalidParameterException("Username should be either an email or a phone number.")
        if is_email:
            attributes["email"] = username
        else:
            attributes["phone_number"] = username
        return str(uuid.uuid4())
    aa = alias_attributes(pool)
    if "email" in aa and _EMAIL_SHAPED.match(username):
        raise errors.InvalidParameterException("Username cannot be of email format, since user pool is configured for email alias.")
    if "phone_number" in aa and _PHONE_SHAPED.match(username):
        raise errors.InvalidParameterException("Username cannot be of phone number format, "
                           "since user pool is configured for phone_number alias.")
    return username


def check_username_free(db, pool: dict, username: str, attributes: dict[str, str], *,
                        message: str = "User already exists") -> None:
    """UsernameExistsException when the username (or, for email/phone-as-username pools, the
    email/phone) is taken."""
    if by_username(db, pool, username) is not None:
        raise errors.UsernameExistsException(message)
    ua = username_attributes(pool)
    if "email" in ua and attributes.get("email") and _by_attribute(db, pool, "email", attributes["email"]):
        raise errors.UsernameExistsException("An account with the given email already exists.")
    if "phone_number" in ua and attributes.get("phone_number") and \
            _by_attribute(db, pool, "phone_number", attributes["phone_number"]):
        raise errors.UsernameExistsException("An account with the given phone_number already exists.")


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
            raise errors.AliasExistsException(f"An account with the {attribute} already exists.")
        other["attributes"][f"{attribute}_verified"] = "false"
        save_user(db, pool, other)
    if "preferred_username" in aa and a.get("preferred_username") and (only is None or "preferred_username" in only):
        if _by_attribute(db, pool, "preferred_username", a["preferred_username"],
                         exclude_seq=user.get("seq")) is not None:
            raise errors.AliasExistsException("An account with the preferred_username already exists.")


def check_unique_username_attributes(db, pool: dict, user: dict) -> None:
    """In email/phone-as-username pools the values stay unique when they change."""
    ua = username_attributes(pool)
    a = user["attributes"]
    if "email" in ua and a.get("email") and _by_attribute(db, pool, "email", a["email"], exclude_seq=user.get("seq")):
        raise errors.AliasExistsException("An account with the given email already exists.")
    if "phone_number" in ua and a.get("phone_number") and _by_attribute(
            db, pool, "phone_number", a["phone_number"], exclude_seq=user.get("seq")):
        raise errors.AliasExistsException("An account with the given phone_number already exists.")


# -- helpers shared with signup.py -------------------------------------------------------------
def admin_target(db, req: dict) -> tuple[dict, dict]:
    """The pool and user an Admin* request names (UserPoolId, Username); not-found errors as AWS."""
    pool, user = load_pool_and_user(db, req["UserPoolId"], req["Username"])
    if user is None:
        raise errors.UserNotFoundException(NOT_FOUND)
    return pool, user


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
    return errors.InvalidParameterException("Cannot reset password for the user as there is no registered/verified email or "
                        "phone_number")


# -- Admin operations --------------------------------------------------------------------------


# -- linking federated identities ------------------------------------------------------------
def linked_username(db, pool_id: str, provider_name: str, provider_user_id: str) -> str | None:
    """The local user an external identity is linked to (AdminLinkProviderForUser), or None."""
    row = db.execute("SELECT username FROM user_links WHERE pool_id = ? AND provider_name = ? AND "
                     "provider_user_id = ?", (pool_id, provider_name, provider_user_id)).fetchone()
    return row["username"] if row else None


# -- ListUsers ---------------------------------------------------------------------------------
# Pages are walked with a keyset cursor over an index, so every page costs the same whatever the
# pool's size: `seq` (creation order) for no filter and for exact matches (index (pool, column,
# seq)); (column, seq) for prefix matches (index range, then seq within equal values).


