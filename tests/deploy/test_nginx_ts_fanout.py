"""The shipped nginx config in front of the TS fan-out server: `/iptv/channel/` streams come from
the fan-out server (not Django), unbuffered and byte for byte, and every HLS segment nginx serves
is reported to the fan-out server's UDP port, where it counts as a viewer of its channel."""

from __future__ import annotations

import socket

import pytest

from playout.ts_fanout.server import HlsRequestLog
from playout.viewer_counts import RecentClients
from tests.deploy import nginx_runner
from tests.deploy.test_nginx_front import FakeDjango, fetch, nginx_binary  # noqa: F401  (fixture)
from tests.playout.test_ts_fanout import Channel7, make_server, read_exactly, tune

pytestmark = pytest.mark.e2e


@pytest.fixture
def stack(tmp_path, settings, nginx_binary):  # noqa: F811
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    channel = Channel7(tmp_path / "hls", number="1")  # the Django stand-in enables channels 1 and 2
    channel.add(3)
    fanout = make_server({"now": channel.on_air_at(1)})
    django = FakeDjango()
    django.start()
    hls_log = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    hls_log.bind(("127.0.0.1", 0))
    hls_log.settimeout(5)
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = nginx_runner.free_port()
    conf = nginx_runner.render(
        prefix,
        port=port,
        upstream_port=django.port,
        hls_root=tmp_path / "hls",
        ts_fanout_port=fanout.port,
        hls_log_port=hls_log.getsockname()[1],
    )
    nginx = nginx_runner.start(nginx_binary, prefix, conf, port)
    yield nginx, channel, django, hls_log
    nginx.stop()
    fanout.stop()
    django.stop()
    hls_log.close()


def test_ts_viewers_get_the_fan_out_stream_through_nginx(stack):
    nginx, channel, django, _ = stack
    # HTTP/1.0, so nginx passes the bytes through unchunked to compare them with the files on disk.
    viewers = [tune(nginx.port, "/iptv/channel/1.ts", http="1.0") for _ in range(3)]
    channel.add()
    expected = b"".join(channel.written[1:4])
    for status, head, viewer in viewers:
        assert status.endswith(" 200 OK") and "video/mp2t" in head
        assert read_exactly(viewer, len(expected)) == expected
        viewer.close()
    assert django.requests_to("/iptv/channel/") == []  # no web thread held


def test_each_hls_segment_served_is_reported_for_viewer_counts(stack):
    nginx, _, _, hls_log = stack
    status, _, _ = fetch(nginx.port, "/hls/1/run-000001.ts", headers={"User-Agent": "VLC/3.0"})
    assert status == 200
    line, _ = hls_log.recvfrom(4096)
    clients = RecentClients()
    HlsRequestLog(clients).datagram_received(line, None)
    assert clients.counts() == {"1": 1}
    assert b"st_" not in line and b"token" not in line  # the line names no token
    status, _, _ = fetch(nginx.port, "/hls/1/index.m3u8")  # playlists are not segments: no line
    assert status == 200
    # Fetched by another machine's front door for its viewer, who was counted there.
    status, _, _ = fetch(nginx.port, "/hls/1/run-000002.ts", headers={"X-RetroVue-Front-Door": "1"})
    assert status == 200
    hls_log.settimeout(0.5)
    with pytest.raises(TimeoutError):
        hls_log.recvfrom(4096)
