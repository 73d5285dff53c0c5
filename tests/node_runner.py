"""Running the JS client scripts of tests/node (installed with `npm ci --prefix tests/node`):
each prints one JSON line with what it saw."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

NODE_DIR = Path(__file__).resolve().parent / "node"
PASSWORD = "Passw0rd!long"


def skip_reason() -> str | None:
    """Why the node tests cannot run here, or None when they can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (NODE_DIR / "node_modules").is_dir():
        return "tests/node/node_modules is absent (run: npm ci --prefix tests/node)"
    return None


# `pytestmark = requires_node` in a module whose tests all run node scripts.
requires_node = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


def run_script(script: str, **env: str) -> dict:
    """The last JSON line `node script` printed; the test fails when it failed or reported an error."""
    result = subprocess.run(["node", script], cwd=NODE_DIR, env={**os.environ, **env}, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no JSON from {script}: {result.stdout}\n{result.stderr}"
    out = json.loads(lines[-1])
    assert "error" not in out, out
    return out
