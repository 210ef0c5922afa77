"""The live HLS playlists: their files under the HLS root, the playlist RetroVue writes, and the
views that serve both when no nginx stands in front (the embedded default).

Layout: `<HLS_ROOT>/<channel number>/index.m3u8` plus that channel's segments, named
`<run token>-<n>.ts`. The run token changes with every ffmpeg start, so a name never comes back
after a restart, and a cache may keep a segment forever.

The playlist is written by the channel process, not by ffmpeg (ffmpeg only cuts segments, see
`playout.channel_process`). That is what lets it keep what clients need across ffmpeg restarts:
the previous run's segments stay in the window, the first segment of a new run carries
`EXT-X-DISCONTINUITY` (its timestamps start over), `EXT-X-DISCONTINUITY-SEQUENCE` counts the tags
that slid out, `EXT-X-MEDIA-SEQUENCE` only rises, `EXT-X-TARGETDURATION` is the profile's segment
length for good, and every segment has an `EXT-X-PROGRAM-DATE-TIME`: the schedule time of its
first frame.
"""

from __future__ import annotations

import os
import re
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_safe

from playout.demand import note_demand
from playout.placement import front_door_origin
from playout.viewer_counts import count_hls_viewer
from retrovue.core.private_data import published_modes
from retrovue.core.served_files import open_inside
from retrovue.core.stream_access import refuse_without_token, tokens_required, valid_token
from scheduling.models import Channel

PLAYLIST_NAME = "index.m3u8"
PLAYLIST_CONTENT_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_CONTENT_TYPE = "video/mp2t"
SEGMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.ts$")
# Segment names never repeat (see above), so a segment may be cached as long as anyone likes.
SEGMENT_CACHE_SECONDS = 86_400
# How long Django waits for another machine's playlist (token mode, docs/playout-machines.md).
ORIGIN_TIMEOUT_SECONDS = 2


def hls_root() -> Path:
    return Path(settings.HLS_ROOT)


def channel_dir(number: str) -> Path:
    return hls_root() / number


def playlist_path(number: str) -> Path:
    return channel_dir(number) / PLAYLIST_NAME


def with_token(body: bytes, token: str) -> bytes:
    """The playlist with `?token=` on every segment URI: players drop query strings they weren't given."""
    suffix = f"?token={token}".encode()
    lines = [line + suffix if line and not line.startswith(b"#") else line for line in body.split(b"\n")]
    return b"\n".join(lines)


# --- The playlist ---------------------------------------------------------------------------------


@dataclass
class PlaylistSegment:
    msn: int
    uri: str
    duration: float
    program_date_time: datetime
    discontinuity: bool = False

    @property
    def ends_at(self) -> datetime:
        return self.program_date_time + timedelta(seconds=self.duration)


@dataclass
class LivePlaylist:
    """A sliding window of segments and the counters that make it a valid live playlist."""

    target_duration: int
    segments: list[PlaylistSegment] = field(default_factory=list)
    discontinuity_sequence: int = 0
    next_msn: int = 0

    @property
    def media_sequence(self) -> int:
        return self.segments[0].msn if self.segments else self.next_msn

    @property
    def duration(self) -> float:
        return sum(segment.duration for segment in self.segments)

    @property
    def tail_discontinuity(self) -> int:
        """The discontinuity number of the newest segment (the sequence plus the tags in the window)."""
        return self.discontinuity_sequence + sum(segment.discontinuity for segment in self.segments)

    def append(
        self, uri: str, duration: float, program_date_time: datetime, *, discontinuity: bool = False
    ) -> PlaylistSegment:
        segment = PlaylistSegment(
            msn=self.next_msn,
            uri=uri,
            duration=duration,
            program_date_time=program_date_time,
            discontinuity=discontinuity and bool(self.segments),
        )
        self.segments.append(segment)
        self.next_msn += 1
        return segment

    def trim(self, size: int) -> list[PlaylistSegment]:
        """Drop the oldest segments beyond `size`; returns them (they must stay downloadable a while)."""
        removed = []
        while len(self.segments) > size:
            segment = self.segments.pop(0)
            if segment.discontinuity:
                self.discontinuity_sequence += 1
            removed.append(segment)
        if self.segments and self.segments[0].discontinuity:
            # A tag on the first segment says nothing a client can use once what came before is
            # gone; folding it into the sequence number keeps every segment's number unchanged.
            self.segments[0].discontinuity = False
            self.discontinuity_sequence += 1
        return removed

    def render(self) -> str:
        lines = [
            "#EXTM3U",
            "#EXT-X-VERSION:3",
            f"#EXT-X-TARGETDURATION:{self.target_duration}",
            f"#EXT-X-MEDIA-SEQUENCE:{self.media_sequence}",
            f"#EXT-X-DISCONTINUITY-SEQUENCE:{self.discontinuity_sequence}",
            "#EXT-X-INDEPENDENT-SEGMENTS",
        ]
        for segment in self.segments:
            if segment.discontinuity:
                lines.append("#EXT-X-DISCONTINUITY")
            moment = segment.program_date_time.astimezone(UTC).isoformat(timespec="milliseconds")
            lines.append(f"#EXT-X-PROGRAM-DATE-TIME:{moment}")
            lines.append(f"#EXTINF:{segment.duration:.6f},")
            lines.append(segment.uri)
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str, target_duration: int) -> LivePlaylist:
        """Read back a playlist this class wrote (to carry the window over a supervisor restart)."""
        playlist = cls(target_duration=target_duration)
        msn = 0
        duration = 0.0
        moment: datetime | None = None
        discontinuity = False
        for raw in text.splitlines():
            line = raw.strip()
            if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                msn = int(line.split(":", 1)[1])
            elif line.startswith("#EXT-X-DISCONTINUITY-SEQUENCE:"):
                playlist.discontinuity_sequence = int(line.split(":", 1)[1])
            elif line == "#EXT-X-DISCONTINUITY":
                discontinuity = True
            elif line.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
                moment = datetime.fromisoformat(line.split(":", 1)[1].replace("Z", "+00:00"))
            elif line.startswith("#EXTINF:"):
                duration = float(line.split(":", 1)[1].split(",", 1)[0])
            elif line and not line.startswith("#") and moment is not None:
                playlist.segments.append(PlaylistSegment(msn, line, duration, moment, discontinuity))
                msn += 1
                moment, discontinuity = None, False
        playlist.next_msn = msn
        return playlist

    def write(self, path: Path, *, file_mode: int | None = None) -> None:
        """Replace the file atomically: a reader sees the old playlist or the new one, never half.
        `file_mode` (what nginx, another user, needs to read it) is worked out if not given; a
        channel writes every segment, so it passes the one it worked out at start."""
        temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        text = self.render()
        try:
            temporary.write_text(text)
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(text)
        temporary.chmod(published_modes(hls_root())[1] if file_mode is None else file_mode)
        os.replace(temporary, path)


def read_playlist(number: str, target_duration: int = 0) -> LivePlaylist | None:
    try:
        text = playlist_path(number).read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return LivePlaylist.parse(text, target_duration)


# --- Views ----------------------------------------------------------------------------------------


def _known_channel(number: str) -> Channel:
    # A disabled channel's leftover files are not served, like a channel that does not exist.
    channel = Channel.objects.filter(number=number, enabled=True).only("pk", "always_on", "enabled").first()
    if channel is None:
        raise Http404("No such channel.")
    if not channel.always_on and channel.enabled:
        note_demand(channel)  # an on-demand channel runs while viewers keep asking for it
    return channel


@require_safe
def playlist(request, number: str):
    """`/hls/<number>/index.m3u8`: the live playlist, never cached (it changes every segment)."""
    denied = refuse_without_token(request)
    if denied:
        return denied
    channel = _known_channel(number)
    origin = front_door_origin(number, timezone.now())
    try:
        body = _origin_playlist(origin, number) if origin else _local_playlist(number)
    except OSError:
        if not channel.always_on and channel.enabled:
            starting = HttpResponse("The channel is starting; try again in a moment.", status=503)
            starting["Retry-After"] = "2"
            return starting
        raise Http404("The channel is not on air.") from None
    token = request.GET.get("token")
    tokenised = bool(token and valid_token(token))
    if tokenised:
        body = with_token(body, token)
    response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=PLAYLIST_CONTENT_TYPE)
    response["Content-Length"] = str(len(body))
    # A playlist carrying a viewer's token is that viewer's: no shared cache (a CDN) may keep it.
    response["Cache-Control"] = "private, no-cache" if tokenised else "no-cache"
    return response


def _local_playlist(number: str) -> bytes:
    with open_inside(hls_root(), f"{number}/{PLAYLIST_NAME}") as handle:
        return handle.read()


# A playlist is a few kilobytes; anything much bigger is not one.
ORIGIN_PLAYLIST_LIMIT = 1 << 20


def _origin_playlist(origin: str, number: str) -> bytes:
    """The playlist as the machine airing the channel serves it (with stream tokens on, Django
    serves playlists, and this one lives on another machine's disk). `origin` is a checked
    `http(s)://host[:port]` and `number` matched the channel pattern: the URL names nothing else."""
    url = f"{origin}/hls/{number}/{PLAYLIST_NAME}"
    try:
        with urllib.request.urlopen(url, timeout=ORIGIN_TIMEOUT_SECONDS) as answer:  # noqa: S310 (http(s) only)
            body = answer.read(ORIGIN_PLAYLIST_LIMIT + 1)
    except (OSError, ValueError) as error:
        raise OSError(f"channel {number}: its origin did not answer") from error
    if len(body) > ORIGIN_PLAYLIST_LIMIT:
        raise OSError(f"channel {number}: its origin sent no playlist")
    return body


@require_safe
def segment(request, number: str, name: str):
    """`/hls/<number>/<name>.ts`: one segment. Names never repeat, so they may be cached."""
    denied = refuse_without_token(request)
    if denied:
        return denied
    if not SEGMENT_NAME.match(name):
        raise Http404("No such segment.")
    _known_channel(number)
    count_hls_viewer(request, number)
    try:
        handle = open_inside(hls_root(), f"{number}/{name}")
    except OSError:
        raise Http404("No such segment.") from None
    size = os.fstat(handle.fileno()).st_size
    if request.method == "HEAD":
        handle.close()
        response = HttpResponse(content_type=SEGMENT_CONTENT_TYPE)
    else:
        response = FileResponse(handle, content_type=SEGMENT_CONTENT_TYPE)
    response["Content-Length"] = str(size)
    response["Cache-Control"] = f"public, max-age={SEGMENT_CACHE_SECONDS}, immutable"
    return response


# --- nginx's question -----------------------------------------------------------------------------

# What nginx may serve from the HLS root: a channel's playlist or one of its segment names.
HLS_FILE_URI = re.compile(
    r"^/hls/(?P<number>[0-9]{1,4}(?:\.[0-9]{1,3})?)/(?:index\.m3u8|[A-Za-z0-9][A-Za-z0-9_-]{0,63}\.ts)$"
)


# The answer's header naming the machine that airs the channel, when it is not this one: nginx
# proxies the viewer's request there (deploy/nginx.conf, docs/playout-machines.md).
ORIGIN_HEADER = "X-RetroVue-Origin"


@require_safe
def authorize(request):
    """`/iptv/authorize`, nginx's auth_request for every file under /hls/: 204 when the original URI
    names the playlist or a segment of an enabled channel and, when the station requires stream
    tokens, carries a valid one; 403 otherwise. A 204 names, in `X-RetroVue-Origin`, the playout
    machine airing the channel when the front door should proxy to it rather than read its own
    disk. nginx caches the answer for a second per channel (and token), so this costs about one
    look-up per channel a second, not one per viewer request, and a takeover is followed within
    about a second."""
    original = urlsplit(request.headers.get("X-Original-URI", ""))
    match = HLS_FILE_URI.match(original.path)
    if match is None or not Channel.objects.filter(number=match["number"], enabled=True).exists():
        return HttpResponse(status=403)
    token = parse_qs(original.query).get("token", [""])[0]
    if tokens_required() and not valid_token(token):
        return HttpResponse(status=403)
    allowed = HttpResponse(status=204)
    origin = front_door_origin(match["number"], timezone.now())
    if origin:
        allowed[ORIGIN_HEADER] = origin
    return allowed
