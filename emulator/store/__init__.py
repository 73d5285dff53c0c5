"""SQLite state: one database, tables per service, versioned migrations.

Each service registers its migrations with `register_schema(owner, [sql, ...])` at import;
the store applies the missing ones when it opens. Every API operation runs inside
`Store.transaction()`: it commits when the operation returns and rolls back when it
raises, so an operation applies fully or not at all. `BEGIN IMMEDIATE` takes the write
lock up front, which keeps several processes on one file safe.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

MIGRATIONS: dict[str, list[str]] = {}
# Tables whose rows belong to one user pool (column pool_id), app client (client_id), user
# (pool_id, username), identity pool (pool_id) or identity (identity_id): deleting the owner
# deletes them, so no module needs a cleanup hook.
OWNER_COLUMNS: dict[str, tuple[str, ...]] = {"user_pool": ("pool_id",), "app_client": ("client_id",),
                                             "user": ("pool_id", "username"),
                                             "identity_pool": ("pool_id",), "identity": ("identity_id",)}
OWNED: dict[str, list[str]] = {kind: [] for kind in OWNER_COLUMNS}

_CORE = [
    """
    CREATE TABLE emulator_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
]


def register_schema(owner: str, migrations: list[str], *,
                    owned: dict[str, tuple[str, ...]] | None = None) -> None:
    """Declare the ordered migrations of one owner (a service or module), and which of its
    tables hold rows that belong to a user pool or app client (`owned`, by OWNER_COLUMNS kind)."""
    MIGRATIONS[owner] = migrations
    for kind, tables in (owned or {}).items():
        OWNED[kind].extend(t for t in tables if t not in OWNED[kind])


def delete_owned(db: sqlite3.Connection, kind: str, *key: str) -> None:
    """Delete every row that belongs to the user pool, app client or user `key` (one value per
    column of OWNER_COLUMNS[kind]; see register_schema)."""
    db.execute("PRAGMA defer_foreign_keys = ON")
    where = " AND ".join(f"{column} = ?" for column in OWNER_COLUMNS[kind])
    for table in OWNED[kind]:
        db.execute(f'DELETE FROM "{table}" WHERE {where}', key)


register_schema("core", _CORE)


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def loads(text: str | None, default: Any = None) -> Any:
    if text is None or text == "":
        return default
    return json.loads(text)


class Store:
    """The database of one emulator process (shared by its threads)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        if path is None:
            target = ":memory:"
        else:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            target = path
        self._conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None,
                                     timeout=30.0)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._local = threading.local()
        self._conn.execute("PRAGMA busy_timeout = 30000")
        if path is not None:
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
        self._conn.execute("PRAGMA foreign_keys = ON")
        self.migrate()

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
                    for statement in _split_sql(sql):
                        db.execute(statement)
                if len(steps) > done:
                    db.execute("INSERT INTO schema_migrations(owner, version) VALUES(?, ?) "
                               "ON CONFLICT(owner) DO UPDATE SET version = excluded.version",
                               (owner, len(steps)))

    def tables(self, db: sqlite3.Connection) -> list[str]:
        return [r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'schema_migrations'")]

    # -- transactions --------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work; nested calls join the outer transaction."""
        with self._lock:
            depth = getattr(self._local, "depth", 0)
            if depth:
                self._local.depth = depth + 1
                try:
                    yield self._conn
                finally:
                    self._local.depth = depth
                return
            self._conn.execute("BEGIN IMMEDIATE")
            self._local.depth = 1
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._local.depth = 0

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Commit the current transaction and release the lock while calling out.

        Used around Lambda triggers and other outbound calls, which may call back into the
        emulator from another thread. The caller's work so far is committed; a new
        transaction begins when the block ends.

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
        depth = getattr(self._local, "depth", 0)
        if not depth:
            yield
            return
        self._conn.execute("COMMIT")
        self._local.depth = 0
        for _ in range(depth):
            self._lock.release()
        try:
            yield
        finally:
            for _ in range(depth):
                self._lock.acquire()
            self._conn.execute("BEGIN IMMEDIATE")
            self._local.depth = depth

    def reset(self) -> None:
        """Delete every row of every table (all regions and accounts)."""
        with self.transaction() as db:
            db.execute("PRAGMA defer_foreign_keys = ON")
            for table in self.tables(db):
                db.execute(f'DELETE FROM "{table}"')

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _split_sql(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]
