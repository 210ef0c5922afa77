"""Stream tokens: optional, enforced on every viewer-facing stream URL, handed on to segment URIs."""

import pytest
from django.test import override_settings

from retrovue.core.models import StreamToken
from scheduling.models import Channel

pytestmark = pytest.mark.django_db

STREAM_URLS = ["/iptv/channels.m3u", "/iptv/xmltv.xml", "/hls/3/index.m3u8", "/hls/3/abc-000001.ts"]


@pytest.fixture
def channel(settings, tmp_path):
    settings.HLS_ROOT = tmp_path
    (tmp_path / "3").mkdir()
    (tmp_path / "3" / "index.m3u8").write_text(
        "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1\n#EXTINF:2.0,\nabc-000001.ts\n"
    )
    (tmp_path / "3" / "abc-000001.ts").write_bytes(b"\x47" * 188)
    return Channel.objects.create(number="3", name="Three", time_zone="UTC")


def test_streams_are_open_when_tokens_are_not_required(client, channel):
    for url in STREAM_URLS:
        assert client.get(url).status_code == 200, url


@override_settings(RETROVUE_REQUIRE_STREAM_TOKEN=True)
def test_required_token_refuses_missing_wrong_and_revoked_tokens(client, channel):
    revoked, revoked_token = StreamToken.issue("old TV")
    revoked.revoked = True
    revoked.save()
    for url in STREAM_URLS:
        for suffix in ("", "?token=st_wrong", f"?token={revoked_token}"):
            response = client.get(url + suffix)
            assert response.status_code == 403, (url, suffix)
    assert b"stream token" in client.get(STREAM_URLS[0]).content


@override_settings(RETROVUE_REQUIRE_STREAM_TOKEN=True)
def test_valid_token_opens_streams_and_is_handed_on_to_segments(client, channel):
    _, token = StreamToken.issue("living-room TV")
    for url in STREAM_URLS:
        assert client.get(f"{url}?token={token}").status_code == 200, url
    playlist = client.get(f"/hls/3/index.m3u8?token={token}").content.decode()
    assert f"abc-000001.ts?token={token}" in playlist
    m3u = client.get(f"/iptv/channels.m3u?token={token}").content.decode()
    assert f"/hls/3/index.m3u8?token={token}" in m3u


@override_settings(RETROVUE_REQUIRE_STREAM_TOKEN=True)
def test_nginx_authorize_endpoint_reads_the_original_uri(client, channel):
    _, token = StreamToken.issue("tv")
    allowed = client.get("/iptv/authorize", HTTP_X_ORIGINAL_URI=f"/hls/3/abc-000001.ts?token={token}")
    denied = client.get("/iptv/authorize", HTTP_X_ORIGINAL_URI="/hls/3/abc-000001.ts")
    assert (allowed.status_code, denied.status_code) == (204, 403)


@override_settings(RETROVUE_REQUIRE_STREAM_TOKEN=True)
def test_the_guide_page_stays_open(client, channel):
    assert client.get("/guide").status_code == 200


def test_only_the_hash_of_a_stream_token_is_stored():
    row, token = StreamToken.issue("tv")
    assert token not in (row.token_hash, row.token_hint) and token.startswith(row.token_hint)
