"""The alert console in headless Chromium: compose, preview, send, clear one, clear all.
Screenshots go to RETROVUE_SHOTS (or tmp)."""

import os
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from alerts.models import Alert
from scheduling.models import Channel
from tests.scheduling.test_desk_browser import CHROMIUM, CHROMIUM_ARGS


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_staff_compose_preview_send_and_clear_an_alert_in_the_browser(live_server, tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv(
        "DJANGO_ALLOW_ASYNC_UNSAFE", "true"
    )  # Playwright's sync API keeps a loop in this thread
    monkeypatch.setattr(
        "alerts.services._encode_slates_soon", lambda alert_id: None
    )  # no worker in this test
    shots = Path(os.environ.get("RETROVUE_SHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    Channel.objects.create(number="3", name="Three")
    Channel.objects.create(number="5", name="Five")
    get_user_model().objects.create_superuser("duty", "duty@example.com", "duty-password-1")
    errors: list[str] = []

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 1000}).new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(f"{live_server.url}/admin/login/?next=/admin/alerts/console/")
            page.fill("#id_username", "duty")
            page.fill("#id_password", "duty-password-1")
            page.click("input[type=submit]")
            page.wait_for_selector("#rv-compose")
            assert page.inner_text("#rv-none") == "No alert is on the air."

            page.fill("#id_headline", "Boil water notice for the east side")
            page.fill("#id_message", "The water main on Elm Street broke this morning.")
            page.fill("#id_instruction", "Boil tap water for one minute before drinking.")
            page.select_option("#id_status", "Test")
            page.click("#rv-preview-button")
            page.wait_for_selector("#rv-preview")
            page.screenshot(path=str(shots / "alert-console-preview.png"), full_page=True)
            # the preview shows the headline in capitals, as the slate does
            assert "BOIL WATER NOTICE" in page.inner_text("#rv-preview .rv-slate")
            assert page.inner_text("#rv-reach") == "2"
            assert "Station alert tone" in page.inner_text("#rv-signal")
            assert not Alert.objects.exists()  # a preview sends nothing

            page.click("#rv-send")
            page.wait_for_selector("#rv-current tr[data-alert]")
            page.screenshot(path=str(shots / "alert-console-sent.png"), full_page=True)
            alert = Alert.objects.get()
            assert alert.status == "Test" and alert.cleared_at is None
            assert "Boil water notice" in page.inner_text("#rv-current")

            page.click(f'#rv-current tr[data-alert="{alert.pk}"] .rv-clear')
            page.wait_for_selector("#rv-none")
            alert.refresh_from_db()
            assert alert.cleared_at is not None

            for headline in ("First", "Second"):
                page.fill("#id_headline", headline)
                page.click("#rv-send")
                page.wait_for_selector(f'#rv-current:has-text("{headline}")')
            page.click("#rv-clear-all")
            page.wait_for_selector("#rv-none")
            page.screenshot(path=str(shots / "alert-console-cleared.png"), full_page=True)
            assert "Cleared 2 alerts." in page.inner_text("body")
            assert not Alert.objects.filter(cleared_at__isnull=True).exists()
        finally:
            browser.close()
    assert errors == []
