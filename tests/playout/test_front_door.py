"""The front door's question, answered by Django: may nginx serve this /hls/ file, and from which
playout machine? (`/iptv/authorize` names the origin of the machine airing the channel when it is
another machine.) Origins are checked: http(s)://host[:port], nothing a row could abuse. With stream
tokens on, Django serves the playlist itself, fetched from that machine."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import override_settings
from django.utils import timezone

from playout import placement
from playout.models import ChannelRuntime, PlayoutWorker
from retrovue.core.models import StreamToken
from scheduling.models import Channel

pytestmark = pytest.mark.django_db

REMOTE_PLAYLIST = b"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n#EXTINF:2.0,\nbox-b-40.ts\n"


@pytest.fixture
def channel(settings, tmp_path):
    settings.HLS_ROOT = tmp_path
    settings.RETROVUE_PLAYOUT_ORIGIN = ""
    return Channel.objects.create(number="3", name="Three", time_zone="UTC")


def airs_on(channel: Channel, worker: str, origin: str) -> None:
    now = timezone.now()
    PlayoutWorker.objects.update_or_create(worker_id=worker, defaults={"capacity": 1, "origin": origin})
    ChannelRuntime.objects.update_or_create(
        channel=channel, defaults={"lease_owner": worker, "lease_expires_at": now + timedelta(seconds=8)}
    )


def authorize(client, uri: str = "/hls/3/index.m3u8"):
    return client.get("/iptv/authorize", HTTP_X_ORIGINAL_URI=uri)


@pytest.mark.parametrize(
    "origin", ["http://10.0.0.5:8081", "https://playout-2.internal", "http://[fd00::5]:8081", "http://box-b/"]
)
def test_a_bare_http_origin_is_accepted(origin):
    assert placement.checked_origin(origin) == origin.removesuffix("/")


@pytest.mark.parametrize(
    "origin",
    [
        "http://10.0.0.5:8081/hls",
        "http://10.0.0.5:8081/../etc",
        "http://user:pass@10.0.0.5",
        "http://10.0.0.5?x=1",
        "http://10.0.0.5#x",
        "file:///srv/retrovue/hls",
        "gopher://10.0.0.5",
        "http://10.0.0.5:99999",
        "http://10.0.0.5:8081\nX-Injected: 1",
        "http://-box",
        "//10.0.0.5",
        "",
    ],
)
def test_an_origin_with_anything_but_scheme_host_and_port_is_refused(origin):
    with pytest.raises(ValueError):
        placement.checked_origin(origin)


def test_the_answer_names_the_machine_airing_the_channel(client, channel):
    airs_on(channel, "box-b", "http://10.0.0.5:8081")
    answer = authorize(client)
    assert answer.status_code == 204
    assert answer["X-RetroVue-Origin"] == "http://10.0.0.5:8081"
    assert authorize(client, "/hls/3/box-b-40.ts")["X-RetroVue-Origin"] == "http://10.0.0.5:8081"


def test_no_origin_means_the_front_door_s_own_disk(client, channel, settings):
    assert "X-RetroVue-Origin" not in authorize(client)  # no machine airs it
    airs_on(channel, "box-a", "")  # a single-box install sets no origin
    assert "X-RetroVue-Origin" not in authorize(client)
    settings.RETROVUE_PLAYOUT_ORIGIN = "http://10.0.0.4:8081"
    airs_on(channel, "box-a", "http://10.0.0.4:8081/")  # this very machine
    assert "X-RetroVue-Origin" not in authorize(client)


def test_an_expired_lease_names_no_origin(client, channel):
    airs_on(channel, "box-b", "http://10.0.0.5:8081")
    ChannelRuntime.objects.filter(channel=channel).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert "X-RetroVue-Origin" not in authorize(client)


def test_a_tampered_origin_row_is_never_handed_to_nginx(client, channel):
    airs_on(channel, "box-b", "http://evil.example/hls/../../etc/passwd?")
    answer = authorize(client)
    assert answer.status_code == 204
    assert "X-RetroVue-Origin" not in answer


def test_a_refused_file_names_no_origin(client, channel):
    airs_on(channel, "box-b", "http://10.0.0.5:8081")
    answer = authorize(client, "/hls/3/ffmpeg.log")
    assert answer.status_code == 403
    assert "X-RetroVue-Origin" not in answer


@pytest.fixture
def origin_server():
    """A playout machine's origin serving one channel's playlist at /hls/3/index.m3u8."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            asked.append(self.path)
            found = self.path == "/hls/3/index.m3u8"
            self.send_response(200 if found else 404)
            body = REMOTE_PLAYLIST if found else b""
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", asked
    server.shutdown()
    server.server_close()


@override_settings(RETROVUE_REQUIRE_STREAM_TOKEN=True)
def test_a_tokenised_playlist_of_a_channel_on_another_machine_comes_from_that_machine(
    client, channel, origin_server
):
    origin, asked = origin_server
    airs_on(channel, "box-b", origin)
    _, token = StreamToken.issue("tv")
    answer = client.get(f"/hls/3/index.m3u8?token={token}")
    assert answer.status_code == 200
    assert asked == ["/hls/3/index.m3u8"]
    assert f"box-b-40.ts?token={token}" in answer.content.decode()
    # It carries this viewer's token: no shared cache may keep it for another viewer.
    assert answer["Cache-Control"] == "private, no-cache"


@override_settings(RETROVUE_REQUIRE_STREAM_TOKEN=True)
def test_a_dead_origin_is_not_on_air_rather_than_an_error(client, channel, origin_server):
    origin, _ = origin_server
    airs_on(channel, "box-b", origin.rsplit(":", 1)[0] + ":1")
    _, token = StreamToken.issue("tv")
    assert client.get(f"/hls/3/index.m3u8?token={token}").status_code == 404


def test_a_worker_that_loses_a_lease_withdraws_its_playlist(settings, tmp_path, monkeypatch):
    """Else, when the channel comes back to this machine (a handover, a rebalance), the front door
    would route viewers here before the new run replaced the old playlist: a media sequence gone
    back (seen once in bench/failover.py --via-front-door on a box at load 80)."""
    from playout.channel_process import ChannelProcess
    from playout.hls import playlist_path
    from playout.supervisor import Supervisor
    from scheduling.models import StreamProfile

    settings.HLS_ROOT = tmp_path
    monkeypatch.setattr(ChannelProcess, "stop", lambda self, kill=False: None)
    monkeypatch.setattr(Supervisor, "check_channel", lambda self, slot: None)
    profile = StreamProfile.objects.create(name="SD", width=640, height=480, frame_rate="29.97")
    channel = Channel.objects.create(number="3", name="Three", time_zone="UTC", stream_profile=profile)
    box_a = Supervisor(worker_id="box-a", capacity=1.0)
    try:
        box_a.beat()
        box_a.claim_channels()
        assert channel.pk in box_a.slots
        playlist_path("3").parent.mkdir(parents=True)
        playlist_path("3").write_text("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n")
        ChannelRuntime.objects.filter(channel=channel).update(lease_owner="box-b")  # taken over
        box_a.renew_leases()
        assert channel.pk not in box_a.slots
        assert not playlist_path("3").exists()
    finally:
        box_a.server.stop()


@pytest.mark.parametrize(("origin", "kept"), [("", True), ("http://10.0.0.4:8081", False)])
def test_a_machine_of_a_station_with_a_front_door_leaves_no_playlist_behind_when_it_stops(
    settings, tmp_path, monkeypatch, origin, kept
):
    """A single box keeps its playlist over a restart (to continue the window); a machine behind a
    front door withdraws it, as the channel may come back to it while it is stale."""
    from playout.channel_process import ChannelProcess
    from playout.hls import playlist_path
    from playout.supervisor import Supervisor
    from scheduling.models import StreamProfile

    settings.HLS_ROOT = tmp_path
    monkeypatch.setattr(ChannelProcess, "stop", lambda self, kill=False: None)
    monkeypatch.setattr(Supervisor, "check_channel", lambda self, slot: None)
    profile = StreamProfile.objects.create(name="SD", width=640, height=480, frame_rate="29.97")
    Channel.objects.create(number="3", name="Three", time_zone="UTC", stream_profile=profile)
    box_a = Supervisor(worker_id="box-a", capacity=1.0, origin=origin)
    box_a.beat()
    box_a.claim_channels()
    playlist_path("3").parent.mkdir(parents=True)
    playlist_path("3").write_text("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n")
    box_a.shutdown()  # no peer to hand it to: released
    assert playlist_path("3").exists() is kept
