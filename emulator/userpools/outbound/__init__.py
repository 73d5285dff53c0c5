"""outbound: see ARCHITECTURE.md."""
