"""Entry point for ``python -m plex_emulator``; see ``plex_emulator.cli``."""

import sys

from .cli import main

sys.exit(main())
