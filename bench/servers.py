"""The servers the benchmark starts: the emulator, its peers (moto, cognito-local) and the
hello-world apps of the server-stack comparison. Each is started fresh on a free loopback port in
its own temporary directory, and stopped (with its worker processes) after its scenarios."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STARTUP_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = STARTUP_TIMEOUT) -> None:
    """Wait until something answers HTTP at url (any status counts)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"did not answer on {url} within {timeout:.0f}s")


def children(pid: int) -> list[int]:
    """The child processes of pid (Linux /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return sorted(set(found))


def memory(pid: int) -> tuple[float, float] | None:
    """(RSS, PSS) of a process in MiB, or None when it is gone. PSS divides the pages shared with
    the other processes (copy-on-write after fork) among them."""
    try:
        rss = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        pss = re.search(r"^Pss:\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.M)
    except OSError:
        return None
    if not rss:
        return None
    return int(rss.group(1)) / 1024, (int(pss.group(1)) / 1024 if pss else 0.0)


def cpu_seconds(pid: int) -> float:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


class Server:
    """One server process (and its workers, if it forks any)."""

    key = ""
    label = ""
    ready_path = "/"

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        self.url = ""
        self.port = 0
        self._log = None

    def available(self) -> str | None:
        """None when it can run here; else why not."""
        return None

    def version(self) -> str:
        return "?"

    def command(self, port: int) -> tuple[list[str], dict]:
        raise NotImplementedError

    def prepare(self) -> None:
        """Write what the server reads from its working directory (self.tmp) at start."""

    def launch(self) -> None:
        """Start the process without waiting for it to answer."""
        self.tmp = Path(tempfile.mkdtemp(prefix=f"bench-{self.key}-"))
        self.port = free_port()
        self.prepare()
        cmd, env = self.command(self.port)
        self._log = open(self.tmp / "server.log", "w")
        self.proc = subprocess.Popen(cmd, cwd=self.tmp, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env={**os.environ, **env})
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.launch()
        try:
            wait_http(self.url + self.ready_path, self.proc, self.tmp / "server.log")
        except Exception:
            self.stop()
            raise

    def workers(self) -> list[int]:
        """The processes that serve requests: the worker children, or the process itself."""
        if not self.proc:
            return []
        return children(self.proc.pid) or [self.proc.pid]

    def memory(self) -> dict[int, tuple[float, float]]:
        """{pid: (RSS, PSS) MiB} of the serving processes."""
        return {pid: m for pid in self.workers() if (m := memory(pid))}

    def cpu(self) -> float:
        if not self.proc:
            return 0.0
        return cpu_seconds(self.proc.pid) + sum(cpu_seconds(p) for p in children(self.proc.pid))

    def log_tail(self) -> str:
        try:
            return (self.tmp / "server.log").read_text()[-1500:]
        except (OSError, TypeError):
            return ""

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                for pid in children(self.proc.pid):
                    try:
                        os.kill(pid, 9)
                    except OSError:
                        pass
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None


class Emulator(Server):
    """`python -m emulator serve` (granian, --workers worker processes): state in a SQLite file
    under a fresh --data-dir, --in-memory, or the PostgreSQL database at database_url."""

    ready_path = "/_emulator/health"

    def __init__(self, store: str = "file", database_url: str = "", workers: int = 0, suffix: str = "") -> None:
        super().__init__()
        self.store = store
        self.database_url = database_url
        self.workers_option = workers
        self.key = f"emulator-{store}{suffix}"
        self.label = {"file": "emulator", "memory": "emulator (in-memory)",
                      "postgres": "emulator (PostgreSQL)"}[store] + suffix

    def version(self) -> str:
        text = (ROOT / "emulator" / "__init__.py").read_text()
        match = re.search(r'__version__ = "([^"]+)"', text)
        return f"cognito-emulator {match.group(1) if match else '?'}"

    def command(self, port: int) -> tuple[list[str], dict]:
        if self.store == "postgres":
            store = ["--database-url", self.database_url]
        elif self.store == "memory":
            store = ["--in-memory"]
        else:
            store = ["--data-dir", str(self.tmp / "data")]
        workers = ["--workers", str(self.workers_option)] if self.workers_option else []
        cmd = [sys.executable, "-m", "emulator", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "WARNING", *workers, *store]
        return cmd, {"PYTHONPATH": str(ROOT)}


class Moto(Server):
    key = "moto"
    label = "moto_server"

    def available(self) -> str | None:
        try:
            importlib.metadata.version("moto")
            import flask_cors  # noqa: F401  (moto[server] extra)
        except (importlib.metadata.PackageNotFoundError, ImportError):
            return "not installed: pip install -e '.[bench]'"
        return None

    def version(self) -> str:
        return f"moto {importlib.metadata.version('moto')}"

    def command(self, port: int) -> tuple[list[str], dict]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], {}


class CognitoLocal(Server):
    key = "cognito-local"
    label = "cognito-local"
    package = BENCH / "node_modules" / "cognito-local"

    def available(self) -> str | None:
        if not shutil.which("node"):
            return "node not found"
        if not (self.package / "package.json").exists():
            return "not installed: npm ci --prefix bench"
        return None

    def version(self) -> str:
        meta = json.loads((self.package / "package.json").read_text())
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        return f"cognito-local {meta['version']} (node {node})"

    def prepare(self) -> None:
        # Its pools default to UsernameAttributes ["email"], unlike AWS (plain usernames); its
        # documented config file sets the default back so the same calls work everywhere.
        (self.tmp / ".cognito").mkdir()
        (self.tmp / ".cognito" / "config.json").write_text(
            json.dumps({"UserPoolDefaults": {"UsernameAttributes": []}}))

    def command(self, port: int) -> tuple[list[str], dict]:
        return ["node", str(self.package / "lib" / "bin" / "start.js")], {"PORT": str(port), "HOST": "127.0.0.1"}


# ---------------------------------------------------------------------------------------------
# Hello world on each server stack (bench/hello.py)


class Hello(Server):
    """bench/hello.py's Flask app (POST / answers a small JSON) under one server stack."""

    STACKS = {
        "werkzeug": "werkzeug threaded dev server",
        "gunicorn": "gunicorn gthread, 2 workers × 8 threads",
        "granian": "granian WSGI, 2 workers × 8 blocking threads",
    }

    def __init__(self, stack: str, workers: int = 2, threads: int = 8) -> None:
        super().__init__()
        self.stack = stack
        self.key = f"hello-{stack}"
        self.label = self.STACKS[stack]
        self.n_workers, self.n_threads = workers, threads

    def available(self) -> str | None:
        module = {"werkzeug": "werkzeug", "gunicorn": "gunicorn", "granian": "granian"}[self.stack]
        try:
            importlib.metadata.version(module)
        except importlib.metadata.PackageNotFoundError:
            return f"{module} is not installed (pip install {module})"
        return None

    def version(self) -> str:
        return f"{self.stack} {importlib.metadata.version(self.stack)}"

    def command(self, port: int) -> tuple[list[str], dict]:
        env = {"PYTHONPATH": str(BENCH)}
        if self.stack == "werkzeug":
            return [sys.executable, str(BENCH / "hello.py"), "127.0.0.1", str(port)], env
        if self.stack == "gunicorn":
            return [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(self.n_workers),
                    "--threads", str(self.n_threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                    "hello:app"], env
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--workers", str(self.n_workers),
                "--blocking-threads", str(self.n_threads), "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning", "hello:app"], env
