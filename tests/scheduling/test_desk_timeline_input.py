"""The desk's timeline without a mouse, in headless Chromium: the timeline is one Tab stop whose
arrows walk the blocks, and a block moves to the channel below with Alt+↓ and keeps the focus; a
pan draws the next day fetched ahead and then shows what another editor changed in it since; on a touch screen a long press picks a block up and drags it,
while a plain swipe over the blocks moves nothing."""

from datetime import time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from scheduling import desk
from scheduling.builder import roll_forward
from scheduling.models import DeskEdit, DeskEntry, ProgramEntry
from tests.scheduling.station import channel_with_slot, movie, short_form_library, sitcom
from tests.scheduling.test_desk_api import assert_logs_and_guide_agree
from tests.scheduling.test_desk_browser import CHROMIUM, CHROMIUM_ARGS, timeline_point, tomorrow


def open_desk(browser, live_server, day, *, touch=False):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, timezone_id="UTC", has_touch=touch)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/admin/login/?next=/admin/scheduling/desk/")
    page.fill("#id_username", "desk")
    page.fill("#id_password", "desk-password-1")
    page.click("input[type=submit]")
    page.wait_for_selector("#rv-desk[data-loaded]")
    page.fill("#rv-day", day.strftime("%Y-%m-%d"))  # fires the input's change: the timeline loads the day
    # Settled: the day is drawn and the days either side fetched ahead (data-ahead marks that draw).
    page.wait_for_function(
        f"""(() => {{ const d = document.getElementById('rv-desk').dataset;
             return d.ahead === d.loaded && document.getElementById('rv-day').value === '{day:%Y-%m-%d}'
               && window.rvDesk.state.day.getDate() === {day.day}; }})()"""
    )
    return page, errors


def with_reload(page, action):
    """Run `action` and wait for the timeline to be drawn again after it (or for a refusal)."""
    before = page.get_attribute("#rv-desk", "data-loaded")
    said = page.get_attribute("#rv-desk", "data-said") or ""
    action()
    page.wait_for_function(
        f"""(() => {{ const d = document.getElementById('rv-desk').dataset;
             return d.loaded !== '{before}' || (d.said !== '{said}' && d.error === '1'); }})()"""
    )


@pytest.fixture
def two_channels(db):
    short_form_library()
    three, _, _ = channel_with_slot(
        number="3", shows=[sitcom(title="Cheers", episodes=30)[0]], start=time(12), end=time(23)
    )
    five, _, _ = channel_with_slot(
        number="5", shows=[sitcom(title="Taxi", episodes=30)[0]], start=time(12), end=time(23)
    )
    roll_forward(channels=[three, five])
    get_user_model().objects.create_superuser("desk", "desk@example.com", "desk-password-1")
    return three, five


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_arrows_walk_the_timeline_and_alt_arrow_down_moves_a_block_to_the_channel_below(
    live_server, two_channels, monkeypatch
):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    three, five = two_channels
    day = tomorrow()
    episode = ProgramEntry.objects.get(channel=three, start=day + timedelta(hours=19))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page, errors = open_desk(browser, live_server, day)
            assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # the desk fits the screen
            # One Tab stop for the whole timeline; the arrows walk it.
            assert page.locator('#rv-calendar [data-program-id][tabindex="0"]').count() == 1
            next_on_three = ProgramEntry.objects.get(
                channel=three, start=day + timedelta(hours=19, minutes=30)
            )
            same_time_on_five = ProgramEntry.objects.get(channel=five, start=day + timedelta(hours=19))
            focused = "document.activeElement.dataset.programId"
            page.focus(f'[data-program-id="{episode.pk}"]')
            page.keyboard.press("ArrowRight")
            assert page.evaluate(focused) == str(next_on_three.pk)
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("ArrowDown")
            assert page.evaluate(focused) == str(same_time_on_five.pk)
            page.keyboard.press("ArrowUp")
            assert page.evaluate(focused) == str(episode.pk)
            assert page.get_attribute(f'[data-program-id="{episode.pk}"]', "tabindex") == "0"
            with_reload(page, lambda: page.keyboard.press("Alt+ArrowDown"))
            assert "done" in page.inner_text("#rv-status"), page.inner_text("#rv-status")
            moved = ProgramEntry.objects.get(channel=five, start=day + timedelta(hours=19))
            assert moved.playable_id == episode.playable_id
            assert page.evaluate(focused) == str(moved.pk)
            page.keyboard.press("Enter")  # selects it: the side panel's form is for this block
            assert page.input_value("#rv-move-channel") == str(five.pk)
            for channel in (three, five):
                assert_logs_and_guide_agree(channel)
        finally:
            browser.close()
            connections.close_all()
    assert errors == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_long_press_drags_a_block_on_a_touch_screen_and_a_swipe_does_not(
    live_server, two_channels, monkeypatch
):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    three, _ = two_channels
    day = tomorrow()
    episode = ProgramEntry.objects.get(channel=three, start=day + timedelta(hours=19))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page, errors = open_desk(browser, live_server, day, touch=True)
            touch = page.context.new_cdp_session(page)

            def finger(kind, x=None, y=None):
                points = [] if x is None else [{"x": x, "y": y}]
                touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

            block = page.locator(f'[data-program-id="{episode.pk}"]').bounding_box()
            x0, y0 = block["x"] + 3, block["y"] + block["height"] / 2
            target_x, _ = timeline_point(page, three.pk, day + timedelta(hours=21))

            # A swipe across the blocks, made by the browser itself (no pause between the touch events
            # however loaded the machine): the page may scroll, the schedule stays as it was.
            touch.send(
                "Input.synthesizeScrollGesture",
                {
                    "x": x0,
                    "y": y0,
                    "xDistance": -(target_x - x0),
                    "yDistance": -40,
                    "gestureSourceType": "touch",
                },
            )
            assert page.locator(".rv-tl-dragging").count() == 0
            assert page.get_attribute("#rv-desk", "data-said") is None
            assert ProgramEntry.objects.get(pk=episode.pk).start == day + timedelta(hours=19)

            # Press and hold, then drag: the block follows the finger and lands at 21:00.
            def long_press_drag():
                finger("touchStart", x0, y0)
                page.wait_for_selector(f'[data-program-id="{episode.pk}"].rv-tl-dragging')  # picked up
                for step in range(1, 11):
                    finger("touchMove", x0 + (target_x - x0 - 1) * step / 10, y0)
                finger("touchEnd")

            with_reload(page, long_press_drag)
            assert "done" in page.inner_text("#rv-status"), page.inner_text("#rv-status")
            assert ProgramEntry.objects.get(channel=three, start=day + timedelta(hours=21)).playable_id == (
                episode.playable_id
            )
            assert not DeskEntry.objects.filter(mode="ripple").exists()
            assert DeskEdit.objects.count() == 1  # the long press's move; the swipe made none
            assert_logs_and_guide_agree(three)
        finally:
            browser.close()
            connections.close_all()
    assert errors == []


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_pan_to_a_day_fetched_ahead_shows_what_another_editor_changed_there_since(
    live_server, two_channels, monkeypatch
):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    three, _ = two_channels
    film = movie("The Late Show", 100)
    day = tomorrow()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page, errors = open_desk(browser, live_server, day)  # the day after is fetched ahead by now
            assert page.locator(".rv-tl-row").count() == 2  # every channel, no paging
            other_editor = get_user_model().objects.create_superuser(
                "other", "other@example.com", "other-password-1"
            )
            desk.place(other_editor, three, day + timedelta(days=1, hours=20), [film.pk])
            placed = ProgramEntry.objects.get(channel=three, start=day + timedelta(days=1, hours=20))
            page.click("#rv-next")
            page.wait_for_selector(f'#rv-calendar [data-program-id="{placed.pk}"]')
            assert page.input_value("#rv-day") == f"{day + timedelta(days=1):%Y-%m-%d}"
        finally:
            browser.close()
            connections.close_all()
    assert errors == []
