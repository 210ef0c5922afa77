"""HDHomeRun emulation, so Plex Live TV (and Channels DVR, Emby, Jellyfin) take RetroVue as a tuner.

What the clients read: `/discover.json` (the device: FriendlyName, Manufacturer, ModelNumber
HDTC-2US, FirmwareName hdhomeruntc_atsc, FirmwareVersion, DeviceID, DeviceAuth, BaseURL,
LineupURL, TunerCount), `/lineup.json` (per channel GuideNumber as a string, GuideName, and the
MPEG-TS URL without a query string), `/lineup_status.json` (no scan in progress), and the UPnP
`/device.xml`. Tuning a channel is a GET of its URL, `/iptv/channel/<number>.ts`, which answers
404 for an unknown channel and 503 when every tuner is busy (see `playout.ts_stream`).

The DeviceID is eight hex digits whose last one is libhdhomerun's check digit (Plex refuses a
device whose ID fails it). It is derived from the secret key, so it stays the same across restarts
and web workers; set RETROVUE_HDHR_DEVICE_ID to pin it (rotating the secret key changes it, and
Plex then sees a new tuner). FriendlyName and TunerCount come from RETROVUE_HDHR_FRIENDLY_NAME and
RETROVUE_HDHR_TUNER_COUNT. BaseURL is RETROVUE_PUBLIC_URL, else the address the client reached
(never a Host header the client made up: see `retrovue.core.public_url`).

Stream tokens: HDHomeRun clients keep no query string, so with RETROVUE_REQUIRE_STREAM_TOKEN on a
tuner is added at `http://<station>/hdhr/<token>` and every tuner path repeats under that prefix
(`/hdhr/<token>/discover.json`, `…/lineup.json`, `…/iptv/channel/7.ts`): its BaseURL, LineupURL
and lineup URLs all carry the token. The bare `/lineup.json` then lists channels only for a valid
`?token=` (with tokenised URLs), because untokenised ones would only get 403.
"""

from __future__ import annotations

import functools
import hashlib
import re
from xml.sax.saxutils import escape

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from playout.ts_stream import tuner_count
from retrovue.core.public_url import public_base_url
from retrovue.core.stream_access import refuse_without_token, request_token, tokens_required, valid_token
from retrovue.env import env_str
from scheduling.models import Channel

MANUFACTURER = "Silicondust"
MODEL_NUMBER = "HDTC-2US"
FIRMWARE_NAME = "hdhomeruntc_atsc"
FIRMWARE_VERSION = "20200101"
DEFAULT_FRIENDLY_NAME = "RetroVue"
_CHECK_TABLE = (0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0)
_DEVICE_ID = re.compile(r"^[0-9A-F]{8}$")


def _check_digit(first_seven: int) -> int:
    """libhdhomerun's checksum over the first seven nibbles; the eighth nibble must equal it."""
    value = first_seven << 4
    checksum = 0
    for shift in (28, 20, 12, 4):
        checksum ^= _CHECK_TABLE[(value >> shift) & 0xF]
    for shift in (24, 16, 8):
        checksum ^= (value >> shift) & 0xF
    return checksum


def valid_device_id(device_id: str) -> bool:
    if not _DEVICE_ID.match(device_id.upper()):
        return False
    value = int(device_id, 16)
    return _check_digit(value >> 4) == value & 0xF


def device_id() -> str:
    configured = _setting("RETROVUE_HDHR_DEVICE_ID")
    if configured:
        configured = configured.upper()
        if not valid_device_id(configured):
            raise ImproperlyConfigured(
                f"RETROVUE_HDHR_DEVICE_ID={configured!r} is not a valid HDHomeRun DeviceID "
                "(eight hex digits, the last a check digit)."
            )
        return configured
    digest = hashlib.sha256(f"retrovue-hdhomerun:{settings.SECRET_KEY}".encode()).digest()
    first_seven = int.from_bytes(digest[:4], "big") >> 4
    first_seven |= 0x1000000  # never starting with 0 keeps it eight digits in every client
    return f"{first_seven:07X}{_check_digit(first_seven):X}"


def device_auth() -> str:
    return hashlib.sha256(f"retrovue-hdhomerun-auth:{settings.SECRET_KEY}".encode()).hexdigest()[:24]


def friendly_name() -> str:
    return _setting("RETROVUE_HDHR_FRIENDLY_NAME") or DEFAULT_FRIENDLY_NAME


def _setting(name: str) -> str | None:
    value = getattr(settings, name, None)
    return str(value) if value else env_str(name, None)


def base_url(request: HttpRequest) -> str:
    """Where the tuner's URLs point: never the client's own word for our host (see core.public_url),
    under `/hdhr/<token>` when the station requires stream tokens."""
    token = request_token(request)
    if tokens_required() and token and valid_token(token):
        return f"{public_base_url(request)}/hdhr/{token}"
    return public_base_url(request)


TUNER_PREFIX_PATTERN = r"(?P<token>[A-Za-z0-9_-]{1,100})"


def with_path_token(view):
    """A tuner view reached under `/hdhr/<token>/`: the token in the path stands for `?token=`."""

    @functools.wraps(view)
    def tokenised(request, token: str, **kwargs):
        if not valid_token(token):
            return HttpResponseForbidden("Unknown or revoked stream token.", content_type="text/plain")
        request.stream_token = token
        return view(request, **kwargs)

    return tokenised


def channel_stream_url(base: str, number: str) -> str:
    return f"{base}{reverse('playout:channel_ts', args=[number])}"


def _lineup_channels():
    channels = list(Channel.objects.filter(enabled=True).only("number", "name"))
    return sorted(channels, key=lambda channel: channel.sort_key)


@never_cache
@require_safe
def discover(request):
    base = base_url(request)
    return JsonResponse(
        {
            "FriendlyName": friendly_name(),
            "Manufacturer": MANUFACTURER,
            "ModelNumber": MODEL_NUMBER,
            "FirmwareName": FIRMWARE_NAME,
            "FirmwareVersion": FIRMWARE_VERSION,
            "DeviceID": device_id(),
            "DeviceAuth": device_auth(),
            "BaseURL": base,
            "LineupURL": f"{base}/lineup.json",
            "TunerCount": tuner_count(),
        }
    )


@never_cache
@require_safe
def lineup(request):
    denied = refuse_without_token(request)
    if denied:
        return denied
    base = base_url(request)
    entries = [
        {
            "GuideNumber": channel.number,
            "GuideName": channel.name,
            "URL": channel_stream_url(base, channel.number),
        }
        for channel in _lineup_channels()
    ]
    return JsonResponse(entries, safe=False)


@never_cache
@require_safe
def lineup_status(request):
    return JsonResponse({"ScanInProgress": 0, "ScanPossible": 1, "Source": "Cable", "SourceList": ["Cable"]})


@never_cache
@require_safe
def device_xml(request):
    base = base_url(request)
    identifier = device_id()
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<root xmlns="urn:schemas-upnp-org:device-1-0">
  <specVersion><major>1</major><minor>0</minor></specVersion>
  <URLBase>{escape(base)}</URLBase>
  <device>
    <deviceType>urn:schemas-upnp-org:device:MediaServer:1</deviceType>
    <friendlyName>{escape(friendly_name())}</friendlyName>
    <manufacturer>{MANUFACTURER}</manufacturer>
    <modelName>{MODEL_NUMBER}</modelName>
    <modelNumber>{MODEL_NUMBER}</modelNumber>
    <serialNumber>{identifier}</serialNumber>
    <UDN>uuid:{_device_uuid(identifier)}</UDN>
  </device>
</root>
"""
    return HttpResponse(body, content_type="application/xml; charset=utf-8")


def _device_uuid(identifier: str) -> str:
    digest = hashlib.sha256(f"retrovue-hdhomerun-udn:{identifier}".encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
