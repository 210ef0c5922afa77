"""What one sign-in attempt costs the station, checked and refused (django-axes throttling).

A checked attempt hashes the password (Django's PBKDF2, 1,000,000 iterations) plus axes' writes;
once an address or account is locked out, an attempt is refused before any hashing. This times
both through Django's test client on a throwaway PostgreSQL database with the production password
hasher, as CPU seconds of this process (what an attacker makes the server spend) and wall time.

    .venv/bin/python bench/login_throttle.py [--runs 15]

Left out: the network, gunicorn and nginx (a few hundred microseconds per request more).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import benchdb

NAME = "retrovue_bench_login"
PASSWORD = "the right password 42"  # a throwaway account in a throwaway database


def timed(call) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    call()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument(
        "--server-url",
        default=os.environ.get("RETROVUE_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    benchdb.create_and_set_up(args.server_url, NAME)
    try:
        from axes.models import AccessAttempt
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.test import Client

        get_user_model().objects.create_superuser("admin", password=PASSWORD)
        limit = settings.AXES_FAILURE_LIMIT
        samples: dict[str, list[tuple[float, float]]] = {
            "right password": [],
            "wrong password": [],
            "refused": [],
        }
        for run in range(args.runs):
            AccessAttempt.objects.all().delete()
            address = f"198.51.100.{run % 250 + 1}"
            client = Client()

            def attempt(password, address=address, client=client):
                return client.post(
                    "/admin/login/", {"username": "admin", "password": password}, REMOTE_ADDR=address
                )

            samples["right password"].append(timed(lambda: attempt(PASSWORD)))
            Client().post("/admin/logout/")
            client = Client()
            guess = f"guess {run}"
            samples["wrong password"].append(timed(lambda guess=guess: attempt(guess)))
            for more in range(limit):
                attempt(f"more guesses {more}")
            assert attempt(PASSWORD).status_code == 429
            samples["refused"].append(timed(lambda: attempt("yet another guess")))
        figures = {
            kind: {
                "median_cpu_ms": round(statistics.median(cpu for cpu, _ in values) * 1000, 2),
                "median_wall_ms": round(statistics.median(wall for _, wall in values) * 1000, 2),
            }
            for kind, values in samples.items()
        }
        ratio = figures["wrong password"]["median_cpu_ms"] / max(figures["refused"]["median_cpu_ms"], 0.001)
        load = os.getloadavg()
        print(f"sign-in attempts, {args.runs} runs each (load average {load[0]:.1f})")
        for kind, figure in figures.items():
            print(
                f"  {kind:15} median CPU {figure['median_cpu_ms']:8.2f} ms   wall {figure['median_wall_ms']:8.2f} ms"
            )
        print(f"  a refused guess costs 1/{ratio:.0f} of a checked one")
        results = Path(__file__).with_name("results")
        results.mkdir(exist_ok=True)
        (results / "login_throttle.json").write_text(
            json.dumps({"runs": args.runs, "load": load, "figures": figures, "ratio": ratio}, indent=2)
        )
    finally:
        benchdb.drop(args.server_url, NAME)
    return 0


if __name__ == "__main__":
    sys.exit(main())
