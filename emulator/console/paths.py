"""Where the console is served."""

PREFIX = "/_emulator/console"
