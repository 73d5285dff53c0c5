"""Account changes that call out (triggers, messages): user migration, post-confirmation,
attribute changes with their verification codes, invitations; and the UserType shape.

Above the user records (users.py) and the outbound layer; below the operations."""

from __future__ import annotations

from emulator.userpools import errors
from emulator.userpools.accounts import mfa
from emulator.userpools.model import attributes as attrs_mod
from emulator.userpools.model import codes, passwords
from emulator.userpools.model.users import (
    check_username_free,
    claim_aliases,
    find_user,
    get_user,
    lambda_attributes,
    new_user,
    resolve_new_username,
    save_user,
    touch,
    username_attributes,
)
from emulator.userpools.outbound import delivery, triggers


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


def invite(ctx, pool: dict, user: dict, temporary: str, req: dict) -> None:
    mediums = list(req.get("DesiredDeliveryMediums") or ["SMS"])
    a = user["attributes"]
    usable = [m for m in mediums if a.get("email" if m == "EMAIL" else "phone_number")]
    if not usable:
        # Nothing reachable by the requested medium: fall back to whatever contact exists.
        usable = [m for m, k in (("EMAIL", "email"), ("SMS", "phone_number")) if a.get(k)][:1]
    if usable:
        delivery.send_invitation(ctx, pool, user, temporary, usable, req.get("ClientMetadata"))


def resend_invitation(ctx, pool: dict, req: dict) -> dict:
    db, now = ctx.db, ctx.now()
    user = get_user(db, pool, req["Username"])
    if user["status"] != "FORCE_CHANGE_PASSWORD":
        raise errors.UnsupportedUserStateException(f"Resend not possible. {user['username']} status is not FORCE_CHANGE_PASSWORD.")
    temporary = req.get("TemporaryPassword")
    if temporary is not None:
        passwords.check_policy(pool, temporary, prefix=passwords.ADMIN_PREFIX)
    temporary = temporary or passwords.generate_temporary(pool)
    passwords.set_password(db, pool, user, temporary, temporary=True, now=now)
    touch(user, now)
    save_user(db, pool, user)
    invite(ctx, pool, user, temporary, req)
    return {"User": user_type(pool, user)}
