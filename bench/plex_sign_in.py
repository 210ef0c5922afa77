"""Benchmark: the Plex sign-in round trips and the connection check, against the emulators.

Measures, over `--runs` repetitions (median and p95, milliseconds):
  pin_create      POST /api/v2/pins on the emulated plex.tv
  pin_poll        one GET /api/v2/pins/<id> (what each 2 s poll of the sign-in page costs)
  sign_in_total   create + approve + poll + account + resources: the server-side work of a sign-in
  check_rtt       "Test connection"'s round trip figure: GET / on the Plex server (keep-alive)
  check_total     the whole check: GET / plus GET /library/sections on a fresh connection
  gdm_first_reply from M-SEARCH to the first GDM reply (loopback)
  gdm_discover    catalog.plex.gdm.discover with its default 1 s listening window
No database: the plex.tv and Plex clients are called directly, as check_connection() does.

    .venv/bin/python bench/plex_sign_in.py [--runs 30] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(USE_TZ=True, TIME_ZONE="UTC", RETROVUE_PLEX_HOSTS=["127.0.0.1", "localhost"])
django.setup()

from catalog.plex import gdm  # noqa: E402
from catalog.plex.client import PlexClient, RetryPolicy  # noqa: E402
from catalog.plex.plextv import PlexTvClient  # noqa: E402
from plex_emulator import EmulatorConfig, PlexEmulator  # noqa: E402
from plex_emulator.gdm import GdmResponder  # noqa: E402
from plex_emulator.plextv import PlexTvEmulator  # noqa: E402


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {
        "median": round(statistics.median(ordered), 2),
        "p95": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 2),
        "n": len(ordered),
    }


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--latency-ms", type=int, default=0, help="added by the Plex server emulator")
    parser.add_argument("--gdm-runs", type=int, default=5)
    arguments = parser.parse_args()
    figures: dict[str, list[float]] = {name: [] for name in (
        "pin_create", "pin_poll", "sign_in_total", "check_rtt", "check_total", "gdm_first_reply", "gdm_discover"
    )}  # fmt: skip
    config = EmulatorConfig(seed=1, shows=8, movies=20, latency_ms=arguments.latency_ms)
    with PlexEmulator(config) as server, PlexTvEmulator([server]) as plextv:
        client = PlexTvClient("retrovue-bench", base_url=plextv.url)
        token = ""
        for _ in range(arguments.runs):
            started = time.perf_counter()
            begun = time.perf_counter()
            pin = client.create_pin()
            figures["pin_create"].append(ms(begun))
            begun = time.perf_counter()
            client.check_pin(pin.id)
            figures["pin_poll"].append(ms(begun))
            plextv.claim(pin.id)
            token = client.check_pin(pin.id)
            client.account(token)
            resource = client.servers(token)[0]
            figures["sign_in_total"].append(ms(started))

            plex = PlexClient(
                server.url, resource.access_token, timeout=(3, 10), retry=RetryPolicy(max_attempts=1)
            )
            begun = time.perf_counter()
            plex.server_info()
            first = ms(begun)
            plex.sections()
            figures["check_total"].append(ms(begun))
            begun = time.perf_counter()
            plex.server_info()
            figures["check_rtt"].append(ms(begun))
            del first
        with GdmResponder(server, port=free_udp_port()) as responder:
            for _ in range(arguments.gdm_runs):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
                    probe.settimeout(2)
                    begun = time.perf_counter()
                    probe.sendto(gdm.SEARCH, ("239.0.0.250", responder.port))
                    probe.recvfrom(4096)
                    figures["gdm_first_reply"].append(ms(begun))
                begun = time.perf_counter()
                found = gdm.discover(address="239.0.0.250", port=responder.port)
                figures["gdm_discover"].append(ms(begun))
                assert [each.machine_identifier for each in found] == [server.machine_identifier]
    result = {name: summary(values) for name, values in figures.items()}
    print(f"{'figure':<16} {'median ms':>10} {'p95 ms':>10} {'n':>4}")
    for name, row in result.items():
        print(f"{name:<16} {row['median']:>10.2f} {row['p95']:>10.2f} {row['n']:>4}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "plex_sign_in.json").write_text(
        json.dumps({"arguments": vars(arguments), "figures": result}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
