"""`python -m retrovue discover | sync | sync-all`: the Plex catalog from a terminal.

    python -m retrovue discover --title "Battlestar Galactica" [--year 1978]
    python -m retrovue sync --title "Battlestar Galactica" --year 1978 [--dry-run]
    python -m retrovue sync-all [--page-size 200] [--dry-run]

Options shared by the three (before or after the command name): --debug, --db-path,
--plex-url, --plex-token, --plex-section, falling back to PLEX_BASE_URL, PLEX_TOKEN and
PLEX_TV_SECTION_KEY, then to the one enabled Plex source in the database. A URL and token given
here become (or update) that server's MediaSource; the token is stored encrypted and never printed.

Results go to stdout; notes, errors and the progress bar to stderr. Exit codes: 0 done, 1 the sync
(or the Plex server) failed, 2 a usage or lookup problem (nothing to sync, several matches, ...),
130 interrupted (Ctrl-C; the run is recorded as cancelled).
Nothing here imports Django at import time: `__main__` loads this package before Django starts.

- `options`: the command names and the argparse options (`add_commands`, `reject_catalog_options`).
- `commands`: `main` and the discover, sync and sync-all commands.
- `plex`: the Plex server and its source row, and finding shows on it.
- `progress`: the progress bar (or plain lines) on stderr while a sync runs.
- `errors`: the exit codes and the two errors that choose them.
"""
