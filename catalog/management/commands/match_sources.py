"""`manage.py match_sources [--source NAME] [--full]`: link the same movies and shows across sources now."""

from django.core.management.base import BaseCommand, CommandError

from catalog.matching.service import match_source
from catalog.models import MediaSource


class Command(BaseCommand):
    help = "Match movies and shows across sources (what runs after every sync), and print what changed."

    def add_arguments(self, parser):
        parser.add_argument("--source", help="Only rows of this source (by name); default: every source.")
        parser.add_argument(
            "--full", action="store_true", help="Reconsider every row, not only changed ones."
        )

    def handle(self, *args, source=None, full=False, **options):
        found = None
        if source:
            found = MediaSource.objects.filter(name=source).first()
            if found is None:
                raise CommandError(f"No source named {source!r}.")
        report = match_source(found, full=full)
        self.stdout.write(
            f"{report['considered']} rows considered: {report['linked']} linked, {report['unlinked']} unlinked, "
            f"{report['conflicts']} new conflicts, {report['closed_conflicts']} conflicts closed."
        )
