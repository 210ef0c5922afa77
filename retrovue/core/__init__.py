"""Cross-cutting pieces: background-run records, API tokens, health."""
