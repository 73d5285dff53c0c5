"""ops: see ARCHITECTURE.md."""
