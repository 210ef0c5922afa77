"""Walk "Add Plex server" in headless Chromium: sign in, see the code, approve it, choose the server.

Run by `tests/catalog/test_plex_sign_in.py` with the Playwright venv (Playwright drives the system
Chromium, no browser download); it is not a test module itself:

    /tmp/pw-venv/bin/python tests/catalog/plex_sign_in_browser.py LIVE_URL USER PASSWORD \
        PLEXTV_URL CONTROL_TOKEN --shots /tmp/i9-auth

The emulated user approves the code through the plex.tv emulator's control path while the page
waits; the page's own polling must notice and move on. Prints one JSON object of what it saw.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def approve(plextv_url: str, control_token: str, code: str) -> None:
    request = urllib.request.Request(
        f"{plextv_url}/_plextv/claim",
        data=json.dumps({"code": code}).encode(),
        headers={"X-Plex-Token": control_token, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.load(response)["ok"]


def walk(arguments) -> dict:
    shots = Path(arguments.shots)
    shots.mkdir(parents=True, exist_ok=True)
    seen: dict = {"errors": []}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=arguments.chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 820})
            page.on("pageerror", lambda error: seen["errors"].append(str(error)))
            page.goto(f"{arguments.live_url}/admin/login/?next=/admin/catalog/mediasource/")
            page.fill("#id_username", arguments.user)
            page.fill("#id_password", arguments.password)
            page.click("input[type=submit]")
            page.click("text=Add Plex server")
            page.click("button:has-text('Sign in with Plex')")
            page.wait_for_selector("#rv-code")
            seen["code"] = page.inner_text("#rv-code").strip()
            seen["auth_link"] = page.get_attribute("#rv-auth-link", "href")
            seen["status_before"] = page.inner_text("#rv-status")
            page.screenshot(path=str(shots / "i9-auth-sign-in-code.png"), full_page=True)

            approve(arguments.plextv_url, arguments.control_token, seen["code"])
            page.wait_for_url("**/servers/", timeout=20_000)  # the page's polling moved on by itself
            page.wait_for_selector("#rv-choices")
            seen["choices"] = page.locator("#rv-choices tbody tr").all_inner_texts()
            page.screenshot(path=str(shots / "i9-auth-choose-server.png"), full_page=True)

            page.locator("#rv-choices tbody tr", has_text="http://127.0.0.1").locator("input").first.check()
            page.fill("#rv-name", "Den via browser")
            page.click("button:has-text('Use this server')")
            page.wait_for_selector("ul.messagelist")
            seen["message"] = page.inner_text("ul.messagelist")
            seen["final_url"] = page.url
            page.screenshot(path=str(shots / "i9-auth-source.png"), full_page=True)
            seen["html_has_code_after"] = seen["code"] in page.content()
        finally:
            browser.close()
    return seen


def main() -> int:
    parser = argparse.ArgumentParser()
    for name in ("live_url", "user", "password", "plextv_url", "control_token"):
        parser.add_argument(name)
    parser.add_argument("--shots", default="/tmp/i9-auth")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    print(json.dumps(walk(parser.parse_args())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
