"""A Plex Media Server emulator for RetroVue's tests, benchmarks and demo.

It serves Plex's XML API (``/``, ``/identity``, ``/library/sections``,
``/library/sections/<id>/all``, ``/library/metadata/<key>[/children|/allLeaves]``)
closely enough for an unmodified ``plexapi`` to browse, page, search and
reload against it, from a library generated deterministically from a seed.
Standard library only; nothing here imports Django.

Entry points:

* ``PlexEmulator(EmulatorConfig(...))`` – start/stop or use as a context manager;
  ``.url``, ``.token``, ``.library`` (mutations), ``.faults``, ``.requests``.
* ``python -m plex_emulator --help`` – the same as a process, controlled over
  HTTP under ``/_emulator/`` (see ``plex_emulator.control``).
* ``PlexTvEmulator([emulator])`` (``plex_emulator.plextv``) – plex.tv's PIN sign-in,
  account and resources, with ``claim()``/``revoke()`` knobs; ``GdmResponder(emulator)``
  (``plex_emulator.gdm``) – answers GDM LAN discovery.
"""

from .config import FAULT_KINDS, EmulatorConfig
from .faults import FaultRule
from .library import Library
from .server import PlexEmulator

__all__ = ["FAULT_KINDS", "EmulatorConfig", "FaultRule", "Library", "PlexEmulator"]
