"""--smtp HOST:PORT: every email of the outbox also goes to a real SMTP server (aiosmtpd, started here),
as Mailpit or MailHog would receive it: AWS's sender and default templates, the pool's HTML templates and
CustomMessage output, From/Reply-To from EmailConfiguration; SMS stays in the outbox; a rolled-back
operation mails nothing; a missing or silent SMTP server never fails nor holds up the API call."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
import requests
from aiosmtpd.controller import Controller
from emulator_process import ROOT, EmulatorProcess
from helpers import (
    PASSWORD,
    boto_client,
    error_from,
    make_client,
    make_pool,
    make_user,
    password_auth,
    stop_checked,
    unique,
    wait_for,
)
from lambda_fixtures.user_pool_functions import Functions

from emulator import mail

DEFAULT_FROM = "no-reply@verificationemail.com"
SES_IDENTITY = "arn:aws:ses:us-east-1:000000000000:identity/noreply@example.com"
REFUSED = "refused@example.com"  # the SMTP server refuses this mailbox
SMS = {"SnsCallerArn": "arn:aws:iam::000000000000:role/sms"}
WAIT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class Mail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    def header(self, name: str) -> str | None:
        value = self.message[name]
        return None if value is None else str(value)

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # lines travel as CRLF

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content().replace("\r\n", "\n")  # lines travel as CRLF


class MailCatcher:
    """A real SMTP server on a free port keeping every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Mail] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.received if address in m.rcpt_tos]

    def wait(self, address: str, count: int = 1) -> Mail:
        """The `count`-th message to `address` (delivery is asynchronous)."""
        return wait_for(lambda: len(self.to(address)) >= count and self.to(address), WAIT)[count - 1]


@pytest.fixture(scope="module")
def catcher():
    server = MailCatcher()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def fx(tmp_path_factory, catcher):
    """An emulator mailing to `catcher`, with Lambda functions; one worker process, so its mail
    leaves in the order it was sent."""
    functions = Functions(tmp_path_factory.mktemp("functions"),
                          env={"COGNITO_EMULATOR_SMTP": f"127.0.0.1:{catcher.port}",
                               "COGNITO_EMULATOR_WORKERS": "1"})
    yield functions
    functions.stop()


@pytest.fixture(scope="module")
def idp(fx):
    return boto_client("cognito-idp", fx.url)


@pytest.fixture(autouse=True)
def _healthy(fx):
    before = requests.get(fx.url + "/_emulator/health", timeout=10).json()["internal_errors"]
    yield
    after = requests.get(fx.url + "/_emulator/health", timeout=10).json()["internal_errors"]
    assert after == before, fx.process.log()


def outbox(url: str, **filters) -> list[dict]:
    return requests.get(url + "/_emulator/messages", params=filters, timeout=10).json()["messages"]


def outbox_row(url: str, **filters) -> dict:
    [row] = outbox(url, **filters)
    return row


def smtp_status(url: str, message_id: str) -> dict:
    """The delivery outcome recorded on the outbox row (once the mailer has tried)."""
    def recorded():
        [row] = [m for m in outbox(url, limit=1000) if m["id"] == message_id]
        return (row["data"] or {}).get("smtp")
    return wait_for(recorded, WAIT)


def address() -> str:
    return f"{unique('m')}@example.com"


def sign_up(idp, client_id: str, email_address: str, username: str | None = None, **kwargs) -> str:
    username = username or unique("u")
    idp.sign_up(ClientId=client_id, Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "email", "Value": email_address}], **kwargs)
    return username


def assert_from_outbox(mail: Mail, row: dict) -> None:
    """The mail is the outbox message: same recipient, subject, text, and headers naming it."""
    assert mail.rcpt_tos == [row["destination"]]
    assert mail.header("To") == row["destination"]
    assert mail.header("Subject") == row["subject"]
    assert mail.header("X-Cognito-Emulator-Message-Id") == row["id"]
    assert mail.header("Message-ID") == f"<{row['id']}@cognito-emulator>"
    assert mail.header("X-Cognito-Emulator-Pool") == row["pool_id"]
    assert mail.header("X-Cognito-Emulator-Kind") == row["kind"]
    assert mail.header("X-Cognito-Emulator-Username") == row["username"]
    assert mail.header("X-Cognito-Emulator-Code") == row["code"]
    assert mail.message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.message.iter_parts()] == ["text/plain", "text/html"]


# -- AWS's default sender and templates ------------------------------------------------------------------
def test_sign_up_code_by_cognito_default_email(fx, idp, catcher):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client_id = make_client(idp, pool_id)["ClientId"]
    to = address()
    username = sign_up(idp, client_id, to)
    mail = catcher.wait(to)
    row = outbox_row(fx.url, username=username)
    assert_from_outbox(mail, row)
    assert (row["kind"], mail.mail_from, mail.header("From")) == ("SignUp", DEFAULT_FROM, DEFAULT_FROM)
    assert mail.header("Reply-To") is None
    assert mail.header("Subject") == "Your verification code"
    assert mail.text.strip() == f"Your verification code is {row['code']}."
    assert mail.html.strip() == f"Your verification code is {row['code']}."
    assert smtp_status(fx.url, row["id"]) == {"status": "sent"}
    # The code in the mail confirms the user.
    code = mail.text.split()[-1].rstrip(".")
    idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=code)
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


def test_forgot_password_code_resets_the_password(fx, idp, catcher):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client_id = make_client(idp, pool_id)["ClientId"]
    to = address()
    username = make_user(idp, pool_id, attributes={"email": to, "email_verified": "true"})
    idp.forgot_password(ClientId=client_id, Username=username)
    mail = catcher.wait(to)
    row = outbox_row(fx.url, username=username, kind="ForgotPassword")
    assert_from_outbox(mail, row)
    assert mail.text.strip() == f"Your verification code is {row['code']}."
    idp.confirm_forgot_password(ClientId=client_id, Username=username, ConfirmationCode=row["code"],
                                Password="N3w-passw0rd!")
    assert "AccessToken" in password_auth(idp, make_client(idp, pool_id), username,
                                          "N3w-passw0rd!")["AuthenticationResult"]


def test_invitation_with_temporary_password_from_the_pools_html_template(fx, idp, catcher):
    template = {"EmailSubject": "Bienvenue à Example",
                "EmailMessage": '<h1>Welcome</h1><p>Sign in as <b>{username}</b> with <code>{####}</code>.</p>'
                                '<p><a href="https://app.example.com/login">Open the app</a></p>',
                "SMSMessage": "Your username is {username} and temporary password is {####}."}
    pool_id = make_pool(idp, AdminCreateUserConfig={"InviteMessageTemplate": template})
    to, username = address(), unique("inv")
    idp.admin_create_user(UserPoolId=pool_id, Username=username, TemporaryPassword="Temp-0rary!",
                          DesiredDeliveryMediums=["EMAIL"], UserAttributes=[{"Name": "email", "Value": to}])
    mail = catcher.wait(to)
    row = outbox_row(fx.url, username=username)
    assert_from_outbox(mail, row)
    assert (row["kind"], row["code"], mail.header("Subject")) == ("AdminCreateUser", "Temp-0rary!",
                                                                   "Bienvenue à Example")
    # The HTML is the template as the pool has it, filled in; the text part reads it without tags.
    assert mail.html.rstrip("\n") == (f'<h1>Welcome</h1><p>Sign in as <b>{username}</b> with '
                                      '<code>Temp-0rary!</code>.</p>'
                                      '<p><a href="https://app.example.com/login">Open the app</a></p>')
    assert mail.text.strip() == (f"Welcome\n\nSign in as {username} with Temp-0rary!.\n\n"
                                 "Open the app (https://app.example.com/login)")


def test_attribute_change_and_verification_codes(fx, idp, catcher):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client = make_client(idp, pool_id)
    first, second = address(), address()
    username = make_user(idp, pool_id, attributes={"email": first, "email_verified": "true"})
    token = password_auth(idp, client, username)["AuthenticationResult"]["AccessToken"]
    idp.update_user_attributes(AccessToken=token, UserAttributes=[{"Name": "email", "Value": second}])
    changed = catcher.wait(second)
    assert_from_outbox(changed, outbox_row(fx.url, username=username, kind="UpdateUserAttribute"))
    idp.get_user_attribute_verification_code(AccessToken=token, AttributeName="email")
    again = catcher.wait(second, 2)
    row = outbox_row(fx.url, username=username, kind="VerifyUserAttribute")
    assert_from_outbox(again, row)
    assert again.text.strip() == f"Your verification code is {row['code']}."
    idp.verify_user_attribute(AccessToken=token, AttributeName="email", Code=row["code"])
    attrs = {a["Name"]: a["Value"] for a in idp.get_user(AccessToken=token)["UserAttributes"]}
    assert (attrs["email"], attrs["email_verified"]) == (second, "true")
    assert catcher.to(first) == []


def test_email_mfa_code(fx, idp, catcher):
    pool_id = make_pool(idp, UserPoolTier="ESSENTIALS",
                        EmailConfiguration={"EmailSendingAccount": "DEVELOPER", "SourceArn": SES_IDENTITY})
    idp.set_user_pool_mfa_config(UserPoolId=pool_id, MfaConfiguration="ON",
                                 SoftwareTokenMfaConfiguration={"Enabled": True},
                                 EmailMfaConfiguration={"Message": "Your code is {####}", "Subject": "Code"})
    client = make_client(idp, pool_id)
    to = address()
    username = make_user(idp, pool_id, attributes={"email": to, "email_verified": "true"})
    start = password_auth(idp, client, username)
    assert start["ChallengeName"] == "EMAIL_OTP"
    mail = catcher.wait(to)
    row = outbox_row(fx.url, username=username, kind="Authentication")
    assert_from_outbox(mail, row)
    assert mail.header("From") == "noreply@example.com"  # the pool's SES identity
    assert row["code"] in mail.text
    done = idp.respond_to_auth_challenge(ClientId=client["ClientId"], ChallengeName="EMAIL_OTP",
                                         Session=start["Session"],
                                         ChallengeResponses={"USERNAME": username, "EMAIL_OTP_CODE": row["code"]})
    assert "AccessToken" in done["AuthenticationResult"]


def test_verification_link_confirms_the_user(fx, idp, catcher):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], VerificationMessageTemplate={
        "DefaultEmailOption": "CONFIRM_WITH_LINK", "EmailSubjectByLink": "Confirm your address",
        "EmailMessageByLink": "<p>Welcome!</p><p>{##Verify Email##}</p>"})
    client_id = make_client(idp, pool_id)["ClientId"]
    to = address()
    username = sign_up(idp, client_id, to)
    mail = catcher.wait(to)
    row = outbox_row(fx.url, username=username)
    assert_from_outbox(mail, row)
    link = mail.html[mail.html.index('href="') + 6:]
    link = link[:link.index('"')]
    assert urlsplit(link).path == "/confirmUser"
    assert mail.html.rstrip("\n") == f'<p>Welcome!</p><p><a href="{link}">Verify Email</a></p>'
    assert mail.text.strip() == f"Welcome!\n\nVerify Email ({link})"
    assert requests.get(link.replace("&amp;", "&"), timeout=10).status_code == 200
    assert idp.admin_get_user(UserPoolId=pool_id, Username=username)["UserStatus"] == "CONFIRMED"


# -- the pool's sender and the CustomMessage trigger -------------------------------------------------------
def test_from_and_reply_to_from_the_email_configuration(fx, idp, catcher):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], EmailConfiguration={
        "EmailSendingAccount": "DEVELOPER", "SourceArn": SES_IDENTITY, "From": "Example App <noreply@example.com>",
        "ReplyToEmailAddress": "support@example.com"})
    client_id = make_client(idp, pool_id)["ClientId"]
    to = address()
    sign_up(idp, client_id, to)
    mail = catcher.wait(to)
    assert mail.header("From") == "Example App <noreply@example.com>"
    assert mail.mail_from == "noreply@example.com"
    assert mail.header("Reply-To") == "support@example.com"

    # Without From, the SES identity sends; a reply-to alone keeps Cognito's own sender.
    ses_pool = make_pool(idp, AutoVerifiedAttributes=["email"], EmailConfiguration={
        "EmailSendingAccount": "DEVELOPER", "SourceArn": SES_IDENTITY})
    to = address()
    sign_up(idp, make_client(idp, ses_pool)["ClientId"], to)
    assert catcher.wait(to).header("From") == "noreply@example.com"
    reply_pool = make_pool(idp, AutoVerifiedAttributes=["email"], EmailConfiguration={
        "EmailSendingAccount": "COGNITO_DEFAULT", "ReplyToEmailAddress": "help@example.com"})
    to = address()
    sign_up(idp, make_client(idp, reply_pool)["ClientId"], to)
    mail = catcher.wait(to)
    assert (mail.header("From"), mail.header("Reply-To")) == (DEFAULT_FROM, "help@example.com")


def test_custom_message_trigger_output_is_mailed(fx, idp, catcher):
    def custom(event):
        event["response"]["emailSubject"] = f"Hi {event['request']['userAttributes']['email']}"
        event["response"]["emailMessage"] = (f"<p>Code for <i>{event['triggerSource']}</i>: "
                                             f"<strong>{event['request']['codeParameter']}</strong></p>")
        return event

    arn = fx.add(custom)
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"], LambdaConfig={"CustomMessage": arn})
    client_id = make_client(idp, pool_id)["ClientId"]
    to = address()
    username = sign_up(idp, client_id, to)
    mail = catcher.wait(to)
    row = outbox_row(fx.url, username=username)
    assert_from_outbox(mail, row)
    assert mail.header("Subject") == f"Hi {to}"
    assert mail.html.rstrip("\n") == f"<p>Code for <i>CustomMessage_SignUp</i>: <strong>{row['code']}</strong></p>"
    assert mail.text.strip() == f"Code for CustomMessage_SignUp: {row['code']}"


# -- what is not mailed --------------------------------------------------------------------------------
def sentinel(fx, idp, catcher) -> None:
    """Send one email and wait for it: with one worker, anything mailed before it has arrived."""
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    to = address()
    sign_up(idp, make_client(idp, pool_id)["ClientId"], to)
    catcher.wait(to)


def test_sms_stays_in_the_outbox(fx, idp, catcher):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["phone_number"], SmsConfiguration=SMS)
    client_id = make_client(idp, pool_id)["ClientId"]
    username = unique("sms")
    idp.sign_up(ClientId=client_id, Username=username, Password=PASSWORD,
                UserAttributes=[{"Name": "phone_number", "Value": "+12065550100"},
                                {"Name": "email", "Value": f"{username}@example.com"}])
    count = len(catcher.received)
    sentinel(fx, idp, catcher)
    row = outbox_row(fx.url, username=username)
    assert row["channel"] == "SMS" and "smtp" not in (row["data"] or {})
    assert len(catcher.received) == count + 1
    assert [m for m in catcher.received if m.header("X-Cognito-Emulator-Message-Id") == row["id"]] == []
    assert catcher.to(f"{username}@example.com") == []


def test_rolled_back_operation_mails_nothing(fx, idp, catcher):
    # Changing B's email to A's sends B a verification code, then fails the email-as-username check:
    # the code, its outbox message and its mail are all undone.
    pool_id = make_pool(idp, UsernameAttributes=["email"], AutoVerifiedAttributes=["email"])
    taken, other = address(), address()
    make_user(idp, pool_id, taken, attributes={"email": taken, "email_verified": "true"})
    make_user(idp, pool_id, other, attributes={"email": other, "email_verified": "true"})
    other_name = idp.admin_get_user(UserPoolId=pool_id, Username=other)["Username"]
    assert error_from(idp.admin_update_user_attributes, UserPoolId=pool_id, Username=other,
                      UserAttributes=[{"Name": "email", "Value": taken}]) == (
        "AliasExistsException", "An account with the given email already exists.")
    sentinel(fx, idp, catcher)
    assert outbox(fx.url, username=other_name) == []
    assert catcher.to(taken) == [] and catcher.to(other) == []


def test_refused_mailbox_is_recorded_on_the_message(fx, idp, catcher):
    pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
    client_id = make_client(idp, pool_id)["ClientId"]
    username = sign_up(idp, client_id, REFUSED)
    row = outbox_row(fx.url, username=username)
    status = smtp_status(fx.url, row["id"])
    assert status["status"] == "failed"
    assert status["error"] == f"refused: {REFUSED}: 550 5.1.1 No such mailbox here"
    # The next message goes out over the same server as usual.
    to = address()
    sign_up(idp, client_id, to)
    assert catcher.wait(to).header("X-Cognito-Emulator-Pool") == pool_id


# -- threat protection: the notification of a blocked sign-in ----------------------------------------
def test_blocked_sign_in_notification_is_mailed_although_the_sign_in_fails(fx, idp, catcher):
    pool_id = make_pool(idp, UserPoolTier="PLUS", UserPoolAddOns={"AdvancedSecurityMode": "ENFORCED"})
    client = make_client(idp, pool_id)
    idp.set_risk_configuration(UserPoolId=pool_id, AccountTakeoverRiskConfiguration={
        "Actions": {"HighAction": {"EventAction": "BLOCK", "Notify": True}},
        "NotifyConfiguration": {"From": "security@example.com", "ReplyTo": "abuse@example.com",
                                "SourceArn": SES_IDENTITY}})
    to = address()
    username = make_user(idp, pool_id, attributes={"email": to, "email_verified": "true"})
    r = requests.post(fx.url + "/_emulator/risk", json={"pool": pool_id, "level": "high"}, timeout=10)
    assert r.status_code == 200, r.text
    assert error_from(password_auth, idp, client, username) == (
        "NotAuthorizedException", "Unable to login because of security reasons.")
    mail = catcher.wait(to)
    row = outbox_row(fx.url, username=username, kind="RiskNotification")
    assert_from_outbox(mail, row)
    assert (mail.header("From"), mail.header("Reply-To")) == ("security@example.com", "abuse@example.com")
    assert mail.html.rstrip("\n") == row["data"]["html_body"]
    assert mail.text.rstrip("\n") == row["data"]["text_body"]


# -- the SMTP server down, silent, or badly named -------------------------------------------------------
def test_smtp_server_down_fails_no_api_call(tmp_path):
    port = free_port()  # nothing listens there
    process = EmulatorProcess("--in-memory", "--smtp", f"127.0.0.1:{port}")
    try:
        idp = boto_client("cognito-idp", process.url)
        pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
        client_id = make_client(idp, pool_id)["ClientId"]
        username = sign_up(idp, client_id, address())
        row = outbox_row(process.url, username=username)
        status = smtp_status(process.url, row["id"])
        assert status["status"] == "failed"
        assert status["error"].startswith(f"SMTP server 127.0.0.1:{port}: ")
        assert "refused" in status["error"].lower()
        health = requests.get(process.url + "/_emulator/health", timeout=10).json()
        assert health["smtp"] == {"sent": 0, "failed": 1}
        # The user got the code in the outbox all the same.
        idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode=row["code"])
    finally:
        stop_checked(process)


def test_silent_smtp_server_does_not_hold_up_the_api_call():
    silent = socket.socket()  # accepts connections, never greets
    silent.bind(("127.0.0.1", 0))
    silent.listen(10)
    process = EmulatorProcess("--in-memory", "--smtp", f"127.0.0.1:{silent.getsockname()[1]}")
    try:
        idp = boto_client("cognito-idp", process.url)
        pool_id = make_pool(idp, AutoVerifiedAttributes=["email"])
        client_id = make_client(idp, pool_id)["ClientId"]
        started = time.monotonic()
        for _ in range(3):
            sign_up(idp, client_id, address())
        assert time.monotonic() - started < 3.0  # the SMTP timeout is 10 s per connection
        assert len(outbox(process.url, pool_id=pool_id)) == 3
    finally:
        stop_checked(process)
        silent.close()


@pytest.mark.parametrize(("value", "message"), [
    ("mailpit", "cognito-emulator: --smtp must be HOST:PORT (e.g. localhost:1025), not 'mailpit'"),
    ("localhost:smtp", "cognito-emulator: --smtp must be HOST:PORT (e.g. localhost:1025), not 'localhost:smtp'"),
    ("localhost:70000", "cognito-emulator: --smtp port must be between 1 and 65535, not 70000"),
])
def test_bad_smtp_setting_stops_the_start(value, message, tmp_path):
    for args, env in ((["--smtp", value], {}), ([], {"COGNITO_EMULATOR_SMTP": value})):
        done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--in-memory", "--port", "0", *args],
                              cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**{k: v for k, v in os.environ.items()
                                      if not k.startswith("COGNITO_EMULATOR_")}, **env})
        assert done.returncode == 1
        assert done.stderr.strip().splitlines()[-1] == message


@pytest.mark.parametrize(("value", "address"), [
    ("localhost:1025", ("localhost", 1025)),
    (" mailpit:25 ", ("mailpit", 25)),
    ("[::1]:1025", ("::1", 1025)),
])
def test_smtp_address_forms(value, address):
    assert mail.parse_address(value) == address


def test_text_part_of_an_html_message():
    body = ('<html><head><style>p {color: red}</style><title>t</title></head><body>'
            '<p>Hello&nbsp;<b>Ann</b> &amp; co,</p>your code:<br>123456'
            '<p><a href="https://example.com/x">https://example.com/x</a> <a href="https://example.com/y">here</a></p>'
            '</body></html>')
    assert mail.html_to_text(body) == ("Hello\xa0Ann & co,\nyour code:\n123456\n"
                                       "https://example.com/x here (https://example.com/y)")
    assert mail.html_to_text("Your code is 1 &lt; 2.\nBye") == "Your code is 1 < 2.\nBye"
