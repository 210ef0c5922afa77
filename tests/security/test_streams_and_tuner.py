"""Finding 7, the Django side: stream tokens, the tuner, forged Host headers, channel numbers,
and a production secret key. (nginx's side is in test_nginx_perimeter.py.)
"""

from __future__ import annotations

import logging

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from playout import ts_stream
from playout.models import ChannelRuntime
from retrovue.core.models import StreamToken
from scheduling.models import Channel
from tests.core.test_production_settings import _manage, _production_env
from tests.playout.test_hdhomerun import finish, put_on_air

pytestmark = pytest.mark.django_db


@pytest.fixture
def station(settings, tmp_path):
    settings.HLS_ROOT = tmp_path / "hls"
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_HDHR_TUNER_COUNT = 2
    settings.RETROVUE_REQUIRE_STREAM_TOKEN = True
    channel = Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    ChannelRuntime.objects.create(channel=channel)
    put_on_air("7", settings.HLS_ROOT)
    return channel


def test_a_deactivated_users_stream_token_stops_working(station, non_staff):
    _, token = StreamToken.issue("phone", user=non_staff.user)
    assert Client().get(f"/iptv/channels.m3u?token={token}").status_code == 200

    non_staff.user.is_active = False
    non_staff.user.save()

    assert Client().get(f"/iptv/channels.m3u?token={token}").status_code == 403
    assert Client().get(f"/hls/7/index.m3u8?token={token}").status_code == 403


def assert_ended_by_the_recheck(caplog):
    # Without the re-check the stream would still end, when no new segment comes for
    # GIVE_UP_SECONDS: the reason logged tells the two apart.
    reasons = [record.getMessage() for record in caplog.records if record.name == ts_stream.logger.name]
    assert any("may no longer watch" in reason for reason in reasons), reasons


def test_an_open_ts_stream_ends_once_its_token_is_revoked(station, monkeypatch, caplog):
    monkeypatch.setattr(ts_stream, "RECHECK_SECONDS", 0)  # ask on every pass instead of every 30 s
    caplog.set_level(logging.INFO, logger=ts_stream.logger.name)
    row, token = StreamToken.issue("tuner")
    response = Client().get(f"/iptv/channel/7.ts?token={token}")
    assert response.status_code == 200
    stream = iter(response.streaming_content)
    try:
        assert next(stream)[:1] == b"\x47"
        StreamToken.objects.filter(pk=row.pk).update(revoked=True)

        rest = b"".join(stream)  # ends at the next check instead of running on for hours
    finally:
        finish(response)
    assert len(rest) < 3 * 10 * 188  # at most what was already queued from the playlist
    assert_ended_by_the_recheck(caplog)


def test_an_open_ts_stream_ends_once_its_channel_is_disabled(station, monkeypatch, settings, caplog):
    settings.RETROVUE_REQUIRE_STREAM_TOKEN = False
    monkeypatch.setattr(ts_stream, "RECHECK_SECONDS", 0)
    caplog.set_level(logging.INFO, logger=ts_stream.logger.name)
    response = Client().get("/iptv/channel/7.ts")
    stream = iter(response.streaming_content)
    try:
        next(stream)
        Channel.objects.filter(pk=station.pk).update(enabled=False)
        rest = b"".join(stream)
    finally:
        finish(response)
    assert len(rest) < 3 * 10 * 188  # ended at the next check, not after the whole window
    assert_ended_by_the_recheck(caplog)


def test_lineup_hands_tuners_tokenised_urls_without_a_query_string(station):
    _, token = StreamToken.issue("plex")

    assert Client().get("/lineup.json").status_code == 403  # untokenised URLs would only get 403
    discover = Client().get(f"/hdhr/{token}/discover.json").json()
    lineup = Client().get(discover["LineupURL"].removeprefix("http://testserver")).json()

    assert discover["BaseURL"] == f"http://testserver/hdhr/{token}"
    assert lineup == [
        {"GuideNumber": "7", "GuideName": "Seven", "URL": f"http://testserver/hdhr/{token}/iptv/channel/7.ts"}
    ]
    assert Client().get(f"/lineup.json?token={token}").json() == lineup
    tuned = Client().get(lineup[0]["URL"].removeprefix("http://testserver"))
    assert tuned.status_code == 200
    finish(tuned)
    assert Client().get("/hdhr/st_revoked-or-made-up/lineup.json").status_code == 403


def test_tuner_token_paths_are_redacted_from_logs():
    from retrovue.log_redaction import redact

    assert "st_secret" not in redact("Not Found: /hdhr/st_secret/iptv/channel/9.ts")


@pytest.mark.parametrize("path", ["/discover.json", "/lineup.json", "/iptv/channels.m3u", "/iptv/xmltv.xml"])
def test_a_forged_host_never_becomes_the_base_url(settings, path):
    settings.RETROVUE_REQUIRE_STREAM_TOKEN = False
    Channel.objects.create(number="7", name="Seven", time_zone="UTC", logo="logos/seven.png")

    body = Client().get(path, HTTP_HOST="evil.example").content.decode()

    assert "evil.example" not in body
    assert "http://testserver" in body  # the server's own name and port


def test_a_configured_public_url_wins_and_listed_hosts_are_trusted(settings):
    Channel.objects.create(number="7", name="Seven", time_zone="UTC")
    settings.ALLOWED_HOSTS = ["tv.example.com"]
    assert (
        Client().get("/discover.json", HTTP_HOST="tv.example.com").json()["BaseURL"]
        == "http://tv.example.com"
    )
    assert Client().get("/discover.json", HTTP_HOST="evil.example").status_code == 400
    settings.RETROVUE_PUBLIC_URL = "https://tv.example.net"
    assert (
        Client().get("/discover.json", HTTP_HOST="tv.example.com").json()["BaseURL"]
        == "https://tv.example.net"
    )


@pytest.mark.parametrize("number", ["٣", "３", "7.٣", "7\n", " 7"])
def test_channel_numbers_take_ascii_digits_only(number):
    channel = Channel(number=number, name="Odd", time_zone="UTC")
    with pytest.raises(ValidationError) as refused:
        channel.full_clean()
    assert "number" in refused.value.message_dict


@pytest.mark.parametrize(("existing", "new"), [("3", "03"), ("03", "3"), ("7", "7.0"), ("7.1", "7.01")])
def test_numerically_equal_channel_numbers_are_one_channel(existing, new):
    Channel.objects.create(number=existing, name="First", time_zone="UTC")
    with pytest.raises(ValidationError) as refused:
        Channel(number=new, name="Second", time_zone="UTC").full_clean()
    assert "number" in refused.value.message_dict


def test_production_refuses_a_short_secret_key(tmp_path):
    env = {**_production_env(), "RETROVUE_SECRET_KEY": "x"}

    result = _manage(["check"], env, tmp_path)

    assert result.returncode != 0
    assert "RETROVUE_SECRET_KEY is too weak" in result.stderr


def test_api_and_admin_urls_never_take_a_forged_host(superuser):
    # Finding 7 leftover: the scheduling and playout APIs and the Plex webhook URL staff copy into
    # Plex were built from the Host header; a forged one would send players (or Plex, with the
    # webhook secret) to the attacker.
    from tests.factories import PlexSourceFactory

    channel = Channel.objects.create(number="7", name="Seven", time_zone="UTC", logo="logos/seven.png")
    source = PlexSourceFactory()
    for path in (
        "/api/scheduling/channels",
        f"/api/scheduling/channels/{channel.pk}",
        "/api/playout/channels/7",
    ):
        response = superuser.api("get", path, HTTP_HOST="evil.example")
        assert response.status_code == 200, (path, response.content[:200])
        assert "evil.example" not in response.content.decode(), path
    page = superuser.client.get(f"/admin/catalog/mediasource/{source.pk}/change/", HTTP_HOST="evil.example")
    assert page.status_code == 200
    assert source.webhook_secret in page.content.decode()  # the URL is shown to staff ...
    assert "evil.example" not in page.content.decode()  # ... on the station's own address
