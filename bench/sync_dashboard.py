"""Benchmark: the staff sync dashboard (and /metrics) over a year of sync history.

Seeds 5 sources × hourly runs for a year (about 44,000 SyncRun rows: mostly quiet incremental runs,
a nightly full run, a few percent partial or failed, one source whose token was refused lately)
plus open and resolved SyncItemError rows, in a database of its own. Then requests the dashboard
through Django's test client as a logged-in staff user, for each window (7, 30, 90 and 365 days),
and `/metrics` with a staff API token. Prints the median, min and max wall time and the SQL query
count per page, and writes the figures as JSON to bench/results/.

    .venv/bin/python bench/sync_dashboard.py [--runs 9] [--sources 5] [--days 365] [--keep]

Goal (issue): the dashboard loads in under a second with a year of history.
Needs PostgreSQL (the server in DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres);
a database `retrovue_bench_sync_dashboard` is created, and dropped afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from benchdb import ROOT, create_and_set_up, drop

BENCH_DB = "retrovue_bench_sync_dashboard"
AUTH_ERROR = "http://plex.lan:32400 refused the token (401): sign in to Plex again."


def seed(sources: int, days: int, now: datetime) -> int:
    from catalog.models import MediaSource, SyncItemError, SyncRun

    rng = random.Random(9)
    made = MediaSource.objects.bulk_create(
        MediaSource(name=f"Plex {number}", kind="plex", base_url=f"http://plex{number}.lan:32400")
        for number in range(1, sources + 1)
    )
    rows = []
    first = now - timedelta(days=days)
    for index, source in enumerate(made):
        for hour in range(days * 24):
            created = first + timedelta(hours=hour, minutes=index * 7)
            full = created.hour == 3
            roll = rng.random()
            status = "failed" if roll < 0.02 else "partial" if roll < 0.05 else "succeeded"
            error = ""
            if status == "failed":
                error = "http://plex.lan:32400 could not be reached (ConnectionRefusedError) after 5 attempts"
            if index == 0 and created > now - timedelta(hours=6):
                status, error = "failed", AUTH_ERROR  # Plex 1's token was revoked this morning
            seconds = rng.uniform(300, 1500) if full else rng.uniform(0.5, 20)
            rows.append(
                SyncRun(
                    source=source,
                    kind="full" if full else "incremental",
                    status=status,
                    trigger="schedule",
                    created_at=created,
                    started_at=created,
                    finished_at=created + timedelta(seconds=seconds),
                    processed=rng.randint(0, 40) if not full else 17_000,
                    added=rng.randint(0, 3),
                    updated=rng.randint(0, 10),
                    removed=rng.randint(0, 1),
                    skipped=0 if not full else 16_900,
                    failed=rng.randint(1, 4) if status == "partial" else 0,
                    api_calls=rng.randint(3, 12) if not full else 400,
                    error=error,
                )
            )
    SyncRun.objects.bulk_create(rows, batch_size=5000)
    MediaSource.objects.filter(pk=made[0].pk).update(auth_state="needs_sign_in", auth_error=AUTH_ERROR)
    errors = [
        SyncItemError(
            source=made[number % sources],
            item_kind="episode",
            item_key=str(100_000 + number),
            title=f"Episode {number}",
            error_kind="orphan" if number % 3 else "malformed",
            message="its show is not in the library",
            attempts=number % 9 + 1,
            first_seen_at=now - timedelta(days=number % 300),
            last_seen_at=now - timedelta(hours=number % 48),
            resolved_at=None if number % 4 == 0 else now - timedelta(hours=number % 24),
        )
        for number in range(2000)
    ]
    SyncItemError.objects.bulk_create(errors, batch_size=5000)
    return len(rows)


def measure(client, path: str, runs: int, **headers) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path, **headers)  # warm-up: imports, templates, query plans
    assert response.status_code == 200, (path, response.status_code)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, **headers)
        seconds.append(time.perf_counter() - started)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path, **headers)
    return {
        "median_seconds": round(statistics.median(seconds), 4),
        "min_seconds": round(min(seconds), 4),
        "max_seconds": round(max(seconds), 4),
        "queries": len(queries),
        "sql_seconds": round(sum(float(query["time"]) for query in queries.captured_queries), 4),
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--sources", type=int, default=5)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--keep", action="store_true", help="leave the database for a look afterwards")
    parser.add_argument(
        "--database-server",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()
    if args.runs < 5:
        parser.error("--runs must be at least 5 for a meaningful median")
    create_and_set_up(args.database_server, BENCH_DB)
    try:
        from django.conf import settings
        from django.contrib.auth import get_user_model
        from django.db import connection
        from django.test import Client

        from retrovue.core.models import ApiToken

        settings.ALLOWED_HOSTS = ["*"]
        settings.DEBUG = False
        settings.SECURE_SSL_REDIRECT = False
        now = datetime.now(UTC)
        started = time.perf_counter()
        count = seed(args.sources, args.days, now)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"seeded {count:,} sync runs and 2,000 item errors in {time.perf_counter() - started:.1f} s")

        staff = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password")
        _, token = ApiToken.issue(staff, "bench")
        client = Client()
        client.force_login(staff)
        results = {}
        for window in (7, 30, 90, 365):
            results[f"dashboard ?days={window}"] = measure(
                client, f"/admin/catalog/sync-dashboard/?days={window}", args.runs
            )
        results["GET /metrics"] = measure(
            Client(), "/metrics", args.runs, HTTP_AUTHORIZATION=f"Bearer {token}"
        )

        print(f"{'page':<26} {'median':>9} {'min':>9} {'max':>9} {'queries':>8} {'SQL':>9}")
        for name, figures in results.items():
            print(
                f"{name:<26} {figures['median_seconds'] * 1000:>7.1f}ms {figures['min_seconds'] * 1000:>7.1f}ms "
                f"{figures['max_seconds'] * 1000:>7.1f}ms {figures['queries']:>8} {figures['sql_seconds'] * 1000:>7.1f}ms"
            )
        out = ROOT / "bench" / "results"
        out.mkdir(parents=True, exist_ok=True)
        path = out / f"sync_dashboard-{now:%Y%m%dT%H%M%S}.json"
        path.write_text(
            json.dumps(
                {
                    "sync_runs": count,
                    "sources": args.sources,
                    "days": args.days,
                    "runs": args.runs,
                    **results,
                },
                indent=2,
            )
        )
        print(f"wrote {path.relative_to(ROOT)}")
    finally:
        if not args.keep:
            drop(args.database_server, BENCH_DB)


if __name__ == "__main__":
    main()
