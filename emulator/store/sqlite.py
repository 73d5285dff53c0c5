"""SQLite: one file shared by every thread and process on one machine (WAL mode).

Each thread keeps its own connection. Readers read a snapshot and never wait. Writers take the
write lock first: a thread lock inside the process, then an exclusive `flock` on a lock file
beside the database, which hands over at once to the next waiting process (SQLite's own busy
wait polls with sleeps); `BEGIN IMMEDIATE` then never waits. A database path of None is a
temporary file in memory-backed storage (/dev/shm where it exists), deleted when the store is
closed or the process that made it ends: `--in-memory` state that several threads and worker
processes can share.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import sqlite3
import tempfile
import threading

from emulator.store.base import Database

WAL_SIZE_LIMIT = 16 * 1024 * 1024
PAGE_CACHE_KIB = 1024
BUSY_TIMEOUT_MS = 30000


def _memory_dir() -> str | None:
    """A directory in memory-backed storage with room for a large state, if there is one."""
    try:
        stats = os.statvfs("/dev/shm")
    except OSError:
        return None
    return "/dev/shm" if stats.f_bavail * stats.f_frsize >= 1 << 30 else None


def temporary_path() -> str:
    """A new database path that is removed when this process exits."""
    directory = tempfile.mkdtemp(prefix="cognito-emulator-", dir=_memory_dir())
    creator = os.getpid()

    def remove() -> None:
        if os.getpid() == creator:
            shutil.rmtree(directory, ignore_errors=True)
    atexit.register(remove)
    return os.path.join(directory, "cognito.sqlite3")


class SQLiteBackend:
    dialect = "sqlite"

    def __init__(self, path: str | None) -> None:
        self.temporary = path is None
        if path is None:
            path = temporary_path()
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.path = path
        self._local = threading.local()
        self._lock = threading.Lock()
        self._lock_fd: int | None = None
        self._lock_pid = 0
        self._connections: list[sqlite3.Connection] = []
        self._generation = 0  # disconnect() makes every thread open a new connection
        conn = self._connect()
        conn.execute("PRAGMA journal_mode = WAL")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # In WAL mode NORMAL loses nothing when a process dies, only on power loss; a temporary
        # database does not outlive its process anyway.
        conn.execute("PRAGMA synchronous = OFF" if self.temporary else "PRAGMA synchronous = NORMAL")
        # The WAL grows while readers keep old snapshots (a big import under load reached 119 MB);
        # a checkpoint that completes cuts it back to this size.
        conn.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
        # Every thread has a connection and every connection its page cache: 1 MiB each (SQLite's
        # default is 2) keeps a worker's memory bounded; the system's file cache backs them all.
        conn.execute(f"PRAGMA cache_size = -{PAGE_CACHE_KIB}")
        with self._lock:
            self._connections.append(conn)
        return conn

    def acquire(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        # a new thread, a forked process, or connections closed by disconnect()
        if conn is None or self._local.key != (os.getpid(), self._generation):
            conn = self._local.conn = self._connect()
            self._local.key = (os.getpid(), self._generation)
        return conn

    def release(self, conn) -> None:
        pass

    def database(self, conn) -> Database:
        db = getattr(self._local, "db", None)
        if db is None or db.conn is not conn:
            db = self._local.db = Database(conn)
        return db

    def _lock_file(self) -> int:
        if self._lock_fd is None or self._lock_pid != os.getpid():
            self._lock_fd = os.open(self.path + "-writer", os.O_RDWR | os.O_CREAT, 0o600)
            self._lock_pid = os.getpid()
        return self._lock_fd

    def begin(self, conn, write: bool) -> None:
        if not write:
            conn.execute("BEGIN")
            return
        self._lock.acquire()
        try:
            fcntl.flock(self._lock_file(), fcntl.LOCK_EX)
            try:
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                raise
        except BaseException:
            self._lock.release()
            raise

    def end(self, conn, commit: bool, write: bool) -> None:
        try:
            if commit:
                try:
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            if write:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                self._lock.release()

    def tables(self, db: Database) -> list[str]:
        return [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]

    def split(self, sql: str) -> list[str]:
        return [s.strip() for s in sql.split(";") if s.strip()]

    def checkpoint(self) -> None:
        conn = self.acquire()
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self.release(conn)

    def renew_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = self._local.db = None
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)
        conn.close()

    def disconnect(self) -> None:
        """Close every connection (threads open new ones when they need them)."""
        with self._lock:
            connections, self._connections = self._connections, []
            self._generation += 1
        for conn in connections:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def close(self) -> None:
        self.disconnect()
        if self.temporary:
            shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)
