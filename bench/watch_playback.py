"""Does the watch page play? Opens a watch URL in headless Chromium (Playwright driving the system
browser, no browser download), lets it play, and reports whether `video.currentTime` kept advancing.

    .venv/bin/python bench/watch_playback.py http://127.0.0.1:8000/watch/7 \
        --seconds 10 --screenshot /tmp/rv-shots/watch.png

Prints one JSON object (samples of currentTime each second, stalls, errors, hls.js used or not)
and exits 0 when playback advanced by at least 80 % of the wall time with no stall over 2 s.
Playwright is a dev requirement (`./bin/test` installs it); it drives Debian's Chromium.
`tests/playout/test_watch_and_monitor.py` runs it against a live test server.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--autoplay-policy=no-user-gesture-required",
]


def measure(url: str, seconds: float, screenshot: str | None, executable: str) -> dict:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 820})
            console: list[str] = []
            page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
            page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
            page.goto(url, wait_until="load")
            page.wait_for_function(
                "() => { const v = document.getElementById('player'); return v && v.currentTime > 0; }",
                timeout=20_000,
            )
            samples = []
            started = time.monotonic()
            while time.monotonic() - started < seconds:
                samples.append(page.evaluate("() => document.getElementById('player').currentTime"))
                time.sleep(1)
            samples.append(page.evaluate("() => document.getElementById('player').currentTime"))
            elapsed = time.monotonic() - started
            state = page.evaluate(
                """() => { const v = document.getElementById('player');
                  return { paused: v.paused, readyState: v.readyState, width: v.videoWidth,
                           height: v.videoHeight, hlsjs: !!(window.Hls && window.Hls.isSupported()),
                           hlsVersion: window.Hls ? window.Hls.version : null,
                           status: document.getElementById('status').textContent }; }"""
            )
            if screenshot:
                page.screenshot(path=screenshot)
        finally:
            browser.close()
    # The longest run of one-second samples in which the position did not move.
    longest = current = 0
    for before, after in itertools.pairwise(samples):
        current = current + 1 if after - before < 0.05 else 0
        longest = max(longest, current)
    advanced = samples[-1] - samples[0]
    return {
        "url": url,
        "wall_seconds": round(elapsed, 2),
        "advanced_seconds": round(advanced, 2),
        "longest_stall_seconds": longest,
        "samples": [round(sample, 2) for sample in samples],
        **state,
        "console": console[-20:],
        "ok": advanced >= 0.8 * elapsed and longest <= 2 and not state["paused"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--screenshot")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    options = parser.parse_args()
    result = measure(options.url, options.seconds, options.screenshot, options.chromium)
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
