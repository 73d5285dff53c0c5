"""What a handler receives besides its input: the transaction, the clock, the caller."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from emulator import mail, messages
from emulator.clock import Clock
from emulator.config import Config
from protocol.sigv4 import Caller

if TYPE_CHECKING:
    from emulator.app import Emulator


@dataclasses.dataclass
class Context:
    db: sqlite3.Connection
    clock: Clock
    config: Config
    caller: Caller
    service: str
    operation: str
    request_id: str
    request: Request | None
    emulator: Emulator
    after_commit: list[Callable[[], None]] = dataclasses.field(default_factory=list)
    mail_to_send: list[mail.Letter] = dataclasses.field(default_factory=list)  # --smtp, once committed

    @property
    def region(self) -> str:
        """Region from the SigV4 credential scope, else the configured default."""
        return self.caller.region or self.config.region

    @property
    def account_id(self) -> str:
        return self.config.account_id

    @property
    def base_url(self) -> str:
        """The URL the client reached the emulator at (or --public-url)."""
        return self.emulator.base_url(self.request)

    @property
    def source_ip(self) -> str | None:
        if self.request is None:
            return None
        forwarded = self.request.headers.get("X-Forwarded-For")
        return forwarded.split(",")[0].strip() if forwarded else self.request.remote_addr

    def now(self) -> float:
        return self.clock.now()

    def commit_now(self) -> None:
        """Commit the operation's work so far, so that it stays although an error follows (a wrong
        code counted, a failed sign-in recorded); the operation goes on in a new transaction."""
        with self.emulator.store.suspended():
            pass
        mail.release(self)  # the emails sent so far are committed: mail them whatever follows

    def send_message(self, **fields: Any) -> str:
        """Put an email/SMS/push message in the outbox (see emulator.messages.send)."""
        message_id = messages.send(self.db, self.clock, **fields)
        mail.hold(self, message_id, fields)  # with --smtp, emails go out over SMTP too once committed
        return message_id
