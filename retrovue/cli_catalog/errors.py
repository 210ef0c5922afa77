"""The catalog commands' exit codes and the errors that choose them."""

from __future__ import annotations

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """The command can't run as asked (exit code 2)."""


class CommandFailed(Exception):
    """The Plex server or the sync failed (exit code 1)."""
