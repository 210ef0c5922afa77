"""The suite's early-stopped HLS check still fails a test on what the checker found before the stop."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.live_check import LiveCheck

# Media sequence 7 and then 3: a live playlist must never go back.
PLAYLISTS = [
    f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{sequence}\n"
    for sequence in (7, 3)
]


@pytest.fixture
def playlist_url():
    requests = []

    class Playlist(BaseHTTPRequestHandler):
        def do_GET(self):
            body = PLAYLISTS[min(len(requests), 1)].encode()
            requests.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/vnd.apple.mpegurl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Playlist)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/index.m3u8", requests
    server.shutdown()


def test_a_check_stopped_early_fails_on_what_it_found_before_the_stop(playlist_url):
    url, requests = playlist_url
    checker = LiveCheck(url, 60)
    try:
        deadline = time.monotonic() + 30
        while len(requests) < 3 and time.monotonic() < deadline:  # the third poll follows the second's report
            time.sleep(0.05)
        assert checker.running
        with pytest.raises(AssertionError, match="MEDIA-SEQUENCE decreased 7 -> 3"):
            checker.stop()
    finally:
        checker.kill()
