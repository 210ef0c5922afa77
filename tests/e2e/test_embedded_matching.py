"""Cross-source matching on the README's embedded default: SQLite, the folder broker, the real worker.

Two TMM folders holding the same films under other titles and years are synced through the
folder broker; each sync queues matching, which the station's own worker runs to completion.
Staff then open the conflict queue in headless Chromium (Playwright from the project's venv), link
one pair and keep another apart with the pair page's buttons. Screenshots go to RETROVUE_SHOTS
(or the test's tmp folder).
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.catalog.test_probe import make_media_samples
from tests.e2e.embedded_station import PROJECT_ROOT, embedded_env
from tests.integration.celery_worker import wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("RETROVUE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip

# (title, year, ids) per folder: one pair linked on its title, two for the conflict queue.
FILMS_A = [("Ghostbusters", 1984, {}), ("Blade Runner", 1982, {}), ("Dracula", 1992, {"tmdb": "6114"})]
FILMS_B = [("Ghost Busters", 1984, {}), ("Blade Runner", 1983, {}), ("Dracula", 1991, {"tmdb": "99991"})]

CREATE_SOURCES_AND_SYNC = """
import os
from catalog.models import MediaSource
from catalog.sync.triggers import request_sync
for name, path in (("Films A", os.environ["FILMS_A"]), ("Films B", os.environ["FILMS_B"])):
    source = MediaSource.objects.create(name=name, kind="tmm", path=path)
    run, queued = request_sync(source, trigger="test")
    assert queued, run
"""


def write_films(root: Path, films, clip: Path) -> Path:
    for title, year, ids in films:
        folder = root / f"{title} ({year})"
        folder.mkdir(parents=True)
        (folder / f"{title} ({year}).mkv").write_bytes(clip.read_bytes())
        unique_ids = "".join(f'<uniqueid type="{kind}">{value}</uniqueid>' for kind, value in ids.items())
        (folder / f"{title} ({year}).nfo").write_text(
            f"<movie><title>{title}</title><year>{year}</year>{unique_ids}</movie>\n"
        )
    return root


def query(database: Path, sql: str, *params):
    with sqlite3.connect(database, timeout=30) as connection:
        return connection.execute(sql, params).fetchall()


def test_folder_syncs_queue_matching_through_the_folder_broker_and_staff_resolve_conflicts_in_chromium(
    station, tmp_path
):
    from playwright.sync_api import sync_playwright

    shots = Path(os.environ.get("RETROVUE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    clip = make_media_samples(tmp_path).clip
    # The embedded default's media roots are the data folder's demo-media and library folders.
    films_a = write_films(station["data"] / "library" / "films-a", FILMS_A, clip)
    films_b = write_films(station["data"] / "library" / "films-b", FILMS_B, clip)
    database = station["data"] / "retrovue.sqlite3"

    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", CREATE_SOURCES_AND_SYNC],
        cwd=PROJECT_ROOT,
        env={**embedded_env(station["data"]), "FILMS_A": str(films_a), "FILMS_B": str(films_b)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    def matching_done():
        """Both syncs succeeded and a matching run after each (queued by the sync) finished."""
        syncs = query(database, "SELECT status FROM catalog_syncrun")
        matches = query(database, "SELECT state, error FROM core_taskrun WHERE task_name = 'sync.match'")
        finished = [row for row in matches if row[0] != "running"]
        return len(syncs) == 2 and len(finished) >= 2 and (syncs, finished)

    syncs, matches = wait_for(
        matching_done, timeout=180, interval=0.5, describe="both syncs and their matching"
    )
    assert {status for (status,) in syncs} <= {"succeeded", "partial"}, syncs
    assert all(state == "succeeded" for state, _ in matches), matches
    linked = query(
        database,
        "SELECT movie.title FROM catalog_workmember member"
        " JOIN catalog_playable movie ON movie.id = member.movie_id ORDER BY movie.title",
    )
    assert linked == [("Ghost Busters",), ("Ghostbusters",)]
    conflicts = query(
        database, "SELECT id, reason FROM catalog_matchcandidate WHERE status = 'open' ORDER BY id"
    )
    assert len(conflicts) == 2, conflicts
    base, errors, statuses = station["base"], [], {}

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("response", lambda response: statuses.setdefault(response.url, response.status))
            page.goto(f"{base}/admin/login/?next=/admin/catalog/matchcandidate/")
            page.fill("#id_username", "admin")
            page.fill("#id_password", "first-sign-in-pw")
            page.click("input[type=submit]")
            page.wait_for_selector("#result_list")
            assert page.locator("#result_list tbody tr").count() == 2
            page.screenshot(path=str(shots / "conflicts-1-queue.png"), full_page=True)

            for (conflict_id, _reason), button, number in zip(
                conflicts, ("Link (one work)", "Keep apart"), (2, 3), strict=True
            ):
                pair_page = page.goto(f"{base}/admin/catalog/matchcandidate/{conflict_id}/change/")
                assert pair_page.status == 200
                page.screenshot(
                    path=str(shots / f"conflicts-{number}-pair-{conflict_id}.png"), full_page=True
                )
                page.get_by_role("button", name=button).click()
                page.wait_for_selector("ul.messagelist li.success")
                assert "Later syncs keep this decision" in page.inner_text("ul.messagelist")
            page.screenshot(path=str(shots / "conflicts-4-resolved.png"), full_page=True)
            for name in ("matchcandidate/?status=all", "work/", "matchdecision/"):
                assert page.goto(f"{base}/admin/catalog/{name}").status == 200, name
        finally:
            browser.close()

    assert errors == []
    assert [url for url, status in statuses.items() if status >= 500] == []
    (link_id, _), (apart_id, _) = conflicts
    assert query(database, "SELECT id, status FROM catalog_matchcandidate ORDER BY id") == [
        (link_id, "linked"),
        (apart_id, "kept_apart"),
    ]
    assert sorted(query(database, "SELECT verdict FROM catalog_matchdecision")) == [("apart",), ("link",)]
    assert query(database, "SELECT COUNT(*) FROM catalog_work") == [(2,)]  # Ghostbusters and the linked pair
    assert station["process"].poll() is None, "a child process died: " + station["log"].read_text()[-3000:]
