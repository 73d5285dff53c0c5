"""Threat protection (advanced security): risk decisions, compromised credentials, notifications.

With `UserPoolAddOns.AdvancedSecurityMode` AUDIT or ENFORCED every sign-in gets a risk decision
and an auth event (AdminListUserAuthEvents). The emulator cannot judge risk, so tests steer it:

- `POST /_emulator/risk` arms a risk level (low | medium | high | none, optionally compromised
  credentials) for the next sign-ins of a pool, a user, an IP or range (`GET` lists, `DELETE`
  clears); the request header `X-Cognito-Emulator-Risk: high` (or `low`, `medium`, `none`,
  `compromised`, comma-separated) sets it for one call. Unsteered sign-ins are NoRisk.
- `POST /_emulator/risk/compromised-passwords` names passwords that count as found in a breach.

ENFORCED applies the pool's (or the app client's) SetRiskConfiguration as AWS does:
AccountTakeoverRiskConfiguration actions per risk level (BLOCK, MFA_IF_CONFIGURED, MFA_REQUIRED,
NO_ACTION, each optionally notifying the user by email with one-click feedback links),
CompromisedCredentialsRiskConfiguration (BLOCK at SIGN_IN / SIGN_UP / PASSWORD_CHANGE) and
RiskExceptionConfiguration (blocked IP ranges refuse every pre-authentication request, skipped
ranges get no risk). AUDIT records the same decisions and acts on none.

Sign-in (userpools.signin) calls `assess_sign_in` once the password is proven, the MFA helpers below
from its MFA step, and `finish_sign_in` when it records the outcome. The other operations that
AWS evaluates (SignUp, ForgotPassword, ConfirmForgotPassword, ChangePassword, ...) are wrapped
at install time, so their modules need not know about threat protection.
"""

from __future__ import annotations

import contextvars
import html
import ipaddress
import re
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from emulator import digests
from emulator.store import loads, register_schema
from emulator.userpools import errors
from emulator.userpools.accounts import mfa
from emulator.userpools.model import auth_events, clients, mfa_config, risk, users
from protocol import ServiceError

# NotAuthorizedException messages AWS answers (as seen by apps in production):
UNABLE = "Unable to login because of security reasons."          # adaptive authentication blocked a sign-in
NOT_ALLOWED = "Request not allowed due to security reasons."       # the source IP is in BlockedIPRangeList
# InvalidPasswordException for a password found in a breach (sign-up, password change):
COMPROMISED = "Provided password cannot be used for security reasons."

HEADER = "X-Cognito-Emulator-Risk"
LEVELS = {"low": "Low", "medium": "Medium", "high": "High", "none": None}
NOTIFICATION_KIND = "RiskNotification"
DEFAULT_FROM = "no-reply@verificationemail.com"
FEEDBACK_PATH = "/_emulator/risk/feedback"
ALL_POOLS = "*"
MFA_ACTIONS = ("MFA_IF_CONFIGURED", "MFA_REQUIRED")
REFRESH_FLOWS = ("REFRESH_TOKEN_AUTH", "REFRESH_TOKEN")

register_schema("userpools.threat_protection", [
    """
    CREATE TABLE risk_steering (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        pool_id TEXT NOT NULL,
        username TEXT,
        ip TEXT,
        level TEXT,
        compromised INTEGER NOT NULL,
        remaining INTEGER,
        data TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE INDEX risk_steering_pool ON risk_steering(pool_id, seq);
    CREATE TABLE compromised_passwords (
        pool_id TEXT NOT NULL,
        digest TEXT NOT NULL,
        PRIMARY KEY (pool_id, digest)
    );
    """,
], owned={"user_pool": ("risk_steering", "compromised_passwords")})


# -- the notification templates AWS fills in when NotifyConfiguration has none ------------------
def _default_email(subject: str, opening: str) -> dict:
    lines = ["Time: {login-time}", "Device: {device-name}", "Location: {city}, {country}"]
    closing = ("If this sign-in was not by you, you should change your password and notify us by clicking on "
               "{invalid}\nIf this sign-in was by you, you can follow {valid} to let us know")
    text = opening + "\n" + "\n".join(lines) + "\n" + closing.format(
        invalid="{one-click-link-invalid}", valid="{one-click-link-valid}")
    body = (opening + "\n<ul>\n" + "".join(f"<li>{line}</li>\n" for line in lines) + "</ul>\n" + closing.format(
        invalid="<a href={one-click-link-invalid}>this link</a>", valid="<a href={one-click-link-valid}>this link</a>"))
    page = ('<!DOCTYPE html>\n<html>\n<head>\n\t<title>HTML email context</title>\n\t<meta charset="utf-8">\n'
            f"</head>\n<body>\n<pre>{body}</pre>\n</body>\n</html>")
    return {"Subject": subject, "HtmlBody": page, "TextBody": text}


DEFAULT_EMAILS = {
    "BlockEmail": _default_email("Blocked sign-in attempt",
                                 "We blocked an unrecognized sign-in to your account with this information:"),
    "NoActionEmail": _default_email("New sign-in attempt",
                                    "We observed an unrecognized sign-in to your account with this information:"),
    "MfaEmail": _default_email("New sign-in attempt",
                               "We required you to use multi-factor authentication for the following sign-in "
                               "attempt:"),
}


# -- settings -----------------------------------------------------------------------------------
def mode(pool: dict) -> str:
    return (pool.get("UserPoolAddOns") or {}).get("AdvancedSecurityMode") or "OFF"


def risk_config(db, pool: dict, client: dict | None) -> dict:
    return risk.risk_configuration(db, pool["Id"], client["ClientId"] if client else None)


def in_ranges(ip: str | None, ranges: list[str] | None) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    for cidr in ranges or []:
        try:
            if address in ipaddress.ip_network(cidr, strict=False):
                return True
        except ValueError:
            continue
    return False


def exceptions(config: dict) -> dict:
    return config.get("RiskExceptionConfiguration") or {}


def compromised_action(config: dict, event: str) -> str:
    """BLOCK or NO_ACTION for compromised credentials at SIGN_IN / SIGN_UP / PASSWORD_CHANGE."""
    section = config.get("CompromisedCredentialsRiskConfiguration")
    if not section:
        return "NO_ACTION"
    if event not in (section.get("EventFilter") or ["SIGN_IN", "PASSWORD_CHANGE", "SIGN_UP"]):
        return "NO_ACTION"
    return (section.get("Actions") or {}).get("EventAction") or "NO_ACTION"


def _takeover_action(config: dict, level: str) -> dict:
    actions = (config.get("AccountTakeoverRiskConfiguration") or {}).get("Actions") or {}
    action = actions.get(f"{level}Action") or {}
    return {"EventAction": action.get("EventAction") or "NO_ACTION", "Notify": bool(action.get("Notify"))}


# -- the caller: IP address, device ----------------------------------------------------------------
# The operation's input, set around the wrapped handlers (the sign-in functions receive no request).
REQUEST: contextvars.ContextVar[dict | None] = contextvars.ContextVar("threat_protection_request", default=None)


def client_ip(ctx, client: dict | None, admin: bool) -> str:
    """The IP threat protection evaluates: ContextData.IpAddress on Admin* calls; on public calls
    UserContextData.IpAddress only when the client has EnablePropagateAdditionalUserContextData
    (as AWS documents it), else the request's source (X-Forwarded-For honoured)."""
    req = REQUEST.get() or {}
    given = None
    if admin:
        given = (req.get("ContextData") or {}).get("IpAddress")
    elif client and client.get("EnablePropagateAdditionalUserContextData"):
        given = (req.get("UserContextData") or {}).get("IpAddress")
    return given or ctx.source_ip or "127.0.0.1"


def _user_agent(ctx, admin: bool) -> str | None:
    if admin:
        for header in (REQUEST.get() or {}).get("ContextData", {}).get("HttpHeaders") or []:
            if (header.get("headerName") or "").lower() == "user-agent":
                return header.get("headerValue")
    return ctx.request.headers.get("User-Agent") if ctx.request is not None else None


_BROWSERS = (("Edg", "Edge"), ("Firefox", "Firefox"), ("Chrome", "Chrome"), ("Version", "Safari"))


def device_name(user_agent: str | None) -> str:
    """`Chrome 126, Windows 10` (AWS's style) from a User-Agent; `Other` for what it cannot tell."""
    ua = user_agent or ""
    if "Windows NT 10" in ua:
        system = "Windows 10"
    elif "Windows" in ua:
        system = "Windows"
    elif "iPhone" in ua or "iPad" in ua:
        system = "iOS"
    elif "Mac OS X" in ua:
        system = "Mac OS X"
    elif "Android" in ua:
        system = "Android"
    elif "Linux" in ua:
        system = "Linux"
    else:
        system = "Other"
    for token, name in _BROWSERS:
        match = re.search(rf"\b{token}/(\d+)", ua)
        if match and (token != "Version" or "Safari/" in ua):
            return f"{name} {match.group(1)}, {system}"
    match = re.match(r"([A-Za-z][\w.-]*)/(\d+)", ua)
    return f"{match.group(1)} {match.group(2)}, {system}" if match else f"Other, {system}"


def _context_data(ctx, client: dict | None, admin: bool, steer: dict) -> dict:
    extra = steer.get("data") or {}
    data = {"IpAddress": client_ip(ctx, client, admin),
            "DeviceName": extra.get("device_name") or device_name(_user_agent(ctx, admin)),
            "City": extra.get("city") or "Unknown", "Country": extra.get("country") or "Unknown"}
    if extra.get("timezone"):
        data["Timezone"] = extra["timezone"]
    return data


# -- steering ------------------------------------------------------------------------------------
def _header(ctx) -> dict | None:
    """The one-call risk of the X-Cognito-Emulator-Risk header: `high`, `none,compromised`, ..."""
    value = ctx.request.headers.get(HEADER) if ctx.request is not None else None
    if not value:
        return None
    out: dict[str, Any] = {"level": None, "compromised": False, "data": {}}
    for part in re.split(r"[,;\s]+", value.strip().lower()):
        if part == "compromised":
            out["compromised"] = True
        elif part in LEVELS:
            out["level"] = LEVELS[part]
    return out


def _names(pool: dict, user: dict, name: str) -> bool:
    attrs = user.get("attributes") or {}
    known = [user.get("username"), user.get("sub"), attrs.get("email"), attrs.get("phone_number"),
             attrs.get("preferred_username")]
    return name.lower() in {k.lower() for k in known if k}


def _steering(ctx, pool: dict, user: dict, ip: str) -> dict:
    """The risk steered for this sign-in (header first, else the most specific armed entry,
    which is used up when it was armed for a number of sign-ins); {} when nothing is steered."""
    header = _header(ctx)
    if header is not None:
        return header
    best, best_score = None, -1
    for row in ctx.db.execute("SELECT * FROM risk_steering WHERE pool_id = ? ORDER BY seq DESC", (pool["Id"],)):
        if row["username"] and not _names(pool, user, row["username"]):
            continue
        if row["ip"] and not in_ranges(ip, [row["ip"]]):
            continue
        score = (row["username"] is not None) + (row["ip"] is not None)
        if score > best_score:
            best, best_score = row, score
    if best is None:
        return {}
    if best["remaining"] is not None:
        if best["remaining"] <= 1:
            ctx.db.execute("DELETE FROM risk_steering WHERE id = ?", (best["id"],))
        else:
            ctx.db.execute("UPDATE risk_steering SET remaining = remaining - 1 WHERE id = ?", (best["id"],))
    return {"level": best["level"], "compromised": bool(best["compromised"]), "data": loads(best["data"], {})}


def password_compromised(ctx, pool: dict, password: str | None) -> bool:
    """Whether `password` is one the tests named compromised (for this pool or all pools), or the
    call carries `X-Cognito-Emulator-Risk: compromised`."""
    if password is None:
        return False
    if (_header(ctx) or {}).get("compromised"):
        return True
    return ctx.db.execute("SELECT 1 FROM compromised_passwords WHERE digest = ? AND pool_id IN (?, ?)",
                          (digests.digest(password), pool["Id"], ALL_POOLS)).fetchone() is not None


# -- events ----------------------------------------------------------------------------------------
def new_event(ctx, event_type: str, client: dict | None, admin: bool, steer: dict, level: str | None,
           compromised: bool) -> dict:
    event_risk: dict[str, Any] = {"RiskDecision": "AccountTakeover" if level else "NoRisk"}
    if level:
        event_risk["RiskLevel"] = level
    event_risk["CompromisedCredentialsDetected"] = compromised
    return {"EventId": str(uuid.uuid4()), "EventType": event_type, "CreationDate": ctx.now(),
            "EventResponse": "Pass", "EventRisk": event_risk, "ChallengeResponses": [],
            "EventContextData": _context_data(ctx, client, admin, steer)}


def record(ctx, pool: dict, user: dict, event: dict) -> str | None:
    return auth_events.record_auth_event(ctx.db, pool["Id"], user["username"], event, now=ctx.now())


def block(ctx, pool: dict, user: dict, event: dict, message: str, notify_config: dict | None = None) -> None:
    event["EventResponse"] = "Fail"
    event["EventRisk"]["RiskDecision"] = "Block"
    if auth_events.load_event(ctx.db, pool["Id"], event["EventId"]) is None:
        record(ctx, pool, user, event)
    else:
        auth_events.save_event(ctx.db, pool["Id"], event)
    if notify_config is not None:
        _notify(ctx, pool, user, event, "BlockEmail", notify_config)
    ctx.commit_now()  # the event, notification and user status stay although the sign-in fails
    raise errors.NotAuthorizedException(message)


# -- notification emails ------------------------------------------------------------------------------
def _login_time(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def feedback_link(ctx, pool_id: str, username: str, event_id: str, token: str, value: str) -> str:
    query = urlencode({"user_pool_id": pool_id, "username": username, "event_id": event_id,
                       "feedback_token": token, "feedback_value": value})
    return f"{ctx.base_url}{FEEDBACK_PATH}?{query}"


def _notify(ctx, pool: dict, user: dict, event: dict, template_name: str, config: dict) -> None:
    """Email the user AWS's notification (the configured template, else AWS's default) with the
    event's details, its feedback token and the one-click feedback links."""
    destination = (user.get("attributes") or {}).get("email")
    if not destination:
        return
    notify = (config.get("AccountTakeoverRiskConfiguration") or {}).get("NotifyConfiguration") or {}
    template = dict(notify.get(template_name) or {})
    default = DEFAULT_EMAILS[template_name]
    if not template.get("TextBody") and not template.get("HtmlBody"):
        template = {**default, **{k: v for k, v in template.items() if v}}
    token = auth_events.feedback_token(ctx.db, pool["Id"], event["EventId"]) or ""
    context = event.get("EventContextData") or {}
    links = {value: feedback_link(ctx, pool["Id"], user["username"], event["EventId"], token, value)
             for value in ("Valid", "Invalid")}
    values = {"{username}": user["username"], "{ip-address}": context.get("IpAddress", ""),
              "{city}": context.get("City", ""), "{country}": context.get("Country", ""),
              "{device-name}": context.get("DeviceName", ""), "{login-time}": _login_time(event["CreationDate"]),
              "{event-id}": event["EventId"], "{feedback-token}": token,
              "{one-click-link-valid}": links["Valid"], "{one-click-link-invalid}": links["Invalid"]}

    def render(text: str | None, escape: bool) -> str | None:
        if text is None:
            return None
        for name, value in values.items():
            text = text.replace(name, html.escape(value) if escape else value)
        return text

    text_body = render(template.get("TextBody"), False)
    html_body = render(template.get("HtmlBody"), True)
    ctx.send_message(channel="EMAIL", kind=NOTIFICATION_KIND, pool_id=pool["Id"], username=user["username"],
                     destination=destination, code=token, subject=render(template.get("Subject"), False),
                     body=text_body if text_body is not None else html_body,
                     data={"template": template_name, "event_id": event["EventId"], "feedback_token": token,
                           "one_click_link_valid": links["Valid"], "one_click_link_invalid": links["Invalid"],
                           "html_body": html_body, "text_body": text_body,
                           "from": notify.get("From") or DEFAULT_FROM, "reply_to": notify.get("ReplyTo"),
                           "source_arn": notify.get("SourceArn")})


# -- sign-in ------------------------------------------------------------------------------------------
def assess_sign_in(ctx, pool: dict, client: dict, user: dict, state: dict, *, password: str | None = None) -> dict:
    """The risk decision once the user proved their password: record the SignIn event (in
    progress), apply ENFORCED actions (block, require MFA, notify). Returns the sign-in state to
    continue with (it carries the event and any MFA the risk demands); raises when blocked.

    `password` is given for the flows that send it (USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH,
    USER_AUTH PASSWORD): only those are checked for compromised credentials, as on AWS (not SRP)."""
    current = mode(pool)
    if current == "OFF" or state.get("risk_event_id"):
        return state
    admin = bool(state.get("admin"))
    config = risk_config(ctx.db, pool, client)
    ip = client_ip(ctx, client, admin)
    steer = _steering(ctx, pool, user, ip)
    level = None if in_ranges(ip, exceptions(config).get("SkippedIPRangeList")) else steer.get("level")
    compromised = bool(steer.get("compromised")) or password_compromised(ctx, pool, password)
    event = new_event(ctx, "SignIn", client, admin, steer, level, compromised)
    event["EventResponse"] = "InProgress"
    event["ChallengeResponses"] = [{"ChallengeName": "Password", "ChallengeResponse": "Success"}]
    state = dict(state)
    notify_with = None
    if current == "ENFORCED":
        if compromised and compromised_action(config, "SIGN_IN") == "BLOCK":
            # AWS blocks the sign-in and sets the user to RESET_REQUIRED: a new password is needed.
            user["status"] = "RESET_REQUIRED"
            users.save_user(ctx.db, pool, user)
            block(ctx, pool, user, event, UNABLE)
        if level:
            action = _takeover_action(config, level)
            if action["EventAction"] == "BLOCK":
                block(ctx, pool, user, event, UNABLE, config if action["Notify"] else None)
            if action["EventAction"] in MFA_ACTIONS:
                state["risk_mfa"] = action["EventAction"]
                state["risk_notify"] = action["Notify"]
            elif action["Notify"]:
                notify_with = "NoActionEmail"
    record(ctx, pool, user, event)
    state["risk_event_id"] = event["EventId"]
    if notify_with:
        _notify(ctx, pool, user, event, notify_with, config)
    return state


def mfa_candidates(pool: dict, user: dict) -> list[str]:
    """The MFA factors adaptive authentication can challenge a user with who has none turned on:
    the pool's active factors the user can receive (phone number, email) or has registered (TOTP)."""
    if mfa.pool_mfa_mode(pool) == "OFF":
        return []
    offered = mfa_config.enabled_factors(pool)
    attrs = user.get("attributes") or {}
    out = []
    if "SOFTWARE_TOKEN_MFA" in offered and mfa.settings(user).get("totp_secret"):
        out.append("SOFTWARE_TOKEN_MFA")
    if "SMS_MFA" in offered and attrs.get("phone_number"):
        out.append("SMS_MFA")
    if "EMAIL_OTP" in offered and attrs.get("email"):
        out.append("EMAIL_OTP")
    return out


def _load_sign_in_event(ctx, pool: dict, state: dict) -> dict | None:
    event_id = state.get("risk_event_id")
    return auth_events.load_event(ctx.db, pool["Id"], event_id) if event_id else None


def mfa_challenged(ctx, pool: dict, client: dict, user: dict, state: dict) -> dict:
    """The risk's MFA is being asked for: notify the user (MfaEmail) when the level says so."""
    if state.get("risk_notify") and not state.get("risk_notified"):
        event = _load_sign_in_event(ctx, pool, state)
        if event is not None:
            _notify(ctx, pool, user, event, "MfaEmail", risk_config(ctx.db, pool, client))
        state = {**state, "risk_notified": True}
    return state


def mfa_unavailable(ctx, pool: dict, client: dict, user: dict, state: dict) -> dict:
    """The risk asks for MFA the user cannot do: MFA_REQUIRED blocks the sign-in,
    MFA_IF_CONFIGURED lets it through."""
    config = risk_config(ctx.db, pool, client)
    event = _load_sign_in_event(ctx, pool, state)
    if state.get("risk_mfa") == "MFA_REQUIRED" and event is not None:
        block(ctx, pool, user, event, UNABLE, config if state.get("risk_notify") else None)
    if state.get("risk_notify") and event is not None and not state.get("risk_notified"):
        _notify(ctx, pool, user, event, "NoActionEmail", config)
    return {**state, "risk_mfa": None, "risk_notified": True}


def finish_sign_in(ctx, pool: dict, user: dict, state: dict | None, passed: bool, challenge: str = "Password") -> None:
    """Record the outcome of a sign-in: completes the event `assess_sign_in` opened, else records
    one (sign-ins that were not assessed: managed login, passwordless, custom; failed passwords)."""
    if mode(pool) == "OFF":
        return
    event = _load_sign_in_event(ctx, pool, state or {})
    if event is not None:
        event["EventResponse"] = "Pass" if passed else "Fail"
        if (state or {}).get("mfa_done") and not any(c["ChallengeName"] == "Mfa" for c in event["ChallengeResponses"]):
            event["ChallengeResponses"].append({"ChallengeName": "Mfa", "ChallengeResponse": "Success"})
        auth_events.save_event(ctx.db, pool["Id"], event)
        return
    client = None
    if state and state.get("client_id"):
        try:
            client = clients.load_client(ctx.db, state["client_id"], pool["Id"])
        except ServiceError:
            client = None
    admin = bool((state or {}).get("admin"))
    steer = _steering(ctx, pool, user, client_ip(ctx, client, admin)) if passed else {}
    level = steer.get("level")
    if level and in_ranges(client_ip(ctx, client, admin),
                            exceptions(risk_config(ctx.db, pool, client)).get("SkippedIPRangeList")):
        level = None
    event = new_event(ctx, "SignIn", client, admin, steer, level, bool(steer.get("compromised")))
    event["EventResponse"] = "Pass" if passed else "Fail"
    event["ChallengeResponses"] = [{"ChallengeName": challenge, "ChallengeResponse": "Success" if passed else "Failure"}]
    record(ctx, pool, user, event)
