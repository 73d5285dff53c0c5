"""The console's activity log: the last API calls and Lambda trigger invocations.

Kept apart from the store: a small SQLite file of its own (next to the database, or in the
temporary directory for PostgreSQL, one per node) written without the store's write lock, so
recording a call never makes readers wait. Every worker process of a server shares the file.
A request only appends its row to a bounded queue in memory (about a microsecond); a thread of
each process writes the queue in one transaction every FLUSH_SECONDS, at most the newest rows
the table keeps, so the cost stays flat however many calls a second arrive. A page reading the
log writes its own queue and gives the other workers' writers time to write theirs. Rows are bounded (the oldest are deleted as
new ones arrive); losing the tail on a crash is fine.
"""

from __future__ import annotations

import atexit
import collections
import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from typing import Any

log = logging.getLogger("cognito_emulator.console")

MAX_API_CALLS = 1000
MAX_TRIGGER_CALLS = 300
BUSY_WAIT_MS = 2000  # how long a page or the background writer waits for another worker's write
FLUSH_SECONDS = 0.05  # how long a row waits in its worker's queue (a page waits twice that)
MAX_ERROR_BODY = 2000
MAX_DOCUMENT = 100_000  # bytes of an event or a response kept

SCHEMA = """
CREATE TABLE IF NOT EXISTS api_calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    status INTEGER NOT NULL,
    error TEXT,
    error_body TEXT,
    duration_ms REAL NOT NULL,
    request_id TEXT
);
CREATE TABLE IF NOT EXISTS log_cleared (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS trigger_calls (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    function_arn TEXT NOT NULL,
    trigger_source TEXT,
    pool_id TEXT,
    username TEXT,
    event TEXT NOT NULL,
    response TEXT,
    error TEXT,
    duration_ms REAL NOT NULL
);
"""


# table -> (the columns a recorded row fills, in order; how many rows are kept)
TABLES = {
    "api_calls": (("at", "service", "operation", "status", "error", "error_body", "duration_ms", "request_id"),
                  MAX_API_CALLS),
    "trigger_calls": (("at", "function_arn", "trigger_source", "pool_id", "username", "event", "response", "error",
                       "duration_ms"), MAX_TRIGGER_CALLS),
}


class ActivityLog:
    """One activity file; a connection per thread (and per process after a fork)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self._connection().executescript(SCHEMA)
        # Rows wait here and a thread of this process writes them in batches, off the request's path.
        self._pending = {table: collections.deque(maxlen=bound) for table, (_columns, bound) in TABLES.items()}
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one thread of the process writes the queue at a time
        self._flushed = 0.0  # time.monotonic() of the last write
        self._wake = threading.Event()
        self._writer_pid = 0
        atexit.register(self.flush)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, isolation_level=None, timeout=2.0, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = OFF")  # a log: losing its tail on power loss is fine
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def _append(self, table: str, row: tuple) -> None:
        self._pending[table].append(row)  # a deque: appending is atomic, the oldest fall off
        if time.monotonic() - self._flushed >= FLUSH_SECONDS:
            # Under load the requests themselves write the queue now and then: a thread of its own
            # would fight them for the GIL at every row SQLite steps through (ten times the cost).
            self.flush(wait=False)
            return
        if self._writer_pid != os.getpid():  # the first row of this process starts its writer
            with self._lock:
                if self._writer_pid != os.getpid():
                    self._writer_pid = os.getpid()
                    threading.Thread(target=self._write_forever, name="activity-log", daemon=True).start()
        if not self._wake.is_set():
            self._wake.set()

    def _write_forever(self) -> None:
        """The last rows of a quiet moment, when no request comes to write them."""
        while True:
            self._wake.wait()
            time.sleep(FLUSH_SECONDS)
            self._wake.clear()
            self.flush()

    def flush(self, wait: bool = True) -> None:
        """Write the rows this process has recorded so far (and drop the oldest beyond the bound);
        with `wait=False`, only when no other thread of the process is writing them."""
        if not self._flushing.acquire(blocking=wait):
            return
        try:
            self._flushed = time.monotonic()
            self._write_pending(wait)
        finally:
            self._flushing.release()

    def _write_pending(self, wait: bool) -> None:
        taken: dict[str, list[tuple]] = {}
        for table, queue in self._pending.items():
            rows = []
            while queue:
                rows.append(queue.popleft())
            taken[table] = rows
        if not any(taken.values()):
            return
        try:
            conn = self._connection()
        except sqlite3.Error:  # the file is gone (its emulator stopped): nothing to write to
            log.debug("activity log unavailable", exc_info=True)
            return
        try:
            # A request writing the queue never waits for another worker's write: on a busy file
            # its rows go back to the queue for the next turn.
            conn.execute(f"PRAGMA busy_timeout = {BUSY_WAIT_MS if wait else 0}")
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                # Rows another worker recorded before a reset (and wrote only now) stay gone.
                cleared = conn.execute("SELECT at FROM log_cleared WHERE id = 1").fetchone()
                for table, (columns, bound) in TABLES.items():
                    mine = [row for row in taken[table] if cleared is None or row[0] > cleared[0]]
                    if mine:
                        marks = ", ".join("?" for _ in columns)
                        conn.executemany(f"INSERT INTO {table}({', '.join(columns)}) VALUES({marks})", mine)
                        conn.execute(f"DELETE FROM {table} WHERE seq <= (SELECT MAX(seq) FROM {table}) - ?",
                                     (bound,))
        except sqlite3.OperationalError as err:
            if wait or "locked" not in str(err):
                log.debug("activity log write failed", exc_info=True)
                return
            for table, rows in taken.items():  # back in order, before the rows recorded meanwhile
                queue = self._pending[table]
                newer = list(queue)
                queue.clear()
                queue.extend(rows)
                queue.extend(newer)  # a full queue drops its oldest, as ever
        except sqlite3.Error:  # the log must never fail the calls it records
            log.debug("activity log write failed", exc_info=True)

    # -- recording ------------------------------------------------------------------------------
    def record_api_call(self, *, service: str, operation: str, status: int, error: str | None,
                        error_body: bytes | None, seconds: float, request_id: str | None) -> None:
        body = error_body[:MAX_ERROR_BODY].decode("utf-8", "replace") if error_body else None
        self._append("api_calls", (time.time(), service, operation or "-", status, error, body, seconds * 1000,
                                   request_id))

    def record_trigger_call(self, *, function_arn: str, event: Any, response: Any, error: str | None,
                            seconds: float) -> None:
        source = pool_id = username = None
        if isinstance(event, dict):
            source = event.get("triggerSource") or event.get("eventType")
            pool_id = event.get("userPoolId") or event.get("identityPoolId")
            username = event.get("userName") or event.get("identityId")
        self._append("trigger_calls", (time.time(), function_arn, _text(source), _text(pool_id), _text(username),
                                       _document(event), None if response is None else _document(response),
                                       error, seconds * 1000))

    # -- reading --------------------------------------------------------------------------------
    def _settle(self) -> None:
        """Before reading: this worker's rows written, and the other workers' writers given time
        to write theirs (every row recorded before the page was asked for is then shown)."""
        self.flush()
        time.sleep(2 * FLUSH_SECONDS)

    # Newest first by when each call was recorded: workers write their queues in their own time, so
    # the order rows reach the file in is not the order the calls were made in.
    def api_calls(self, *, limit: int = 200, operation: str | None = None,
                  errors_only: bool = False) -> list[dict[str, Any]]:
        where, args = [], []
        if operation:
            where.append("operation = ?")
            args.append(operation)
        if errors_only:
            where.append("status >= 400")
        self._settle()
        sql = "SELECT * FROM api_calls" + (" WHERE " + " AND ".join(where) if where else "")
        rows = self._connection().execute(sql + " ORDER BY at DESC, seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [dict(r, message=error_message(r["error_body"])) for r in rows]

    def trigger_calls(self, *, limit: int = 100, pool_id: str | None = None) -> list[dict[str, Any]]:
        self._settle()
        sql, args = "SELECT * FROM trigger_calls", []
        if pool_id:
            sql += " WHERE pool_id = ?"
            args.append(pool_id)
        rows = self._connection().execute(sql + " ORDER BY at DESC, seq DESC LIMIT ?", (*args, limit)).fetchall()
        return [dict(r) for r in rows]

    def clear(self) -> None:
        self._settle()
        conn = self._connection()
        with conn:
            conn.execute("BEGIN")
            conn.execute("DELETE FROM api_calls")
            conn.execute("DELETE FROM trigger_calls")
            conn.execute("INSERT INTO log_cleared(id, at) VALUES(1, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at",
                         (time.time(),))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _document(value: Any) -> str:
    """Pretty JSON of an event or response, cut to MAX_DOCUMENT characters."""
    try:
        text = json.dumps(value, indent=2, sort_keys=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= MAX_DOCUMENT else text[:MAX_DOCUMENT] + "\n…"


def error_message(body: str | None) -> str | None:
    """The message of an error answer (JSON `message`/`Message`, or the query protocol's XML)."""
    if not body:
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        start, end = body.find("<Message>"), body.find("</Message>")
        return body[start + 9:end] if 0 <= start < end else None
    if isinstance(parsed, dict):
        message = parsed.get("message") or parsed.get("Message")
        return message if isinstance(message, str) else None
    return None


def path_for(config: Any, store_path: str | None) -> str:
    """Where the activity file of an emulator lives: beside its SQLite database, or in the
    temporary directory (one per node and database URL) for PostgreSQL."""
    if store_path:
        return os.path.join(os.path.dirname(os.path.abspath(store_path)), "activity.sqlite3")
    key = hashlib.sha256(f"{config.database_url}|{os.path.abspath(config.data_dir)}".encode()).hexdigest()[:16]
    return os.path.join(tempfile.gettempdir(), f"cognito-emulator-activity-{key}.sqlite3")


# The log of each emulator, found from its Config (what the Lambda invoker is given).
_by_config: dict[int, ActivityLog] = {}


def register(config: Any, activity: ActivityLog) -> None:
    _by_config[id(config)] = activity


def for_config(config: Any) -> ActivityLog | None:
    return _by_config.get(id(config))


def trigger_observer(config: Any, function_arn: str, event: Any, response: Any, error: str | None,
                     seconds: float) -> None:
    """emulator.lambdas observer: every invocation into the log of the emulator that made it."""
    activity = for_config(config)
    if activity is not None:
        activity.record_trigger_call(function_arn=function_arn, event=event, response=response, error=error,
                                     seconds=seconds)
