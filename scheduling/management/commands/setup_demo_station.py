"""`python manage.py setup_demo_station`: a working station from generated media, no Plex needed."""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from retrovue.subprocesses import CommandError as SubprocessError
from scheduling.demo.media import make_demo_media
from scheduling.demo.station import DemoSetupError, build_demo_station


class Command(BaseCommand):
    help = (
        "Generate the demo media (once; about 55 MB), scan it into the catalog, set up three demo "
        "channels and build their schedules. Safe to run again: what exists is left as it is."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--media-dir",
            type=Path,
            default=None,
            help="Where the demo media lives (default: the data folder's demo-media).",
        )
        parser.add_argument(
            "--skip-build", action="store_true", help="Set up the channels but build no schedule."
        )

    def handle(self, *args, media_dir: Path | None, skip_build: bool, **options):
        began = time.monotonic()
        folder = media_dir or Path(settings.DATA_DIR) / "demo-media"
        self.say(f"Demo media in {folder}")
        try:
            make_demo_media(folder, log=self.say)
            summary = build_demo_station(folder, build=not skip_build, log=self.say)
        except (DemoSetupError, SubprocessError, OSError) as error:
            raise CommandError(str(error)) from error
        if skip_build:
            self.say("Schedule not built (--skip-build); the scheduler's roll-forward will build it.")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo station ready: {', '.join(summary['channels'])} ({time.monotonic() - began:.1f} s)."
            )
        )

    def say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
