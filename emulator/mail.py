"""Email over SMTP (`--smtp HOST:PORT`): every email put in the outbox is also delivered to an SMTP
server, so a mail catcher such as Mailpit or MailHog shows it. SMS and push stay in the outbox only.

A message is held by its unit of work and handed over once that has committed (a rolled-back
operation sends nothing). One background thread per process delivers from a bounded queue, so an
API request never waits for the SMTP server nor fails because of it; the outcome is written to the
message's outbox row (`data.smtp`: `{"status": "sent"}` or `{"status": "failed", "error": ...}`)
and counted (store counters `smtp_sent`, `smtp_failed`).

The mail is the one AWS sends: From is the pool's EmailConfiguration.From, else the address of
its SES identity (SourceArn), else Cognito's default sender; Reply-To is ReplyToEmailAddress; the
body is HTML (AWS sends the pool's message templates as HTML), with a plain-text alternative.
Headers X-Cognito-Emulator-Pool, -Kind, -Username, -Code and -Message-Id (the outbox id) help
find a message in the mail catcher.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import logging
import os
import queue
import re
import smtplib
import threading
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from emulator.config import Config
from emulator.store import dumps, loads
from emulator.userpools.model import pools

if TYPE_CHECKING:
    from emulator.context import Context
    from emulator.store import Store

log = logging.getLogger("cognito_emulator.mail")

DEFAULT_FROM = "no-reply@verificationemail.com"  # Cognito's sender when the pool names none
QUEUE_CAPACITY = 1000  # messages waiting for the SMTP server; more are dropped (and counted failed)
SMTP_TIMEOUT = 10.0  # seconds per connection attempt and command
BATCH = 50  # messages sent over one SMTP connection
HELO_NAME = "cognito-emulator.localhost"  # so smtplib does not look up this host's FQDN
SENT_COUNTER, FAILED_COUNTER = "smtp_sent", "smtp_failed"


def parse_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (`[::1]:1025` for IPv6) as (host, port); ValueError saying what is wrong."""
    usage = f"--smtp must be HOST:PORT (e.g. localhost:1025), not {text!r}"
    host, sep, port_text = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit():
        raise ValueError(usage)
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"--smtp port must be between 1 and 65535, not {port}")
    return host, port


def from_config(config: Config, store: Store) -> Mailer | None:
    """The emulator's mailer, or None without `--smtp`; ValueError for a bad address."""
    if not config.smtp:
        return None
    host, port = parse_address(config.smtp)
    return Mailer(host, port, store)


@dataclasses.dataclass(frozen=True)
class Letter:
    """One outbox email as it is to be mailed."""

    message_id: str
    created: float
    pool_id: str | None
    username: str | None
    kind: str
    destination: str
    code: str | None
    subject: str
    html_body: str
    text_body: str
    sender: str
    reply_to: str | None


# -- holding a unit of work's mail until it commits --------------------------------------------------
def hold(ctx: Context, message_id: str, fields: dict[str, Any]) -> None:
    """Keep an outbox message to mail once the unit of work commits (emails only, with --smtp)."""
    mailer = ctx.emulator.mailer
    if mailer is None or fields.get("channel") != "EMAIL" or not fields.get("destination"):
        return
    try:
        letter = _letter(ctx, message_id, fields)
    except Exception:  # mail is a copy of the outbox: it never fails the operation
        log.exception("email %s cannot be mailed", message_id)
        return
    ctx.mail_to_send.append(letter)
    if len(ctx.mail_to_send) == 1:
        ctx.after_commit.append(lambda: release(ctx))


def release(ctx: Context) -> None:
    """Hand the held mail to the mailer: its outbox rows are committed."""
    letters = list(ctx.mail_to_send)
    ctx.mail_to_send.clear()
    if letters and ctx.emulator.mailer is not None:
        ctx.emulator.mailer.submit(letters)


def _letter(ctx: Context, message_id: str, fields: dict[str, Any]) -> Letter:
    data = fields.get("data") or {}
    email_config = _email_configuration(ctx, fields.get("pool_id"))
    # A threat protection notification names its own sender (NotifyConfiguration) and both bodies.
    sender = data.get("from") or email_config.get("From") or _ses_identity(email_config.get("SourceArn")) \
        or DEFAULT_FROM
    reply_to = data.get("reply_to") or email_config.get("ReplyToEmailAddress")
    body = fields.get("body") or ""
    html_body = data.get("html_body") if "html_body" in data else body
    text_body = data.get("text_body") if "text_body" in data else None
    if html_body is None:
        html_body = html.escape(text_body or "").replace("\n", "<br>\n")
    if text_body is None:
        text_body = html_to_text(html_body)
    return Letter(message_id=message_id, created=ctx.clock.now(), pool_id=fields.get("pool_id"),
                  username=fields.get("username"), kind=fields.get("kind") or "", destination=fields["destination"],
                  code=fields.get("code"), subject=fields.get("subject") or "", html_body=html_body,
                  text_body=text_body, sender=sender, reply_to=reply_to)


def _email_configuration(ctx: Context, pool_id: str | None) -> dict:
    if not pool_id or not pools.pool_exists(ctx.db, pool_id):
        return {}
    return pools.load_pool(ctx.db, pool_id).get("EmailConfiguration") or {}


def _ses_identity(source_arn: str | None) -> str | None:
    """The address of an SES email identity ARN (`...:identity/jane@example.com`); None for a
    domain identity, which names no sender by itself."""
    identity = (source_arn or "").rpartition(":identity/")[2]
    return identity if "@" in identity else None


# -- the message -------------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    """Header text: templates may hold line breaks, which a header must not."""
    return " ".join(text.split())


def build_message(letter: Letter) -> EmailMessage:
    """The MIME message: multipart/alternative with the text and the HTML part."""
    message = EmailMessage()
    message["From"] = _one_line(letter.sender)
    message["To"] = _one_line(letter.destination)
    if letter.reply_to:
        message["Reply-To"] = _one_line(letter.reply_to)
    message["Subject"] = _one_line(letter.subject)
    message["Date"] = format_datetime(dt.datetime.fromtimestamp(letter.created, dt.UTC))
    message["Message-ID"] = f"<{letter.message_id}@cognito-emulator>"
    message["X-Cognito-Emulator-Message-Id"] = letter.message_id
    message["X-Cognito-Emulator-Kind"] = letter.kind
    for header, value in (("X-Cognito-Emulator-Pool", letter.pool_id),
                          ("X-Cognito-Emulator-Username", letter.username),
                          ("X-Cognito-Emulator-Code", letter.code)):
        if value:
            message[header] = _one_line(value)
    message.set_content(letter.text_body)
    message.add_alternative(letter.html_body, subtype="html")
    return message


class _TextOfHtml(HTMLParser):
    BLOCKS = {"p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote"}
    HIDDEN = {"head", "style", "script", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[tuple[str | None, int]] = []  # (href, where the anchor's text starts)
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self.links.append((dict(attrs).get("href"), len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.links:
            href, start = self.links.pop()
            label = "".join(self.parts[start:]).strip()
            if href and href != label:
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(re.sub(r"[ \t\n\r\f]+", " ", data))  # HTML whitespace (not &nbsp;)


def html_to_text(body: str) -> str:
    """A plain-text rendering of an HTML message: tags dropped, line breaks kept, links spelled
    out after their text. Text without tags is kept as it is."""
    if not re.search(r"<[a-zA-Z/!]", body):
        return html.unescape(body)
    parser = _TextOfHtml()
    parser.feed(body)
    parser.close()
    lines = [line.strip() for line in "".join(parser.parts).split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# -- delivery ----------------------------------------------------------------------------------------
class Mailer:
    """Delivers letters to one SMTP server from a background thread of each process."""

    def __init__(self, host: str, port: int, store: Store) -> None:
        self.host, self.port, self.store = host, port, store
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._queue: queue.Queue[Letter] = queue.Queue(QUEUE_CAPACITY)

    def submit(self, letters: list[Letter]) -> None:
        """Queue letters for delivery; never blocks (a full queue drops them, counted as failed)."""
        self._ensure_worker()
        dropped = []
        for letter in letters:
            try:
                self._queue.put_nowait(letter)
            except queue.Full:
                dropped.append((letter, f"not sent: {QUEUE_CAPACITY} messages already wait for the SMTP server"))
        if dropped:
            log.warning("SMTP queue full: %d message(s) dropped", len(dropped))
            self._record(dropped)

    def _ensure_worker(self) -> None:
        # Per process: workers are forked from the process that built the emulator.
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            self._queue = queue.Queue(QUEUE_CAPACITY)
            threading.Thread(target=self._work, args=(self._queue,), name="smtp-delivery", daemon=True).start()

    def _work(self, letters: queue.Queue[Letter]) -> None:
        while True:
            batch = [letters.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(letters.get_nowait())
                except queue.Empty:
                    break
            try:
                self._record(self._deliver(batch))
            except Exception:  # the thread must outlive anything one batch does
                log.exception("SMTP delivery failed")

    def _deliver(self, batch: list[Letter]) -> list[tuple[Letter, str | None]]:
        """(letter, error or None) for each letter, sent over one connection."""
        outcomes: list[tuple[Letter, str | None]] = []
        try:
            with smtplib.SMTP(self.host, self.port, local_hostname=HELO_NAME, timeout=SMTP_TIMEOUT) as smtp:
                for letter in batch:
                    outcomes.append((letter, self._send(smtp, letter)))
        except (OSError, smtplib.SMTPException) as err:
            reason = f"SMTP server {self.host}:{self.port}: {_describe(err)}"
            done = {id(letter) for letter, _error in outcomes}
            outcomes += [(letter, reason) for letter in batch if id(letter) not in done]
        for letter, error in outcomes:
            if error:
                log.warning("email %s (%s) to %s not delivered: %s", letter.message_id, letter.kind,
                            letter.destination, error)
        return outcomes

    @staticmethod
    def _send(smtp: smtplib.SMTP, letter: Letter) -> str | None:
        """Send one letter; its error, or None. A broken connection raises (the rest fail too)."""
        try:
            message = build_message(letter)
        except (ValueError, TypeError) as err:  # e.g. a From that is no address
            return f"not sent: {err}"
        sender = parseaddr(str(message["From"]))[1] or DEFAULT_FROM
        try:
            smtp.send_message(message, from_addr=sender, to_addrs=[letter.destination])
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
            return f"refused: {_describe(err)}"
        except smtplib.SMTPNotSupportedError as err:  # e.g. a non-ASCII address without SMTPUTF8
            return f"not sent: {err}"
        return None

    def _record(self, outcomes: list[tuple[Letter, str | None]]) -> None:
        """Write each outcome to its outbox row and count it."""
        with self.store.transaction() as db:
            for letter, error in outcomes:
                row = db.execute("SELECT data FROM outbox_messages WHERE id = ?", (letter.message_id,)).fetchone()
                if row is not None:  # gone when the outbox was emptied meanwhile
                    data = loads(row["data"]) or {}
                    data["smtp"] = {"status": "failed", "error": error} if error else {"status": "sent"}
                    db.execute("UPDATE outbox_messages SET data = ? WHERE id = ?", (dumps(data), letter.message_id))
                self.store.count(FAILED_COUNTER if error else SENT_COUNTER)


def _describe(err: Exception) -> str:
    if isinstance(err, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{who}: {code} {_text(reply)}" for who, (code, reply) in err.recipients.items())
    if isinstance(err, smtplib.SMTPResponseException):
        return f"{err.smtp_code} {_text(err.smtp_error)}"
    return str(err) or type(err).__name__


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply
