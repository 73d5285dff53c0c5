"""The one clock. Every expiry reads it; tests and users move it through /_emulator/clock.

The offset from real time is kept in the store, so every worker sharing a database
sees the same time; each request reads it once when its transaction begins.
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    @property
    def offset(self) -> float:
        return self._offset

    def now(self) -> float:
        """Emulated time, epoch seconds."""
        return time.time() + self._offset

    def now_datetime(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.now(), dt.UTC)

    def set_offset(self, offset: float) -> None:
        with self._lock:
            self._offset = float(offset)

    # persistence: one row in the store's emulator_state table
    def load(self, db) -> None:
        row = db.execute("SELECT value FROM emulator_state WHERE key = 'clock_offset'").fetchone()
        self.set_offset(float(row[0]) if row else 0.0)

    def save(self, db) -> None:
        db.execute("INSERT INTO emulator_state(key, value) VALUES('clock_offset', ?) "
                   "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (str(self._offset),))
