"""How fast the catalog admin lists render with a big library.

Builds a library of 20,000 episodes across 200 shows (plus movies and short-form items, each with
a media file) in a database of its own, logs a staff user in with Django's test client and times
the changelists staff use most. Prints median / p95 wall time and the query count per page, and
writes the figures as JSON to bench/results/.

    .venv/bin/python bench/admin_changelist.py               # create, measure, drop
    .venv/bin/python bench/admin_changelist.py --keep        # leave retrovue_bench for a browser
    .venv/bin/python bench/admin_changelist.py --explain     # EXPLAIN ANALYZE each page's slowest query

The goal (issue): "a list of 20,000 episodes renders in well under a second".
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT_SERVER_URL = "postgresql://postgres:postgres@127.0.0.1:5432/postgres"

# (label, path): what staff open most, on a library this size.
PAGES = [
    ("episodes: first page", "/admin/catalog/episode/"),
    ("episodes: filtered", "/admin/catalog/episode/?daypart__exact=prime_time&state__exact=active"),
    ("episodes: search", "/admin/catalog/episode/?q=harbor"),
    ("episodes: sorted by show desc", "/admin/catalog/episode/?o=-2"),
    ("episodes: last page", "/admin/catalog/episode/?p=200"),
    ("shows: first page", "/admin/catalog/show/"),
    ("movies: first page", "/admin/catalog/movie/"),
    ("short-form: first page", "/admin/catalog/shortformitem/"),
    ("all items: first page", "/admin/catalog/playable/"),
    ("media files: first page", "/admin/catalog/mediafile/"),
    ("media files: search", "/admin/catalog/mediafile/?q=harbor"),
]

WORDS = (
    *("harbor", "night", "river", "family", "station", "city", "doctor", "ranch", "space", "office"),
    *("court", "school", "island", "mystery", "street", "kitchen", "garage", "detective", "country"),
    *("hotel", "police", "north", "desert", "canyon"),
)
RATINGS = ("TV-G", "TV-PG", "TV-14", "TV-MA", "TV-Y7")
DAYPARTS = ("", "daytime", "prime_time", "late_night", "early_fringe", "saturday_morning")
# Plex summaries run to a paragraph; they widen every row a list query sorts, so the bench has them.
SUMMARY = (
    "When a storm strands the crew at the old harbor station, an unexpected visitor forces everyone "
    "to face the secret they swore to keep last winter. Meanwhile, the new neighbour's garage sale "
    "turns into a city-wide treasure hunt, and nobody is quite who they seem. "
)


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings_test")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def copy_rows(model, columns: list[str], rows) -> None:
    """COPY rows into a model's own table.

    Multi-table children (Episode, Movie, ShortFormItem) can't go through bulk_create, so their
    parent Playable rows are bulk_created first and the child rows are copied in with the ids.
    """
    from django.db import connection

    table = model._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row(row)


def build_library(shows: int, episodes_per_show: int, movies: int, short_form: int) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from catalog.choices import ContentKind, FileState, ItemState, LibraryKind, SourceKind
    from catalog.models import (
        Episode,
        Library,
        MediaFile,
        MediaSource,
        Movie,
        Playable,
        Season,
        ShortFormItem,
        Show,
        sort_title_for,
    )

    now = timezone.now()
    with transaction.atomic():
        plex = MediaSource.objects.create(
            name="Bench Plex",
            kind=SourceKind.PLEX,
            base_url="http://127.0.0.1:32400",
            token="bench-token",  # noqa: S106 (a fake)
        )
        folder = MediaSource.objects.create(name="Bench spots", kind=SourceKind.FOLDER, path="/srv/spots")
        tv = Library.objects.create(source=plex, section_key="1", title="TV Shows", kind=LibraryKind.SHOW)
        films = Library.objects.create(source=plex, section_key="2", title="Movies", kind=LibraryKind.MOVIE)

        show_rows = []
        for n in range(shows):
            title = f"The {WORDS[n % len(WORDS)].title()} {WORDS[(n * 7) % len(WORDS)].title()} {n:03d}"
            show_rows.append(
                Show(
                    source=plex,
                    library=tv,
                    rating_key=str(1000 + n),
                    title=title,
                    sort_title=sort_title_for(title),
                    year=1970 + n % 40,
                    content_rating=RATINGS[n % len(RATINGS)],
                    summary=SUMMARY * 2,
                    state=ItemState.REMOVED if n % 50 == 49 else ItemState.ACTIVE,
                )
            )
        show_rows = Show.objects.bulk_create(show_rows)

        seasons_per_show = 5
        season_rows = Season.objects.bulk_create(
            Season(show=show, season_number=s + 1, rating_key=f"{show.rating_key}-s{s + 1}")
            for show in show_rows
            for s in range(seasons_per_show)
        )
        season_ids = {(season.show_id, season.season_number): season.pk for season in season_rows}

        def playable(kind, n, title, source, library, duration_ms):
            return Playable(
                kind=kind,
                source=source,
                library=library,
                rating_key=f"{kind}-{n}",
                title=title,
                summary=f"{n}: {SUMMARY}",
                content_rating=RATINGS[n % len(RATINGS)],
                duration_ms=duration_ms,
                state=ItemState.REMOVED if n % 97 == 0 else ItemState.ACTIVE,
                daypart=DAYPARTS[n % len(DAYPARTS)],
                updated_at_plex=now,
            )

        episode_specs = []
        episode_parents = []
        for show in show_rows:
            for e in range(episodes_per_show):
                n = len(episode_parents)
                season_number = e // (episodes_per_show // seasons_per_show or 1) + 1
                season_number = min(season_number, seasons_per_show)
                title = f"{WORDS[(n * 3) % len(WORDS)].title()} {WORDS[(n * 11) % len(WORDS)]} {n}"
                episode_parents.append(
                    playable(ContentKind.EPISODE, n, title, plex, tv, (20 + n % 40) * 60_000 + n % 1000)
                )
                episode_specs.append((show.pk, season_ids[(show.pk, season_number)], season_number, e + 1))
        episode_parents = Playable.objects.bulk_create(episode_parents, batch_size=5000)
        copy_rows(
            Episode,
            ["playable_ptr_id", "show_id", "season_id", "season_number", "episode_number"],
            ((p.pk, *spec) for p, spec in zip(episode_parents, episode_specs, strict=True)),
        )

        movie_parents = Playable.objects.bulk_create(
            (
                playable(
                    ContentKind.MOVIE,
                    n,
                    f"{WORDS[n % len(WORDS)].title()} Story {n}",
                    plex,
                    films,
                    95 * 60_000,
                )
                for n in range(movies)
            ),
            batch_size=5000,
        )
        copy_rows(
            Movie,
            ["playable_ptr_id", "year", "sort_title", "studio", "genres"],
            (
                (p.pk, 1950 + n % 60, sort_title_for(p.title), "Bench Studios", "[]")
                for n, p in enumerate(movie_parents)
            ),
        )

        short_parents = Playable.objects.bulk_create(
            (
                playable(
                    (ContentKind.COMMERCIAL, ContentKind.BUMPER, ContentKind.PROMO)[n % 3],
                    n,
                    f"Spot {WORDS[n % len(WORDS)]} {n}",
                    folder,
                    None,
                    30_000,
                )
                for n in range(short_form)
            ),
            batch_size=5000,
        )
        copy_rows(
            ShortFormItem, ["playable_ptr_id", "year"], ((p.pk, 1985 + p.pk % 10) for p in short_parents)
        )

        all_parents = [*episode_parents, *movie_parents, *short_parents]
        MediaFile.objects.bulk_create(
            (
                MediaFile(
                    playable_id=p.pk,
                    position=0,
                    part_key=f"/library/parts/{p.pk}/file.mkv",
                    plex_path=f"/data/media/{p.kind}/{p.title}.mkv",
                    local_path=f"/mnt/media/{p.kind}/{p.title}.mkv",
                    size_bytes=700_000_000 + p.pk,
                    container="mkv" if p.pk % 4 else "mp4",
                    video_codec="h264" if p.pk % 5 else "hevc",
                    audio_codec="aac",
                    width=640,
                    height=480,
                    duration_ms=p.duration_ms,
                    playable_ok=True,
                    state=FileState.NORMAL if p.pk % 13 else FileState.REMOTE_ONLY,
                )
                for p in all_parents
            ),
            batch_size=5000,
        )

    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {
        "shows": len(show_rows),
        "episodes": len(episode_parents),
        "movies": len(movie_parents),
        "short_form_items": len(short_parents),
        "media_files": len(all_parents),
    }


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile: with few runs p95 is honestly the slowest run, not an interpolation."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def measure(client, path: str, runs: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    response = client.get(path)  # warm-up: template compile, content types cache
    if response.status_code != 200:
        raise SystemExit(f"{path} answered {response.status_code}")
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    queries = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    return {
        "path": path,
        "runs": runs,
        "median_ms": round(statistics.median(timings), 1),
        "p95_ms": round(percentile(timings, 0.95), 1),
        "min_ms": round(min(timings), 1),
        "queries": len(queries),
        "sql_ms": round(sum(t for t, _ in queries), 1),
        "slowest_sql": max(queries)[1] if queries else "",
        "slowest_sql_ms": round(max(queries)[0], 1) if queries else 0.0,
    }


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--server-url",
        default=os.environ.get("RETROVUE_BENCH_SERVER_URL", DEFAULT_SERVER_URL),
        help="PostgreSQL URL of a maintenance database on the server to use",
    )
    parser.add_argument("--database", default="retrovue_bench", help="database to create (and drop)")
    parser.add_argument("--shows", type=int, default=200)
    parser.add_argument("--episodes-per-show", type=int, default=100)
    parser.add_argument("--movies", type=int, default=2000)
    parser.add_argument("--short-form", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15, help="timed requests per page (at least 7)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each slowest query")
    args = parser.parse_args()
    if args.runs < 7:
        parser.error("--runs must be at least 7 for a meaningful p95")

    recreate_database(args.server_url, args.database)
    try:
        setup_django(database_url(args.server_url, args.database))
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        started = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        migrated = time.perf_counter()
        counts = build_library(args.shows, args.episodes_per_show, args.movies, args.short_form)
        built = time.perf_counter()
        print(f"migrated in {migrated - started:.1f} s, built {counts} in {built - migrated:.1f} s")

        user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-password")
        client = Client()
        client.force_login(user)

        results = []
        for label, path in PAGES:
            result = {"page": label, **measure(client, path, args.runs)}
            results.append(result)
            if args.explain:
                print(f"\n== {label}: slowest query {result['slowest_sql_ms']} ms\n{result['slowest_sql']}\n")
                print(explain(result["slowest_sql"]))

        width = max(len(r["page"]) for r in results)
        print(f"\n{'page':<{width}}  {'median':>9}  {'p95':>9}  {'queries':>7}  {'sql':>8}")
        for r in results:
            print(
                f"{r['page']:<{width}}  {r['median_ms']:>6.1f} ms  {r['p95_ms']:>6.1f} ms  "
                f"{r['queries']:>7}  {r['sql_ms']:>5.1f} ms"
            )

        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = RESULTS_DIR / f"admin_changelist-{stamp}.json"
        out.write_text(
            json.dumps(
                {
                    "benchmark": "admin_changelist",
                    "when": stamp,
                    "postgres": connection.cursor().connection.info.server_version,
                    "library": counts,
                    "runs_per_page": args.runs,
                    "pages": results,
                },
                indent=2,
            )
        )
        print(f"\nwrote {out.relative_to(ROOT)}")
        connection.close()
    finally:
        if not args.keep:
            drop_database(args.server_url, args.database)
    return 0


if __name__ == "__main__":
    sys.exit(main())
