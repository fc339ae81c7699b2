"""``master monitor``'s terminal UI (Textual)."""
