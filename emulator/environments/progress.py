"""A count and bar on stderr for long work (seeding or importing many users): shown when stderr is a
terminal, or when asked for (--progress); never written into the data on stdout."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
INTERVAL = 0.1  # seconds between redraws


class Progress:
    def __init__(self, label: str, total: int, *, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label, self.total, self.done = label, total, 0
        self._drawn = 0.0
        self._started = time.monotonic()

    def step(self, count: int = 1) -> None:
        self.done += count
        if self.enabled and (time.monotonic() - self._drawn >= INTERVAL or self.done >= self.total):
            self._draw()

    def _draw(self) -> None:
        self._drawn = time.monotonic()
        share = self.done / self.total if self.total else 1.0
        bar = "#" * int(share * WIDTH)
        rate = self.done / max(self._drawn - self._started, 1e-6)
        end = "\r" if self.stream.isatty() else "\n"
        self.stream.write(f"{self.label} [{bar:<{WIDTH}}] {self.done}/{self.total} ({rate:,.0f}/s){end}")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.total:
            if self.done < self.total or self._drawn == 0.0:
                self._draw()
            if self.stream.isatty():
                self.stream.write("\n")
                self.stream.flush()
