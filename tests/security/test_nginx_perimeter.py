"""Finding 7 (nginx's side) and the traversal acceptance: the shipped deploy/nginx.conf in front of
the real Django (pytest-django's live server), over HLS, artwork and media roots that hold what an
attacker hopes for: logs, half-written files, disabled and unknown channels, symbolic links to
files outside the roots, and a canary file beside them.

Every traversal and symlink attempt, through nginx and straight to Django: the canary never
comes back, and nothing outside a channel's playlist and segments is served.
"""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest
from django.test import Client

from retrovue.core.models import StreamToken
from scheduling.models import Channel
from tests.deploy import nginx_runner

CANARY = b"CANARY-outside-every-served-root"
PLAYLIST = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:2.0,\nrun-000000.ts\n"
SEGMENT = b"\x47" + bytes(187)
ARTWORK = "ab/ab" + "1" * 62 + "-w300.jpg"
ARTWORK_LINK = "ab/ab" + "2" * 62 + "-w300.jpg"
LOGO = "logos/" + "a" * 32 + ".png"
LOGO_LINK = "logos/" + "b" * 32 + ".png"
# Well-formed names whose folder is a symbolic link out of the root (`cd/` and `bugs/` lead to outside/).
ARTWORK_IN_LINKED_FOLDER = "cd/cd" + "3" * 62 + "-w300.jpg"
BUG_IN_LINKED_FOLDER = "bugs/" + "c" * 32 + ".png"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)

TRAVERSALS = [
    "/hls/../canary.txt",
    "/hls/7/../../canary.txt",
    "/hls/7/..%2f..%2fcanary.txt",
    "/hls/%2e%2e/canary.txt",
    "/hls/7/%2e%2e/%2e%2e/canary.txt",
    "/hls//canary.txt",
    "/hls/7/run-000009.ts",  # a symlink to the canary
    "/hls/10/index.m3u8",  # a channel folder that is a symlink out of the root
    "/hls/7/notes.txt",
    "/hls/7/%2e%2e%2f%2e%2e%2fcanary.txt",
    "/hls/7/%252e%252e/%252e%252e/canary.txt",  # double-encoded
    "/hls/7/%252e%252e%252f%252e%252e%252fcanary.txt",
    "/hls/7/..%5c..%5ccanary.txt",
    "/hls/7/%c0%ae%c0%ae/%c0%ae%c0%ae/canary.txt",  # overlong UTF-8 dots
    "/hls/10/canary.txt",
    "/artwork/../canary.txt",
    "/artwork/ab/../../canary.txt",
    f"/artwork/{ARTWORK_LINK}",
    f"/artwork/{ARTWORK_IN_LINKED_FOLDER}",
    "/artwork/%2e%2e/canary.txt",
    "/artwork/ab/%2e%2e%2f%2e%2e%2fcanary.txt",
    "/artwork/%252e%252e/canary.txt",
    "/artwork/ab/%252e%252e%252f%252e%252e%252fcanary.txt",
    "/media/../canary.txt",
    "/media/logos/../../canary.txt",
    "/media/logos/..%2f..%2fcanary.txt",
    f"/media/{LOGO_LINK}",
    f"/media/{BUG_IN_LINKED_FOLDER}",
    "/media/%2e%2e/canary.txt",
    "/media/logos/%2e%2e/%2e%2e/canary.txt",
    "/media/logos/%252e%252e/%252e%252e/canary.txt",
    "/media/logos/%252e%252e%252f%252e%252e%252fcanary.txt",
    "/media/logos/page.html",
    "/static/../../canary.txt",
    "/static/..%2f..%2fcanary.txt",
    "//canary.txt",
    "/iptv/../canary.txt",
]


def fetch(port: int, path: str, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)  # sent exactly as written
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _roots(base: Path) -> dict[str, Path]:
    outside = base / "outside"
    outside.mkdir()
    (base / "canary.txt").write_bytes(CANARY)
    (outside / "canary.txt").write_bytes(CANARY)
    (outside / "index.m3u8").write_bytes(CANARY)
    hls = base / "hls"
    for number in ("7", "8", "9"):
        folder = hls / number
        folder.mkdir(parents=True)
        (folder / "index.m3u8").write_text(PLAYLIST)
        (folder / "run-000000.ts").write_bytes(SEGMENT * 4)
        (folder / "ffmpeg.log").write_bytes(CANARY)
        (folder / "index.m3u8.tmp").write_bytes(CANARY)
        (folder / "notes.txt").write_bytes(CANARY)
    (hls / "7" / "run-000009.ts").symlink_to(base / "canary.txt")
    (hls / "10").symlink_to(outside)
    artwork = base / "artwork"
    (artwork / "ab").mkdir(parents=True)
    (artwork / ARTWORK).write_bytes(b"\xff\xd8\xff" + bytes(20))
    (artwork / ARTWORK_LINK).symlink_to(base / "canary.txt")
    (artwork / "cd").symlink_to(outside, target_is_directory=True)
    (outside / ARTWORK_IN_LINKED_FOLDER.split("/")[1]).write_bytes(CANARY)
    media = base / "media"
    (media / "logos").mkdir(parents=True)
    (media / LOGO).write_bytes(PNG)
    (media / LOGO_LINK).symlink_to(base / "canary.txt")
    (media / "bugs").symlink_to(outside, target_is_directory=True)
    (outside / BUG_IN_LINKED_FOLDER.split("/")[1]).write_bytes(CANARY)
    (media / "logos" / "page.html").write_bytes(CANARY)
    return {"hls": hls, "artwork": artwork, "media": media}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    return _roots(tmp_path_factory.mktemp("served"))


@pytest.fixture
def django_site(live_server, served, settings, transactional_db):
    settings.HLS_ROOT = served["hls"]
    settings.ARTWORK_ROOT = served["artwork"]
    settings.MEDIA_ROOT = served["media"]
    settings.RETROVUE_REQUIRE_STREAM_TOKEN = False
    Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    Channel.objects.create(number="8", name="Off air", time_zone="UTC", enabled=False)
    Channel.objects.create(number="10", name="Linked", time_zone="UTC")
    return live_server


def _nginx(tmp_path_factory, live_server, served, name, **knobs):
    binary = nginx_runner.nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (bin/test installs it)")
    prefix = tmp_path_factory.mktemp(name)
    port = nginx_runner.free_port()
    upstream = int(live_server.url.rsplit(":", 1)[1])
    conf = nginx_runner.render(
        prefix,
        port=port,
        upstream_port=upstream,
        hls_root=served["hls"],
        artwork_root=served["artwork"],
        media_root=served["media"],
        **knobs,
    )
    return nginx_runner.start(binary, prefix, conf, port)


@pytest.fixture(scope="module")
def front(tmp_path_factory, live_server, served):
    running = _nginx(tmp_path_factory, live_server, served, "front")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def token_front(tmp_path_factory, live_server, served):
    running = _nginx(tmp_path_factory, live_server, served, "token-front", stream_auth_rules="~^/hls/ on;")
    yield running
    running.stop()


@pytest.mark.e2e
def test_nginx_serves_an_enabled_channels_playlist_and_segment(django_site, front):
    assert fetch(front.port, "/hls/7/index.m3u8")[0] == 200, front.logs()
    status, _, body = fetch(front.port, "/hls/7/run-000000.ts")
    assert (status, body) == (200, SEGMENT * 4)
    # The well-formed names beside the traversal cases are served: a refusal below is the guard's.
    assert fetch(front.port, f"/artwork/{ARTWORK}")[0] == 200
    assert fetch(front.port, f"/media/{LOGO}")[0] == 200


@pytest.mark.e2e
@pytest.mark.parametrize(
    "path",
    [
        "/hls/7/ffmpeg.log",
        "/hls/7/index.m3u8.tmp",
        "/hls/7/notes.txt",
        "/hls/8/index.m3u8",  # a disabled channel
        "/hls/8/run-000000.ts",
        "/hls/9/index.m3u8",  # no such channel
        "/hls/9/run-000000.ts",
        "/hls/10/index.m3u8",  # the channel's folder is a symlink
        "/hls/7/run-000009.ts",  # the segment is a symlink
    ],
)
def test_nginx_serves_nothing_else_from_the_hls_root(django_site, front, path):
    status, _, body = fetch(front.port, path)
    assert status in (403, 404), (path, status)
    assert CANARY not in body


@pytest.mark.e2e
@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_and_symlinks_through_nginx_serve_nothing_outside_the_roots(django_site, front, path):
    status, _, body = fetch(front.port, path)
    assert CANARY not in body, (path, status)
    assert status != 200, (path, status)


@pytest.mark.parametrize("path", TRAVERSALS)
def test_traversal_and_symlinks_straight_to_django_serve_nothing_outside_the_roots(
    served, settings, db, path
):
    # Django's own views (the embedded default has no nginx): the test client goes through the
    # project's URLs, where the live server would add a media handler of its own.
    settings.HLS_ROOT, settings.ARTWORK_ROOT, settings.MEDIA_ROOT = (
        served["hls"],
        served["artwork"],
        served["media"],
    )
    Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    Channel.objects.create(number="10", name="Linked", time_zone="UTC")

    response = Client(raise_request_exception=False).get(path)

    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert CANARY not in body, (path, response.status_code)
    assert response.status_code != 200, path


@pytest.mark.e2e
def test_uploads_from_nginx_are_inert_downloads(django_site, front):
    status, headers, body = fetch(front.port, f"/media/{LOGO}")
    assert (status, body) == (200, PNG)
    assert headers["content-type"] == "image/png"
    assert headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in headers["content-security-policy"]
    assert headers["content-disposition"].startswith("attachment")


@pytest.mark.e2e
def test_stream_tokens_never_reach_the_access_log(django_site, front):
    _, token = StreamToken.issue("living room")
    fetch(front.port, f"/hls/7/index.m3u8?token={token}")
    fetch(front.port, f"/hdhr/{token}/discover.json")
    fetch(front.port, f"/iptv/channels.m3u?token={token}")

    log = (front.prefix / "access.log").read_text()
    assert "/hdhr/[redacted]/discover.json" in log
    assert token not in log


@pytest.mark.e2e
def test_tokenised_playlists_carry_the_cors_headers_segments_have(django_site, token_front, settings):
    settings.RETROVUE_REQUIRE_STREAM_TOKEN = True
    _, token = StreamToken.issue("browser player")

    status, headers, body = fetch(token_front.port, f"/hls/7/index.m3u8?token={token}")
    assert status == 200, token_front.logs()
    assert f"run-000000.ts?token={token}" in body.decode()  # Django's rewrite, not the file
    assert headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in headers["access-control-expose-headers"]
    status, headers, _ = fetch(token_front.port, f"/hls/7/run-000000.ts?token={token}")
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    assert fetch(token_front.port, "/hls/7/run-000000.ts?token=st_wrong")[0] == 403


@pytest.fixture(scope="module")
def front_without_django(tmp_path_factory, served):
    """The shipped config with its upstream down: every proxied request becomes an nginx error."""
    binary = nginx_runner.nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (bin/test installs it)")
    prefix = tmp_path_factory.mktemp("no-upstream")
    port = nginx_runner.free_port()
    conf = nginx_runner.render(
        prefix, port=port, upstream_port=nginx_runner.free_port(), hls_root=served["hls"],
        artwork_root=served["artwork"], media_root=served["media"], stream_auth_rules="~^/hls/ on;",
    )  # fmt: skip
    running = nginx_runner.start(binary, prefix, conf, port)
    yield running
    running.stop()


@pytest.mark.e2e
def test_stream_tokens_never_reach_the_error_log(front, front_without_django):
    # nginx's error log quotes the request line ("request: \"GET /…?token=… HTTP/1.1\"") for a
    # failed upstream, a missing file or a refused symlink: none of those lines may be written.
    token = "st_" + "SecretTokenValue0123456789abcdef"
    paths = [
        f"/hls/7/index.m3u8?token={token}",  # authorisation upstream down
        f"/iptv/channel/7.ts?token={token}",
        f"/iptv/channels.m3u?token={token}",
        f"/hdhr/{token}/lineup.json",
        f"/hls/7/run-999999.ts?token={token}",  # no such file
        f"/hls/10/index.m3u8?token={token}",  # a symbolic link
        f"/artwork/ab/../../x.jpg?token={token}",
        f"/media/logos/missing.png?token={token}",
    ]
    for running in (front, front_without_django):
        for path in paths:
            fetch(running.port, path)
        logs = "\n".join(
            (running.prefix / name).read_text()
            for name in ("stderr.log", "error.log")
            if (running.prefix / name).exists()
        )
        assert token not in logs, logs[-2000:]
        assert "SecretTokenValue" not in logs
