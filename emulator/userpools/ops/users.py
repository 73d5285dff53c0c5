"""The Admin* user operations (AdminCreateUser, AdminGetUser, AdminUpdateUserAttributes, ...,
provider links) and ListUsers with its filter over the indexed columns."""

from __future__ import annotations

import json

from emulator import digests, paging
from emulator.userpools import errors, registry
from emulator.userpools.accounts import mfa
from emulator.userpools.accounts.lifecycle import (
    apply_attribute_changes,
    invite,
    resend_invitation,
    run_post_confirmation,
    user_type,
)
from emulator.userpools.model import attributes as attrs_mod
from emulator.userpools.model import codes, identity_providers, passwords, pools, user_filter
from emulator.userpools.model.users import (
    MAX_LIMIT,
    MAX_LINKED_IDENTITIES,
    NOT_FOUND,
    admin_target,
    by_username,
    case_insensitive,
    check_unique_username_attributes,
    check_username_free,
    claim_aliases,
    delete_user_row,
    get_user,
    linked_username,
    new_user,
    no_recovery_channel,
    recovery_target,
    resolve_new_username,
    row_user,
    save_user,
    touch,
    username_attributes,
)
from emulator.userpools.outbound import delivery, triggers
from protocol import ServiceError


@registry.handler
def admin_create_user(ctx, req):
    db, now = ctx.db, ctx.now()
    pool = pools.load_pool(db, req["UserPoolId"])
    action = req.get("MessageAction")
    given = attrs_mod.to_dict(req.get("UserAttributes"))
    if action == "RESEND":
        return resend_invitation(ctx, pool, req)
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
        invite(ctx, pool, user, temporary, req)
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
        raise errors.NotAuthorizedException("User is disabled.")
    if user["status"] in ("UNCONFIRMED", "FORCE_CHANGE_PASSWORD", "EXTERNAL_PROVIDER"):
        # Only a user with a password of their own can be sent through a reset.
        raise errors.NotAuthorizedException("User password cannot be reset in the current state.")
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
        raise errors.NotAuthorizedException(f"User cannot be confirmed. Current status is {user['status']}")
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
            raise errors.InvalidParameterException("User does not have a phone number to deliver SMS MFA codes.")
    mfa.set_mfa_options(user, options)
    touch(user, ctx.now())
    save_user(ctx.db, pool, user)
    return {}


def _provider_type(db, pool_id: str, provider_name: str) -> str | None:
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
        raise errors.InvalidParameterException("DestinationUser must be a native Cognito user (ProviderName Cognito).")
    if not source.get("ProviderName") or source.get("ProviderName") == "Cognito" or \
            not source.get("ProviderAttributeValue"):
        raise errors.InvalidParameterException("SourceUser must name an external identity provider.")
    provider_type = _provider_type(db, pool["Id"], source["ProviderName"])
    if provider_type is None:
        raise errors.InvalidParameterException(f"Identity provider {source['ProviderName']} does not exist for the user pool.")
    user = get_user(db, pool, dest["ProviderAttributeValue"])
    provider, external_id = source["ProviderName"], source["ProviderAttributeValue"]
    current = linked_username(db, pool["Id"], provider, external_id)
    if current is not None:
        if current == user["username"]:
            return {}
        raise errors.AliasExistsException("An account with the given identity is already linked "
                           "to another user.")
    federated = by_username(db, pool, f"{provider}_{external_id}")
    if federated is not None and federated["status"] == "EXTERNAL_PROVIDER":
        raise errors.AliasExistsException(f"User {federated['username']} already exists and is "
                           "linked to a federated identity; delete it before linking.")
    identities = _identities(user)
    if len(identities) >= MAX_LINKED_IDENTITIES:
        raise errors.LimitExceededException("Exceeded the limit of linked identities for the user.")
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
        raise errors.InvalidParameterException("User must name an external identity provider user.")
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
        raise errors.UserNotFoundException(NOT_FOUND)
    return {}


def _page_scope(pool_id: str, filter_text: str | None) -> str:
    """What a pagination token is valid for: the pool and the filter it was issued with."""
    return digests.digest(f"{pool_id}\n{filter_text or ''}")[:16]


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


def _where(pool: dict, condition: user_filter.Condition | None,
           start: str | None = None) -> tuple[str, list, str | None]:
    """ListUsers' SQL condition: the pool's users, narrowed by the filter (see _filter_sql)."""
    if condition is None:
        return "pool_id = ?", [pool["Id"]], None
    extra, args, keyed = _filter_sql(pool, condition, start)
    return f"pool_id = ? AND {extra}", [pool["Id"], *args], keyed


@registry.handler
def list_users(ctx, req):
    db = ctx.db
    pool = pools.load_pool(db, req["UserPoolId"])
    condition = user_filter.parse(req.get("Filter"))
    limit = req.get("Limit") or MAX_LIMIT
    where, args, keyed = _where(pool, condition)
    # Pages follow the filter's index: a prefix match's column then seq, else seq alone.
    keys, kinds = (["seq"], [int]) if keyed is None else ([keyed, "seq"], [str, int])
    token, scope = req.get("PaginationToken"), _page_scope(pool["Id"], req.get("Filter"))
    position = paging.decode_token(token, len(keys), f"Paging marker {token} is invalid for request {ctx.request_id}",
                                   scope, kinds)
    if keyed is not None and position is not None:
        where, args, keyed = _where(pool, condition, position[0])
    names = req.get("AttributesToGet")
    if names is not None:
        defs = attrs_mod.schema(pool)
        for name in names:
            if name not in defs and name not in attrs_mod.SYSTEM:
                raise errors.InvalidParameterException("One or more requested attributes do not exist.")
    rows, next_token = paging.page_after(db, f"SELECT * FROM users WHERE {where}", args, keys, limit, position,
                                         scope=scope)
    out: dict = {"Users": [user_type(pool, row_user(r), names) for r in rows]}
    if next_token is not None:
        out["PaginationToken"] = next_token
    return out
