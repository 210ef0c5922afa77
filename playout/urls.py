"""Viewer-facing playout URLs (anonymous, plain HTTP allowed: see SECURE_REDIRECT_EXEMPT).

HLS under /hls/ is served by nginx in production; these views serve it on the embedded default.
"""

from django.urls import path, re_path

from playout import hdhomerun, hls, ts_stream
from playout.hdhomerun import with_path_token

app_name = "playout"

TUNER = hdhomerun.TUNER_PREFIX_PATTERN
CHANNEL = r"(?P<number>[0-9]{1,4}(?:\.[0-9]{1,3})?)"  # ASCII digits, as channel numbers are

urlpatterns = [
    re_path(rf"^hls/{CHANNEL}/index\.m3u8$", hls.playlist, name="hls_playlist"),
    re_path(rf"^hls/{CHANNEL}/(?P<name>[A-Za-z0-9_-]+\.ts)$", hls.segment, name="hls_segment"),
    re_path(rf"^iptv/channel/{CHANNEL}\.ts$", ts_stream.channel_ts, name="channel_ts"),
    path("iptv/authorize", hls.authorize, name="authorize_stream"),
    path("discover.json", hdhomerun.discover, name="hdhr_discover"),
    path("lineup.json", hdhomerun.lineup, name="hdhr_lineup"),
    path("lineup_status.json", hdhomerun.lineup_status, name="hdhr_lineup_status"),
    path("device.xml", hdhomerun.device_xml, name="hdhr_device_xml"),
    # The same tuner for stations that require stream tokens: the token is part of the path.
    re_path(rf"^hdhr/{TUNER}/discover\.json$", with_path_token(hdhomerun.discover)),
    re_path(rf"^hdhr/{TUNER}/lineup\.json$", with_path_token(hdhomerun.lineup)),
    re_path(rf"^hdhr/{TUNER}/lineup_status\.json$", with_path_token(hdhomerun.lineup_status)),
    re_path(rf"^hdhr/{TUNER}/device\.xml$", with_path_token(hdhomerun.device_xml)),
    re_path(rf"^hdhr/{TUNER}/iptv/channel/{CHANNEL}\.ts$", with_path_token(ts_stream.channel_ts)),
]
