"""Command line: ``python -m plex_emulator --port 32400 --shows 50 --movies 200 --seed 1 --token SECRET``.

Prints one line with the URL once the socket is bound (so scripts can wait
for it), then serves until SIGINT/SIGTERM. The token may also come from the
``PLEX_EMULATOR_TOKEN`` environment variable, which keeps it out of process
listings; it is never printed or logged.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .config import DEFAULT_BASE_TIME, FAULT_KINDS, EmulatorConfig
from .model import EPISODE, MOVIE, SHOW
from .server import PlexEmulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m plex_emulator", description="Emulated Plex Media Server."
    )
    network = parser.add_argument_group("network")
    network.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    network.add_argument("--port", type=int, default=32400, help="port to bind; 0 picks a free one")
    network.add_argument("--token", default=None, help="X-Plex-Token to require (or PLEX_EMULATOR_TOKEN)")
    network.add_argument(
        "--plextv-port", type=int, default=None, help="also serve an emulated plex.tv (sign-in) on this port"
    )
    network.add_argument(
        "--gdm-port", type=int, default=None, help="also answer GDM discovery on this UDP port (Plex: 32414)"
    )

    library = parser.add_argument_group("library")
    library.add_argument("--seed", type=int, default=1, help="same seed, same library, byte for byte")
    library.add_argument("--shows", type=int, default=8)
    library.add_argument("--seasons", type=int, default=2, help="regular seasons per show")
    library.add_argument("--episodes", type=int, default=6, help="episodes per regular season")
    library.add_argument(
        "--specials", type=int, default=2, help="episodes in a season 0, when a show has one"
    )
    library.add_argument("--specials-fraction", type=float, default=0.3, help="share of shows with season 0")
    library.add_argument("--movies", type=int, default=20)
    library.add_argument("--legacy-fraction", type=float, default=0.1, help="share of legacy-agent guids")
    library.add_argument("--missing-updated-at-fraction", type=float, default=0.01)
    library.add_argument(
        "--base-time", type=int, default=DEFAULT_BASE_TIME, help="epoch the seed data predates"
    )
    library.add_argument("--windows", action="store_true", help="Windows server: C:\\Media\\... paths")

    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument("--latency-ms", type=int, default=0, help="delay added to every request")
    behaviour.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that fail")
    behaviour.add_argument(
        "--fault-kinds",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated subset of {','.join(FAULT_KINDS)}",
    )
    behaviour.add_argument(
        "--fault-timeout", type=float, default=60.0, help="seconds a 'timeout' fault hangs"
    )
    behaviour.add_argument("--quiet", action="store_true", help="no access log on stderr")
    return parser


def config_from_arguments(arguments: argparse.Namespace) -> EmulatorConfig:
    token = arguments.token or os.environ.get("PLEX_EMULATOR_TOKEN") or EmulatorConfig.token
    return EmulatorConfig(
        seed=arguments.seed,
        shows=arguments.shows,
        seasons_per_show=arguments.seasons,
        episodes_per_season=arguments.episodes,
        specials_per_show=arguments.specials,
        specials_fraction=arguments.specials_fraction,
        movies=arguments.movies,
        legacy_guid_fraction=arguments.legacy_fraction,
        missing_updated_at_fraction=arguments.missing_updated_at_fraction,
        base_time=arguments.base_time,
        windows=arguments.windows,
        token=token,
        host=arguments.host,
        port=arguments.port,
        latency_ms=arguments.latency_ms,
        fault_rate=arguments.fault_rate,
        fault_kinds=tuple(kind.strip() for kind in arguments.fault_kinds.split(",") if kind.strip()),
        fault_timeout_seconds=arguments.fault_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if arguments.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = config_from_arguments(arguments)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    emulator = PlexEmulator(config)
    stop_requested = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop_requested.set())
    emulator.start()
    library = emulator.library
    print(
        f"Plex emulator listening on {emulator.url} "
        f"(movies={library.count(MOVIE)}, shows={library.count(SHOW)}, episodes={library.count(EPISODE)}, "
        f"machineIdentifier={emulator.machine_identifier})",
        flush=True,
    )
    extras = _start_extras(emulator, arguments)
    try:
        stop_requested.wait()
    finally:
        for extra in extras:
            extra.stop()
        emulator.stop()
    return 0


def _start_extras(emulator: PlexEmulator, arguments: argparse.Namespace) -> list:
    """plex.tv and GDM beside the server, in this process: plex.tv grants tokens on this server."""
    extras: list = []
    if arguments.plextv_port is not None:
        from .plextv import PlexTvEmulator

        plextv = PlexTvEmulator([emulator], host=arguments.host, port=arguments.plextv_port).start()
        extras.append(plextv)
        print(f"plex.tv emulator listening on {plextv.url} (control: POST /_plextv/claim)", flush=True)
    if arguments.gdm_port is not None:
        from .gdm import GdmResponder

        responder = GdmResponder(emulator, port=arguments.gdm_port).start()
        extras.append(responder)
        print(f"GDM responder on UDP {responder.port}", flush=True)
    return extras
