"""accounts: see ARCHITECTURE.md."""
