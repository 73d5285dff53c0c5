"""`cognito-emulator`: serve (the default), coverage, and state tools."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import logging
import os
import sys

from emulator import __version__, server
from emulator.config import SETTINGS, Config, env_name, from_environment
from emulator.environments import commands as environment_commands
from emulator.gateway import command as gateway_command
from emulator.service_modules import load_services
from emulator.signing import CredentialsError
from emulator.store import open_store
from emulator.throttling import ThrottleSettingsError


def _serve_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve every Cognito API on one port (the default command)")
    defaults = from_environment()
    for name, (kind, help_text) in SETTINGS.items():
        flags = ["--" + name.replace("_", "-")]
        if name == "config_file":
            flags.append("--config")
        default = getattr(defaults, name)
        if kind is bool:
            p.add_argument(*flags, dest=name, action="store_true", default=default,
                           help=f"{help_text} (env {env_name(name)})")
        else:
            p.add_argument(*flags, dest=name, type=kind, default=default,
                           help=f"{help_text} (env {env_name(name)}; default {default})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cognito-emulator", description="A local, faithful Amazon Cognito.")
    parser.add_argument("--version", action="version", version=f"cognito-emulator {__version__}")
    sub = parser.add_subparsers(dest="command")
    _serve_parser(sub)
    cov = sub.add_parser("coverage", help="print, per service, which operations are handled (Markdown)")
    cov.add_argument("--write-readme", metavar="README",
                     help="replace the table between the coverage markers of this file")
    reset = sub.add_parser("reset", help="delete all state in a data directory")
    reset.add_argument("--data-dir", default=from_environment().data_dir)
    environment_commands.add_parsers(sub)  # seed, export, import
    gateway_command.add_parser(sub)  # gateway: Cognito authorizers in front of backends and functions
    return parser


def serve(config: Config) -> None:
    logging.basicConfig(level=getattr(logging, config.log_level.upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        server.serve(config)
    except (CredentialsError, ThrottleSettingsError, ValueError) as err:
        sys.exit(f"cognito-emulator: {err}")
    except KeyboardInterrupt:
        pass


README_START = "<!-- coverage:start -->"
README_END = "<!-- coverage:end -->"


def readme_with_coverage(text: str, table: str) -> str:
    """`text` with the part between the coverage markers replaced by `table`."""
    head, _, rest = text.partition(README_START)
    _, _, tail = rest.partition(README_END)
    return f"{head}{README_START}\n{table}\n{README_END}{tail}"


def coverage() -> str:
    lines = []
    for service in load_services():
        registry = service.registry
        rows = registry.coverage()
        done = sum(1 for _, ok in rows if ok)
        lines.append(f"### {registry.service_name} ({done}/{len(rows)} operations)\n")
        lines.append("| Operation | Code (module, function) |")
        lines.append("|---|---|")
        for op, ok in rows:
            handler = registry.get(op)
            where = f"`{handler.__module__.replace('.', '/')}.py` `{handler.__name__}`" if ok else "not handled"
            lines.append(f"| {op} | {where} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-") and argv[0] not in ("-h", "--help", "--version"):
        argv = ["serve", *argv]
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        gc.enable()  # off since the start (emulator.launch); serve turns it on once it has built the app
    if args.command == "coverage":
        table = coverage()
        if args.write_readme:
            with open(args.write_readme, encoding="utf-8") as f:
                text = f.read()
            with open(args.write_readme, "w", encoding="utf-8") as f:
                f.write(readme_with_coverage(text, table))
        else:
            print(table)
    elif args.command == "reset":
        cfg = Config(data_dir=args.data_dir)
        open_store(path=cfg.database_path).reset()
        print(f"state in {os.path.abspath(args.data_dir)} deleted")
    elif args.command == "gateway":
        gateway_command.run(args)
    elif args.command in environment_commands.COMMANDS:
        environment_commands.run(args)
    else:
        values = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config) if hasattr(args, f.name)}
        serve(Config(**values))


if __name__ == "__main__":
    main()
