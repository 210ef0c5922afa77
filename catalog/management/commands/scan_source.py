"""Scan a TMM .nfo or media-folder source now, all of it or only chosen directories.

    python manage.py scan_source "Commercials"                      # the whole source
    python manage.py scan_source "TV folder" --path "Cheers" --path "Taxi/Season 1"
    python manage.py scan_source "Commercials" --deep              # re-probe every file

Only the chosen directories are compared, so nothing outside them is ever marked removed.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from catalog.choices import SourceKind, SyncKind, SyncStatus
from catalog.models import MediaSource, SyncRun
from catalog.sync.folders import sync_folder_source


class Command(BaseCommand):
    help = "Scan a TMM or media-folder source (optionally only some of its directories)."

    def add_arguments(self, parser):
        parser.add_argument("source", help="the source's name (Catalog → Media sources)")
        parser.add_argument(
            "--path", action="append", default=[], help="a directory inside the source; repeatable"
        )
        parser.add_argument("--deep", action="store_true", help="re-probe every file, changed or not")

    def handle(self, *args, source, path, deep, **options):
        found = MediaSource.objects.filter(name=source).first()
        if found is None:
            names = ", ".join(
                MediaSource.objects.exclude(kind=SourceKind.PLEX).values_list("name", flat=True)
            )
            raise CommandError(f"No source named {source!r}. Folder sources: {names or 'none yet'}.")
        if found.kind == SourceKind.PLEX:
            raise CommandError(
                f"{found} is a Plex server: use `python -m retrovue sync-all` for Plex sources."
            )
        run = SyncRun.objects.create(
            source=found,
            kind=SyncKind.DEEP if deep else SyncKind.FULL,
            trigger="command" + (" (paths)" if path else ""),
            status=SyncStatus.RUNNING,
            started_at=timezone.now(),
        )
        run = sync_folder_source(found, run=run, paths=path or None)
        self.stdout.write(
            f"{run.get_status_display()}: {run.processed} looked at, {run.added} added, {run.updated} updated, "
            f"{run.removed} removed, {run.failed} failed."
        )
        if run.error:
            self.stdout.write(run.error)
        if run.status == SyncStatus.FAILED:
            raise CommandError("The scan failed.")
