"""`cognito-emulator seed`, `export` and `import`: against a data directory (the server may be running
on it: every write takes the store's write lock, and the server reads each transaction afresh) or a
PostgreSQL database."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TextIO

from emulator.config import Config, from_environment
from emulator.environments import KINDS

# The readers, the store and the app are imported when a command runs: every start of
# `cognito-emulator` builds this parser.

COMMANDS = ("seed", "export", "import")


def _store_arguments(p: argparse.ArgumentParser) -> None:
    defaults = from_environment()
    p.add_argument("--data-dir", default=defaults.data_dir,
                   help=f"directory of the state (env COGNITO_EMULATOR_DATA_DIR; default {defaults.data_dir})")
    p.add_argument("--database-url", default=defaults.database_url,
                   help="postgresql://...: the state in PostgreSQL instead (env COGNITO_EMULATOR_DATABASE_URL)")


def add_parsers(sub) -> None:
    defaults = from_environment()
    seed = sub.add_parser("seed", help="apply a declared environment: a seed file (YAML, JSON, TOML), an "
                          "amplify_outputs.json or a CloudFormation template")
    seed.add_argument("file")
    seed.add_argument("--from", dest="kind", choices=KINDS,
                      help="what the file is (default: told by its content)")
    seed.add_argument("--progress", action="store_true", default=None,
                      help="show counts on stderr even when it is not a terminal")
    seed.add_argument("--region", default=defaults.region, help="region of pools declared without an id")
    seed.add_argument("--account-id", default=defaults.account_id, help="account id in ARNs")
    seed.add_argument("--public-url", default=defaults.public_url,
                      help="the emulator's URL, for the endpoint overrides printed (default: http://{host}:{port} "
                      "of the environment's settings)")
    _store_arguments(seed)
    export = sub.add_parser("export", help="write the state of user and identity pools as JSON (stdout)")
    export.add_argument("--pool", action="append", dest="pools", metavar="ID",
                        help="a user pool or identity pool id (repeatable; default: every pool)")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    _store_arguments(export)
    load = sub.add_parser("import", help="load a state written by export (in one transaction)")
    load.add_argument("file")
    load.add_argument("--replace", action="store_true",
                      help="replace pools that already exist (their current state is deleted)")
    load.add_argument("--progress", action="store_true", default=None,
                      help="show counts on stderr even when it is not a terminal")
    _store_arguments(load)


def run(args: argparse.Namespace) -> None:
    from emulator.app import create_app
    from emulator.environments import state
    from emulator.environments.apply import apply_document
    from emulator.environments.documents import DeclarationError, read

    try:
        if args.command == "seed":
            config = dataclasses.replace(from_environment(), data_dir=args.data_dir, database_url=args.database_url,
                                         in_memory=False, region=args.region, account_id=args.account_id,
                                         public_url=args.public_url)
            emulator = create_app(config)
            try:
                for line in apply_document(emulator, read(args.file), kind=args.kind, progress=args.progress):
                    print(line)
            finally:
                emulator.store.close()
        elif args.command == "export":
            store = _open(args)
            try:
                exported = state.export_state(store, args.pools)
            finally:
                store.close()
            if args.output:
                with open(args.output, "w", encoding="utf-8") as out:
                    dump(exported, out)
            else:
                dump(exported, sys.stdout)
        else:
            store = _open(args)
            try:
                for line in state.import_state(store, read(args.file), progress=args.progress,
                                                  existing="replace" if args.replace else "refuse"):
                    print(line)
            finally:
                store.close()
    except (DeclarationError, LookupError) as err:
        sys.exit(f"cognito-emulator {args.command}: {err}")


def _open(args: argparse.Namespace):
    from emulator.service_modules import load_services
    from emulator.store import open_store

    load_services()  # every module declares its tables (and what owns their rows)
    config = Config(data_dir=args.data_dir, database_url=args.database_url)
    return open_store(path=config.database_path, url=config.database_url)


def dump(exported: dict, out: TextIO) -> None:
    """JSON with one table row per line: readable, and diffs well."""
    head = {k: v for k, v in exported.items() if k != "tables"}
    text = json.dumps(head, indent=2)
    out.write(text[:-2] + ',\n  "tables": {')
    for t_index, (name, table) in enumerate(exported["tables"].items()):
        out.write(("," if t_index else "") + f"\n    {json.dumps(name)}: {{\n")
        out.write(f'      "columns": {json.dumps(table["columns"])},\n      "rows": [')
        for r_index, row in enumerate(table["rows"]):
            out.write(("," if r_index else "") + "\n        " + json.dumps(row, ensure_ascii=False))
        out.write("\n      ]\n    }")
    out.write("\n  }\n}\n")
