"""deploy/nginx.conf under a real nginx, in front of a stdlib HTTP server standing in for Django.

Each nginx runs from a temp prefix on a free 127.0.0.1 port with the shipped config, only its
install-specific lines rewritten (tests/deploy/nginx_runner.py), and is stopped in teardown.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.deploy import nginx_runner

PLAYLIST = (
    "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1\n"
    "#EXTINF:6.000000,\nseg1.ts\n"
)
TS_PACKET = b"\x47" + bytes(187)


@pytest.fixture(scope="module")
def nginx_binary():
    binary = nginx_runner.nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx); deploy/nginx.conf is untested")
    return binary


class FakeDjango:
    """Records what reaches the upstream and answers like the Django endpoints nginx relies on."""

    def __init__(self):
        self.requests: list[dict] = []
        # Channel number → the origin Django names for it (another playout machine airs it).
        self.origins: dict[str, str] = {}
        self.stream_may_finish = threading.Event()
        # Answers that take this long, as Django's do on a busy box: long enough for a crowd of
        # viewers to arrive while the first one's question is still out.
        self.slow_seconds = 0.4
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def requests_to(self, prefix: str) -> list[dict]:
        return [request for request in self.requests if request["path"].startswith(prefix)]

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                headers = {name.lower(): value for name, value in self.headers.items()}
                fake.requests.append({"method": self.command, "path": self.path, "headers": headers})
                if "slow" in self.path or "slow" in headers.get("x-original-uri", ""):
                    time.sleep(fake.slow_seconds)
                if self.path.startswith("/iptv/authorize"):
                    # Stands in for Django's answer: channels 1 and 2 are enabled (3 is not), and
                    # where nginx's switch is on the original URI must carry a good token.
                    original = headers.get("x-original-uri", "")
                    channel = original.split("/")[2] if original.count("/") >= 3 else ""
                    enabled = channel in ("1", "2") or channel in fake.origins
                    token_ok = headers.get("x-stream-auth") == "off" or "token=good" in original
                    allowed = enabled and token_ok
                    self.send_response(204 if allowed else 403)
                    if allowed and channel in fake.origins:
                        self.send_header("X-RetroVue-Origin", fake.origins[channel])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path.startswith("/iptv/channel/"):
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp2t")
                    self.end_headers()
                    self.wfile.write(TS_PACKET)
                    self.wfile.flush()
                    # Hold the stream open until the viewer has the first packet (or give up).
                    fake.stream_may_finish.wait(timeout=8)
                    self.wfile.write(TS_PACKET)
                else:
                    body = json.dumps({"path": self.path, "headers": headers}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

        return Handler

    def start(self):
        self.thread.start()

    def stop(self):
        self.stream_may_finish.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def django_stand_in():
    fake = FakeDjango()
    fake.start()
    yield fake
    fake.stop()


def _hls_root(base: Path) -> Path:
    for channel in ("1", "2", "3"):
        folder = base / "hls" / channel
        folder.mkdir(parents=True)
        (folder / "index.m3u8").write_text(PLAYLIST)
        (folder / "seg1.ts").write_bytes(TS_PACKET * 10)
        (folder / "index.m3u8.tmp").write_text(PLAYLIST[:20])
    return base / "hls"


def _front(tmp_path_factory, binary, upstream, name, **knobs):
    prefix = tmp_path_factory.mktemp(name)
    port = nginx_runner.free_port()
    conf = nginx_runner.render(
        prefix, port=port, upstream_port=upstream.port, hls_root=_hls_root(prefix), **knobs
    )
    return nginx_runner.start(binary, prefix, conf, port)


@pytest.fixture(scope="module")
def front(tmp_path_factory, nginx_binary, django_stand_in):
    """The config as shipped."""
    running = _front(tmp_path_factory, nginx_binary, django_stand_in, "nginx-shipped")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def configured_front(tmp_path_factory, nginx_binary, django_stand_in):
    """The config with its documented switches turned: tokens for one channel, a TLS proxy in front."""
    running = _front(
        tmp_path_factory,
        nginx_binary,
        django_stand_in,
        "nginx-configured",
        stream_auth_rules="~^/hls/2/ on;",
        forwarded_proto_rules="https https;",
    )
    yield running
    running.stop()


def fetch(port: int, path: str, *, method: str = "GET", headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        body = response.read()
        return response.status, {name.lower(): value for name, value in response.getheaders()}, body
    finally:
        connection.close()


def test_shipped_config_passes_nginx_t(nginx_binary, tmp_path):
    (tmp_path / "hls").mkdir()
    conf = nginx_runner.render(
        tmp_path, port=nginx_runner.free_port(), upstream_port=8000, hls_root=tmp_path / "hls"
    )
    result = nginx_runner.check_config(nginx_binary, tmp_path, conf)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_configured_switches_pass_nginx_t(nginx_binary, tmp_path):
    (tmp_path / "hls").mkdir()
    conf = nginx_runner.render(
        tmp_path,
        port=nginx_runner.free_port(),
        upstream_port=8000,
        hls_root=tmp_path / "hls",
        stream_auth_rules="~^/hls/2/ on;",
        forwarded_proto_rules="https https;",
    )
    result = nginx_runner.check_config(nginx_binary, tmp_path, conf)
    assert result.returncode == 0, result.stderr


@pytest.mark.e2e
def test_hls_playlist_is_served_from_disk_as_an_apple_playlist_cached_a_second(front, django_stand_in):
    status, headers, body = fetch(front.port, "/hls/1/index.m3u8")
    assert status == 200, front.logs()
    assert body.decode() == PLAYLIST
    assert headers["content-type"] == "application/vnd.apple.mpegurl"
    # At most one segment (2 s and more) old in any cache: a CDN absorbs the polling.
    assert headers["cache-control"] == "public, max-age=1"
    assert headers["access-control-allow-origin"] == "*"
    # From disk: Django is only asked whether channel 1 may be served, never for the file.
    assert django_stand_in.requests_to("/hls/") == []
    assert any(
        check["headers"]["x-original-uri"] == "/hls/1/index.m3u8"
        for check in django_stand_in.requests_to("/iptv/authorize")
    )


@pytest.mark.e2e
def test_hls_segment_is_served_as_cacheable_mpeg_ts(front):
    status, headers, body = fetch(front.port, "/hls/1/seg1.ts")
    assert status == 200
    assert body == TS_PACKET * 10
    assert headers["content-type"] == "video/mp2t"
    assert headers["cache-control"] == "public, max-age=86400, immutable"
    assert headers["access-control-allow-origin"] == "*"


@pytest.mark.e2e
def test_hls_segment_supports_range_requests_for_players(front):
    status, headers, body = fetch(front.port, "/hls/1/seg1.ts", headers={"Range": "bytes=0-187"})
    assert status == 206
    assert body == TS_PACKET
    assert "Content-Range" in headers["access-control-expose-headers"]


@pytest.mark.e2e
def test_hls_answers_cors_preflight_from_browser_players(front):
    status, headers, _ = fetch(
        front.port,
        "/hls/1/index.m3u8",
        method="OPTIONS",
        headers={"Origin": "https://player.example", "Access-Control-Request-Method": "GET"},
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == "*"
    assert "GET" in headers["access-control-allow-methods"]
    assert "Range" in headers["access-control-allow-headers"]


@pytest.mark.e2e
def test_hls_never_serves_a_half_written_playlist(front):
    status, _, _ = fetch(front.port, "/hls/1/index.m3u8.tmp")
    assert status == 404


@pytest.mark.e2e
def test_hls_missing_channel_is_not_found_and_never_proxied(front, django_stand_in):
    status, headers, _ = fetch(front.port, "/hls/no-such-channel/index.m3u8")
    assert status == 404
    assert headers["cache-control"] == "no-cache"
    assert django_stand_in.requests_to("/hls/") == []


@pytest.mark.e2e
def test_hls_refuses_writes(front):
    status, _, _ = fetch(front.port, "/hls/1/index.m3u8", method="POST")
    assert status == 403


@pytest.mark.e2e
@pytest.mark.parametrize(
    "path",
    [
        "/admin/login/",
        "/api/channels",
        "/static/admin/css/base.css",
        "/healthz",
        "/iptv/xmltv.xml",
        "/iptv/channels.m3u",
        "/discover.json",
        "/lineup.json",
        "/lineup_status.json",
        "/device.xml",
    ],
)
def test_everything_else_is_proxied_to_django_with_forwarded_headers(front, django_stand_in, path):
    probe = f"{path}?probe={uuid.uuid4().hex}"
    status, _, body = fetch(front.port, probe, headers={"Host": "tv.example.com:8080"})
    assert status == 200, front.logs()
    seen = json.loads(body)
    assert seen["path"] == probe
    headers = seen["headers"]
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-real-ip"] == "127.0.0.1"
    # The port survives, so absolute URLs in the M3U, XMLTV and HDHomeRun answers point back here.
    assert headers["host"] == "tv.example.com:8080"
    assert headers["x-forwarded-host"] == "tv.example.com:8080"


@pytest.mark.e2e
def test_client_cannot_claim_https_or_another_host_through_forwarded_headers(front):
    _, _, body = fetch(
        front.port,
        "/admin/",
        headers={
            "Host": "tv.example.com",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-For": "10.9.9.9",
        },
    )
    headers = json.loads(body)["headers"]
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == "tv.example.com"
    assert headers["x-forwarded-for"].endswith("127.0.0.1")


@pytest.mark.e2e
def test_forwarded_proto_from_a_tls_proxy_is_passed_on_when_switched_on(configured_front):
    _, _, body = fetch(configured_front.port, "/admin/", headers={"X-Forwarded-Proto": "https"})
    assert json.loads(body)["headers"]["x-forwarded-proto"] == "https"
    _, _, body = fetch(configured_front.port, "/admin/")
    assert json.loads(body)["headers"]["x-forwarded-proto"] == "http"


@pytest.mark.e2e
def test_channel_stream_reaches_the_viewer_before_the_upstream_finishes(front, django_stand_in):
    django_stand_in.stream_may_finish.clear()
    connection = http.client.HTTPConnection("127.0.0.1", front.port, timeout=4)
    try:
        connection.request("GET", "/iptv/channel/7.ts")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type") == "video/mp2t"
        # A buffering proxy would hold this packet until the upstream sent more or closed.
        assert response.read(len(TS_PACKET)) == TS_PACKET
        django_stand_in.stream_may_finish.set()
        assert response.read() == TS_PACKET
    finally:
        django_stand_in.stream_may_finish.set()
        connection.close()


@pytest.mark.e2e
def test_locked_hls_segments_ask_django_to_authorize_the_token(configured_front, django_stand_in):
    status, _, _ = fetch(configured_front.port, "/hls/2/seg1.ts?token=bad")
    assert status == 403
    status, headers, body = fetch(configured_front.port, "/hls/2/seg1.ts?token=good")
    assert status == 200
    assert body == TS_PACKET * 10  # from disk, not from Django
    assert headers["access-control-allow-origin"] == "*"
    checks = django_stand_in.requests_to("/iptv/authorize")
    assert [check["headers"]["x-original-uri"] for check in checks[-2:]] == [
        "/hls/2/seg1.ts?token=bad",
        "/hls/2/seg1.ts?token=good",
    ]
    assert all(check["headers"].get("content-length", "0") == "0" for check in checks)


@pytest.mark.e2e
def test_locked_playlists_come_from_django_so_segment_uris_carry_the_token(configured_front, django_stand_in):
    status, _, body = fetch(configured_front.port, "/hls/2/index.m3u8?token=good")
    assert status == 200
    assert json.loads(body)["path"] == "/hls/2/index.m3u8?token=good"  # Django's answer, not the file
    assert django_stand_in.requests_to("/hls/2/index.m3u8")


@pytest.mark.e2e
def test_unlocked_hls_needs_no_token_when_only_some_channels_are_locked(configured_front, django_stand_in):
    status, _, _ = fetch(configured_front.port, "/hls/1/index.m3u8")
    assert status == 200
    assert django_stand_in.requests_to("/hls/1/") == []  # from disk


@pytest.mark.e2e
def test_nginx_health_answers_without_django(front, django_stand_in):
    before = len(django_stand_in.requests)
    status, _, body = fetch(front.port, "/nginx-health")
    assert (status, body) == (200, b"ok\n")
    assert len(django_stand_in.requests) == before


def _crowd(port: int, path: str, viewers: int = 30) -> list[int]:
    """`viewers` requests for `path` at once; their statuses."""
    with ThreadPoolExecutor(max_workers=viewers) as pool:
        return [status for status, _, _ in pool.map(lambda _: fetch(port, path), range(viewers))]


@pytest.mark.e2e
def test_a_crowd_of_viewers_asks_django_about_a_channel_once_not_once_each(front, django_stand_in):
    # A cache without a lock lets every request that arrives before Django's answer ask as well:
    # 2,000 viewers made 177-260 questions a second instead of about five (bench/README.md).
    path = f"/hls/1/seg1.ts?token=slow-{uuid.uuid4().hex}"

    statuses = _crowd(front.port, path)

    assert statuses == [200] * len(statuses)
    asked = [
        r for r in django_stand_in.requests_to("/iptv/authorize") if r["headers"]["x-original-uri"] == path
    ]
    assert 1 <= len(asked) <= 2  # two only if the crowd straddles the answer's one-second life


@pytest.mark.e2e
def test_tokenised_playlists_are_kept_briefly_per_url_so_devices_sharing_a_token_cost_one_answer(
    configured_front, django_stand_in
):
    shared = f"/hls/2/index.m3u8?token=good-slow-{uuid.uuid4().hex}"
    other = f"/hls/2/index.m3u8?token=good-slow-{uuid.uuid4().hex}"

    assert _crowd(configured_front.port, shared) == [200] * 30
    status, _, body = fetch(configured_front.port, other)

    assert status == 200
    assert json.loads(body)["path"] == other  # another token gets its own playlist, never the first's
    assert 1 <= len(django_stand_in.requests_to(shared)) <= 2
    assert len(django_stand_in.requests_to(other)) == 1
