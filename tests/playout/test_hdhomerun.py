"""HDHomeRun emulation (what Plex Live TV reads) and the MPEG-TS tuner endpoint behind it."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test import Client

from playout import hdhomerun, hls, ts_stream
from playout.hls import LivePlaylist
from playout.models import ChannelRuntime
from playout.ts_stream import SegmentStream, acquire_tuner, tuners_in_use
from playout.viewer_counts import ChannelViewers, viewers_by_channel
from scheduling.models import Channel

PACKET = b"\x47" + bytes(187)


@pytest.fixture(autouse=True)
def station(settings, tmp_path):
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_HDHR_FRIENDLY_NAME = "Retro Tuner"
    settings.RETROVUE_HDHR_TUNER_COUNT = 2
    return tmp_path


@pytest.fixture
def channels(db):
    made = [
        Channel.objects.create(number="12", name="Twelve", time_zone="UTC"),
        Channel.objects.create(number="7.1", name="Seven Point One", time_zone="UTC"),
        Channel.objects.create(number="7", name="Seven", time_zone="UTC"),
        Channel.objects.create(number="99", name="Off", time_zone="UTC", enabled=False),
    ]
    for channel in made:
        ChannelRuntime.objects.create(channel=channel)
    return {channel.number: channel for channel in made}


def finish(response) -> None:
    """End a streaming response the way the server does: close its stream. (Not response.close():
    its request_finished signal would close the test's database connection mid-transaction.)"""
    for closer in response._resource_closers:
        if isinstance(getattr(closer, "__self__", None), SegmentStream):
            closer()


def put_on_air(number: str, hls_root: Path, segments: int = 3) -> None:
    folder = hls_root / number
    folder.mkdir(parents=True, exist_ok=True)
    playlist = LivePlaylist(target_duration=2)
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    for index in range(segments):
        (folder / f"run-{index:06d}.ts").write_bytes(bytes([0x47, index]) + bytes(186) + PACKET * 9)
        playlist.append(f"run-{index:06d}.ts", 2.0, start + timedelta(seconds=2 * index))
    playlist.write(folder / hls.PLAYLIST_NAME)


# --- The device -----------------------------------------------------------------------------------------


def test_discover_describes_an_hdhomerun_with_our_name_tuners_and_urls(db):
    data = Client().get("/discover.json").json()
    assert data["FriendlyName"] == "Retro Tuner"
    assert data["Manufacturer"] == "Silicondust"
    assert data["ModelNumber"] == "HDTC-2US"
    assert data["FirmwareName"] == "hdhomeruntc_atsc"
    assert data["FirmwareVersion"]
    assert data["DeviceAuth"]
    assert data["TunerCount"] == 2
    assert data["BaseURL"] == "http://testserver"
    assert data["LineupURL"] == "http://testserver/lineup.json"
    assert hdhomerun.valid_device_id(data["DeviceID"])


def test_device_id_is_stable_carries_libhdhomeruns_check_digit_and_follows_the_secret(db, settings):
    first = Client().get("/discover.json").json()["DeviceID"]
    assert Client().get("/discover.json").json()["DeviceID"] == first
    assert len(first) == 8 and hdhomerun.valid_device_id(first)
    assert hdhomerun.valid_device_id("10123716")  # a real device's ID, from SiliconDust's docs
    wrong_digit = first[:7] + f"{(int(first[7], 16) + 1) % 16:X}"
    assert not hdhomerun.valid_device_id(wrong_digit)
    settings.SECRET_KEY = "another secret"
    assert hdhomerun.device_id() != first


def test_a_configured_device_id_is_used_and_checked(db, settings):
    settings.RETROVUE_HDHR_DEVICE_ID = "10123716"
    assert Client().get("/discover.json").json()["DeviceID"] == "10123716"
    settings.RETROVUE_HDHR_DEVICE_ID = "12345678"
    with pytest.raises(ImproperlyConfigured):
        hdhomerun.device_id()


def test_lineup_lists_enabled_channels_in_number_order_with_ts_urls(channels):
    lineup = Client().get("/lineup.json").json()
    assert [entry["GuideNumber"] for entry in lineup] == ["7", "7.1", "12"]
    assert all(isinstance(entry["GuideNumber"], str) for entry in lineup)
    assert lineup[0] == {
        "GuideNumber": "7",
        "GuideName": "Seven",
        "URL": "http://testserver/iptv/channel/7.ts",
    }
    assert all("?" not in entry["URL"] for entry in lineup)


def test_lineup_status_says_no_scan_is_running(db):
    data = Client().get("/lineup_status.json").json()
    assert data["ScanInProgress"] == 0 and data["ScanPossible"] == 1 and data["Source"] == "Cable"


def test_device_xml_is_a_upnp_description_of_the_same_device(db):
    response = Client().get("/device.xml")
    assert response["Content-Type"].startswith("application/xml")
    namespace = {"u": "urn:schemas-upnp-org:device-1-0"}
    root = ET.fromstring(response.content)
    assert root.findtext("u:URLBase", namespaces=namespace) == "http://testserver"
    device = root.find("u:device", namespace)
    assert device.findtext("u:friendlyName", namespaces=namespace) == "Retro Tuner"
    assert device.findtext("u:modelNumber", namespaces=namespace) == "HDTC-2US"
    device_id = Client().get("/discover.json").json()["DeviceID"]
    assert device.findtext("u:serialNumber", namespaces=namespace) == device_id
    assert device.findtext("u:UDN", namespaces=namespace).startswith("uuid:")


def test_a_public_url_setting_overrides_the_request_host(db, settings):
    settings.RETROVUE_PUBLIC_URL = "http://tv.lan:8000/"
    assert Client().get("/discover.json").json()["BaseURL"] == "http://tv.lan:8000"


# --- The tuner: MPEG-TS per channel ---------------------------------------------------------------------


def read_some(response, size: int) -> bytes:
    data = b""
    for chunk in response.streaming_content:
        data += chunk
        if len(data) >= size:
            break
    return data


def test_tuning_a_channel_streams_mpeg_ts_from_the_newest_segments(channels, station):
    put_on_air("7", station / "hls")
    response = Client().get("/iptv/channel/7.ts")
    try:
        assert response.status_code == 200
        assert response["Content-Type"] == "video/mp2t"
        data = read_some(response, 2 * 10 * 188)
        assert data[0] == 0x47 and data[1] == 1  # two segments back from the edge: segment 1 of 0–2
        assert len(data) % 188 == 0 and all(data[at] == 0x47 for at in range(0, len(data), 188))
        assert viewers_by_channel()[channels["7"].pk].ts == 1
    finally:
        finish(response)
    assert viewers_by_channel().get(channels["7"].pk, ChannelViewers()).ts == 0
    assert tuners_in_use() == 0


@pytest.mark.django_db(transaction=True)  # outside a test transaction, as a web thread runs it
def test_a_ts_stream_holds_no_database_connection_while_it_streams(station):
    channel = Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    ChannelRuntime.objects.create(channel=channel)
    put_on_air("7", station / "hls")
    stream = SegmentStream(channel, acquire_tuner())
    try:
        first = next(stream)
        assert first[0] == 0x47
        assert connection.connection is None  # closed once the viewer was counted
        assert viewers_by_channel()[channel.pk].ts == 1
    finally:
        stream.close()
    assert viewers_by_channel().get(channel.pk, ChannelViewers()).ts == 0


def test_an_unknown_or_disabled_channel_is_404(channels):
    assert Client().get("/iptv/channel/42.ts").status_code == 404
    assert Client().get("/iptv/channel/99.ts").status_code == 404


def test_a_channel_that_is_not_on_air_is_503(channels):
    response = Client().get("/iptv/channel/12.ts")
    assert response.status_code == 503 and response["Retry-After"]


def test_a_new_ts_viewer_gets_everything_from_the_segment_on_air_now_to_the_edge_at_once(
    channels, station, monkeypatch
):
    # The feed writes ahead of the wall clock: segments 0-5 of 2 s each from 18:00:00; it is 18:00:05.
    put_on_air("7", station / "hls", segments=6)
    now = datetime(2026, 11, 22, 18, 0, 5, tzinfo=UTC)
    monkeypatch.setattr(ts_stream.timezone, "now", lambda: now)
    response = Client().get("/iptv/channel/7.ts")
    try:
        data = read_some(response, 4 * 10 * 188)  # four segments of ten packets: 2 (on air) to 5
        starts = [data[at + 1] for at in range(0, len(data), 10 * 188)]
        assert starts == [2, 3, 4, 5]
    finally:
        finish(response)


def test_the_tune_in_point_is_the_segment_on_air_else_two_back_from_the_edge():
    start = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    segments = [hls.PlaylistSegment(n, f"s{n}.ts", 2.0, start + timedelta(seconds=2 * n)) for n in range(6)]
    assert ts_stream.tune_in_segment(segments, start + timedelta(seconds=4)).msn == 2
    assert ts_stream.tune_in_segment(segments, start + timedelta(seconds=11.9)).msn == 5
    assert ts_stream.tune_in_segment(segments, start + timedelta(minutes=5)).msn == 4  # stale: edge − 2
    assert ts_stream.tune_in_segment(segments, start - timedelta(minutes=5)).msn == 4  # all ahead


def test_beyond_tuner_count_streams_answer_503_until_one_ends(channels, station):
    put_on_air("7", station / "hls")
    put_on_air("7.1", station / "hls")
    first = Client().get("/iptv/channel/7.ts")
    second = Client().get("/iptv/channel/7.1.ts")
    assert (first.status_code, second.status_code) == (200, 200)
    assert tuners_in_use() == 2
    third = Client().get("/iptv/channel/7.ts")
    assert third.status_code == 503
    finish(first)
    fourth = Client().get("/iptv/channel/7.ts")
    assert fourth.status_code == 200
    finish(second)
    finish(fourth)
    assert tuners_in_use() == 0


def test_a_tuner_held_by_another_process_counts(db, station):
    held = acquire_tuner(count=2)
    also = acquire_tuner(count=2)
    assert held and also and acquire_tuner(count=2) is None
    held.release()
    again = acquire_tuner(count=2)
    assert again is not None
    again.release()
    also.release()
