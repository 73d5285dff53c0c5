"""`serve`: the emulator behind granian, several worker processes sharing one state.

Granian was chosen by measurement (bench/results.md): on this project's 2-core machine a hello-world
Flask app answers about 16,000 requests/s under granian with two workers, 6,000 under gunicorn's
gthread workers and 1,600 under werkzeug's development server.

The main process builds the application once (services loaded, migrations applied), then forks
the workers, which inherit it and open their own database connections. Port 0 is resolved here,
once, so every worker listens on the same port; the "listening on" line is printed when a worker
answers, so whoever started the server can use it at once.
"""

from __future__ import annotations

import dataclasses
import encodings.idna  # noqa: F401  (looked up by name when a host is encoded; workers cannot import it later)
import gc
import json
import os
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

from emulator import __version__, memory
from emulator.app import Emulator, create_app
from emulator.config import Config
from emulator.store.sqlite import temporary_path

CONFIG_VARIABLE = "COGNITO_EMULATOR_SERVE_CONFIG"

_app: Emulator | None = None
# granian's log lines go to stderr: stdout carries only the "listening on" line.
LOGGING = {"handlers": {
    name: {"formatter": name if name == "access" else "generic", "class": "logging.StreamHandler",
           "stream": "ext://sys.stderr"} for name in ("console", "access")}}


def worker_app() -> Emulator:
    """The WSGI application of a worker: the main process's (inherited by fork), or for a worker
    started afresh, one built from the configuration the main process left in the environment."""
    global _app
    if _app is None:
        _app = create_app(Config(**json.loads(os.environ[CONFIG_VARIABLE])))
    return _app


def worker_count(config: Config) -> int:
    if config.workers > 0:
        return config.workers
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return os.cpu_count() or 1


def _reserve_port(host: str) -> tuple[int, socket.socket]:
    """A free port, kept bound (not listening) with SO_REUSEPORT so that no other program takes
    it while the workers bind it too."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    holder = socket.socket(family, socket.SOCK_STREAM)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    holder.bind((host, 0))
    return holder.getsockname()[1], holder


def _announce_when_ready(url: str, where: str) -> None:
    """Print the "listening on" line once a worker answers (checked without TLS verification)."""
    import ssl

    context = ssl._create_unverified_context()  # noqa: S323 (our own, possibly self-signed, server)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/_emulator/health", timeout=2, context=context):
                break
        except OSError:
            time.sleep(0.005)  # the start is measured to the first answer: do not oversleep it
    print(f"cognito-emulator {__version__} listening on {url} (state in {where})", flush=True)


def serve(config: Config) -> None:
    """Serve until interrupted (SIGINT/SIGTERM stop the workers gracefully)."""
    from granian.constants import Interfaces, SSLProtocols
    from granian.log import LogLevels
    from granian.server import Server

    global _app
    config = dataclasses.replace(config)
    tls = None
    if config.tls or config.tls_cert or config.tls_key:
        from emulator import certs  # cryptography's x509 would add 20 ms to every start

        tls = certs.certificate_files(config)  # in --data-dir, also when the state is in memory
    where = "memory" if config.in_memory and not config.database_url else os.path.abspath(config.data_dir)
    if config.database_url:
        where = "PostgreSQL"
    elif config.in_memory:  # a temporary file every worker shares, removed when this process ends
        config.data_dir = os.path.dirname(temporary_path())
        config.in_memory = False
    holder = None
    if config.port == 0:
        config.port, holder = _reserve_port(config.host)
    os.environ[CONFIG_VARIABLE] = json.dumps(dataclasses.asdict(config))
    _app = create_app(config)
    # The collector was off while the application was built (emulator.launch). Frozen, what was
    # built is never walked by a collection: not now (a full one would take 20 ms) nor in the
    # workers, which inherit it (nor copied by one).
    gc.freeze()
    gc.enable()
    if config.seed:  # --seed: the declared environment, applied once before any request (errors stop here)
        from emulator.environments.apply import apply_file
        for line in apply_file(_app, config.seed):
            print(f"seed: {line}", file=sys.stderr)
    _app.store.disconnect()  # the workers open their own connections
    gc.freeze()  # and what the seed left
    memory.limit_arenas()  # before granian starts the workers' threads
    scheme = "https" if tls else "http"
    host = f"[{config.host}]" if ":" in config.host else config.host
    if config.host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    url = f"{scheme}://{host}:{config.port}"
    server = Server(
        "emulator.server:worker_app", factory=True, address=config.host, port=config.port,
        interface=Interfaces.WSGI, workers=worker_count(config), blocking_threads=config.threads,
        respawn_failed_workers=True, respawn_interval=0.5, log_level=_log_level(LogLevels, config.log_level),
        ssl_cert=Path(tls[0]) if tls else None, ssl_key=Path(tls[1]) if tls else None,
        ssl_protocol_min=SSLProtocols.tls12, log_dictconfig=LOGGING)
    threading.Thread(target=_announce_when_ready, args=(url, where), daemon=True).start()
    try:
        server.serve()
    finally:
        if holder is not None:
            holder.close()
        sys.stdout.flush()


def _log_level(levels, name: str):
    try:
        return levels(name.lower())
    except ValueError:
        return levels.info
