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
This module imports nothing from Django at import time: `__main__` loads it before Django starts.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

COMMANDS = ("discover", "sync", "sync-all")
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
MODES = ("incremental", "full", "deep")
CHANGE_LINES_SHOWN = 20  # of a real run; a dry run shows every line it recorded

# dest, flag, environment variable
_SHARED_OPTIONS = (
    ("plex_url", "--plex-url", "PLEX_BASE_URL"),
    ("plex_token", "--plex-token", "PLEX_TOKEN"),
    ("plex_section", "--plex-section", "PLEX_TV_SECTION_KEY"),
    ("db_path", "--db-path", None),
    ("debug", "--debug", None),
)


class UsageError(Exception):
    """The command can't run as asked (exit code 2)."""


class CommandFailed(Exception):
    """The Plex server or the sync failed (exit code 1)."""


# --- argument parsing ----------------------------------------------------------------------------


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


# --- entry point ---------------------------------------------------------------------------------


def main(args: argparse.Namespace) -> int:
    out, err = sys.stdout, sys.stderr
    try:
        _start_django(getattr(args, "db_path", None))
        with _cli_logging(bool(getattr(args, "debug", False)), err):
            handler = {"discover": command_discover, "sync": command_sync, "sync-all": command_sync_all}
            return handler[args.command](args, out, err)
    except UsageError as problem:
        print(f"error: {problem}", file=err)
        return EXIT_USAGE
    except CommandFailed as problem:
        print(f"error: {problem}", file=err)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return EXIT_INTERRUPTED


def _start_django(db_path: str | None) -> None:
    from django.conf import settings

    if db_path:
        path = Path(db_path).expanduser().resolve()
        if settings.configured:
            # Settings are read once per process; an in-process caller can't switch databases.
            if settings.DATABASES["default"]["NAME"] != str(path):
                raise UsageError("--db-path must be chosen before Django starts (run it as its own process)")
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    from django.apps import apps

    if not apps.ready:
        import django

        django.setup()
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # The embedded database may be brand new (a fresh --db-path); `run` migrates the same way.
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


@contextmanager
def _cli_logging(debug: bool, stream: TextIO) -> Iterator[None]:
    """Log to this command's stderr, redacted; quiet unless --debug. Restored afterwards."""
    from retrovue.log_redaction import RedactingFormatter, RedactSecretsFilter

    root = logging.getLogger()
    noisy = [logging.getLogger(name) for name in ("catalog", "retrovue", "urllib3")]
    saved = (list(root.handlers), root.level, [logger.level for logger in noisy])
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecretsFilter())
    root.handlers = [handler]
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    for logger in noisy:
        logger.setLevel(logging.DEBUG if debug else logging.NOTSET)
    try:
        yield
    finally:
        root.handlers, root.level = saved[0], saved[1]
        for logger, level in zip(noisy, saved[2], strict=True):
            logger.setLevel(level)


@contextmanager
def _dry_run_scope(dry_run: bool) -> Iterator[None]:
    """Everything inside one transaction that is rolled back at the end when it's a dry run."""
    if not dry_run:
        yield
        return
    from django.db import transaction

    with transaction.atomic():
        try:
            yield
        finally:
            transaction.set_rollback(True)


# --- the Plex server and its source row ------------------------------------------------------------


def resolve_source(args: argparse.Namespace, err: TextIO):
    """The MediaSource to work with: from --plex-url/--plex-token, the environment, or the database."""
    from catalog.choices import SourceKind
    from catalog.models import MediaSource

    url, token = _option(args, "plex_url"), _option(args, "plex_token")
    if url:
        url = url.rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise UsageError(f"--plex-url must look like http://host:32400, not {url!r}")
        source = (
            MediaSource.objects.filter(kind=SourceKind.PLEX, base_url__in=[url, f"{url}/"])
            .order_by("pk")
            .first()
        )
        if source is None:
            if not token:
                raise UsageError(f"--plex-token (or PLEX_TOKEN) is needed to add the Plex server at {url}")
            info = _check_server(url, token, "")
            source = MediaSource.objects.create(
                name=_free_source_name(info.get("name") or parts.hostname, parts),
                kind=SourceKind.PLEX,
                base_url=url,
                token=token,
                machine_identifier=info.get("machine_identifier", "")[:100],
            )
            print(f"Added Plex source {source.name!r} for {url} (token stored encrypted).", file=err)
            return source
    else:
        sources = list(MediaSource.objects.filter(kind=SourceKind.PLEX, enabled=True))
        if not sources:
            raise UsageError(
                "no Plex server to use: pass --plex-url and --plex-token "
                "(or set PLEX_BASE_URL and PLEX_TOKEN), or add a Plex source in the admin"
            )
        if len(sources) > 1:
            names = ", ".join(f"{s.name} ({s.base_url})" for s in sources)
            raise UsageError(f"{len(sources)} Plex sources are enabled ({names}): choose one with --plex-url")
        source = sources[0]
    if token and token != source.token:
        _check_server(source.base_url, token, source.client_identifier)
        source.token = token
        # The server just accepted it: a source waiting for sign-in may sync again.
        source.auth_state, source.auth_error = "ok", ""
        source.save(update_fields=["token", "auth_state", "auth_error", "updated_at"])
        print(f"Stored the new token for {source.name!r} (encrypted).", file=err)
    if not source.token:
        raise UsageError(
            f"the Plex source {source.name!r} has no token: pass --plex-token (or set PLEX_TOKEN)"
        )
    return source


def _check_server(url: str, token: str, client_identifier: str) -> dict:
    """Ask the server who it is before a token is stored, so a typo never replaces a good token."""
    from catalog.plex.client import PlexClient
    from catalog.plex.errors import PlexError
    from retrovue.log_redaction import redact

    options = {"client_identifier": client_identifier} if client_identifier else {}
    try:
        return PlexClient(url, token, **options).server_info()
    except PlexError as problem:
        raise CommandFailed(redact(str(problem))) from None


def _free_source_name(preferred: str, parts) -> str:
    from catalog.models import MediaSource

    taken = set(MediaSource.objects.values_list("name", flat=True))
    candidates = [preferred, f"{preferred} ({parts.netloc})"]
    candidates += [f"{preferred} ({parts.netloc}) {number}" for number in range(2, 100)]
    return next(name for name in candidates if name[:120] not in taken)[:120]


@dataclass(frozen=True)
class Section:
    key: str
    title: str


def show_sections(client, wanted: str | None) -> list[Section]:
    """The TV sections to search: the one asked for, or every show section of the server."""
    directories = [
        (d.get("key", ""), d.get("title", ""), d.get("type", "")) for d in client.sections() if d.get("key")
    ]
    if wanted:
        found = next((entry for entry in directories if entry[0] == str(wanted)), None)
        if found is None:
            listed = ", ".join(f'{key} "{title}" ({kind})' for key, title, kind in directories) or "none"
            raise UsageError(f"Plex has no library section {wanted}; its sections are: {listed}")
        if found[2] != "show":
            raise UsageError(f'section {found[0]} "{found[1]}" holds {found[2]}s, not TV shows')
        return [Section(found[0], found[1])]
    shows = [Section(key, title) for key, title, kind in directories if kind == "show"]
    if not shows:
        raise UsageError("the Plex server has no TV library section")
    return shows


# --- finding shows -----------------------------------------------------------------------------


@dataclass
class Match:
    section: Section
    rating_key: str
    title: str
    year: int | None
    primary_guid: str
    episodes: int | None
    in_catalog: str = "no"


def _normalised(title: str) -> str:
    return "".join(character for character in title.casefold() if character.isalnum())


def search_shows(client, source, sections: list[Section], title: str, year: int | None) -> list[Match]:
    """Shows whose title contains `title` (ignoring case and punctuation), as Plex lists them now."""
    from catalog.plex.parse import MalformedItem
    from catalog.sync.plex_library import PAGE_SIZE

    wanted = _normalised(title)
    extra = {"title": title, **({"year": year} if year else {})}
    matches = []
    for section in sections:
        for page in client.iter_pages(section.key, "show", page_size=PAGE_SIZE, extra=extra):
            for element in page.elements:
                try:
                    match = _match_from(element, section)
                except MalformedItem:
                    continue
                # Re-checked here: a server that ignores a filter answers with the whole section.
                if wanted in _normalised(match.title) and (not year or match.year == year):
                    matches.append(match)
    matches.sort(key=lambda m: (m.title.casefold(), m.year or 0, m.rating_key))
    return _with_catalog_state(source, matches)


def _match_from(element, section: Section) -> Match:
    from catalog.identity import primary_guid
    from catalog.plex.parse import parse_item

    item = parse_item(element, "show")
    leaves = element.get("leafCount", "")
    return Match(
        section=section,
        rating_key=item.rating_key,
        title=item.title,
        year=item.year,
        primary_guid=primary_guid(item.external_ids) or "",
        episodes=int(leaves) if leaves.isdigit() else None,
    )


def _with_catalog_state(source, matches: list[Match]) -> list[Match]:
    from catalog.models import Show

    keys = [match.rating_key for match in matches]
    states = dict(Show.objects.filter(source=source, rating_key__in=keys).values_list("rating_key", "state"))
    for match in matches:
        state = states.get(match.rating_key)
        match.in_catalog = "no" if state is None else ("yes" if state == "active" else state)
    return matches


def match_table(matches: list[Match]) -> str:
    several_sections = len({m.section for m in matches}) > 1
    header = ["Title", "Year", "ratingKey", "Primary id", "Episodes", "In catalog"]
    if several_sections:
        header.append("Library")
    rows = [header]
    for m in matches:
        row = [
            m.title,
            str(m.year or "—"),
            m.rating_key,
            m.primary_guid or "—",
            "?" if m.episodes is None else str(m.episodes),
            m.in_catalog,
        ]
        if several_sections:
            row.append(f"{m.section.title} ({m.section.key})")
        rows.append(row)
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    right = {1, 4}  # numbers line up on the right
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    return "\n".join(lines)


def _describe_search(title: str, year: int | None) -> str:
    return f'"{title}"' + (f" ({year})" if year else "")


# --- the commands ------------------------------------------------------------------------------


def command_discover(args, out: TextIO, err: TextIO) -> int:
    from catalog.plex.errors import PlexError
    from catalog.sync.engine import plex_client_for

    source = resolve_source(args, err)
    client = plex_client_for(source)
    try:
        sections = show_sections(client, _option(args, "plex_section"))
        matches = search_shows(client, source, sections, args.title, args.year)
    except PlexError as problem:
        raise CommandFailed(_plex_problem(problem)) from None
    where = ", ".join(f'"{s.title}" (section {s.key})' for s in sections)
    if not matches:
        raise UsageError(
            f"no show matching {_describe_search(args.title, args.year)} in {where} on {source.name}"
        )
    noun = "show matches" if len(matches) == 1 else "shows match"
    print(
        f"{len(matches)} {noun} {_describe_search(args.title, args.year)} in {where} on {source.name}:",
        file=out,
    )
    print(match_table(matches), file=out)
    return EXIT_OK


def command_sync(args, out: TextIO, err: TextIO) -> int:
    from catalog.plex.errors import PlexError
    from catalog.sync.engine import plex_client_for, refresh_libraries
    from catalog.sync.plex_library import PAGE_SIZE
    from catalog.sync.show_sync import sync_plex_show

    with _dry_run_scope(args.dry_run):
        source = resolve_source(args, err)
        client = plex_client_for(source)
        try:
            sections = show_sections(client, _option(args, "plex_section"))
            match = _one_show(args, client, source, sections, err)
            library = next(
                lib for lib in refresh_libraries(source, client) if lib.section_key == match.section.key
            )
        except PlexError as problem:
            raise CommandFailed(_plex_problem(problem)) from None
        run = _new_run(source, args.mode, library=library, trigger=f"cli show {match.rating_key}")
        label = f"{match.title} ({match.year})" if match.year else match.title
        print(
            f"{_mode_title(args.mode)} sync of {label} [ratingKey {match.rating_key}] from {source.name}",
            file=err,
        )
        with _watched(run, args, err):
            run = sync_plex_show(
                source,
                library,
                match.rating_key,
                mode=args.mode,
                run=run,
                page_size=args.page_size or PAGE_SIZE,
            )
        total = _show_scope_total(source, match.rating_key)
        return _report(run, total, label, args.dry_run, out, err)


def _one_show(args, client, source, sections: list[Section], err: TextIO) -> Match:
    if args.rating_key:
        return _show_by_rating_key(client, source, sections, args.rating_key)
    matches = search_shows(client, source, sections, args.title, args.year)
    exact = [m for m in matches if _normalised(m.title) == _normalised(args.title)]
    candidates = exact or matches
    searched = _describe_search(args.title, args.year)
    if not candidates:
        raise UsageError(f"no show matching {searched} on {source.name}; try discover with part of the title")
    if len(candidates) > 1:
        print(match_table(candidates), file=err)
        years = {m.year for m in candidates}
        hint = "add --year" if len(years) == len(candidates) and not args.year else "use --rating-key"
        raise UsageError(f"{len(candidates)} shows match {searched}; {hint} to choose one")
    return candidates[0]


def _show_by_rating_key(client, source, sections: list[Section], rating_key: str) -> Match:
    from catalog.plex.errors import PlexHttpError
    from catalog.plex.parse import MalformedItem

    try:
        root = client.get(f"/library/metadata/{rating_key}", {"includeGuids": 1})
    except PlexHttpError as problem:
        if problem.status == 404:
            raise UsageError(f"Plex has no item with ratingKey {rating_key}") from None
        raise
    element = next((child for child in root if child.tag == "Directory"), None)
    if element is None or element.get("type") != "show":
        raise UsageError(f"ratingKey {rating_key} is not a show")
    section = next((s for s in sections if s.key == element.get("librarySectionID")), None)
    if section is None:
        keys = ", ".join(s.key for s in sections)
        raise UsageError(f"the show with ratingKey {rating_key} is not in TV section {keys}")
    try:
        return _with_catalog_state(source, [_match_from(element, section)])[0]
    except MalformedItem as problem:
        raise CommandFailed(str(problem)) from None


def command_sync_all(args, out: TextIO, err: TextIO) -> int:
    from catalog.plex.errors import PlexError
    from catalog.sync.engine import plex_client_for, refresh_libraries, sync_plex_source

    with _dry_run_scope(args.dry_run):
        source = resolve_source(args, err)
        section_key = _option(args, "plex_section")
        library_ids = None
        scope = f"every enabled library of {source.name}"
        if section_key:
            client = plex_client_for(source)
            try:
                section = show_sections(client, section_key)[0]
                libraries = refresh_libraries(source, client)
            except PlexError as problem:
                raise CommandFailed(_plex_problem(problem)) from None
            library_ids = [lib.pk for lib in libraries if lib.section_key == section.key]
            scope = f'"{section.title}" (section {section.key}) of {source.name}'
        run = _new_run(source, args.mode, library=library_ids[0] if library_ids else None, trigger="cli")
        print(f"{_mode_title(args.mode)} sync of {scope}", file=err)
        with _watched(run, args, err):
            run = sync_plex_source(
                source, args.mode, library_ids=library_ids, run=run, page_size=args.page_size
            )
        total = _library_scope_total(source, library_ids)
        return _report(run, total, scope, args.dry_run, out, err)


@contextmanager
def _watched(run, args, err: TextIO) -> Iterator[None]:
    """Progress on stderr while the sync runs; Ctrl-C closes the run as cancelled.

    Left "running", an interrupted run would make the next sync wait until it is declared stale.
    """
    try:
        with ProgressReporter(run, err, plain=bool(getattr(args, "debug", False))):
            yield
    except KeyboardInterrupt:
        from django.utils import timezone

        from catalog.choices import SyncStatus
        from catalog.models import SyncRun

        SyncRun.objects.filter(pk=run.pk, status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]).update(
            status=SyncStatus.CANCELLED, finished_at=timezone.now(), error="Interrupted (Ctrl-C) in the CLI."
        )
        raise


def _new_run(source, mode: str, *, library, trigger: str):
    """A SyncRun for this command, unless another sync of the source is under way."""
    from catalog.choices import SyncStatus
    from catalog.models import SyncRun
    from catalog.sync.triggers import close_stale_runs

    close_stale_runs(source)
    busy = SyncRun.objects.filter(source=source, status__in=[SyncStatus.QUEUED, SyncStatus.RUNNING]).first()
    if busy is not None:
        raise CommandFailed(
            f"a sync of {source.name} is already {busy.status} (run {busy.pk}, trigger {busy.trigger or '?'}); "
            "wait for it to finish"
        )
    library_id = library if isinstance(library, int) or library is None else library.pk
    return SyncRun.objects.create(source=source, library_id=library_id, kind=mode, trigger=trigger[:40])


def _mode_title(mode: str) -> str:
    return mode.capitalize()


def _plex_problem(problem) -> str:
    from retrovue.log_redaction import redact

    return redact(str(problem))


def _show_scope_total(source, rating_key: str) -> int:
    from catalog.models import Episode, Season, Show

    active = {"state": "active"}
    return (
        Show.objects.filter(source=source, rating_key=rating_key, **active).count()
        + Season.objects.filter(show__source=source, show__rating_key=rating_key, **active).count()
        + Episode.objects.filter(source=source, show__rating_key=rating_key, **active).count()
    )


def _library_scope_total(source, library_ids: list[int] | None) -> int:
    from catalog.models import Episode, Movie, Season, Show

    def scoped(queryset, field="library_id"):
        queryset = queryset.filter(state="active")
        return queryset.filter(**{f"{field}__in": library_ids}) if library_ids is not None else queryset

    return (
        scoped(Show.objects.filter(source=source)).count()
        + scoped(Season.objects.filter(show__source=source), "show__library_id").count()
        + scoped(Episode.objects.filter(source=source)).count()
        + scoped(Movie.objects.filter(source=source)).count()
    )


def _report(run, total: int, label: str, dry_run: bool, out: TextIO, err: TextIO) -> int:
    """Print the run's statistics and changes; the exit code follows its status."""
    seconds = run.duration_seconds or 0.0
    status = run.get_status_display()
    print(f"{'Dry run: ' if dry_run else ''}{run.get_kind_display()} sync of {label}: {status}", file=out)
    print(
        f"  total {total} · processed {run.processed} · skipped {run.skipped} · added {run.added} · "
        f"updated {run.updated} · removed {run.removed} · failed {run.failed} · "
        f"API calls {run.api_calls} · {seconds:.2f} s",
        file=out,
    )
    changes = list(run.changes or [])  # newest last, capped by the sync
    shown = changes if dry_run else changes[-CHANGE_LINES_SHOWN:]
    # Re-keys are change lines too, so the lines can outnumber added + updated + removed.
    recorded = max(run.added + run.updated + run.removed, len(changes))
    which = f" (the last {len(shown)} of {recorded})" if shown and len(shown) < recorded else ""
    if dry_run:
        would = f"It would add {run.added}, update {run.updated} and remove {run.removed}"
        print(f"Nothing was saved. {would}{which}" + (":" if shown else "."), file=out)
    elif shown:
        print(f"Changes{which}:", file=out)
    for line in shown:
        print(f"  {line}", file=out)
    if run.status in ("failed", "partial"):
        problems = [line for line in (run.error or "").splitlines() if line.strip()]
        for line in problems[:CHANGE_LINES_SHOWN]:
            print(f"error: {line}", file=err)
        return EXIT_FAILED
    return EXIT_OK


# --- progress --------------------------------------------------------------------------------


class ProgressReporter:
    """Shows a run's progress on stderr while it runs: a bar in a terminal, plain lines otherwise.

    It reads the SyncRun instance the sync updates in memory (Progress sets the counters and label
    on that same object), so it needs no database connection and works inside a dry run's
    uncommitted transaction.
    """

    def __init__(
        self, run, stream: TextIO, *, plain: bool = False, interval: float = 0.1, line_every: float = 5.0
    ):
        self.run = run
        self.stream = stream
        self.bar = not plain and _is_terminal(stream)
        self.interval = interval
        self.line_every = line_every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_line = ("", -1.0)

    def __enter__(self) -> ProgressReporter:
        self._thread = threading.Thread(target=self._loop, name="sync-progress", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.bar:
            self.stream.write("\r\x1b[K")
            self.stream.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.draw()
            except (OSError, ValueError):  # the stream went away (closed pipe): stop drawing
                return

    def draw(self) -> None:
        done, total, label = self.run.progress_done, self.run.progress_total, self.run.progress_label
        if self.bar:
            line = render_bar(done, total, label, shutil.get_terminal_size().columns)
            if line != self._last_line[0]:
                self._last_line = (line, 0.0)
                self.stream.write("\r\x1b[K" + line)
                self.stream.flush()
            return
        now = time.monotonic()
        previous, when = self._last_line
        if label and label != previous and now - when >= self.line_every:
            self._last_line = (label, now)
            self.stream.write(f"… {label}\n")
            self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def render_bar(done: int, total: int, label: str, columns: int = 80) -> str:
    """One line: `[######------]  45%  123/270  TV Shows (1/2) · Listing episodes`."""
    width = 24
    if total > 0:
        fraction = min(max(done / total, 0.0), 1.0)
        filled = round(fraction * width)
        head = f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%}  {done}/{total}"
    else:
        head = f"[{'.' * width}]"
    line = f"{head}  {label}" if label else head
    limit = max(columns - 1, 20)
    return line if len(line) <= limit else line[: limit - 1] + "…"
