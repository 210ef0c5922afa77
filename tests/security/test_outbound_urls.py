"""Finding 3 (URLs): what staff type as a Plex server, CAP feed or live input cannot turn the
station against itself — no local-reading protocols, only hosts the operator allowed, and the
server's own fetches never reach loopback, link-local or (unless listed) private addresses,
redirects included."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from retrovue.core.outbound import CAP_FEEDS, LIVE_INPUTS, PLEX_SERVERS, URLRefused, fetch


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "concat:/etc/passwd|/etc/hosts",
        "subfile,,start,0,end,0,,:/etc/passwd",
        "hls+file:///tmp/x.m3u8",
        "data:text/plain,hello",
        "pipe:0",
        "gopher://example.com/",
        "http://user:pass@example.com/",
        "http://example.com/a b",
        "http://example.com:99999/",
    ],
)
def test_local_reading_and_malformed_urls_are_refused_for_every_purpose(url, settings):
    settings.RETROVUE_LIVE_SOURCE_HOSTS = ["*"]
    for policy in (PLEX_SERVERS, CAP_FEEDS, LIVE_INPUTS):
        with pytest.raises(URLRefused):
            policy.check(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379/",  # the station's Redis
        "http://[::1]:5432/",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://0.0.0.0:8000/",
        "http://[::ffff:127.0.0.1]/",
        "http://localhost:8000/admin/",  # a name that resolves to loopback
        "http://224.0.0.1/",
    ],
)
def test_the_servers_fetches_never_reach_loopback_or_link_local_by_default(url, settings):
    settings.RETROVUE_PLEX_HOSTS = None  # the shipped defaults
    settings.RETROVUE_CAP_FEED_HOSTS = None
    for policy in (PLEX_SERVERS, CAP_FEEDS):
        with pytest.raises(URLRefused, match=r"loopback|not an allowed host"):
            policy.check(url)


def test_private_networks_need_listing_except_for_plex_on_the_lan(settings):
    settings.RETROVUE_PLEX_HOSTS = None
    settings.RETROVUE_CAP_FEED_HOSTS = None
    assert PLEX_SERVERS.check("http://192.168.1.10:32400") == "http://192.168.1.10:32400"
    with pytest.raises(URLRefused, match="private"):
        CAP_FEEDS.check("http://192.168.1.10/feed.xml")
    settings.RETROVUE_CAP_FEED_HOSTS = ["*", "192.168.1.0/24"]
    assert CAP_FEEDS.check("http://192.168.1.10/feed.xml")


def test_the_operators_host_list_is_the_only_way_in(settings):
    settings.RETROVUE_PLEX_HOSTS = ["plex.lan", "*.plex.direct", "127.0.0.1"]
    assert PLEX_SERVERS.check("http://plex.lan:32400")  # named: the operator's DNS, not resolved
    assert PLEX_SERVERS.check("http://127.0.0.1:32400")  # listed address
    with pytest.raises(URLRefused, match="not an allowed host"):
        PLEX_SERVERS.check("http://evil.example:32400")
    with pytest.raises(URLRefused, match="not an allowed host"):
        PLEX_SERVERS.check("http://127.0.0.2:32400")
    settings.RETROVUE_LIVE_SOURCE_HOSTS = []
    with pytest.raises(URLRefused, match="RETROVUE_LIVE_SOURCE_HOSTS"):
        LIVE_INPUTS.check("srt://encoder.lan:9000")


def test_ffmpeg_inputs_get_a_protocol_whitelist_of_their_own_scheme(settings):
    settings.RETROVUE_LIVE_SOURCE_HOSTS = ["10.0.0.0/24"]
    url = LIVE_INPUTS.check("srt://10.0.0.7:9000?mode=caller")
    assert LIVE_INPUTS.ffmpeg_protocols(url) == "srt,udp"
    assert "file" not in LIVE_INPUTS.ffmpeg_protocols("https://10.0.0.7/live.m3u8")


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_GET(self):
        if self.path == "/feed":
            self.send_response(302)
            self.send_header("Location", self.target)
            self.end_headers()
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"internal secret")

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_redirect_to_a_refused_address_is_checked_again(loopback_server, settings):
    # The operator allowed this one feed host (the test server); its redirect to the metadata
    # address (or any other unlisted host) is refused before the second request is made.
    settings.RETROVUE_CAP_FEED_HOSTS = ["127.0.0.1"]
    _Redirector.target = "http://169.254.169.254/latest/meta-data/"
    with pytest.raises(URLRefused, match=r"169\.254\.169\.254"):
        fetch(CAP_FEEDS, loopback_server + "/feed")
    _Redirector.target = "/inside"
    assert fetch(CAP_FEEDS, loopback_server + "/feed").content == b"internal secret"


def test_an_endless_body_is_cut_off(loopback_server, settings):
    settings.RETROVUE_CAP_FEED_HOSTS = ["127.0.0.1"]
    with pytest.raises(URLRefused, match="more than 4 bytes"):
        fetch(CAP_FEEDS, loopback_server + "/inside", max_bytes=4)
