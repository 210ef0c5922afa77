"""The catalog commands' names and options, registered on `python -m retrovue`'s parser."""

from __future__ import annotations

import argparse
import os
import re

COMMANDS = ("discover", "sync", "sync-all")
MODES = ("incremental", "full", "deep")

# dest, flag, environment variable
_SHARED_OPTIONS = (
    ("plex_url", "--plex-url", "PLEX_BASE_URL"),
    ("plex_token", "--plex-token", "PLEX_TOKEN"),
    ("plex_section", "--plex-section", "PLEX_TV_SECTION_KEY"),
    ("db_path", "--db-path", None),
    ("debug", "--debug", None),
)


def _add_shared_options(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS at both levels: an option given before the command name isn't reset by the
    # subparser's default, so `--debug sync-all` and `sync-all --debug` both work.
    group = parser.add_argument_group("Plex and database (shared by discover, sync, sync-all)")
    hidden = argparse.SUPPRESS
    group.add_argument(
        "--debug", action="store_true", default=hidden, help="debug logging (secrets redacted)"
    )
    group.add_argument(
        "--db-path", default=hidden, metavar="PATH", help="use this SQLite file as the database"
    )
    group.add_argument(
        "--plex-url", default=hidden, metavar="URL", help="Plex server URL (env PLEX_BASE_URL)"
    )
    group.add_argument(
        "--plex-token",
        default=hidden,
        metavar="TOKEN",
        help="Plex token (env PLEX_TOKEN: unlike argv, other users can't see it in ps)",
    )
    group.add_argument(
        "--plex-section",
        default=hidden,
        metavar="KEY",
        help="TV library section key (env PLEX_TV_SECTION_KEY)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("must be between 1 and 10000")
    return value


def _year(text: str) -> int:
    if not re.fullmatch(r"\d{4}", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a four-digit year")
    return int(text)


def add_commands(parser: argparse.ArgumentParser, commands) -> None:
    """Register discover, sync and sync-all on `commands` and the shared options on both levels."""
    _add_shared_options(parser)

    discover = commands.add_parser(
        "discover",
        help="find shows on the Plex server by title",
        description="Find TV shows on Plex by title.",
    )
    discover.add_argument("--title", required=True, help="all or part of the title")
    discover.add_argument("--year", type=_year, help="only shows first aired in this year")
    _add_shared_options(discover)

    sync = commands.add_parser(
        "sync", help="sync one show from Plex", description="Sync one show, its seasons and episodes."
    )
    which = sync.add_mutually_exclusive_group(required=True)
    which.add_argument("--title", help="the show's title (one match required)")
    which.add_argument("--rating-key", metavar="KEY", help="the show's Plex ratingKey (from discover)")
    sync.add_argument("--year", type=_year, help="pick the show first aired in this year")
    _add_run_options(sync)
    _add_shared_options(sync)

    sync_all = commands.add_parser(
        "sync-all",
        help="sync every enabled Plex library (or --plex-section)",
        description="Sync the Plex source's enabled libraries, or only the --plex-section one.",
    )
    _add_run_options(sync_all)
    _add_shared_options(sync_all)


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true", help="show what would change; save nothing")
    parser.add_argument("--mode", choices=MODES, default="incremental", help="default: incremental")
    parser.add_argument(
        "--page-size", type=_positive_int, default=None, help="items per Plex request (default 1000)"
    )


def reject_catalog_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """The shared options mean nothing to run/web/worker/beat: say so instead of ignoring them."""
    given = [flag for dest, flag, _env in _SHARED_OPTIONS if hasattr(args, dest)]
    if given:
        parser.error(f"{', '.join(given)} only apply to {', '.join(COMMANDS)}")


def _option(args: argparse.Namespace, dest: str) -> str | None:
    value = getattr(args, dest, None)
    env = next(env for name, _flag, env in _SHARED_OPTIONS if name == dest)
    if value in (None, "") and env:
        value = os.environ.get(env, "").strip() or None
    return value
