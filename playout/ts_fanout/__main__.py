"""`python -m playout.ts_fanout` (what `python -m retrovue ts-fanout` runs): one per machine,
behind nginx's `/iptv/channel/` location.

It reads this machine's HLS root and DATA_DIR (tuner files) and the database (stream tokens,
channels, viewer counts), with the settings every RetroVue process gets.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")

DEFAULT_BIND = "127.0.0.1:8090"
DEFAULT_HLS_LOG = "127.0.0.1:8091"


def split_bind(value: str) -> tuple[str, int]:
    """ "host:port"; a bare ":port" listens on every interface (a container's)."""
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104


def parser() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(prog="python -m playout.ts_fanout", description=__doc__)
    options.add_argument("--bind", default=DEFAULT_BIND, help="where the tuner URLs are served (host:port)")
    options.add_argument(
        "--hls-log",
        default=DEFAULT_HLS_LOG,
        help="UDP host:port for nginx's HLS segment log lines (viewer counts); empty turns it off",
    )
    options.add_argument(
        "--max-backlog",
        type=int,
        default=8 * 1024 * 1024,
        help="bytes a viewer may fall behind before it is dropped",
    )
    options.add_argument("--max-viewers", type=int, default=4000, help="viewers past which it answers 503")
    return options


def main(argv: list[str] | None = None) -> int:
    import asyncio
    import logging

    import django

    args = parser().parse_args(argv)
    django.setup()
    from playout.ts_fanout.service import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    hls_log = split_bind(args.hls_log) if args.hls_log else None
    asyncio.run(
        run(
            split_bind(args.bind),
            hls_log,
            max_backlog=max(args.max_backlog, 64 * 1024),
            max_viewers=args.max_viewers,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
