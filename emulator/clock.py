"""The one clock. Every expiry reads it; tests and users move it through /_emulator/clock.

Emulated time is real time plus an offset, or a frozen instant. Both are kept in the
store, so every worker sharing a database sees the same time; each request reads them
once, when it first asks the time (UnitClock).
"""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen: float | None = None
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def now(self) -> float:
        """Emulated time, epoch seconds."""
        if self._frozen is not None:
            return self._frozen
        return time.time() + self._offset

    def set_offset(self, offset: float) -> None:
        """Real time plus `offset`; a frozen clock moves by the same amount and stays frozen."""
        with self._lock:
            if self._frozen is not None:
                self._frozen += float(offset) - self._offset
            self._offset = float(offset)

    def freeze(self) -> None:
        """Stop the clock at the current emulated instant (it moves only when told to)."""
        with self._lock:
            if self._frozen is None:
                self._frozen = time.time() + self._offset

    def unfreeze(self) -> None:
        """Let the clock run again from the instant it shows."""
        with self._lock:
            if self._frozen is not None:
                self._offset = self._frozen - time.time()
                self._frozen = None

    def reset(self) -> None:
        with self._lock:
            self._offset = 0.0
            self._frozen = None

    # persistence: rows of the store's emulator_state table
    def load(self, db) -> None:
        rows = dict(db.execute("SELECT key, value FROM emulator_state "
                               "WHERE key IN ('clock_offset', 'clock_frozen_at')").fetchall())
        self.offer(rows.get("clock_offset"), rows.get("clock_frozen_at"))

    def offer(self, offset: str | None, frozen_at: str | None) -> None:
        """The stored values (emulator_state's clock_offset and clock_frozen_at), read by load or
        along with another statement."""
        with self._lock:
            self._offset = float(offset) if offset not in (None, "") else 0.0
            self._frozen = float(frozen_at) if frozen_at not in (None, "") else None

    def save(self, db) -> None:
        for key, value in (("clock_offset", str(self._offset)),
                           ("clock_frozen_at", "" if self._frozen is None else repr(self._frozen))):
            db.execute("INSERT INTO emulator_state(key, value) VALUES(?, ?) "
                       "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))


class UnitClock(Clock):
    """One unit of work's reading of the shared clock, made from its transaction when the time is
    first asked: most reading operations (AdminGetUser, ListUsers, ...) never ask, and skip the
    statement. Asked after the transaction has ended, it reads in a new one."""

    def __init__(self, store, db) -> None:
        super().__init__()
        self._store, self._db, self._loaded = store, db, False

    def _ensure(self) -> None:
        if self._loaded:
            return
        if self._db is not None:
            self.load(self._db)
        else:
            with self._store.transaction(write=False) as db:
                self.load(db)

    def detach(self) -> None:
        """The unit's transaction has ended: a first reading from now on needs a new one."""
        self._db = None

    def offer(self, offset: str | None, frozen_at: str | None) -> None:
        if not self._loaded:  # the first reading holds for the whole unit
            super().offer(offset, frozen_at)
            self._loaded = True

    @property
    def offset(self) -> float:
        self._ensure()
        return self._offset

    @property
    def frozen(self) -> bool:
        self._ensure()
        return self._frozen is not None

    def now(self) -> float:
        self._ensure()
        return super().now()

    def set_offset(self, offset: float) -> None:
        self._ensure()
        super().set_offset(offset)

    def freeze(self) -> None:
        self._ensure()
        super().freeze()

    def unfreeze(self) -> None:
        self._ensure()
        super().unfreeze()

    def reset(self) -> None:
        super().reset()
        self._loaded = True  # what it reads now is the reset, not the store

    def save(self, db) -> None:
        self._ensure()
        super().save(db)
