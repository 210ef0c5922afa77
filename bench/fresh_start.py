"""A fresh install's first minutes: does pre-generated air come soon, and does encoding flat out
leave air, the web and the admin alone?

Starts `./bin/run` (the embedded default: SQLite, the folder broker, the demo station) on a fresh
data folder and a free port, as a new user would, and measures, from the moment it is started:

  first_pregen   seconds until the first pre-generated piece is on the air (its as-run row's
                 start, the schedule time a viewer sees it), per channel and the first overall
  hls            `tests/tools/hls_live_check.py` on EVERY enabled channel at once for
                 `--live-seconds` (600 by default): RFC 8216 rules, segments arriving on time
  admin          a signed-in staff user loads the admin index, the as-run list and the channel
                 list every `--admin-every` seconds: median, p95 and max of each request, end to end
  cpu            every process of the station (web, worker, pre-generation worker and its
                 encoders, playout and its channel ffmpegs, listener, beat), sampled each second
                 from /proc: cores used per service over the window, so the note can show that
                 pre-generation was encoding flat out while the checks ran
  pregen         pieces ready / pending / encoding / failed at the start and end of the window

    .venv/bin/python bench/fresh_start.py                     # the issue's 600 s (about 12 min)
    .venv/bin/python bench/fresh_start.py --live-seconds 120  # a quicker look

Leaves out: the database and broker servers (the embedded default has none), the load generator's
own CPU (the checkers and the admin client run here too, and are not counted). Prints one JSON
summary, writes it to bench/results/fresh_start.json, and exits non-zero when a check failed.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import itertools
import json
import os
import re
import shutil
import statistics
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from on_air import (
    PYTHON,
    ROOT,
    TOOLS,
    Client,
    django_setup,
    free_port,
    start_station,
    stop_station,
    wait_for_playlist,
)

DATA = Path("/tmp/retrovue-bench-fresh")
ADMIN_PASSWORD = "bench-fresh-start-pw"
ADMIN_PAGES = ("/admin/", "/admin/playout/asrunentry/", "/admin/scheduling/channel/")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The launcher's services, told apart by their command lines (first match wins: gunicorn's own
# arguments say "worker").
SERVICES = (("web", "gunicorn"), ("pregen", "pregen"), ("beat", "beat"), ("playout", "playout"),
            ("listen", "listen"), ("worker", "worker"))  # fmt: skip


# --- CPU of every process of the station, from /proc ------------------------------------------------


def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU seconds, reaped children's CPU seconds) of a process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    parent = int(fields[1])
    own = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    reaped = (int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return parent, own, reaped


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


class CpuSampler(threading.Thread):
    """CPU seconds per service of the station: each service's own time, its reaped children's (an
    encoder that finished moves there) and its live descendants' own time. Sampled once a second."""

    def __init__(self, root: int):
        super().__init__(daemon=True)
        self.root = root
        self.samples: list[tuple[float, dict[str, float]]] = []
        self.stopping = threading.Event()
        self.labels: dict[int, str] = {}

    def label(self, pid: int) -> str:
        if pid not in self.labels:
            command = _command(pid)
            self.labels[pid] = next((name for name, mark in SERVICES if mark in command), "other")
        return self.labels[pid]

    def sample(self) -> dict[str, float]:
        stats = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (stat := _stat(int(entry))) is not None:
                stats[int(entry)] = stat
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in stats.items():
            children.setdefault(parent, []).append(pid)
        totals: dict[str, float] = {}
        for service in children.get(self.root, []):
            name = self.label(service)
            _, own, reaped = stats[service]
            total, stack = own + reaped, list(children.get(service, []))
            while stack:
                pid = stack.pop()
                _, own, reaped = stats[pid]
                total += own + reaped
                stack += children.get(pid, [])
            totals[name] = totals.get(name, 0.0) + total
        return totals

    def run(self) -> None:
        while not self.stopping.is_set():
            self.samples.append((time.monotonic(), self.sample()))
            self.stopping.wait(1.0)

    def cores_between(self, since: float, until: float) -> dict[str, float]:
        window = [(at, totals) for at, totals in self.samples if since <= at <= until]
        if len(window) < 2:
            return {}
        (first_at, first), (last_at, last) = window[0], window[-1]
        seconds = last_at - first_at
        cores = {name: round((last.get(name, 0.0) - first.get(name, 0.0)) / seconds, 3) for name in last}
        cores["all"] = round(sum(cores.values()), 3)
        return cores

    def busiest_encoding_share(self, since: float, until: float, threshold: float = 0.9) -> float:
        """The share of seconds in which pre-generation used at least `threshold` of a core."""
        window = [(at, totals.get("pregen", 0.0)) for at, totals in self.samples if since <= at <= until]
        steps = [(b - a) / (tb - ta) for (ta, a), (tb, b) in itertools.pairwise(window) if tb > ta]
        return round(sum(step >= threshold for step in steps) / len(steps), 3) if steps else 0.0


# --- a staff user in the admin ------------------------------------------------------------------------


class AdminClient(threading.Thread):
    """Signs in as the first staff account and times admin pages until told to stop."""

    def __init__(self, base: str, every: float):
        super().__init__(daemon=True)
        self.base, self.every = base, every
        self.timings: dict[str, list[float]] = {page: [] for page in ADMIN_PAGES}
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def sign_in(self) -> None:
        page = self.opener.open(f"{self.base}/admin/login/", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode(
            {"username": "admin", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token, "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(
            f"{self.base}/admin/login/", data=form, headers={"Referer": f"{self.base}/admin/login/"}
        )
        answer = self.opener.open(request, timeout=30)
        if "/admin/login/" in answer.geturl():
            raise SystemExit("the admin did not accept the first staff account's password")

    def run(self) -> None:
        while not self.stopping.is_set():
            for page in ADMIN_PAGES:
                began = time.monotonic()
                try:
                    body = self.opener.open(f"{self.base}{page}", timeout=30).read()
                    if b'id="content"' not in body and b"id='content'" not in body:
                        self.errors.append(f"{page}: not an admin page")
                    self.timings[page].append(time.monotonic() - began)
                except OSError as error:
                    self.errors.append(f"{page}: {error}")
            self.stopping.wait(self.every)

    def summary(self) -> dict:
        result = {}
        for page, seconds in self.timings.items():
            if seconds:
                ordered = sorted(seconds)
                result[page] = {
                    "requests": len(ordered),
                    "median_s": round(statistics.median(ordered), 3),
                    "p95_s": round(ordered[max(0, round(0.95 * len(ordered)) - 1)], 3),
                    "max_s": round(ordered[-1], 3),
                }
        return result


# --- the run ----------------------------------------------------------------------------------------------


def pregen_counts() -> dict[str, int]:
    from django.db.models import Count

    from playout.models import PregenPiece

    return dict(PregenPiece.objects.values_list("status").annotate(n=Count("id")).order_by())


def first_pregen_on_air(started_at: datetime, limit: float) -> dict:
    """Per channel: seconds from the start to the first pre-generated piece's as-run start."""
    from playout.models import AsRunEntry
    from scheduling.models import Channel

    numbers = list(Channel.objects.filter(enabled=True).values_list("number", flat=True))
    found: dict[str, float] = {}
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and len(found) < len(numbers):
        for number in numbers:
            if number in found:
                continue
            entry = (
                AsRunEntry.objects.filter(channel__number=number, origin=AsRunEntry.Origin.PREGEN)
                .order_by("actual_start")
                .first()
            )
            if entry is not None:
                found[number] = round((entry.actual_start - started_at).total_seconds(), 1)
        time.sleep(1.0)
    return {"per_channel_s": found, "first_s": min(found.values()) if found else None,
            "channels_without_one": sorted(set(numbers) - set(found))}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--live-seconds", type=float, default=600)
    parser.add_argument("--admin-every", type=float, default=10.0)
    parser.add_argument("--keep", action="store_true", help="keep the data folder afterwards")
    args = parser.parse_args()

    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(DATA.parent / "retrovue-bench-fresh.log", "w")  # noqa: SIM115 - open for the run
    started_at = datetime.now(UTC)
    started = time.monotonic()
    # The first staff account is the launcher's default "admin" with a password we know.
    station = start_station(
        DATA, port, log, RETROVUE_ADMIN_PASSWORD=ADMIN_PASSWORD, RETROVUE_ADMIN_USER="admin"
    )
    cpu = CpuSampler(station.pid)
    cpu.start()
    summary: dict = {"base": base, "load_average_at_start": os.getloadavg()}
    try:
        summary["seconds_to_first_playlist"] = round(
            wait_for_playlist(f"{base}/hls/3/index.m3u8", station, 600), 1
        )
        django_setup(DATA)
        from scheduling.models import Channel

        numbers = list(Channel.objects.filter(enabled=True).values_list("number", flat=True))
        admin = AdminClient(base, args.admin_every)
        admin.sign_in()
        checks = [
            Client(
                f"hls {number}",
                [
                    PYTHON,
                    str(TOOLS / "hls_live_check.py"),
                    f"{base}/hls/{number}/index.m3u8",
                    str(args.live_seconds),
                ],
                timeout=args.live_seconds + 120,
            )
            for number in numbers
        ]
        window_start = time.monotonic()
        summary["pregen_at_window_start"] = pregen_counts()
        admin.start()
        for check in checks:
            check.start()
        summary["first_pregen_on_air"] = first_pregen_on_air(started_at, limit=args.live_seconds)
        for check in checks:
            check.join()
        admin.stopping.set()
        admin.join()
        window_end = time.monotonic()
        summary["pregen_at_window_end"] = pregen_counts()
        summary["hls"] = {
            check.name: {"exit": check.result.get("exit"), "last": check.result.get("stdout_tail", "")[-400:]}
            for check in checks
        }
        summary["admin"] = admin.summary()
        summary["admin_errors"] = admin.errors[:10]
        summary["cores_per_service_in_window"] = cpu.cores_between(window_start, window_end)
        summary["share_of_window_pregen_used_0.9_core_or_more"] = cpu.busiest_encoding_share(
            window_start, window_end
        )
        summary["load_average_at_end"] = os.getloadavg()
        summary["station_still_running"] = station.poll() is None
    finally:
        cpu.stopping.set()
        stop_station(station)
        log.close()
        if not args.keep:
            shutil.rmtree(DATA, ignore_errors=True)
    summary["wall_seconds"] = round(time.monotonic() - started, 1)
    first = summary["first_pregen_on_air"]["first_s"]
    slowest_admin = max((page["max_s"] for page in summary["admin"].values()), default=None)
    summary["passed"] = bool(
        all(check["exit"] == 0 for check in summary["hls"].values())
        and first is not None
        and first <= 120
        and slowest_admin is not None
        and slowest_admin < 1.0
        and not summary["admin_errors"]
        and summary["station_still_running"]
    )
    text = json.dumps(summary, indent=2, default=str)
    print(text)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / "fresh_start.json").write_text(text)
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
