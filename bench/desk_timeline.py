"""Benchmark: the programming desk with 50 channels × a day of programs, and one edit.

Catalog and channels as bench/schedule_build.py (60 shows × 40 episodes with chapter marks, 200
movies, 300 clips; each channel a full day of slots: sitcom blocks, a movie night). The logs are
built for two days (programs) and 30 hours (pieces, so the day's breaks are drawn). Then, in
headless Chromium (Playwright, the system Chromium) against a Django server thread on this
database, signed in as staff, at 1366 × 900:

- *open* (once the page before has settled: its fetches ahead done, as when staff open the desk
  once): from navigation start to the timeline drawn (the page marks `data-loaded` once the blocks
  of every channel are in the page and a frame has been painted, so they are visible and take
  clicks): HTML, the desk's scripts, the timeline API, drawing all 50 rows;
- *pan*: "next day" (and back) at the whole-day zoom, and "next hour" at the one-hour zoom, each
  to the timeline drawn again (the page fetches the windows either side once it has drawn, so a
  pan draws from those and checks them against a fresh answer after); the same day pans again with
  the page's fetched-ahead windows dropped first (what a pan costs when staff pan faster than the
  fetch ahead, or jump to a far day); after the opens and after the day pans, the blocks in the page are
  counted (every program of the window on every channel must be there);
- the timeline API alone (Django test client, server side only): tomorrow's day for all 50
  channels with breaks (what a script asks; the break log reaches 30 h ahead, so the breaks drawn
  depend on the hour the bench runs), the next 24 hours (breaks all the way: the most there is),
  and what the page asks at the day zoom (all channels, no breaks);
- one edit (a movie placed on a channel in the evening), from request to the logs rebuilt.

Medians over --runs repetitions; the machine's load average is printed beside them.
What it leaves out: network latency (loopback), a cold browser cache after the first open (the
script and CSS are cached as they would be for staff), and concurrent editors.

    .venv/bin/python bench/desk_timeline.py [--channels 50] [--runs 7] [--api-only] [--keep]

Needs PostgreSQL (a database `retrovue_bench_desk` is created and dropped) and /usr/bin/chromium.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchdb import ROOT, create_and_set_up, drop
from schedule_build import make_catalog, make_channels

BENCH_DB = "retrovue_bench_desk"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def load_average() -> str:
    with open("/proc/loadavg") as loadavg:
        return " ".join(loadavg.read().split()[:3])


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(root_pid: int) -> float:
    """utime + stime of `root_pid` and every descendant (Chromium's browser, renderer and GPU
    processes; the Playwright driver), in seconds: a figure the machine's load doesn't inflate."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except OSError:
            continue
        stats[int(entry)] = fields
        children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0, [root_pid]
    while todo:
        pid = todo.pop()
        if pid in stats and pid != root_pid:
            total += int(stats[pid][11]) + int(stats[pid][12])
        todo += children.get(pid, [])
    return total / TICKS


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--channels", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--api-only", action="store_true", help="time the timeline API only (no browser, no edit)"
    )
    parser.add_argument("--keep", action="store_true", help=f"keep the database {BENCH_DB} afterwards")
    parser.add_argument("--chromium", default=os.environ.get("RETROVUE_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    create_and_set_up(args.database_server, BENCH_DB)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API beside the ORM
    from django.contrib.auth import get_user_model
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test import Client
    from django.test.testcases import LiveServerThread

    from scheduling import desk
    from scheduling.builder import roll_forward
    from scheduling.models import Channel, Piece, ProgramEntry

    try:
        make_channels(args.channels, make_catalog())
        now = datetime.now(UTC)
        built = time.perf_counter()
        roll_forward(now, program_days=2, fine_hours=30)
        build_seconds = time.perf_counter() - built
        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password-1")
        tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        day = (tomorrow, tomorrow + timedelta(days=1))
        window_programs = ProgramEntry.objects.filter(start__lt=day[1], stop__gt=day[0]).count()

        client = Client()
        client.force_login(user)
        next_24h = (now, now + timedelta(days=1))

        def timed_api(window, **extra) -> dict:
            """Median wall and CPU (this process: Django's side, not PostgreSQL's) of the API."""
            walls, cpus = [], []
            for _ in range(args.runs):
                began, cpu_began = time.perf_counter(), time.process_time()
                response = client.get("/api/scheduling/desk/timeline",
                                       {"start": window[0].isoformat(), "stop": window[1].isoformat(), **extra})  # fmt: skip
                walls.append(time.perf_counter() - began)
                cpus.append(time.process_time() - cpu_began)
                assert response.status_code == 200
            body = response.json()
            return {"median_s": round(statistics.median(walls), 3), "cpu_median_s": round(statistics.median(cpus), 3),
                    "programs": len(body["programs"]), "breaks": sum(len(p["breaks"]) for p in body["programs"]),
                    "bytes": len(response.content)}  # fmt: skip

        api_figures = {
            "api_timeline_day": timed_api(day),
            "api_timeline_next_24h": timed_api(next_24h),
            "api_timeline_page_day_zoom": timed_api(day, breaks="false"),
        }
        if args.api_only:
            print(json.dumps({"channels": args.channels, **api_figures, "runs": args.runs,
                              "load_average": load_average()}, indent=2))  # fmt: skip
            return

        from catalog.models import Movie

        film = Movie.objects.order_by("pk").first()
        edits = []
        for run in range(min(args.runs, 5)):
            channel = Channel.objects.order_by("pk")[run]
            began = time.perf_counter()
            desk.place(user, channel, tomorrow + timedelta(hours=20), [film.pk])
            edits.append(time.perf_counter() - began)

        server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
        server.daemon = True
        server.start()
        server.is_ready.wait()
        base = f"http://127.0.0.1:{server.port}"
        opens, pans, hour_pans = [], [], []
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="UTC").new_page()
            page.goto(f"{base}/admin/login/?next=/admin/")
            page.fill("#id_username", "bench")
            page.fill("#id_password", "bench-password-1")
            page.click("input[type=submit]")

            cpu = {"opens": [], "pans": [], "cold_pans": []}
            # The page's own clock: an open from navigation start, a pan from the click's handler,
            # to the blocks painted (without Playwright's actionability checks and polling).
            in_page = {"opens": [], "pans": [], "hour_pans": [], "cold_pans": [], "zoom": []}

            def drawn_after(action, kind: str | None = None) -> float:
                before = (
                    page.get_attribute("#rv-desk", "data-loaded")
                    if page.locator("#rv-desk").count()
                    else None
                )
                cpu_began = cpu_seconds(os.getpid()) + time.process_time()  # outside the timed part:
                began = time.perf_counter()  # reading /proc for every process takes a while
                action()
                page.wait_for_function(
                    f"document.getElementById('rv-desk') && document.getElementById('rv-desk').dataset.loaded"
                    f" && document.getElementById('rv-desk').dataset.loaded !== '{before}'",
                    timeout=60_000,
                )
                took = time.perf_counter() - began
                if kind in cpu:
                    cpu[kind].append(cpu_seconds(os.getpid()) + time.process_time() - cpu_began)
                in_page[kind].append(
                    float(
                        page.get_attribute("#rv-desk", "data-drawn-at" if kind == "opens" else "data-load-ms")
                    )
                    / 1000
                )
                return took

            splits = []
            # Settled: the page has fetched the days either side of what it drew (data-ahead catches
            # up with data-loaded), so nothing of the page before is still asking the server.
            settled = "(() => { const d = document.getElementById('rv-desk').dataset; return d.ahead === d.loaded; })()"
            for _ in range(args.runs):
                if page.locator("#rv-desk").count():
                    page.wait_for_function(settled, timeout=60_000)
                opens.append(drawn_after(lambda: page.goto(f"{base}/admin/scheduling/desk/"), "opens"))
                splits.append(
                    (
                        page.get_attribute("#rv-desk", "data-fetch-ms"),
                        page.get_attribute("#rv-desk", "data-load-ms"),
                    )
                )
            print("fetch/load ms per open:", splits)
            events = page.evaluate("Object.keys(window.rvDesk.state.programs).length")
            blocks_drawn = page.locator("#rv-calendar [data-program-id]").count()
            rows_drawn = page.locator("#rv-calendar .rv-tl-row").count()
            assert blocks_drawn == events and rows_drawn == args.channels, (blocks_drawn, events, rows_drawn)
            page.screenshot(path=str(ROOT / "bench" / "results" / "desk_timeline_day.png"))
            # Where a draw's time goes, in the page: building and parsing the HTML, then the
            # browser's style and layout (forced here; painting comes after and isn't counted).
            draw_split = [
                page.evaluate("""() => { const began = performance.now(); window.rvDesk.timeline.draw({});
                    const built = performance.now(); document.body.getBoundingClientRect();
                    return [Math.round(built - began), Math.round(performance.now() - built)]; }""")
                for _ in range(args.runs)
            ]
            print("draw ms (HTML, style + layout):", draw_split)
            # Staff look at a day for a moment before panning: the page has fetched the days either
            # side by then.
            for _ in range(args.runs):
                for button in ("#rv-next", "#rv-prev"):
                    page.wait_for_function(settled, timeout=60_000)
                    pans.append(drawn_after(lambda button=button: page.click(button), "pans"))
            # The same pans with nothing fetched ahead (the page keeps its neighbours' answers).
            cold_pans = []
            for _ in range(args.runs):
                for button in ("#rv-next", "#rv-prev"):
                    page.wait_for_function(settled, timeout=60_000)  # no fetch ahead still running
                    page.evaluate("window.rvDesk.windows.clear()")
                    cold_pans.append(drawn_after(lambda button=button: page.click(button), "cold_pans"))
            pan_blocks = page.locator("#rv-calendar [data-program-id]").count()
            assert pan_blocks == page.evaluate("Object.keys(window.rvDesk.state.programs).length")
            drawn_after(lambda: page.select_option("#rv-zoom", "1h"), "zoom")
            for _ in range(args.runs):
                hour_pans.append(drawn_after(lambda: page.click("#rv-next"), "hour_pans"))
            page.screenshot(path=str(ROOT / "bench" / "results" / "desk_timeline_1h.png"))
            browser.close()
        server.terminate()

        result = {
            "channels": args.channels,
            "programs_in_the_day": window_programs,
            "blocks_drawn_today": blocks_drawn,
            "rows_drawn": rows_drawn,
            "pieces": Piece.objects.count(),
            "build_seconds": round(build_seconds, 1),
            **api_figures,
            "open_median_s": round(statistics.median(opens), 3),
            "open_max_s": round(max(opens), 3),
            "pan_day_median_s": round(statistics.median(pans), 3),
            "pan_day_max_s": round(max(pans), 3),
            "pan_day_not_fetched_ahead_median_s": round(statistics.median(cold_pans), 3),
            "pan_hour_median_s": round(statistics.median(hour_pans), 3),
            "draw_html_median_ms": statistics.median(split[0] for split in draw_split),
            "draw_layout_median_ms": statistics.median(split[1] for split in draw_split),
            "in_page_open_median_s": round(statistics.median(in_page["opens"]), 3),
            "in_page_pan_day_median_s": round(statistics.median(in_page["pans"]), 3),
            "in_page_pan_day_not_fetched_ahead_median_s": round(statistics.median(in_page["cold_pans"]), 3),
            "in_page_pan_hour_median_s": round(statistics.median(in_page["hour_pans"]), 3),
            "edit_median_s": round(statistics.median(edits), 3),
            # CPU of the browser, the server thread and this script together per open / pan:
            # roughly the wall time on an idle machine (the draw is one thread).
            "open_cpu_median_s": round(statistics.median(cpu["opens"]), 3),
            "pan_day_cpu_median_s": round(statistics.median(cpu["pans"]), 3),
            "pan_day_not_fetched_ahead_cpu_median_s": round(statistics.median(cpu["cold_pans"]), 3),
            "runs": args.runs,
            "load_average": load_average(),
        }
        print(json.dumps(result, indent=2))
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "desk_timeline.json").write_text(json.dumps(result, indent=2))
    finally:
        if not args.keep:
            drop(args.database_server, BENCH_DB)


if __name__ == "__main__":
    main()
