"""One front door for several playout machines: deploy/nginx.conf proxies a channel's HLS to the
origin Django names for it (deploy/nginx-origin.conf on the machine airing it), and serves its own
disk otherwise. A stand-in for Django answers the stream check; both nginx configs run as shipped,
only their install-specific lines rewritten (tests/deploy/nginx_runner.py)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.deploy import nginx_runner
from tests.deploy.test_nginx_front import TS_PACKET, fetch
from tests.deploy.test_nginx_front import django_stand_in as django_stand_in
from tests.deploy.test_nginx_front import nginx_binary as nginx_binary

pytestmark = pytest.mark.e2e


def playlist(marker: str) -> str:
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:7\n"
        f"#EXTINF:2.000000,\n{marker}-7.ts\n"
    )


def machine_disk(base: Path, marker: str, channels: tuple[str, ...]) -> Path:
    """An HLS root as a playout machine writes it: a playlist and a segment per channel."""
    for channel in channels:
        folder = base / "hls" / channel
        folder.mkdir(parents=True)
        (folder / "index.m3u8").write_text(playlist(marker))
        (folder / f"{marker}-7.ts").write_bytes(marker.encode()[:1] + TS_PACKET[1:])
        (folder / "index.m3u8.tmp").write_text("half")
    return base / "hls"


def start_origin(binary: str, prefix: Path, marker: str, channels: tuple[str, ...]):
    port = nginx_runner.free_port()
    conf = nginx_runner.render_origin(prefix, port=port, hls_root=machine_disk(prefix, marker, channels))
    return nginx_runner.start(binary, prefix, conf, port)


@pytest.fixture(scope="module")
def station(tmp_path_factory, nginx_binary, django_stand_in):
    """A front door whose own disk has stale copies of channels 4 and 5 (they aired here once),
    and two other machines' origins: box-b airs 4 and 5, box-c airs 5 too (a takeover target)."""
    started = []
    try:
        box_b = start_origin(nginx_binary, tmp_path_factory.mktemp("box-b"), "b", ("4", "5"))
        started.append(box_b)
        box_c = start_origin(nginx_binary, tmp_path_factory.mktemp("box-c"), "c", ("5",))
        started.append(box_c)
        prefix = tmp_path_factory.mktemp("front-door")
        port = nginx_runner.free_port()
        conf = nginx_runner.render(
            prefix,
            port=port,
            upstream_port=django_stand_in.port,
            hls_root=machine_disk(prefix, "a", ("1", "4", "5")),
        )
        front = nginx_runner.start(nginx_binary, prefix, conf, port)
        started.append(front)
        yield {"front": front, "box-b": box_b, "box-c": box_c}
    finally:
        for running in started:
            running.stop()


def origin_url(running) -> str:
    return f"http://127.0.0.1:{running.port}"


def once_the_cached_answer_expires(port: int, path: str, changed) -> tuple[int, bytes]:
    """What the front door answers once it has asked Django again (its answer is cached a second,
    in whole seconds: up to two)."""
    deadline = time.monotonic() + 10
    while True:
        status, _, body = fetch(port, path)
        if changed(status, body) or time.monotonic() > deadline:
            return status, body
        time.sleep(0.1)


def test_a_channel_airing_on_another_machine_is_proxied_from_there(station, django_stand_in):
    django_stand_in.origins["4"] = origin_url(station["box-b"])
    front = station["front"]
    status, headers, body = fetch(front.port, "/hls/4/index.m3u8")
    assert status == 200, front.logs()
    assert body.decode() == playlist("b")  # box-b's, not the stale copy on the front door's disk
    assert headers["content-type"] == "application/vnd.apple.mpegurl"
    assert headers["cache-control"] == "public, max-age=1"
    assert headers["access-control-allow-origin"] == "*"
    status, headers, body = fetch(front.port, "/hls/4/b-7.ts")
    assert status == 200
    assert body[:1] == b"b"
    assert headers["cache-control"] == "public, max-age=86400, immutable"
    # The front door's headers replace the origin's, never doubled.
    assert headers["access-control-allow-origin"] == "*"


def test_a_channel_without_an_origin_is_served_from_the_front_door_s_disk(station):
    status, _, body = fetch(station["front"].port, "/hls/1/index.m3u8")
    assert status == 200
    assert body.decode() == playlist("a")
    assert fetch(station["front"].port, "/hls/1/no-such-segment.ts")[0] == 404


def test_what_the_origin_does_not_serve_is_not_served_through_the_front_door(station, django_stand_in):
    django_stand_in.origins["4"] = origin_url(station["box-b"])
    front = station["front"]
    assert fetch(front.port, "/hls/4/a-7.ts")[0] == 404  # on the front door's disk, not on box-b's
    assert fetch(front.port, "/hls/4/index.m3u8.tmp")[0] == 404
    assert fetch(station["box-b"].port, "/hls/4/index.m3u8.tmp")[0] == 404
    assert fetch(station["box-b"].port, "/hls/4/index.m3u8", method="POST")[0] == 403


def test_an_origin_with_a_path_or_user_is_never_proxied_to(station, django_stand_in):
    front = station["front"]
    for odd in (
        f"{origin_url(station['box-b'])}/hls/4/index.m3u8?",
        f"http://user@127.0.0.1:{station['box-b'].port}",
        f"file:///{station['box-b'].prefix}",
    ):
        django_stand_in.origins["4"] = odd
        status, body = once_the_cached_answer_expires(front.port, "/hls/4/index.m3u8", lambda s, _: s != 200)
        assert status == 502, (odd, body)
    django_stand_in.origins["4"] = origin_url(station["box-b"])


def test_a_takeover_is_followed_when_the_cached_answer_expires(station, django_stand_in):
    front = station["front"]
    django_stand_in.origins["5"] = origin_url(station["box-b"])
    assert fetch(front.port, "/hls/5/index.m3u8")[2].decode() == playlist("b")
    django_stand_in.origins["5"] = origin_url(station["box-c"])
    _, body = once_the_cached_answer_expires(
        front.port, "/hls/5/index.m3u8", lambda _, b: b != playlist("b").encode()
    )
    assert body.decode() == playlist("c")
    assert fetch(front.port, "/hls/5/c-7.ts")[0] == 200


def test_a_dead_origin_is_a_bad_gateway_not_a_hang(station, django_stand_in):
    django_stand_in.origins["4"] = f"http://127.0.0.1:{nginx_runner.free_port()}"
    status, _ = once_the_cached_answer_expires(
        station["front"].port, "/hls/4/index.m3u8", lambda s, _: s != 200
    )
    assert status == 502
    django_stand_in.origins["4"] = origin_url(station["box-b"])


def test_the_origin_config_passes_nginx_t(nginx_binary, tmp_path):
    (tmp_path / "hls").mkdir()
    conf = nginx_runner.render_origin(tmp_path, port=nginx_runner.free_port(), hls_root=tmp_path / "hls")
    result = nginx_runner.check_config(nginx_binary, tmp_path, conf)
    assert result.returncode == 0, result.stderr
