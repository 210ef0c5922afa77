"""`main` and the catalog commands: discover, sync and sync-all (see the package's docstring).

Results go to stdout; notes, errors and the progress bar to stderr. Django is imported only when
a command runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from retrovue.cli_catalog.errors import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CommandFailed,
    UsageError,
)
from retrovue.cli_catalog.options import _option
from retrovue.cli_catalog.plex import (
    Match,
    Section,
    _describe_search,
    _match_from,
    _normalised,
    _with_catalog_state,
    match_table,
    resolve_source,
    search_shows,
    show_sections,
)
from retrovue.cli_catalog.progress import ProgressReporter

CHANGE_LINES_SHOWN = 20  # of a real run; a dry run shows every line it recorded


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


# --- the commands --------------------------------------------------------------------------------


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
