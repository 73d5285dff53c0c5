"""Where a code or invitation goes, how it reads, and the masked CodeDeliveryDetails.

Messages land in the outbox (`ctx.send_message`); templates come from the pool
(VerificationMessageTemplate, the legacy *VerificationMessage fields, the invitation
template) or from the CustomMessage trigger, with `{####}` and `{username}` substituted.
"""

from __future__ import annotations

from urllib.parse import urlencode

from emulator.userpools import errors
from emulator.userpools.model import mfa_config, users
from emulator.userpools.outbound import custom_senders, triggers

DEFAULT_SUBJECT = "Your verification code"
DEFAULT_MESSAGE = "Your verification code is {####}. "
DEFAULT_INVITE_SUBJECT = "Your temporary password"
DEFAULT_INVITE_MESSAGE = "Your username is {username} and temporary password is {####}. "
DEFAULT_AUTH_MESSAGE = "Your authentication code is {####}. "
DEFAULT_AUTH_SUBJECT = "Your authentication code"
DEFAULT_LINK_SUBJECT = "Your verification link"
DEFAULT_LINK_MESSAGE = "Please click the link below to verify your email address. {##Verify Email##} "

CODE = "{####}"
USERNAME = "{username}"

MEDIUM = {"email": "EMAIL", "phone_number": "SMS"}


def mask_email(email: str) -> str:
    """`jane@example.com` -> `j***@e***`: first letter of the local part and of the domain,
    the top-level domain hidden too (AWS answers `t***@t***` for `test@test.com`)."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def mask_phone(phone: str) -> str:
    """`+12065550100` -> `+*******0100`."""
    digits = phone[1:] if phone.startswith("+") else phone
    return "+" + "*" * max(len(digits) - 4, 0) + digits[-4:]


def mask(attribute: str, value: str) -> str:
    return mask_email(value) if attribute == "email" else mask_phone(value)


def details(attribute: str, value: str) -> dict:
    """CodeDeliveryDetails for a code sent to `attribute` (email | phone_number)."""
    return {"Destination": mask(attribute, value), "DeliveryMedium": MEDIUM[attribute],
            "AttributeName": attribute}


def auto_verified(pool: dict) -> list[str]:
    return list(pool.get("AutoVerifiedAttributes") or [])


def verification_target(pool: dict, attrs: dict[str, str]) -> str | None:
    """The attribute a sign-up code goes to: phone before email among AutoVerifiedAttributes."""
    targets = auto_verified(pool)
    for attribute in ("phone_number", "email"):
        if attribute in targets and attrs.get(attribute):
            return attribute
    return None


def _verification_template(pool: dict, medium: str) -> tuple[str | None, str]:
    tpl = pool.get("VerificationMessageTemplate") or {}
    if medium == "SMS":
        return None, tpl.get("SmsMessage") or pool.get("SmsVerificationMessage") or DEFAULT_MESSAGE
    subject = tpl.get("EmailSubject") or pool.get("EmailVerificationSubject") or DEFAULT_SUBJECT
    body = tpl.get("EmailMessage") or pool.get("EmailVerificationMessage") or DEFAULT_MESSAGE
    return subject, body


def _authentication_template(pool: dict, medium: str) -> tuple[str | None, str]:
    """(subject, body) of a sign-in code: SetUserPoolMfaConfig's EmailMfaConfiguration or
    SmsMfaConfiguration, else the pool's SmsAuthenticationMessage (SMS), else AWS's default."""
    factors = mfa_config.get_mfa_config(pool)
    if medium == "EMAIL":
        email = factors.get("EmailMfaConfiguration") or {}
        return email.get("Subject") or DEFAULT_AUTH_SUBJECT, email.get("Message") or DEFAULT_AUTH_MESSAGE
    sms = factors.get("SmsMfaConfiguration") or {}
    return None, sms.get("SmsAuthenticationMessage") or pool.get("SmsAuthenticationMessage") or DEFAULT_AUTH_MESSAGE


def _link_template(pool: dict) -> tuple[str, str]:
    tpl = pool.get("VerificationMessageTemplate") or {}
    return (tpl.get("EmailSubjectByLink") or DEFAULT_LINK_SUBJECT,
            tpl.get("EmailMessageByLink") or DEFAULT_LINK_MESSAGE)


def _uses_link(pool: dict, kind: str, attribute: str) -> bool:
    tpl = pool.get("VerificationMessageTemplate") or {}
    return (attribute == "email" and kind in ("SignUp", "ResendCode")
            and tpl.get("DefaultEmailOption") == "CONFIRM_WITH_LINK")


def _confirm_link(ctx, client_id: str | None, username: str, code: str) -> str:
    query = urlencode({"client_id": client_id or "", "user_name": username, "confirmation_code": code})
    return f"{ctx.base_url}/confirmUser?{query}"


def _replace_link(text: str, url: str) -> str:
    """`{##Label##}` becomes the link (label kept as the anchor text)."""
    start = text.find("{##")
    end = text.find("##}", start + 3) if start >= 0 else -1
    if start < 0 or end < 0:
        return text
    label = text[start + 3:end]
    return text[:start] + f'<a href="{url}">{label}</a>' + text[end + 3:]


def _custom_message(ctx, pool: dict, user: dict, source: str, client_id: str | None,
                    client_metadata: dict | None, *, username_parameter: bool = False) -> dict | None:
    request = {"userAttributes": users.event_user_attributes(pool, user), "codeParameter": CODE,
               "linkParameter": "{##Click Here##}", "usernameParameter": USERNAME if username_parameter else None,
               "clientMetadata": client_metadata or {}}
    response = triggers.run_trigger(ctx, pool, "CustomMessage", f"CustomMessage_{source}",
                                    username=user["username"], request=request, client_id=client_id,
                                    response={"smsMessage": None, "emailMessage": None, "emailSubject": None})
    return response or None


def send_code(ctx, pool: dict, user: dict, kind: str, attribute: str, code: str, client_id: str | None = None,
              client_metadata: dict | None = None) -> dict:
    """Deliver `code` to the user's `attribute` (email | phone_number); returns CodeDeliveryDetails.

    `kind` is the message's purpose as the CustomMessage trigger names it: SignUp, ResendCode,
    ForgotPassword, UpdateUserAttribute, VerifyUserAttribute, Authentication.
    """
    value = user["attributes"].get(attribute)
    if not value:
        raise errors.InvalidParameterException(f"No {attribute} to deliver the code to.")
    medium = MEDIUM[attribute]
    if custom_senders.configured(pool, medium):
        custom_senders.send(ctx, pool, user, kind, medium, code, client_id=client_id,
                            client_metadata=client_metadata)
        return details(attribute, value)
    link = _uses_link(pool, kind, attribute)
    if kind == "Authentication":
        subject, body = _authentication_template(pool, medium)
    elif link:
        subject, body = _link_template(pool)
    else:
        subject, body = _verification_template(pool, medium)
    custom = _custom_message(ctx, pool, user, kind, client_id, client_metadata)
    if custom:
        if medium == "SMS" and custom.get("smsMessage"):
            body = custom["smsMessage"]
        if medium == "EMAIL":
            body = custom.get("emailMessage") or body
            subject = custom.get("emailSubject") or subject
    text = body.replace(CODE, code).replace(USERNAME, user["username"])
    if link:
        text = _replace_link(text, _confirm_link(ctx, client_id, user["username"], code))
    ctx.send_message(channel=medium, kind=kind, pool_id=pool["Id"], username=user["username"],
                     destination=value, code=code, subject=subject if medium == "EMAIL" else None, body=text,
                     data={"attribute": attribute, "client_id": client_id})
    return details(attribute, value)


def send_invitation(ctx, pool: dict, user: dict, temporary_password: str, mediums: list[str],
                    client_metadata: dict | None = None, *, kind: str = "AdminCreateUser") -> None:
    """The AdminCreateUser invitation with the username and temporary password (also the welcome
    message of a migrated user, `kind` UserMigration, which no CustomMessage source covers)."""
    template = (pool.get("AdminCreateUserConfig") or {}).get("InviteMessageTemplate") or {}
    by_sender = [m for m in mediums if custom_senders.configured(pool, m)]
    for medium in by_sender:
        attribute = "email" if medium == "EMAIL" else "phone_number"
        if user["attributes"].get(attribute) and kind in custom_senders.SOURCES:
            custom_senders.send(ctx, pool, user, kind, medium, temporary_password, client_metadata=client_metadata)
    mediums = [m for m in mediums if m not in by_sender]
    custom = None
    if kind == "AdminCreateUser" and mediums:
        custom = _custom_message(ctx, pool, user, "AdminCreateUser", None, client_metadata,
                                 username_parameter=True)
    for medium in mediums:
        attribute = "email" if medium == "EMAIL" else "phone_number"
        destination = user["attributes"].get(attribute)
        if not destination:
            continue
        if medium == "EMAIL":
            subject = template.get("EmailSubject") or DEFAULT_INVITE_SUBJECT
            body = template.get("EmailMessage") or DEFAULT_INVITE_MESSAGE
            if custom:
                body = custom.get("emailMessage") or body
                subject = custom.get("emailSubject") or subject
        else:
            subject = None
            body = template.get("SMSMessage") or DEFAULT_INVITE_MESSAGE
            if custom and custom.get("smsMessage"):
                body = custom["smsMessage"]
        text = body.replace(CODE, temporary_password).replace(USERNAME, user["username"])
        ctx.send_message(channel=medium, kind=kind, pool_id=pool["Id"], username=user["username"],
                         destination=destination, code=temporary_password, subject=subject, body=text,
                         data={"attribute": attribute})
