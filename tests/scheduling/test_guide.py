"""The TV guide page: the grid of channels and half hours, clipped program cells, the now line."""

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.scheduling.listings import fill, make_channel, program

pytestmark = pytest.mark.django_db

EVENING = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
WINDOW = "/guide?tz=UTC&start=2026-11-22T18:00"
SHOTS = Path("/tmp/rv-shots")


def cells(response, number):
    row = next(row for row in response.context["rows"] if row.channel.number == number)
    return row.cells


def test_guide_renders_anonymously_with_channels_and_programs_in_the_window(client):
    seven = make_channel("7", "Classic TV", call_sign="WRTV")
    movies = make_channel("12", "Movie Palace")
    make_channel("99", "Secret Test Channel", enabled=False)
    fill(seven, EVENING, 3)
    program(movies, EVENING, 120, title="Back to the Future", category="Movie", content_rating="PG")
    program(movies, EVENING + timedelta(hours=4), 120, title="Tomorrow's Movie")
    response = client.get(WINDOW)
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Classic TV",
        "WRTV",
        "Movie Palace",
        "Back to the Future",
        "Episode 6",
        "6:00 PM",
        "8:30 PM",
    ):
        assert text in page
    assert "Tomorrow&#x27;s Movie" not in page and "Tomorrow's Movie" not in page
    assert "Secret Test Channel" not in page
    assert page.index(">7<") < page.index(">12<")  # channel-number order


def test_cells_are_as_wide_as_their_share_of_the_window_and_clipped_at_its_edges(client):
    channel = make_channel("7")
    program(channel, EVENING - timedelta(minutes=30), 60, title="Started Earlier")
    program(channel, EVENING + timedelta(minutes=30), 30, title="Half Hour")
    program(channel, EVENING + timedelta(minutes=60), 90, title="Hour and a Half")
    program(channel, EVENING + timedelta(minutes=150), 60, title="Runs Past")
    row = cells(client.get(WINDOW), "7")
    assert [(cell.title, cell.left, cell.width) for cell in row] == [
        ("Started Earlier", 0.0, 16.6667),
        ("Half Hour", 16.6667, 16.6667),
        ("Hour and a Half", 33.3333, 50.0),
        ("Runs Past", 83.3333, 16.6667),
    ]
    assert row[0].starts_before and not row[0].ends_after
    assert row[-1].ends_after and not row[-1].starts_before
    assert row[0].times == "5:30 PM – 6:30 PM"


def test_holes_in_the_listings_show_as_no_listing(client):
    channel = make_channel("7")
    program(channel, EVENING + timedelta(minutes=60), 30, title="Lonely")
    row = cells(client.get(WINDOW), "7")
    assert [(cell.title, cell.program is None) for cell in row] == [
        ("No listing", True),
        ("Lonely", False),
        ("No listing", True),
    ]
    assert sum(cell.width for cell in row) == pytest.approx(100, abs=0.01)


def test_the_now_line_marks_the_current_time_in_the_live_window(client):
    channel = make_channel("7")
    now = timezone.now()
    current = program(channel, now - timedelta(minutes=10), 30, title="On Right Now")
    response = client.get("/guide?tz=UTC")
    assert 0 <= response.context["now_left"] < 100
    page = response.content.decode()
    assert 'id="nowline"' in page and 'id="nowline" style="--now:' in page
    assert 'aria-hidden="true"></div>' in page and "hidden aria-hidden" not in page
    on_now = [cell for cell in cells(response, "7") if cell.on_now]
    assert [cell.program.pk for cell in on_now] == [current.pk]
    assert response.context["window_start"] <= now < response.context["window_end"]
    assert response.context["window_start"].minute in (0, 30)


def test_other_windows_hide_the_now_line(client):
    make_channel("7")
    tomorrow = (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.get("/guide", {"tz": "UTC", "start": tomorrow})
    assert response.context["now_left"] is None
    assert "hidden aria-hidden" in response.content.decode()


def test_times_are_shown_in_the_viewers_time_zone(client):
    channel = make_channel("7")
    program(channel, EVENING, 30, title="Evening Show")
    response = client.get("/guide?tz=America/New_York&start=2026-11-22T13:00")
    assert [column["label"] for column in response.context["columns"]] == [
        "1:00 PM",
        "1:30 PM",
        "2:00 PM",
        "2:30 PM",
        "3:00 PM",
        "3:30 PM",
    ]
    assert cells(response, "7")[0].times == "1:00 PM – 1:30 PM"
    assert response.context["zone_abbreviation"] == "EST"


def test_an_unknown_time_zone_falls_back_to_the_station_default(client):
    make_channel("7")
    response = client.get("/guide?tz=Mars/Olympus_Mons")
    assert response.status_code == 200
    assert response.context["zone_name"] == settings.TIME_ZONE
    assert "That time zone is unknown" in response.content.decode()


def test_the_window_starts_on_a_half_hour_and_moves_half_a_window_at_a_time(client):
    make_channel("7")
    response = client.get("/guide?tz=UTC&start=2026-11-22T18:47")
    assert response.context["window_start"] == datetime(2026, 11, 22, 18, 30, tzinfo=UTC)
    assert response.context["earlier_url"] == "?tz=UTC&start=2026-11-22T17%3A00"
    assert response.context["later_url"] == "?tz=UTC&start=2026-11-22T20%3A00"
    wider = client.get("/guide?tz=UTC&start=2026-11-22T18:00&hours=6")
    assert len(wider.context["columns"]) == 12
    assert wider.context["later_url"] == "?tz=UTC&start=2026-11-22T21%3A00&hours=6"


@pytest.mark.parametrize("start", ["0001-01-01T00:00", "9999-12-31T23:59", "yesterday", "2026-13-01T00:00"])
def test_a_start_that_makes_no_sense_shows_the_current_window(client, start):
    make_channel("7")
    response = client.get("/guide", {"tz": "UTC", "start": start})
    assert response.status_code == 200
    assert response.context["window_start"] <= timezone.now() < response.context["window_end"]


def test_a_channel_links_to_its_watch_page_and_details_are_escaped(client):
    channel = make_channel("7.1", "Kids & Co")
    program(
        channel,
        EVENING,
        30,
        title="Tom & Jerry",
        description='Cat <chases> "mouse"',
        season_number=2,
        episode_number=5,
    )
    page = client.get(WINDOW).content.decode()
    assert 'href="/watch/7.1"' in page  # clicking a channel opens its watch page
    assert 'data-desc="Cat &lt;chases&gt; &quot;mouse&quot;"' in page
    assert 'data-episode="S02E05"' in page
    assert "Tom &amp; Jerry" in page and "<chases>" not in page


def _queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_fifty_channels_take_as_few_queries_as_five(client):
    for number in range(1, 6):
        fill(make_channel(str(number)), EVENING, 3)
    few = _queries_for(client, WINDOW)
    for number in range(6, 51):
        fill(make_channel(str(number)), EVENING - timedelta(minutes=30), 4)
    many = _queries_for(client, WINDOW)
    assert few == many <= 2


@pytest.mark.e2e
def test_the_guide_in_headless_chromium(live_server, tmp_path):
    """A real browser renders the page (static files, fonts, script); the picture is kept for a look."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if not browser:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    now = timezone.now()
    for number in range(2, 22):
        fill(
            make_channel(str(number), f"Channel {number}"),
            now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1),
            6,
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    shot = SHOTS / "guide-test.png"
    shot.unlink(missing_ok=True)
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--hide-scrollbars", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1366,900",
         "--virtual-time-budget=3000", f"--screenshot={shot}", f"{live_server.url}/guide?tz=UTC"],
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip
    assert shot.exists(), result.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(data[16:20], "big") == 1366  # width from the IHDR chunk
    assert len(data) > 50_000  # a rendered grid, not a blank page
