"""Export and import of whole states: every row a user pool or identity pool owns, read from the
tables the modules declared (`register_schema(owned=...)`), so a new table travels without a
change here. The format is described in docs/state-format.md.

A user pool brings its clients and secrets, domains, resource servers, identity providers,
groups, users with their password verifiers, MFA secrets, devices, passkeys and links, refresh
tokens, its signing keys (tokens issued before still verify) and every other row it owns. An
identity pool brings its identities, logins, credentials and Sync datasets and records, and the
identity pools' OpenID signing keys come along; so do the social sandbox's test identities and
signing keys, which belong to no pool. What outlives a pool (the outbox, the recovery
journal, Kinesis records) is not part of its state.
"""

from __future__ import annotations

import base64
import datetime
import sqlite3
from typing import Any

from emulator import __version__
from emulator.environments.documents import Document
from emulator.environments.progress import Progress
from emulator.store import OWNED

FORMAT = "cognito-emulator-state"
VERSION = 1
# Rows of an identity pool's Sync settings, outside `owned` because they outlive the pool.
IDENTITY_POOL_EXTRAS = ("sync_pool_config", "sync_pool_usage")
# Tables of the whole emulator that travel with the pools (an import adds a row unless one with
# its key is there): table -> whether it comes with identity pools only.
SHARED = {
    "identity_signing_keys": True,  # every identity pool's OpenID tokens are signed with these
    "social_identities": False,  # the social sandbox's declared test users
    "social_keys": False,  # the sandbox providers' signing keys: their tokens verify after an import
}
STORE_ASSIGNED = "seq"  # the store numbers rows; an import numbers them anew, in the same order


def user_pool_tables() -> list[str]:
    return _unique(["user_pools", *OWNED["user_pool"], *OWNED["user"], *OWNED["app_client"]])


def identity_pool_tables() -> list[str]:
    return _unique(["identity_pools", *OWNED["identity_pool"], *OWNED["identity"], *IDENTITY_POOL_EXTRAS])


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _key_column(table: str) -> str:
    return "id" if table in ("user_pools", "identity_pools") else "pool_id"


def _columns(db, table: str) -> list[str]:
    return [d[0] for d in db.execute(f'SELECT * FROM "{table}" LIMIT 0').description]  # noqa: S608


def _encode(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$bytes": base64.b64encode(bytes(value)).decode()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$bytes"}:
        return base64.b64decode(value["$bytes"])
    return value


def is_identity_pool_id(pool_id: str) -> bool:
    return ":" in pool_id


# -- export --------------------------------------------------------------------------------------
def export_state(store, pool_ids: list[str] | None = None) -> dict:
    """The state of the named pools (user pool or identity pool ids), or of every pool."""
    with store.transaction(write=False) as db:
        if pool_ids:
            user_pool_ids = [p for p in pool_ids if not is_identity_pool_id(p)]
            identity_pool_ids = [p for p in pool_ids if is_identity_pool_id(p)]
            for table, wanted in (("user_pools", user_pool_ids), ("identity_pools", identity_pool_ids)):
                for pool_id in wanted:
                    if db.execute(f"SELECT 1 FROM {table} WHERE id = ?", (pool_id,)).fetchone() is None:  # noqa: S608
                        what = "identity pool" if table == "identity_pools" else "user pool"
                        raise LookupError(f"{what} {pool_id} does not exist")
        else:
            user_pool_ids = [r[0] for r in db.execute("SELECT id FROM user_pools ORDER BY created, id")]
            identity_pool_ids = [r[0] for r in db.execute("SELECT id FROM identity_pools ORDER BY created, id")]
        tables: dict[str, dict] = {}
        present = set(store.tables(db))
        for ids, names in ((user_pool_ids, user_pool_tables()), (identity_pool_ids, identity_pool_tables())):
            if not ids:
                continue
            for table in names:
                if table in present:
                    tables[table] = _export_table(db, table, _key_column(table), ids)
        for table, identity_only in SHARED.items():
            if table in present and (identity_pool_ids or (user_pool_ids and not identity_only)):
                tables[table] = _export_table(db, table, None, [])
    now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"format": FORMAT, "version": VERSION, "exported_at": now, "emulator_version": __version__,
            "user_pools": user_pool_ids, "identity_pools": identity_pool_ids,
            "tables": {name: table for name, table in tables.items() if table["rows"]}}


def _export_table(db, table: str, key: str | None, ids: list[str]) -> dict:
    columns = _columns(db, table)
    kept = [c for c in columns if c != STORE_ASSIGNED]
    order = STORE_ASSIGNED if STORE_ASSIGNED in columns else ", ".join(f'"{c}"' for c in kept)
    select = ", ".join(f'"{c}"' for c in kept)
    rows: list[list] = []
    if key is None:
        found = db.execute(f'SELECT {select} FROM "{table}" ORDER BY {order}')  # noqa: S608
        rows = [[_encode(v) for v in row] for row in found]
    else:
        for pool_id in ids:
            found = db.execute(f'SELECT {select} FROM "{table}" WHERE "{key}" = ? ORDER BY {order}',  # noqa: S608
                               (pool_id,))
            rows += [[_encode(v) for v in row] for row in found]
    return {"columns": kept, "rows": rows}


# -- import --------------------------------------------------------------------------------------
def import_state(store, doc: Document, *, existing: str = "refuse", progress: bool | None = None) -> list[str]:
    """Load an exported state in one transaction: all of it or, on any error, nothing. A pool that
    already exists is refused (`existing="refuse"`), deleted first with every row it owns
    ("replace"), or kept as it is, its part of the file skipped ("keep", as a seed applies it)."""
    data = doc.data
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise doc.error(("format",), f'not an exported state (expected "format": "{FORMAT}")')
    version = data.get("version")
    if version != VERSION:
        raise doc.error(("version",), f"version {version!r} is not one this emulator reads (it reads {VERSION})")
    user_pool_ids = _id_list(doc, "user_pools")
    identity_pool_ids = _id_list(doc, "identity_pools")
    tables = data.get("tables")
    if not isinstance(tables, dict):
        raise doc.error(("tables",), "expected a mapping of table names to {columns, rows}")
    allowed = {t: user_pool_ids for t in user_pool_tables()} | {t: identity_pool_ids for t in identity_pool_tables()}
    kept: set[str] = set()
    with store.transaction() as db:
        present = set(store.tables(db))
        for pool_id in user_pool_ids:
            if not _make_room(doc, db, "user pool", "user_pools", user_pool_tables(), pool_id, existing, present):
                kept.add(pool_id)
        for pool_id in identity_pool_ids:
            if not _make_room(doc, db, "identity pool", "identity_pools", identity_pool_tables(), pool_id, existing,
                              present):
                kept.add(pool_id)
        for table, content in tables.items():
            if table in SHARED and table in present:
                _insert(doc, db, table, content, None, set(), kept, progress, conflict="ON CONFLICT DO NOTHING")
            elif table in allowed and table in present:
                _insert(doc, db, table, content, _key_column(table), set(allowed[table]), kept, progress)
            else:
                raise doc.error(("tables", table), "not a table of a user pool's or identity pool's state "
                                "in this emulator")
    loaded = [p for p in [*user_pool_ids, *identity_pool_ids] if p not in kept]
    lines = [f"imported {len(loaded)} pool(s): {', '.join(loaded) or 'none'}"]
    if kept:
        lines.append(f"already there, left as they are: {', '.join(sorted(kept))}")
    return lines


def _id_list(doc: Document, key: str) -> list[str]:
    ids = doc.data.get(key) or []
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise doc.error((key,), "expected a list of pool ids")
    return ids


def _make_room(doc: Document, db, what: str, main: str, tables: list[str], pool_id: str, existing: str,
               present: set[str]) -> bool:
    """Whether the pool's rows are to be loaded (it is not there, or has just been deleted)."""
    if db.execute(f"SELECT 1 FROM {main} WHERE id = ?", (pool_id,)).fetchone() is None:  # noqa: S608
        return True
    if existing == "keep":
        return False
    if existing != "replace":
        raise doc.error((), f"{what} {pool_id} already exists; import with --replace to replace it "
                        "(its current state is deleted)")
    for table in tables:
        if table in present:
            db.execute(f'DELETE FROM "{table}" WHERE "{_key_column(table)}" = ?', (pool_id,))  # noqa: S608
    return True


def _insert(doc: Document, db, table: str, content: Any, key: str | None, ids: set[str], kept: set[str],
            progress: bool | None, conflict: str = "") -> None:
    where = ("tables", table)
    if not isinstance(content, dict) or not isinstance(content.get("columns"), list) \
            or not isinstance(content.get("rows"), list):
        raise doc.error(where, "expected {columns: [...], rows: [[...], ...]}")
    columns = content["columns"]
    known = set(_columns(db, table))
    unknown = [c for c in columns if c not in known or c == STORE_ASSIGNED]
    if unknown:
        raise doc.error((*where, "columns"), f"column {unknown[0]!r} is not one of table {table}'s")
    if key is not None and key not in columns:
        raise doc.error((*where, "columns"), f"column {key!r} is missing")
    position = columns.index(key) if key is not None else None
    names = ", ".join(f'"{c}"' for c in columns)  # checked against the table's own columns above
    marks = ", ".join("?" for _ in columns)
    sql = f'INSERT INTO "{table}"({names}) VALUES({marks}) {conflict}'  # noqa: S608
    bar = Progress(f"{table}", len(content["rows"]), enabled=progress) if table == "users" else None
    for number, row in enumerate(content["rows"]):
        if not isinstance(row, list) or len(row) != len(columns):
            raise doc.error((*where, "rows", number), f"expected a list of {len(columns)} values")
        if position is not None and row[position] not in ids:
            raise doc.error((*where, "rows", number), f"{key} {row[position]!r} is not one of the file's pools")
        if position is not None and row[position] in kept:
            continue
        try:
            db.execute(sql, [_decode(v) for v in row])
        except Exception as err:
            if not _is_conflict(err):
                raise
            raise doc.error((*where, "rows", number), f"conflicts with the state already there ({err})") from None
        if bar:
            bar.step()
    if bar:
        bar.finish()


def _is_conflict(err: Exception) -> bool:
    if isinstance(err, sqlite3.IntegrityError):
        return True
    try:
        import psycopg  # only when the store is PostgreSQL is this error possible
    except ImportError:  # pragma: no cover
        return False
    return isinstance(err, psycopg.IntegrityError)
