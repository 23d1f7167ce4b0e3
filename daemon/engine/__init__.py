"""The sync engine: flows over the snapshot queue (see DESIGN.md, "Snapshot = queue")."""
