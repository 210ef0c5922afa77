"""The HLS views that stand in for nginx on the embedded default: headers, 404s, no way out of the
channel's folder; and the playout API's read endpoints."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from playout import hls
from playout.hls import LivePlaylist
from playout.models import ChannelRuntime, RuntimeState
from scheduling.m3u import stream_path
from scheduling.models import Channel

SEGMENT_BYTES = b"\x47" + bytes(187)


@pytest.fixture
def hls_root(settings, tmp_path) -> Path:
    settings.HLS_ROOT = tmp_path / "hls"
    return settings.HLS_ROOT


@pytest.fixture
def on_air(db, hls_root) -> Channel:
    """Channel 7 with a playlist of two segments on disk."""
    channel = Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    folder = hls_root / "7"
    folder.mkdir(parents=True)
    playlist = LivePlaylist(target_duration=2, next_msn=100)
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    for index in range(2):
        (folder / f"run-{index:06d}.ts").write_bytes(SEGMENT_BYTES * 10)
        playlist.append(f"run-{index:06d}.ts", 2.0, start + timedelta(seconds=2 * index))
    playlist.write(folder / hls.PLAYLIST_NAME)
    return channel


def test_the_m3u_urls_are_the_ones_served(on_air):
    assert reverse("playout:hls_playlist", args=["7"]) == stream_path(on_air) == "/hls/7/index.m3u8"


def test_playlist_is_served_uncached_with_the_hls_type(on_air):
    response = Client().get("/hls/7/index.m3u8")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.apple.mpegurl"
    assert response["Cache-Control"] == "no-cache"
    body = response.content.decode()
    assert body.startswith("#EXTM3U\n") and "#EXT-X-MEDIA-SEQUENCE:100" in body and "run-000001.ts" in body


def test_segments_are_served_as_mpeg_ts_and_may_be_cached(on_air):
    response = Client().get("/hls/7/run-000001.ts")
    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp2t"
    assert "max-age=" in response["Cache-Control"] and "immutable" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == SEGMENT_BYTES * 10


def test_head_gives_the_length_without_a_body(on_air):
    response = Client().head("/hls/7/run-000000.ts")
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(SEGMENT_BYTES) * 10)
    assert response.content == b""
    assert Client().head("/hls/7/index.m3u8").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/hls/9/index.m3u8",  # no such channel
        "/hls/9/run-000000.ts",
        "/hls/7/run-999999.ts",  # no such segment
        "/hls/7/index.txt",
        "/hls/7/../../secret.ts",
        "/hls/7/..%2F..%2Fsecret.ts",
        "/hls/7/%2e%2e/secret.ts",
        "/hls/7/.hidden.ts",
        "/hls/7/sub/run-000000.ts",
    ],
)
def test_unknown_channels_segments_and_paths_out_of_the_folder_are_404(on_air, hls_root, path):
    (hls_root / "secret.ts").write_bytes(b"secret")
    assert Client().get(path).status_code == 404


def test_the_segment_view_refuses_names_that_leave_the_folder(on_air, hls_root):
    (hls_root / "secret.ts").write_bytes(b"secret")
    os.symlink(hls_root / "secret.ts", hls_root / "7" / "link.ts")
    request = RequestFactory().get("/")
    for name in ("../secret.ts", "link.ts", "/etc/passwd"):
        with pytest.raises(hls.Http404):
            hls.segment(request, "7", name)


def test_a_known_channel_that_is_not_on_air_is_404(db, hls_root):
    Channel.objects.create(number="8", name="Eight", time_zone="UTC")
    assert Client().get("/hls/8/index.m3u8").status_code == 404


def test_only_get_and_head_are_allowed(on_air):
    assert Client().post("/hls/7/index.m3u8").status_code == 405


# --- The playout API -------------------------------------------------------------------------------


def test_api_lists_each_channels_runtime_for_staff(on_air, staff_client):
    Channel.objects.create(number="12", name="Twelve", time_zone="UTC")
    ChannelRuntime.objects.create(
        channel=on_air, state=RuntimeState.ON_AIR, lease_owner="box-a:1", media_sequence=102, restarts=1
    )
    response = staff_client.get("/api/playout/channels")
    assert response.status_code == 200
    rows = response.json()
    assert [row["number"] for row in rows] == ["7", "12"]
    seven = rows[0]
    assert (seven["state"], seven["media_sequence"], seven["restarts"], seven["lease_owner"]) == (
        "on_air",
        102,
        1,
        "box-a:1",
    )
    assert seven["playlist_url"] == "http://testserver/hls/7/index.m3u8"
    assert rows[1]["state"] == "stopped"

    one = staff_client.get("/api/playout/channels/7").json()
    assert one["number"] == "7" and one["state"] == "on_air"
    assert staff_client.get("/api/playout/channels/99").status_code == 404


def test_api_needs_authentication(on_air):
    assert Client().get("/api/playout/channels").status_code == 401
