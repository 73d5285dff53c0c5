"""Where the `cognito-emulator` command and `python -m emulator` start."""

from __future__ import annotations

import gc


def main() -> None:
    # Starting up allocates hundreds of thousands of objects (modules, botocore's models, the
    # routes) and leaves no garbage worth collecting, yet with the collector on it walks them again
    # and again: 30 ms of every start. `serve` turns it back on once the application is built,
    # every other command as soon as its arguments are read.
    gc.disable()
    from emulator.cli import main as cli_main

    cli_main()
