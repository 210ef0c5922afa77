"""Staff pages that fit: admin lists on a 1366-px screen, plurals that read right, dates in the staff
member's own time zone, and channel names never cut in the guide (headless Chromium)."""

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from playout.models import AsRunEntry
from scheduling.models import Channel, ProgramEntry
from tests.scheduling.station import movie

CHROMIUM = Path(os.environ.get("RETROVUE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip
LONG_NAME = "Classic Movies and Late-Night Cinema Network"


def test_admin_lists_say_as_run_entries_and_program_entries(staff_client):
    assert b"As-run entries" in staff_client.get("/admin/playout/asrunentry/").content
    assert b"Program entries" in staff_client.get("/admin/scheduling/programentry/").content
    assert b"entrys" not in staff_client.get("/admin/").content


def test_an_admin_page_shows_dates_in_the_staff_members_time_zone(staff_client):
    channel = Channel.objects.create(number="9", name="Nine", time_zone="America/New_York")
    moment = datetime(2026, 12, 5, 20, 0, tzinfo=UTC)
    AsRunEntry.objects.create(channel=channel, scheduled_start=moment, scheduled_stop=moment + timedelta(minutes=1),
                              actual_start=moment, actual_stop=moment + timedelta(minutes=1), origin="pregen")  # fmt: skip
    staff_client.cookies["rv_tz"] = "Asia/Tokyo"
    page = staff_client.get("/admin/playout/asrunentry/").content.decode()
    assert "Sun 06 Dec 05:00:00" in page and "Asia/Tokyo" in page  # 20:00 UTC is 05:00 the next day in Tokyo
    staff_client.cookies["rv_tz"] = "Not/AZone"
    assert "Sat 05 Dec 20:00:00" in staff_client.get("/admin/playout/asrunentry/").content.decode()


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_staff_lists_fit_1366_pixels_and_the_guide_never_cuts_a_channel_name(
    live_server, tmp_path, monkeypatch
):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    shots = Path(os.environ.get("RETROVUE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    now = timezone.now()
    film = movie("The Extraordinary Adventures of the Midnight Express Through the Mountains", 100)
    for number in range(2, 14):
        channel = Channel.objects.create(number=str(number), name=f"{LONG_NAME} {number}", call_sign="WRTV-DT",
                                         group="RetroVue Classics", content_rating_limit="TV-14")  # fmt: skip
        ProgramEntry.objects.create(channel=channel, start=now - timedelta(minutes=10), stop=now + timedelta(hours=2),
                                    playable=film, title=film.title, subtitle="A very long episode title " * 3)  # fmt: skip
        for minute in range(5):
            start = now - timedelta(minutes=minute)
            AsRunEntry.objects.create(
                channel=channel, playable=film, scheduled_start=start, scheduled_stop=start + timedelta(minutes=1),
                actual_start=start + timedelta(seconds=1), actual_stop=start + timedelta(minutes=1), origin="live",
                error="pre-generated file unplayable: lost packet sync at byte 188000 in /data/pregen/1/0001/1.ts " * 3,
            )  # fmt: skip
    get_user_model().objects.create_superuser("fit", "fit@example.com", "fit-password-1")
    widths = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": 1366, "height": 800}, timezone_id="America/Los_Angeles"
            )
            page = context.new_page()
            page.goto(f"{live_server.url}/admin/login/")
            page.fill("#id_username", "fit")
            page.fill("#id_password", "fit-password-1")
            page.click("input[type=submit]")
            for name, path in (("as-run", "/admin/playout/asrunentry/"), ("channels", "/admin/scheduling/channel/"),
                               ("programs", "/admin/scheduling/programentry/")):  # fmt: skip
                page.goto(live_server.url + path)
                # The list scrolls inside its own box when it doesn't fit (Django's `.results`).
                widths[name] = page.evaluate(
                    """[document.documentElement.scrollWidth,
                        document.querySelector('#changelist .results').scrollWidth
                        <= document.querySelector('#changelist .results').clientWidth]"""
                )
                page.screenshot(path=str(shots / f"fit-{name}.png"))
            assert "America/Los_Angeles" in page.text_content("#user-tools")
            page.goto(f"{live_server.url}/guide?tz=UTC")
            cut = page.evaluate(
                """Array.from(document.querySelectorAll('.chan .name')).filter((el) =>
                    el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1
                    || getComputedStyle(el).textOverflow === 'ellipsis').map((el) => el.textContent)"""
            )
            page.screenshot(path=str(shots / "fit-guide.png"))
        finally:
            browser.close()
            connections.close_all()
    assert widths == {"as-run": [1366, True], "channels": [1366, True], "programs": [1366, True]}
    assert cut == []
