"""The house rules of ARCHITECTURE.md, read from the code: imports point one way, no cycles, no
call-time module lookups, modules of a readable size, every table's rows owned by something
whose deletion removes them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("emulator", "protocol")
# Layers of the user pools service, lowest first: a module imports its own layer or lower ones.
LAYERS = ["model", "outbound", "accounts", "signin", "ops"]
MAX_LINES = 500
LONG_REASON = "Longer than 500 lines:"
# Where a module is looked up by name at run time, and why that is the job.
DYNAMIC_IMPORTS = {
    "emulator.service_modules",  # loads each service's modules
    "emulator.lambdas",  # a trigger mapped to a Python callable names its module in the config
}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(imported project module, at top level) for every import in the module."""
    tree = ast.parse(path.read_text())
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    skip = {id(n) for node in ast.walk(tree) if _is_type_checking(node) for n in ast.walk(node)}
    top = {id(n) for n in tree.body}
    out = []
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        if isinstance(node, ast.ImportFrom) and base in MODULES and base != name:
            # `from package import module` imports the package as well: a package whose
            # __init__ imports its modules, which import it this way, is a cycle.
            out.append((base, id(node) in top))
        out += [(t, id(node) in top) for t in targets if t in MODULES and t != name]
    return out


IMPORTS = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_protocol_knows_nothing_of_the_emulator():
    wrong = [(name, target) for name, found in IMPORTS.items() if name.startswith("protocol")
             for target, _top in found if target.startswith("emulator")]
    assert wrong == []


@pytest.mark.parametrize("top_only", [True, False], ids=["top-level imports", "all imports"])
def test_no_import_cycle(top_only):
    edges = {name: {t for t, top in found if top or not top_only} for name, found in IMPORTS.items()}
    assert _cycle(edges) is None


def test_no_call_time_module_lookups():
    wrong = []
    for name, path in MODULES.items():
        text = path.read_text()
        if ("import_module(" in text or "__import__(" in text) and name not in DYNAMIC_IMPORTS:
            wrong.append(name)
    assert wrong == []


def _layer(name: str) -> int | None:
    parts = name.split(".")
    if parts[:2] == ["emulator", "userpools"] and len(parts) > 2 and parts[2] in LAYERS:
        return LAYERS.index(parts[2])
    return None


def test_user_pool_layers_point_down():
    wrong = []
    for name, found in IMPORTS.items():
        mine = _layer(name)
        for target, _top in found:
            theirs = _layer(target)
            if theirs is None:
                continue
            if mine is None and name.startswith("emulator.userpools"):
                mine = 0  # the package itself and its registry sit below every layer
            if mine is None:
                # Other services and the hosted UI use user pools below the operations.
                if theirs == LAYERS.index("ops") and not name.startswith("emulator.userpools"):
                    wrong.append((name, target))
            elif theirs > mine:
                wrong.append((name, target))
    assert wrong == []


def test_user_pool_modules_live_in_a_layer():
    loose = [name for name, path in MODULES.items()
             if name.startswith("emulator.userpools.") and _layer(name) is None
             and name not in ("emulator.userpools.errors",)]
    assert loose == []


def test_modules_stay_readable():
    long = [f"{name} ({n} lines)" for name, path in MODULES.items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES
            and LONG_REASON not in (ast.get_docstring(ast.parse(path.read_text())) or "")]
    assert long == []


def test_every_table_of_a_pool_or_identity_pool_is_owned():
    """A table with a pool_id column must say which deletion removes its rows (register_schema's
    `owned`), or be listed here with the reason it outlives its pool."""
    from emulator.service_modules import load_services
    from emulator.store import OWNED, open_store

    outlives = {
        "outbox_messages",  # the messages a pool "sent" stay readable after it is gone
        "pitr_journal", "pitr_tier_changes", "pitr_recoveries",  # cleaned by their SQL trigger
        "sync_pool_usage", "sync_pool_config", "sync_stream_records",  # Sync settings and streams
    }
    load_services()
    store = open_store()
    try:
        with store.transaction() as db:
            tables = store.tables(db)
            columns = {t: {r[1] for r in db.execute(f'PRAGMA table_info("{t}")')} for t in tables}
    finally:
        store.close()
    owned = set(OWNED["user_pool"]) | set(OWNED["identity_pool"])
    missing = sorted(t for t in tables if "pool_id" in columns[t] and t not in owned | outlives)
    assert missing == []
    # every declared table exists and has the owner's key columns
    from emulator.store import OWNER_COLUMNS
    wrong = [(kind, t) for kind, owned_tables in OWNED.items() for t in owned_tables
             if t not in columns or not set(OWNER_COLUMNS[kind]) <= columns[t]]
    assert wrong == []
