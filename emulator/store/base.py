"""What every database backend shares: the Database a unit of work executes statements on."""

from __future__ import annotations


class WriteNeeded(BaseException):  # noqa: N818 (a signal, not an error; BaseException so no handler swallows it)
    """A reading unit of work tried to write: run it again as a writing one."""


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_writes_cache: dict[str, bool] = {}


def writes(sql: str) -> bool:
    """Whether a statement changes the database."""
    known = _writes_cache.get(sql)
    if known is None:
        known = sql.lstrip().upper().startswith(_WRITES)
        if len(_writes_cache) > 4096:
            _writes_cache.clear()
        _writes_cache[sql] = known
    return known


class Database:
    """What a unit of work executes statements on: the thread's connection, refusing writes in
    a reading unit of work (they raise WriteNeeded)."""

    __slots__ = ("conn", "memo", "writable")

    def __init__(self, conn) -> None:
        self.conn = conn
        self.writable = True
        # Facts that cannot change while the unit of work runs (e.g. which pool a client is of),
        # remembered by the modules that read them; emptied when a unit of work begins.
        self.memo: dict = {}

    def execute(self, sql: str, params=()):
        if not self.writable and writes(sql):
            raise WriteNeeded(sql)
        return self.conn.execute(sql, params)
