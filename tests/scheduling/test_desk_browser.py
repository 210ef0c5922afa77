"""The programming desk in headless Chromium (Playwright from the project's venv, the system
Chromium): drag a movie from the search panel onto a channel at 20:00, drag an episode to another
channel, ripple a special across an evening from the keyboard form, undo one step. After each step
the program log, the break log and XMLTV agree. Screenshots go to RETROVUE_SHOTS (or tmp)."""

import os
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from scheduling.builder import roll_forward
from scheduling.models import DeskEntry, ProgramEntry
from tests.scheduling.station import channel_with_slot, movie, short_form_library, sitcom
from tests.scheduling.test_desk_api import assert_logs_and_guide_agree

CHROMIUM = Path(os.environ.get("RETROVUE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # fmt: skip


def tomorrow() -> datetime:
    today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today + timedelta(days=1)


def timeline_point(page, channel_id: int, moment: datetime) -> tuple[float, float]:
    """Page coordinates of `moment` in a channel's row: inside the block on the air then."""
    return page.evaluate(
        """([channel, at]) => {
            const when = new Date(at).getTime();
            const program = Object.values(window.rvDesk.state.programs).find((p) =>
                p.channel_id === channel && new Date(p.start).getTime() <= when && when < new Date(p.stop).getTime());
            const box = document.querySelector(`[data-program-id="${program.id}"]`).getBoundingClientRect();
            const start = new Date(program.start).getTime(), stop = new Date(program.stop).getTime();
            return [box.left + box.width * (when - start) / (stop - start) + 2, box.top + box.height / 2];
        }""",
        [channel_id, moment.isoformat()],
    )


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_desk_drags_moves_ripples_and_undoes_with_logs_and_guide_in_step(
    live_server, tmp_path, monkeypatch
):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv(
        "DJANGO_ALLOW_ASYNC_UNSAFE", "true"
    )  # Playwright's sync API keeps a loop in this thread
    shots = Path(os.environ.get("RETROVUE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    show, _ = sitcom(title="Cheers", episodes=30)
    taxi, _ = sitcom(title="Taxi", episodes=30)
    short_form_library()
    three, _, _ = channel_with_slot(number="3", shows=[show], start=time(12), end=time(23))
    five, _, _ = channel_with_slot(number="5", shows=[taxi], start=time(12), end=time(23))
    film = movie("The Late Show", 100)
    roll_forward(channels=[three, five])
    get_user_model().objects.create_superuser("desk", "desk@example.com", "desk-password-1")
    day = tomorrow()
    errors: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="UTC")
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{live_server.url}/admin/login/?next=/admin/scheduling/desk/")
            page.fill("#id_username", "desk")
            page.fill("#id_password", "desk-password-1")
            page.click("input[type=submit]")
            page.wait_for_selector("#rv-desk[data-loaded]")

            def reloaded(action):
                """Run `action` and wait for the timeline to reload after it (or for a refusal)."""
                before = page.get_attribute("#rv-desk", "data-loaded")
                said = page.get_attribute("#rv-desk", "data-said") or ""
                action()
                page.wait_for_function(
                    f"""(() => {{ const d = document.getElementById('rv-desk').dataset;
                         return d.loaded !== '{before}' || (d.said !== '{said}' && d.error === '1'); }})()"""
                )

            reloaded(
                lambda: (
                    page.fill("#rv-day", day.strftime("%Y-%m-%d")),
                    page.dispatch_event("#rv-day", "change"),
                )
            )
            page.screenshot(path=str(shots / "desk-1-opened.png"), full_page=True)

            # 1. Drag a movie from the search panel onto channel 3 at 20:00.
            page.fill("#rv-query", "Late Show")
            page.wait_for_selector("#rv-results li")
            x, y = timeline_point(page, three.pk, day + timedelta(hours=20))
            box = page.locator("#rv-calendar").bounding_box()
            reloaded(lambda: page.drag_and_drop("#rv-results li >> nth=0", "#rv-calendar",
                                                target_position={"x": x - box["x"], "y": y - box["y"]}))  # fmt: skip
            assert "done" in page.inner_text("#rv-status"), page.inner_text("#rv-status")
            placed = ProgramEntry.objects.get(channel=three, start=day + timedelta(hours=20))
            assert placed.playable_id == film.pk
            assert_logs_and_guide_agree(three)
            page.screenshot(path=str(shots / "desk-2-movie-dropped.png"), full_page=True)

            # 2. Move channel 3's 19:00 episode to channel 5 at 21:00 by dragging its block.
            episode = ProgramEntry.objects.get(channel=three, start=day + timedelta(hours=19))
            block = page.locator(f'[data-program-id="{episode.pk}"]').bounding_box()
            target_x, target_y = timeline_point(page, five.pk, day + timedelta(hours=21))
            start_x, start_y = block["x"] + 3, block["y"] + block["height"] / 2

            def drag():
                page.mouse.move(start_x, start_y)
                page.mouse.down()
                page.mouse.move(start_x + 20, start_y + 5, steps=5)
                page.mouse.move(target_x, target_y, steps=20)
                page.mouse.up()

            reloaded(drag)
            assert "done" in page.inner_text("#rv-status"), page.inner_text("#rv-status")
            assert (
                ProgramEntry.objects.get(channel=five, start=day + timedelta(hours=21)).playable_id
                == episode.playable_id
            )
            assert (
                ProgramEntry.objects.get(channel=three, start=day + timedelta(hours=19)).playable_id is None
            )
            for channel in (three, five):
                assert_logs_and_guide_agree(channel)
            page.screenshot(path=str(shots / "desk-3-episode-moved.png"), full_page=True)

            # 3. Ripple a special across channel 5's evening from the keyboard form: two Cheers
            #    episodes at 18:00, Taxi pushed an hour, the template taking over again at 21:00.
            taxi_at_six = ProgramEntry.objects.get(channel=five, start=day + timedelta(hours=18)).playable_id
            page.select_option("#rv-kind", "show")
            page.fill("#rv-query", "Cheers")
            page.wait_for_selector("#rv-results button[data-place]")
            page.click("#rv-results button[data-place] >> nth=0")
            page.select_option("#rv-place-channels", [str(five.pk)])
            page.fill("#rv-place-start", (day + timedelta(hours=18)).strftime("%Y-%m-%dT%H:%M"))
            page.fill("#rv-place-count", "2")
            page.fill("#rv-place-name", "Cheers Special")
            page.select_option("#rv-place-mode", "ripple")
            page.fill("#rv-place-resume", (day + timedelta(hours=21)).strftime("%Y-%m-%dT%H:%M"))
            page.check("#rv-place-special")
            reloaded(lambda: page.click("#rv-place-form button[type=submit]"))
            assert "done" in page.inner_text("#rv-status"), page.inner_text("#rv-status")
            ripple = DeskEntry.objects.get(channel=five, mode="ripple")
            marathon = ProgramEntry.objects.filter(channel=five, desk_entry=ripple).order_by("start")
            assert marathon.count() == 2 and all(row.special for row in marathon)
            pushed = ProgramEntry.objects.get(channel=five, start=day + timedelta(hours=19))
            assert pushed.playable_id == taxi_at_six and pushed.slot_id is not None  # pushed an hour
            assert_logs_and_guide_agree(five)
            page.screenshot(path=str(shots / "desk-4-special-rippled.png"), full_page=True)

            # 4. Undo the ripple.
            reloaded(lambda: page.click("#rv-undo"))
            assert not DeskEntry.objects.filter(mode="ripple").exists()
            assert (
                ProgramEntry.objects.get(channel=five, start=day + timedelta(hours=18)).desk_entry_id is None
            )
            assert (
                ProgramEntry.objects.get(channel=five, start=day + timedelta(hours=21)).playable_id
                == episode.playable_id
            )
            for channel in (three, five):
                assert_logs_and_guide_agree(channel)
            page.screenshot(path=str(shots / "desk-5-undone.png"), full_page=True)

            # Zoomed to six hours of the evening: breaks show as bands inside the blocks.
            reloaded(lambda: page.select_option("#rv-zoom", "6h"))
            assert page.locator(".rv-break").count() > 0
            page.screenshot(path=str(shots / "desk-6-evening-zoomed.png"), full_page=True)
        finally:
            browser.close()
            connections.close_all()  # the ORM calls made beside Playwright's loop had their own connection
    assert errors == []
