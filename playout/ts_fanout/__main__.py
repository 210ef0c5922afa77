"""`python -m playout.ts_fanout`: one per machine, behind nginx's `/iptv/channel/` location.

Settings (environment): RETROVUE_TS_FANOUT_BIND (host:port, 127.0.0.1:8090) for the tuner URLs;
RETROVUE_HLS_LOG_BIND (host:port, 127.0.0.1:8091; empty turns it off) where nginx sends one
syslog line per served HLS segment; RETROVUE_TS_VIEWER_BACKLOG (bytes a viewer may fall behind
before it is dropped, 8 MiB). It reads the HLS root and DATA_DIR (tuner files) of this machine,
and the database (stream tokens, channels, viewer counts) as Django does.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")


def split_bind(value: str) -> tuple[str, int]:
    """ "host:port"; a bare ":port" listens on every interface (a container's)."""
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104


def main() -> int:
    import asyncio
    import logging

    import django

    django.setup()
    from playout.ts_fanout.service import run
    from retrovue.env import env_int, env_str

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    http_bind = split_bind(env_str("RETROVUE_TS_FANOUT_BIND", "127.0.0.1:8090"))
    hls_log = env_str("RETROVUE_HLS_LOG_BIND", "127.0.0.1:8091")
    backlog = env_int("RETROVUE_TS_VIEWER_BACKLOG", 8 * 1024 * 1024, minimum=256 * 1024)
    asyncio.run(run(http_bind, split_bind(hls_log) if hls_log else None, max_backlog=backlog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
