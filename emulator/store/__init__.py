"""State: one database (SQLite, or PostgreSQL for several nodes), tables per module, versioned
migrations, and units of work that apply fully or not at all.

Each module declares its migrations with `register_schema(owner, [sql, ...])`; the store applies
the missing ones when it opens. SQL is written once, in the dialect both databases run (SQLite's
`?` placeholders; `emulator.store.postgres` translates the rest).

Transactions. Every thread has its own connection. A *writing* unit of work holds the store's
write lock from its first statement to its commit, so writers run one at a time everywhere (all
threads, worker processes and nodes): an operation that checked something can rely on it until it
commits. A *reading* unit of work takes no lock and reads a snapshot, so reads never wait for
writes; if it tries to write, `WriteNeeded` is raised and the caller runs it again as a writer.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any, Protocol

import orjson

from emulator.store.base import Database, WriteNeeded, writes
from emulator.store.sqlite import SQLiteBackend

__all__ = ["Database", "Store", "WriteNeeded", "delete_owned", "dumps", "loads", "open_store",
           "register_schema", "writes"]

MIGRATIONS: dict[str, list[str]] = {}
# Tables whose rows belong to one user pool (column pool_id), app client (client_id), user
# (pool_id, username), identity pool (pool_id) or identity (identity_id): deleting the owner
# deletes them, so no module needs a cleanup hook.
OWNER_COLUMNS: dict[str, tuple[str, ...]] = {"user_pool": ("pool_id",), "app_client": ("client_id",),
                                             "user": ("pool_id", "username"),
                                             "identity_pool": ("pool_id",), "identity": ("identity_id",)}
OWNED: dict[str, list[str]] = {kind: [] for kind in OWNER_COLUMNS}
# Tables a reset keeps: the migrations' bookkeeping, the write lock row, counters of the process.
KEPT_BY_RESET = ("schema_migrations", "emulator_write_lock", "emulator_counters")

_CORE = [
    """
    CREATE TABLE emulator_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    """
    CREATE TABLE emulator_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    """,
]


def register_schema(owner: str, migrations: list[str], *,
                    owned: dict[str, tuple[str, ...]] | None = None) -> None:
    """Declare the ordered migrations of one owner (a service or module), and which of its
    tables hold rows that belong to a user pool or app client (`owned`, by OWNER_COLUMNS kind)."""
    MIGRATIONS[owner] = migrations
    for kind, tables in (owned or {}).items():
        OWNED[kind].extend(t for t in tables if t not in OWNED[kind])


def delete_owned(db, kind: str, *key: str) -> None:
    """Delete every row that belongs to the user pool, app client or user `key` (one value per
    column of OWNER_COLUMNS[kind]; see register_schema)."""
    where = " AND ".join(f"{column} = ?" for column in OWNER_COLUMNS[kind])
    for table in OWNED[kind]:
        db.execute(f'DELETE FROM "{table}" WHERE {where}', key)


register_schema("core", _CORE)


def dumps(value: Any) -> str:
    """Compact JSON with sorted keys (orjson: two to three times faster than the json module)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # what only the json module writes: integer keys, integers beyond 64 bits
        return json.dumps(value, separators=(",", ":"), sort_keys=True)


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # integers beyond 64 bits, written by the json module
        return json.loads(text)


class Backend(Protocol):
    dialect: str

    def acquire(self): ...
    def release(self, conn) -> None: ...
    def database(self, conn) -> Database: ...
    def begin(self, conn, write: bool) -> None: ...
    def end(self, conn, commit: bool, write: bool) -> None: ...
    def tables(self, db: Database) -> list[str]: ...
    def split(self, sql: str) -> list[str]: ...
    def checkpoint(self) -> None: ...
    def renew_connection(self) -> None: ...
    def disconnect(self) -> None: ...
    def close(self) -> None: ...


class _Thread:
    """One thread's place in the store: its connection while a unit of work runs."""

    __slots__ = ("conn", "counts", "db", "depth", "write")

    def __init__(self) -> None:
        self.conn = None
        self.counts: list[str] = []  # counts made inside the unit of work, added after it
        self.db: Database | None = None
        self.depth = 0
        self.write = False


class Store:
    """The database of one emulator process, shared by its threads (each with its own
    connection), and with every other process or node opened on the same database."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.dialect = backend.dialect
        self._local = threading.local()
        self.migrate()

    def _thread(self) -> _Thread:
        state = getattr(self._local, "state", None)
        if state is None:
            state = self._local.state = _Thread()
        return state

    # -- schema ------------------------------------------------------------------
    def migrate(self) -> None:
        with self.transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                       "(owner TEXT PRIMARY KEY, version INTEGER NOT NULL)")
            for owner, steps in MIGRATIONS.items():
                row = db.execute("SELECT version FROM schema_migrations WHERE owner = ?",
                                 (owner,)).fetchone()
                done = row[0] if row else 0
                for sql in steps[done:]:
                    for statement in self.backend.split(sql):
                        db.execute(statement)
                if len(steps) > done:
                    db.execute("INSERT INTO schema_migrations(owner, version) VALUES(?, ?) "
                               "ON CONFLICT(owner) DO UPDATE SET version = excluded.version",
                               (owner, len(steps)))

    def tables(self, db: Database) -> list[str]:
        """Every table of the emulator's state (not the store's own bookkeeping)."""
        return [t for t in self.backend.tables(db) if t not in KEPT_BY_RESET]

    # -- transactions --------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Database]:
        """One atomic unit of work; nested calls join the outer one. A reading one (`write=False`)
        raises WriteNeeded at its first write."""
        state = self._thread()
        if state.depth:
            state.depth += 1
            try:
                yield state.db
            finally:
                state.depth -= 1
            return
        self._begin(state, write)
        state.depth = 1
        try:
            yield state.db
        except BaseException:
            state.depth = 0
            self._end(state, commit=False)
            self._flush_counts(state)
            raise
        state.depth = 0
        self._end(state, commit=True)
        self._flush_counts(state)

    def _begin(self, state: _Thread, write: bool) -> None:
        conn = self.backend.acquire()
        try:
            self.backend.begin(conn, write)
        except BaseException:
            self.backend.release(conn)
            raise
        state.conn, state.write = conn, write
        state.db = self.backend.database(conn)
        state.db.writable = write
        state.db.memo = {}

    def _end(self, state: _Thread, commit: bool) -> None:
        conn, write = state.conn, state.write
        state.conn = state.db = None
        try:
            self.backend.end(conn, commit, write)
        finally:
            self.backend.release(conn)

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Commit the current transaction and release the write lock while calling out.

        Used around Lambda triggers and other outbound calls, which may call back into the
        emulator. The caller's work so far is committed; a new, writing transaction begins when
        the block ends (on the same Database object the caller holds).

        Other requests run while the block does, so after it the caller must treat everything
        it read or checked before as stale. Before writing, it re-checks in the new transaction
        every invariant it relied on (a free username, email or alias; a code, session or
        SyncCount still unused; the record still there) and answers the loser of a race with
        the error AWS gives; and it re-loads records it goes on using or writing (a user
        deleted or disabled meanwhile gets no tokens). users.save_user re-checks uniqueness
        of new users and keeps concurrent changes of loaded ones; auth_sessions.consume fails
        for a session used meanwhile; users.reload_user re-reads a user. Work committed
        before the block stays committed if the operation fails after it.
        """
        state = self._thread()
        if not state.depth:
            yield
            return
        db, depth = state.db, state.depth
        state.depth = 0
        self._end(state, commit=True)
        try:
            yield
        finally:
            conn = self.backend.acquire()
            try:
                self.backend.begin(conn, True)
            except BaseException:
                self.backend.release(conn)
                raise
            db.conn, db.writable = conn, True  # the caller's Database goes on, now writing
            db.memo = {}  # others wrote meanwhile
            state.conn, state.db, state.write, state.depth = conn, db, True, depth

    # -- counters shared by every process -------------------------------------------
    def count(self, name: str) -> None:
        """Add one to a counter (e.g. internal errors). Inside a unit of work the count waits for
        it to end (it must not roll back with it, nor wait for the write lock the unit holds)."""
        state = self._thread()
        state.counts.append(name)
        if not state.depth:
            self._flush_counts(state)

    def _flush_counts(self, state: _Thread) -> None:
        names, state.counts = state.counts, []
        if names:
            with self.transaction() as db:
                for name in names:
                    db.execute("INSERT INTO emulator_counters(name, value) VALUES(?, 1) ON CONFLICT(name) "
                               "DO UPDATE SET value = emulator_counters.value + 1", (name,))

    def counter(self, name: str) -> int:
        with self.transaction(write=False) as db:
            row = db.execute("SELECT value FROM emulator_counters WHERE name = ?", (name,)).fetchone()
        return row[0] if row else 0

    def reset(self) -> None:
        """Delete every row of every table (all regions and accounts)."""
        with self.transaction() as db:
            for table in self.tables(db):
                db.execute(f'DELETE FROM "{table}"')

    def checkpoint(self) -> None:
        """After a large write (an import): move what the log holds into the database now,
        without waiting for readers, so the log does not stay large."""
        self.backend.checkpoint()

    def renew_connection(self) -> None:
        """After a large write: this thread's next unit of work gets a new connection. SQLite's
        statement cache keeps the values last bound to each statement: a CSV upload's megabytes."""
        self.backend.renew_connection()

    def disconnect(self) -> None:
        """Close every connection, e.g. before forking workers (they open their own)."""
        self.backend.disconnect()

    def close(self) -> None:
        self.backend.close()


def open_store(*, path: str | None = None, url: str | None = None) -> Store:
    """The store at a PostgreSQL `url`, or a SQLite file at `path` (a temporary one, deleted when
    the store is closed or the process ends, when `path` is None)."""
    if url:
        from emulator.store.postgres import PostgresBackend  # psycopg is needed only for PostgreSQL
        return Store(PostgresBackend(url))
    return Store(SQLiteBackend(path))
