"""A `cognito-emulator serve` subprocess on a free port: what the fixtures and the fuzzer test against.

Standard library only, so that `python -m tests.fuzz` can use it outside pytest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class EmulatorProcess:
    """A running `cognito-emulator serve` subprocess. Its environment is this one's without any
    COGNITO_EMULATOR_* setting, plus `env`."""

    def __init__(self, *args: str, env: dict | None = None) -> None:
        self.log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"cognito-emulator-{uuid.uuid4().hex}.log"
        self._log = open(self.log_path, "w")  # noqa: SIM115 (open while the server runs)
        cmd = [sys.executable, "-m", "emulator", "serve", "--port", "0", "--log-level", "WARNING", *args]
        clean = {k: v for k, v in os.environ.items() if not k.startswith("COGNITO_EMULATOR_")}
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log, text=True,
                                     env={**clean, **(env or {})})
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (https?://\S+)", line)
        if not match:
            self.stop()
            raise RuntimeError(f"emulator did not start: {line!r}\n{self.log_path.read_text()}")
        self.url = match.group(1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
