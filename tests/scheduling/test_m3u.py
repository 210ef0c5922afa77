"""The M3U channel list, parsed the way IPTV players and Threadfin/Jellyfin parse it."""

import re
from decimal import Decimal
from urllib.parse import urlparse

import pytest
from django.test import override_settings

from scheduling.m3u import render_m3u, stream_path
from scheduling.models import Channel
from tests.scheduling.listings import make_channel

pytestmark = pytest.mark.django_db

BASE = "http://tv.example.com:8080"
ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


def parse_m3u(text: str) -> tuple[dict, list[dict]]:
    """Header attributes and entries ({attrs, name, url}) with the rules players apply."""
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("#EXTM3U"), "the first line must be #EXTM3U"
    header = dict(ATTRIBUTE.findall(lines[0]))
    entries = []
    for info, url in zip(lines[1::2], lines[2::2], strict=True):
        assert info.startswith("#EXTINF:-1 "), info
        attributes_part, _, name = info.rpartition(",")  # Jellyfin: the name follows the last comma
        entries.append({"attrs": dict(ATTRIBUTE.findall(attributes_part)), "name": name, "url": url})
    return header, entries


def assert_playable_list(text: str, channels: list[Channel]) -> list[dict]:
    header, entries = parse_m3u(text)
    assert urlparse(header["url-tvg"]).scheme in ("http", "https")
    assert header["x-tvg-url"] == header["url-tvg"]
    assert len(entries) == len(channels)
    by_id = {channel.xmltv_id: channel for channel in channels}
    numbers = set()
    for entry in entries:
        attrs = entry["attrs"]
        assert {"tvg-id", "tvg-name", "tvg-chno", "tvg-logo", "group-title"} <= set(attrs), attrs
        assert attrs["tvg-id"] in by_id
        assert attrs["tvg-name"] and attrs["group-title"]
        number = Decimal(attrs["tvg-chno"])  # numeric, or this raises
        assert number not in numbers, f"tvg-chno {number} twice"
        numbers.add(number)
        assert "," not in entry["name"] and entry["name"].strip()
        assert urlparse(entry["url"]).scheme in ("http", "https") and urlparse(entry["url"]).netloc
    return entries


def test_every_entry_has_what_iptv_clients_need():
    channels = [
        make_channel("7", "Classic TV", logo="logos/seven.png", group="Classics"),
        make_channel("7.1", "Classic TV Kids"),
        make_channel("12", "Movie Palace", group=""),
    ]
    text = render_m3u(channels, BASE, "/iptv/xmltv.xml")
    entries = assert_playable_list(text, channels)
    first = entries[0]
    assert first["attrs"] == {
        "tvg-id": "7.retrovue",
        "tvg-name": "Classic TV",
        "tvg-chno": "7",
        "tvg-logo": "http://tv.example.com:8080/media/logos/seven.png",
        "group-title": "Classics",
    }
    assert first["name"] == "Classic TV"
    assert first["url"] == "http://tv.example.com:8080/hls/7/index.m3u8"
    assert entries[1]["attrs"]["tvg-chno"] == "7.1"
    assert entries[2]["attrs"]["group-title"] == "RetroVue"  # Threadfin drops entries without one
    assert entries[2]["attrs"]["tvg-logo"] == ""


def test_header_points_at_the_absolute_guide_url():
    text = render_m3u([make_channel("2")], BASE, "/iptv/xmltv.xml")
    assert text.splitlines()[0] == (
        '#EXTM3U url-tvg="http://tv.example.com:8080/iptv/xmltv.xml" '
        'x-tvg-url="http://tv.example.com:8080/iptv/xmltv.xml"'
    )


def test_entries_come_in_channel_number_order():
    channels = [make_channel(number) for number in ("10", "2", "7.1", "7")]
    _, entries = parse_m3u(render_m3u(channels, BASE, "/iptv/xmltv.xml"))
    assert [entry["attrs"]["tvg-chno"] for entry in entries] == ["2", "7", "7.1", "10"]


def test_commas_quotes_and_line_breaks_never_reach_the_playlist():
    channels = [
        make_channel("3", 'Kids, Teens & "Family"', group='Fun, "Games"'),
        make_channel("4", "Line\nBreak ,Comma"),
    ]
    text = render_m3u(channels, BASE, "/iptv/xmltv.xml")
    entries = assert_playable_list(text, channels)
    assert entries[0]["name"] == "Kids Teens & Family"
    assert entries[0]["attrs"]["tvg-name"] == "Kids Teens & Family"
    assert entries[0]["attrs"]["group-title"] == "Fun Games"
    assert text.count(",") == len(channels)  # only the separator before each name
    assert entries[1]["name"] == "Line Break Comma"
    assert len(text.splitlines()) == 1 + 2 * len(channels)


def test_numerically_equal_channel_numbers_get_one_tvg_chno():
    channels = [make_channel("7.1"), make_channel("7.10"), make_channel("07")]
    _, entries = parse_m3u(render_m3u(channels, BASE, "/iptv/xmltv.xml"))
    chnos = [entry["attrs"].get("tvg-chno") for entry in entries]
    assert chnos.count(None) == 1
    numbers = [Decimal(value) for value in chnos if value]
    assert len(numbers) == len(set(numbers))


def test_a_stream_token_is_added_to_every_stream_url():
    channels = [make_channel("2"), make_channel("3")]
    _, entries = parse_m3u(render_m3u(channels, BASE, "/iptv/xmltv.xml", token="abc/+="))
    assert [entry["url"] for entry in entries] == [
        "http://tv.example.com:8080/hls/2/index.m3u8?token=abc%2F%2B%3D",
        "http://tv.example.com:8080/hls/3/index.m3u8?token=abc%2F%2B%3D",
    ]


def test_stream_path_is_the_hls_playlist():
    assert stream_path(make_channel("7.1")) == "/hls/7.1/index.m3u8"
    assert stream_path("9") == "/hls/9/index.m3u8"


@override_settings(
    ALLOWED_HOSTS=["tv.example.com"],
    USE_X_FORWARDED_HOST=True,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_m3u_url_lists_enabled_channels_anonymously_with_urls_from_the_request(client):
    channels = [make_channel("7", "Classic TV"), make_channel("12", "Movies")]
    make_channel("99", "Hidden", enabled=False)
    response = client.get(
        "/iptv/channels.m3u", HTTP_X_FORWARDED_PROTO="https", HTTP_X_FORWARDED_HOST="tv.example.com:8443"
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/x-mpegurl; charset=utf-8"
    assert response["Cache-Control"] == "max-age=300"
    text = response.content.decode()
    entries = assert_playable_list(text, channels)
    header, _ = parse_m3u(text)
    assert header["url-tvg"] == "https://tv.example.com:8443/iptv/xmltv.xml"
    assert [entry["url"] for entry in entries] == [
        "https://tv.example.com:8443/hls/7/index.m3u8",
        "https://tv.example.com:8443/hls/12/index.m3u8",
    ]


def test_m3u_url_hands_a_token_on_and_ignores_anything_that_is_not_one(client):
    make_channel("7")
    _, entries = parse_m3u(client.get("/iptv/channels.m3u?token=rv_abc-123").content.decode())
    assert entries[0]["url"] == "http://testserver/hls/7/index.m3u8?token=rv_abc-123"
    _, entries = parse_m3u(client.get("/iptv/channels.m3u?token=x%0A%23EXTINF").content.decode())
    assert entries[0]["url"] == "http://testserver/hls/7/index.m3u8"


def test_m3u_url_answers_head_and_refuses_post(client):
    make_channel("7")
    assert client.head("/iptv/channels.m3u").status_code == 200
    assert client.post("/iptv/channels.m3u").status_code == 405
