"""What a signed-in user does with their access token: GetUser, UpdateUserAttributes,
DeleteUserAttributes, DeleteUser, ChangePassword, GetUserAttributeVerificationCode,
VerifyUserAttribute, SetUserSettings.

Every operation is authorised by the access token (tokens.authenticate_access_token
refuses revoked, expired, foreign and tampered tokens with AWS's messages).

Changing a verified email/phone that the pool lists in
UserAttributeUpdateSettings.AttributesRequireVerificationBeforeUpdate keeps the old value
active; the new one waits in user["misc"]["pending_attributes"] until VerifyUserAttribute.
"""

from __future__ import annotations

from emulator.userpools import errors, registry
from emulator.userpools.accounts import lifecycle as accounts
from emulator.userpools.accounts import mfa, tokens
from emulator.userpools.model import attributes, clients, codes, lockout, passwords, users
from emulator.userpools.outbound import delivery
from protocol import ServiceError

VERIFY_CODE_LIMIT = 5  # GetUserAttributeVerificationCode per user per hour


def _authenticate(ctx, req) -> tuple[dict, dict, dict]:
    return tokens.authenticate_access_token(ctx, req["AccessToken"])


def _client(ctx, pool: dict, claims: dict) -> dict | None:
    client_id = claims.get("client_id")
    if not client_id:
        return None
    try:
        return clients.load_client(ctx.db, client_id, pool["Id"])
    except ServiceError:
        return None


def _purpose(attribute: str) -> str:
    return f"verify:{attribute}"


def _pending(user: dict) -> dict:
    """New email/phone values waiting for VerifyUserAttribute (kept by accounts.apply_attribute_changes)."""
    return (user.get("misc") or {}).get("pending_attributes") or {}


def _send_verification(ctx, pool: dict, user: dict, attribute: str, value: str, kind: str,
                       client_id: str | None, metadata: dict | None) -> dict:
    code = codes.issue(ctx.db, pool["Id"], user["username"], _purpose(attribute), now=ctx.now(),
                       ttl=codes.VERIFY_TTL, data={"value": value})
    target = {**user, "attributes": {**user["attributes"], attribute: value}}
    return delivery.send_code(ctx, pool, target, kind, attribute, code, client_id=client_id,
                              client_metadata=metadata)


# -- operations ------------------------------------------------------------------------
@registry.handler
def get_user(ctx, req):
    _pool, user, _claims, client = tokens.authenticate_access_token_and_client(ctx, req["AccessToken"])
    visible = attributes.readable(client, user.get("attributes") or {})
    out = {"Username": user["username"], "UserAttributes": attributes.to_list(visible)}
    out.update(mfa.user_mfa_settings(user))
    return out


@registry.handler
def update_user_attributes(ctx, req):
    pool, user, claims = _authenticate(ctx, req)
    client = _client(ctx, pool, claims)
    changes = attributes.update_changes(req["UserAttributes"])
    attributes.check_client_write(client, list(changes))
    attributes.validate_values(pool, changes, creating=False, admin=False)
    emptied = [n for n, v in changes.items() if v == "" and n in attributes.required_names(pool)]
    if emptied:
        raise attributes.required_deleted(emptied[0])
    sent = accounts.apply_attribute_changes(ctx, pool, user, changes, admin=False,
                                         client_id=claims.get("client_id"),
                                         client_metadata=req.get("ClientMetadata"))
    users.check_unique_username_attributes(ctx.db, pool, user)
    users.claim_aliases(ctx.db, pool, user, force=False,
                        only=[n for n in ("email", "phone_number", "preferred_username") if n in changes])
    users.touch(user, ctx.now())
    users.save_user(ctx.db, pool, user)
    return {"CodeDeliveryDetailsList": sent} if sent else {}


@registry.handler
def delete_user_attributes(ctx, req):
    pool, user, claims = _authenticate(ctx, req)
    names = list(req["UserAttributeNames"])
    attributes.check_client_write(_client(ctx, pool, claims), names)
    attributes.check_deletable(pool, names, set(attributes.required_names(pool))
                               | set(pool.get("UsernameAttributes") or []))
    current = user["attributes"]
    for name in names:
        current.pop(name, None)
        if name in attributes.CONTACTS:
            current.pop(f"{name}_verified", None)
            _pending(user).pop(name, None)
            codes.discard(ctx.db, pool["Id"], user["username"], _purpose(name))
    users.touch(user, ctx.now())
    users.save_user(ctx.db, pool, user)
    return {}


@registry.handler
def delete_user(ctx, req):
    pool, user, _claims = _authenticate(ctx, req)
    users.delete_user_row(ctx.db, pool, user)
    return {}


@registry.handler
def change_password(ctx, req):
    pool, user, _claims = _authenticate(ctx, req)
    previous = req.get("PreviousPassword")
    if passwords.has_password(user):
        try:
            lockout.check(ctx, pool["Id"], user["username"])
        except ServiceError:
            # ChangePassword reports the lock as a rate limit, not as sign-in does.
            raise errors.LimitExceededException(codes.LIMIT) from None
        if previous is None or not passwords.password_matches(pool, user, previous):
            lockout.failure(ctx, pool["Id"], user["username"])
            ctx.commit_now()
            raise errors.NotAuthorizedException("Incorrect username or password.")
        lockout.success(ctx, pool["Id"], user["username"])
    passwords.check_policy(pool, req["ProposedPassword"], user, prefix=passwords.USER_PREFIX)
    passwords.set_password(ctx.db, pool, user, req["ProposedPassword"], temporary=False, now=ctx.now())
    users.touch(user, ctx.now())
    users.save_user(ctx.db, pool, user)
    return {}


@registry.handler
def get_user_attribute_verification_code(ctx, req):
    pool, user, claims = _authenticate(ctx, req)
    name = req["AttributeName"]
    pending = _pending(user).get(name)
    value = pending or user["attributes"].get(name)
    if name not in attributes.CONTACTS or not value:
        raise errors.InvalidParameterException(f"Invalid attribute name or the attribute has no value: {name}")
    codes.rate_limit(ctx.db, pool["Id"], user["username"], "attribute_verification_code",
                     now=ctx.now(), limit=VERIFY_CODE_LIMIT)
    sent = _send_verification(ctx, pool, user, name, value, "VerifyUserAttribute", claims.get("client_id"),
                              req.get("ClientMetadata"))
    return {"CodeDeliveryDetails": sent}


@registry.handler
def verify_user_attribute(ctx, req):
    pool, user, _claims = _authenticate(ctx, req)
    name = req["AttributeName"]
    if name not in attributes.CONTACTS:
        raise errors.InvalidParameterException(f"Invalid attribute name or the attribute has no value: {name}")
    data = codes.consume(ctx, pool["Id"], user["username"], _purpose(name), req["Code"])
    value = data.get("value")
    current = user["attributes"]
    pending = _pending(user)
    if value is not None and pending.get(name) == value:
        current[name] = value
        pending.pop(name, None)
    elif value is not None and current.get(name) != value:
        # The attribute changed after this code was sent.
        raise errors.ExpiredCodeException(codes.EXPIRED)
    if not current.get(name):
        raise errors.ExpiredCodeException(codes.EXPIRED)
    current[f"{name}_verified"] = "true"
    users.check_unique_username_attributes(ctx.db, pool, user)
    users.claim_aliases(ctx.db, pool, user, force=False, only=[name])
    users.touch(user, ctx.now())
    users.save_user(ctx.db, pool, user)
    return {}


@registry.handler
def set_user_settings(ctx, req):
    pool, user, _claims = _authenticate(ctx, req)
    options = req["MFAOptions"]
    for option in options:
        if option.get("DeliveryMedium") == "SMS" and not user["attributes"].get("phone_number"):
            raise errors.InvalidParameterException("User does not have delivery config set to turn on SMS_MFA")
    mfa.set_mfa_options(user, options)
    users.touch(user, ctx.now())
    users.save_user(ctx.db, pool, user)
    return {}
