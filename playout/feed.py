"""The channel feed: what a channel's ffmpeg reads, one piece per request, at the schedule's pace.

Each on-air channel runs one long-lived ffmpeg (`playout.channel_process`) whose input is the
concat demuxer over a list whose every entry is a URL of this feed. ffmpeg asks for entry n when it
has read entry n-1 to its end; the feed then decides what airs next *at that moment* from the fine
log (so an alert, a rebuilt schedule or a late pre-generation changes what airs at the very next
boundary) and streams those bytes back with chunked transfer encoding. With no length announced,
the concat demuxer times each entry by its last packet, so timestamps run on continuously from one
piece to the next.

Where the feed lives. It is served by the playout supervisor's own small HTTP server, bound to
127.0.0.1 on a free port, not by the web app: an entry's response lasts as long as the piece airs
(minutes), which would pin a web thread per channel, and a second playout box must feed its own
ffmpegs without depending on which web server answers. Every run gets a random secret, and the
URL carries it; requests from anywhere but loopback are refused.

Pacing. ffmpeg runs without `-re`; the feed releases each group of pictures (one GOP = one
segment, since every piece is encoded with a closed GOP of the segment length) when the wall clock
reaches the schedule time of that GOP minus a lead of `LEAD_SEGMENTS` segments. So:

- the channel airs what the log says at the time it says, piece by piece, with no drift between
  ffmpeg's clock and the schedule: each piece is paced against its own scheduled start;
- a new or restarted channel gets `LEAD_SEGMENTS` segments at once (the first segment is out in
  a fraction of a second), then one per segment length;
- a piece can be cut short at any GOP boundary (`ChannelFeed.interrupt`), which is how an alert
  will take over a channel without waiting for the end of a 22-minute act.

Tune-in alignment. The first entry of a run starts at the schedule's position now (or, after a
restart, exactly where the previous run's last published segment ended). A pre-generated file is
cut at the keyframe nearest that offset: the keyframes sit on the segment grid, so the bytes from
that keyframe's packet on, behind the file's program tables, are a valid stream (no re-encoding,
no ffmpeg run); the schedule time of what airs is then exact, and off "now" by at most half a
segment. A live transcode starts at the exact offset; a slate anywhere.

Fallbacks, so the stream never stops: the pre-generated file if it is ready, else a live
transcode of the item's files (the same encode as pre-generation, to a pipe; files not on this
machine are read from Plex through the loopback relay, see `playout.inputs`), else the
slate (a technical-difficulties card over silence) for the piece's time. Anything unexpected while
choosing also plays the slate, for a few seconds, and the next boundary tries again.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import secrets
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from catalog.choices import FileState
from catalog.media.versions import airing_files
from playout import as_run, pregen
from playout import ffmpeg_commands as commands
from playout.inputs import InputUnavailable, RemoteParts
from playout.models import AsRunEntry
from retrovue.subprocesses import CommandError, run_command, start_process, stop_process
from scheduling.choices import PieceKind
from scheduling.models import Channel, Piece

logger = logging.getLogger(__name__)

# How far ahead of the wall clock the feed hands ffmpeg the stream, in segments. Three gives a new
# channel a playable playlist at once and lets a restarted ffmpeg publish its first segment in well
# under a second; and since players hold back three target durations from the live edge, a player
# then shows each frame at about the wall-clock time the log gives it. It is also how early "what
# plays next" is asked, and so roughly how soon an interrupt (an alert) reaches the stream.
LEAD_SEGMENTS = 3
# A cursor this close to a piece's start starts the piece from the top (clock jitter, rounding).
START_TOLERANCE = timedelta(milliseconds=250)
# Slates are served in chunks of at most this long, so the log is asked again regularly.
SLATE_CHUNK = timedelta(seconds=10)
SLATE_FILE_MS = 12_000
SLATE_ENCODE_TIMEOUT = 120
# A live transcode of a remote part may run this much longer than its piece (the relay's backstop).
LIVE_RELAY_GRACE_SECONDS = 300

# --- MPEG-TS ----------------------------------------------------------------------------------------

TS_PACKET = 188
SYNC_BYTE = 0x47
PAT_PID = 0x0000
SDT_PID = 0x0011
NULL_PID = 0x1FFF
PTS_HZ = 90_000
PTS_WRAP = 1 << 33
VIDEO_STREAM_TYPES = frozenset({0x01, 0x02, 0x1B, 0x24})
AUDIO_STREAM_TYPES = frozenset({0x03, 0x04, 0x0F, 0x11, 0x81, 0x87})
READ_SIZE = TS_PACKET * 1024
HEAD_SIZE = TS_PACKET * 2048
LIVE_HEAD_SIZE = TS_PACKET * 64  # the program tables come first; don't wait for a whole GOP
KEYFRAME_SCAN = 8 * 1024 * 1024 // TS_PACKET * TS_PACKET


class TsError(Exception):
    """The bytes are not an MPEG-TS the feed can splice (no sync, no program map, no video)."""


@dataclass(frozen=True)
class TsLayout:
    video_pid: int
    audio_pids: frozenset[int]
    psi: bytes  # PAT, PMT (and SDT) packets from the head, replayed in front of a cut


@dataclass(frozen=True)
class Gop:
    pts: int  # 90 kHz presentation time of the keyframe that opens this group of pictures
    data: bytes


def _payload_start(data: bytes, at: int) -> int:
    control = (data[at + 3] >> 4) & 0x3
    if control == 0x1:
        return 4
    if control == 0x3:
        return 5 + data[at + 4]
    return TS_PACKET  # adaptation field only


def _random_access(data: bytes, at: int) -> bool:
    return bool(data[at + 3] & 0x20) and data[at + 4] > 0 and bool(data[at + 5] & 0x40)


def _timestamp(data: bytes, at: int) -> int:
    return (
        ((data[at] >> 1) & 0x07) << 30
        | data[at + 1] << 22
        | (data[at + 2] >> 1) << 15
        | data[at + 3] << 7
        | data[at + 4] >> 1
    )


def pes_times(data: bytes, at: int = 0) -> tuple[int, int] | None:
    """(pts, dts) of the PES that starts in the packet at `at`, or None."""
    start = at + _payload_start(data, at)
    end = at + TS_PACKET
    if start + 14 > end or data[start] != 0 or data[start + 1] != 0 or data[start + 2] != 1:
        return None
    flags = data[start + 7] >> 6
    if not flags & 0x2:
        return None
    pts = _timestamp(data, start + 9)
    dts = _timestamp(data, start + 14) if flags == 0x3 and start + 19 <= end else pts
    return pts, dts


def ts_delta(later: int, earlier: int) -> int:
    """Signed difference of two 33-bit timestamps, across a wrap."""
    diff = (later - earlier) % PTS_WRAP
    return diff - PTS_WRAP if diff >= PTS_WRAP // 2 else diff


def _sections(data: bytes, pid: int) -> Iterator[bytes]:
    for at in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        if data[at] != SYNC_BYTE or ((data[at + 1] & 0x1F) << 8 | data[at + 2]) != pid:
            continue
        if not data[at + 1] & 0x40:
            continue
        start = at + _payload_start(data, at)
        if start >= at + TS_PACKET - 4:
            continue
        start += 1 + data[start]  # pointer field
        length = ((data[start + 1] & 0x0F) << 8) | data[start + 2]
        yield data[start : min(start + 3 + length, at + TS_PACKET)]


def parse_layout(head: bytes) -> TsLayout:
    """The video and audio PIDs of the first program, from the PAT and PMT at the head."""
    if len(head) < TS_PACKET or head[0] != SYNC_BYTE:
        raise TsError("not an MPEG transport stream")
    pmt_pid = None
    for section in _sections(head, PAT_PID):
        for at in range(8, len(section) - 4, 4):
            if (section[at] << 8 | section[at + 1]) != 0:  # program 0 is the network PID
                pmt_pid = ((section[at + 2] & 0x1F) << 8) | section[at + 3]
                break
        if pmt_pid is not None:
            break
    if pmt_pid is None:
        raise TsError("no program association table at the head")
    video_pid = None
    audio: set[int] = set()
    for section in _sections(head, pmt_pid):
        at = 12 + (((section[10] & 0x0F) << 8) | section[11])
        while at + 5 <= len(section) - 4:
            stream_type = section[at]
            pid = ((section[at + 1] & 0x1F) << 8) | section[at + 2]
            if stream_type in VIDEO_STREAM_TYPES and video_pid is None:
                video_pid = pid
            elif stream_type in AUDIO_STREAM_TYPES:
                audio.add(pid)
            at += 5 + (((section[at + 3] & 0x0F) << 8) | section[at + 4])
        break
    if video_pid is None:
        raise TsError("no video stream in the program map")
    psi = bytearray()
    seen: set[int] = set()
    for at in range(0, len(head) - TS_PACKET + 1, TS_PACKET):
        pid = (head[at + 1] & 0x1F) << 8 | head[at + 2]
        if pid in (PAT_PID, pmt_pid, SDT_PID) and pid not in seen:
            seen.add(pid)
            psi += head[at : at + TS_PACKET]
    return TsLayout(video_pid=video_pid, audio_pids=frozenset(audio), psi=bytes(psi))


def keyframes(data: bytes, video_pid: int, base_offset: int = 0) -> Iterator[tuple[int, int]]:
    """(byte offset, pts) of each keyframe starting in `data`, which begins on a packet boundary."""
    marker = bytes([SYNC_BYTE, 0x40 | (video_pid >> 8), video_pid & 0xFF])
    at = data.find(marker)
    while at != -1 and at + TS_PACKET <= len(data):
        if at % TS_PACKET == 0 and _random_access(data, at):
            times = pes_times(data, at)
            if times is not None:
                yield base_offset + at, times[0]
        at = data.find(marker, at + 1)


def iter_gops(source: BinaryIO, layout: TsLayout) -> Iterator[Gop]:
    """Read TS from `source` (positioned on a packet boundary) and yield it GOP by GOP.

    Everything before the first keyframe is dropped; the first GOP opens with the program tables
    from the file's head, so a decoder can start on it (this is what makes a cut at a keyframe's
    byte offset a valid stream).
    """
    video, audio = layout.video_pid, layout.audio_pids
    keep: dict[int, bool] = {}
    first_key: int | None = None
    current: int | None = None
    out = bytearray(layout.psi)
    pending = b""
    while True:
        chunk = source.read(READ_SIZE)
        if not chunk:
            break
        data = pending + chunk if pending else chunk
        usable = len(data) - len(data) % TS_PACKET
        pending = data[usable:]
        at = 0
        while at < usable:
            if data[at] != SYNC_BYTE:
                raise TsError(f"lost packet sync at byte {at}")
            pid = (data[at + 1] & 0x1F) << 8 | data[at + 2]
            if pid == video:
                if data[at + 1] & 0x40 and (times := pes_times(data, at)) is not None:
                    pts = times[0]
                    is_key = _random_access(data, at)
                    if first_key is None:
                        if is_key:
                            first_key = current = pts
                        keep[pid] = first_key is not None
                    elif is_key:
                        yield Gop(current, bytes(out))
                        out = bytearray()
                        current = pts
                if keep.get(pid):
                    out += data[at : at + TS_PACKET]
            elif pid in audio:
                if data[at + 1] & 0x40 and (times := pes_times(data, at)) is not None:
                    keep[pid] = first_key is not None
                if keep.get(pid):
                    out += data[at : at + TS_PACKET]
            elif pid != NULL_PID and first_key is not None:
                out += data[at : at + TS_PACKET]
            at += TS_PACKET
    if first_key is not None and out:
        yield Gop(current, bytes(out))


@dataclass(frozen=True)
class Cut:
    byte_offset: int
    offset_ms: int  # from the file's first keyframe to the cut's keyframe


def find_cut(path: Path, offset_ms: int) -> Cut:
    """The keyframe of `path` nearest `offset_ms` into it: where a tune-in can start with copy."""
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        head = handle.read(HEAD_SIZE)
        layout = parse_layout(head)
        first = next(keyframes(head, layout.video_pid), None)
        if first is None:
            raise TsError("no keyframe at the head of the file")
        first_pts = first[1]
        target = first_pts + offset_ms * PTS_HZ // 1000

        def scan(start: int, length: int) -> list[tuple[int, int]]:
            handle.seek(start)
            return list(keyframes(handle.read(length), layout.video_pid, start))

        low, high = 0, size - size % TS_PACKET
        while high - low > KEYFRAME_SCAN:
            middle = (low + high) // 2 // TS_PACKET * TS_PACKET
            found = scan(middle, KEYFRAME_SCAN)
            if not found or ts_delta(found[0][1], target) > 0:
                high = middle
            else:
                low = middle
        candidates = [first, *scan(low, high - low + KEYFRAME_SCAN)]
        best = min(candidates, key=lambda found: abs(ts_delta(found[1], target)))
        return Cut(byte_offset=best[0], offset_ms=ts_delta(best[1], first_pts) * 1000 // PTS_HZ)


# --- What airs next --------------------------------------------------------------------------------


@dataclass
class Entry:
    """One answer of the feed: a stretch of the schedule and the bytes that air for it."""

    origin: str  # AsRunEntry.Origin
    airs_at: datetime  # schedule time of the first frame served
    duration: timedelta  # schedule time covered; the next entry starts at airs_at + duration
    piece: Piece | None = None
    path: Path | None = None
    byte_offset: int = 0
    argv: list[str] | None = None
    trim: bool = False  # cut the bytes at `duration` (slates and live transcodes run long)
    note: str = ""
    remote: RemoteParts | None = None  # a live transcode's remote parts, retired when it ends
    gops: Callable[[], Iterator[Gop]] | None = None  # a live event's GOPs (playout.live_events)
    burst_seconds: float = 0.0  # this much from the start goes out at once, ahead of the pacing

    def release(self) -> None:
        if self.remote is not None:
            self.remote.close()

    @property
    def ends_at(self) -> datetime:
        return self.airs_at + self.duration


def _ms(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


class Planner:
    """Decides what airs from a given schedule time on, for one channel (asked at every boundary)."""

    def __init__(self, channel: Channel, slate: Path):
        self.channel = channel
        self.profile = channel.stream_profile
        self.slate = slate
        self.unplayable: set[Path] = set()  # files that failed mid-air this run: not tried again
        self._bug: commands.Bug | bool | None = False  # looked up on the first live transcode

    def live_bug(self) -> commands.Bug | None:
        """The channel bug for live transcodes, so they look like the pre-generated pieces around
        them; an unreadable bug airs without it rather than as a slate."""
        if self._bug is False:
            try:
                self._bug = pregen.channel_bug(self.channel)
            except (OSError, pregen.SourceUnavailable) as error:
                logger.warning("Channel %s: live transcodes without the bug (%s)", self.channel.number, error)
                self._bug = None
        return self._bug

    def plan(self, cursor: datetime) -> Entry:
        from playout import live_events  # it builds on this module

        live = live_events.plan(self, cursor)
        if live is not None:
            return live
        for _ in range(4):  # a piece whose nearest keyframe is its end: go on to the next one
            piece = (
                Piece.objects.filter(channel=self.channel, start__lte=cursor + START_TOLERANCE)
                .filter(stop__gt=cursor + START_TOLERANCE)
                .select_related("channel")
                .order_by("start")
                .first()
            )
            if piece is None:
                upcoming = (
                    Piece.objects.filter(channel=self.channel, start__gt=cursor)
                    .order_by("start")
                    .values_list("start", flat=True)
                    .first()
                )
                until = min(upcoming, cursor + SLATE_CHUNK) if upcoming else cursor + SLATE_CHUNK
                return self.slate_entry(cursor, until, note="nothing scheduled")
            entry = self._entry_for(piece, cursor)
            if entry is not None:
                return entry
            cursor = piece.stop
        return self.slate_entry(cursor, cursor + SLATE_CHUNK, note="only slivers scheduled")

    def _entry_for(self, piece: Piece, cursor: datetime) -> Entry | None:
        offset = max(timedelta(0), cursor - piece.start)
        if offset <= START_TOLERANCE:
            offset = timedelta(0)
        length = piece.stop - piece.start
        note = ""
        try:
            path = pregen.ready_file(piece)
        except Exception as error:
            logger.exception("Channel %s: looking up the pre-generated file failed", self.channel.number)
            path, note = None, f"pre-generated file lookup failed: {error}"
        if path is not None and path not in self.unplayable:
            try:
                byte_offset = 0
                if offset:
                    cut = find_cut(path, _ms(offset))
                    offset, byte_offset = timedelta(milliseconds=cut.offset_ms), cut.byte_offset
                    if length - offset <= START_TOLERANCE:
                        return None  # the nearest keyframe is the end: the next piece starts now
                return Entry(
                    origin=AsRunEntry.Origin.PREGEN,
                    airs_at=piece.start + offset,
                    duration=length - offset,
                    piece=piece,
                    path=path,
                    byte_offset=byte_offset,
                )
            except (OSError, TsError) as error:
                logger.warning("Channel %s: %s is unplayable (%s)", self.channel.number, path, error)
                self.unplayable.add(path)
                note = f"pre-generated file unplayable: {error}"
        if piece.playable_id is not None and piece.kind not in (PieceKind.SLATE, PieceKind.TEST_PATTERN):
            live = self._live_argv(piece, offset)
            if live is not None:
                argv, remote = live
                return Entry(
                    origin=AsRunEntry.Origin.LIVE,
                    airs_at=piece.start + offset,
                    duration=length - offset,
                    piece=piece,
                    argv=argv,
                    remote=remote,
                    trim=True,
                    note=note
                    or f"not pre-generated in time: transcoded live{' from Plex' if remote.any else ''}",
                )
            note = note or "no file to play, here or on the Plex server"
        airs_at = piece.start + offset
        return self.slate_entry(
            airs_at, min(piece.stop, airs_at + SLATE_CHUNK), piece=piece, note=note or "nothing to play"
        )

    def _live_argv(self, piece: Piece, offset: timedelta) -> tuple[list[str], RemoteParts] | None:
        """Pre-generation's encode of this piece from `offset` on, with the channel bug, to a pipe,
        with the remote parts it reads from Plex (to close when it ends); None with no file to
        read, here or on the server."""
        files = list(airing_files(piece.playable_id, self.profile).select_related("playable__source"))
        parts = []
        # The transcode runs at the pace of air: a remote part's relay URL must live that long.
        remote = RemoteParts(ttl=(piece.out_ms - piece.in_ms) / 1000 + LIVE_RELAY_GRACE_SECONDS)
        for media_file in files:
            path = media_file.local_path
            if media_file.state == FileState.FILE_NOT_FOUND or not path or not os.path.isfile(path):
                try:
                    parts.append(remote.part(media_file, probe=False))  # no time to probe on air
                except InputUnavailable:
                    remote.close()
                    return None
                continue
            parts.append(commands.SourcePart(path=path, duration_ms=media_file.duration_ms))
        in_ms = piece.in_ms + _ms(offset)
        if not parts or in_ms >= piece.out_ms:
            remote.close()
            return None
        try:
            argv = commands.pregen_argv(
                parts,
                in_ms,
                piece.out_ms,
                self.profile,
                self.live_bug(),
                "-",
                preset=pregen.encoder_preset(),
            )
        except ValueError as error:  # parts of unknown length, a cut beyond the item
            remote.close()
            logger.warning(
                "Channel %s: can't transcode piece %s live (%s)", self.channel.number, piece.pk, error
            )
            return None
        return argv, remote

    def slate_entry(
        self, start: datetime, until: datetime, *, piece: Piece | None = None, note: str = ""
    ) -> Entry:
        return Entry(
            origin=AsRunEntry.Origin.SLATE,
            airs_at=start,
            duration=max(until - start, timedelta(milliseconds=100)),
            piece=piece,
            path=self.slate,
            trim=True,
            note=note,
        )


def slate_file(profile, directory: Path | None = None) -> Path:
    """A slate encoded to `profile`, made once (a few seconds of encoding) and kept."""
    directory = directory or Path(settings.DATA_DIR) / "playout" / "slates"
    key = (
        f"{profile.width}x{profile.height}-{profile.frame_rate}-{profile.segment_seconds}s-"
        f"{profile.video_bitrate_kbps}k-{profile.audio_bitrate_kbps}k"
    )
    path = directory / f"slate-{re.sub(r'[^0-9A-Za-z.x_-]', '_', key)}.ts"
    if path.is_file():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    attempts = [
        commands.slate_argv(SLATE_FILE_MS, profile, temporary),
        commands.slate_argv(SLATE_FILE_MS, profile, temporary, message=""),  # no fonts on this host
    ]
    try:
        for attempt, argv in enumerate(attempts, start=1):
            try:
                run_command(argv, timeout=SLATE_ENCODE_TIMEOUT)
                break
            except CommandError:
                if attempt == len(attempts):
                    raise
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


# --- One channel's feed ----------------------------------------------------------------------------


@dataclass
class FeedStatus:
    entries: int = 0
    current: str = ""
    last_error: str = ""
    released_until: datetime | None = None  # schedule time up to which ffmpeg has the stream


class ChannelFeed:
    """The feed of one run of one channel's ffmpeg: its secret, its place in the schedule."""

    def __init__(
        self,
        channel: Channel,
        planner: Planner,
        *,
        segment: timedelta,
        resume_at: datetime | None = None,
        lead_segments: int = LEAD_SEGMENTS,
        clock: Callable[[], datetime] = timezone.now,
    ):
        self.channel_id = channel.pk
        self.channel_number = channel.number
        self.planner = planner
        self.segment = segment
        self.lead = segment * lead_segments
        self.clock = clock
        self.token = secrets.token_hex(8)
        self.secret = secrets.token_urlsafe(24)
        self.cursor = resume_at
        self.anchor: datetime | None = None  # schedule time of the run's first frame
        self.status = FeedStatus()
        self._interrupt = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()

    def interrupt(self) -> None:
        """End the entry on air at its next GOP boundary; the next request asks the log again."""
        self._interrupt.set()

    def close(self) -> None:
        self._closed.set()
        self._interrupt.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def next_cursor(self, now: datetime) -> datetime:
        """Where in the schedule the next entry starts: right where the last one ended, unless the
        stream fell more than a segment behind (a stall), in which case it rejoins at now.

        Normally the cursor is about `lead` plus one GOP ahead of now: ffmpeg asks for the next
        entry as soon as it has the last GOP of this one.
        """
        if self.cursor is None:
            return now
        if self.cursor < now - self.segment or self.cursor > now + self.lead + 3 * self.segment:
            logger.info(
                "Channel %s: rejoining the schedule at now (cursor was %s)", self.channel_number, self.cursor
            )
            return now
        return self.cursor

    def serve(self, index: int, send: Callable[[bytes], None]) -> None:
        """Send entry `index`: choose it, then stream it paced (see the module docstring). Whatever
        goes wrong before the first byte is replaced by the slate, so ffmpeg never gets an empty
        entry (which would end its input)."""
        with self._lock:
            self._interrupt.clear()
            cursor = self.next_cursor(self.clock())
            try:
                entry = self.planner.plan(cursor)
            except Exception as error:
                logger.exception("Channel %s: choosing entry %s failed", self.channel_number, index)
                self.status.last_error = f"choosing what airs failed: {error}"
                entry = self.planner.slate_entry(cursor, cursor + SLATE_CHUNK, note=str(error)[:200])
            if self.anchor is None:
                self.anchor = entry.airs_at
            self.status.entries += 1
            progress = _Progress(send)
            covered = None
            as_run = _record_start(self.channel_id, entry)
            try:
                try:
                    covered = self._stream(entry, progress)
                except (OSError, TsError, CommandError) as failure:
                    # What Plex refused (a remote part) says more than ffmpeg's complaint about it.
                    error = (entry.remote.error() if entry.remote else None) or failure
                    logger.warning("Channel %s: %s failed: %s", self.channel_number, entry.origin, error)
                    if entry.path is not None and entry.path != self.planner.slate:
                        self.planner.unplayable.add(entry.path)
                    if progress.sent:
                        covered = progress.offset + self.segment  # ends with the last GOP sent
                    else:
                        _record_stop(as_run, entry.airs_at, error=f"{entry.note} {error}".strip())
                        entry = self.planner.slate_entry(
                            entry.airs_at,
                            min(entry.ends_at, entry.airs_at + SLATE_CHUNK),
                            piece=entry.piece,
                            note=f"unplayable ({error})"[:500],
                        )
                        as_run = _record_start(self.channel_id, entry)
                        covered = self._stream(entry, progress)
            finally:
                self.status.current = f"{entry.origin} {entry.note}".strip()
                self.cursor = entry.airs_at + (covered if covered is not None else entry.duration)
                _record_stop(as_run, self.cursor)

    def _stream(self, entry: Entry, progress: _Progress) -> timedelta | None:
        """Stream the entry; returns the schedule time it covered if it was cut short."""
        try:
            return self._stream_bytes(entry, progress)
        finally:
            entry.release()

    def _stream_bytes(self, entry: Entry, progress: _Progress) -> timedelta | None:
        if entry.gops is not None:
            return self._paced(entry, entry.gops(), progress)
        if entry.argv is None:
            with entry.path.open("rb") as source:
                layout = parse_layout(source.read(HEAD_SIZE))
                source.seek(entry.byte_offset)
                return self._paced(entry, iter_gops(source, layout), progress)
        with tempfile.TemporaryFile() as stderr:
            process = start_process(entry.argv, stdout=subprocess.PIPE, stderr=stderr)
            try:
                head = _read_exactly(process.stdout, LIVE_HEAD_SIZE)
                try:
                    layout = parse_layout(head)
                except TsError:
                    process.wait(timeout=5)
                    stderr.seek(0)
                    raise CommandError(
                        entry.argv,
                        "produced no stream",
                        stderr_tail=stderr.read()[-2000:].decode("utf-8", "replace"),
                    ) from None
                return self._paced(entry, iter_gops(_Prepended(head, process.stdout), layout), progress)
            finally:
                stop_process(process, grace_seconds=1)
                process.stdout.close()

    def _paced(self, entry: Entry, gops: Iterator[Gop], progress: _Progress) -> timedelta | None:
        first: int | None = None
        end = entry.duration.total_seconds() if entry.trim else None
        for gop in gops:
            if first is None:
                first = gop.pts
            offset = ts_delta(gop.pts, first) / PTS_HZ
            if end is not None and offset >= end - 0.001:
                return None
            due = entry.airs_at + timedelta(seconds=offset) - self.lead
            if offset < entry.burst_seconds:
                due = min(due, self.clock())  # sent at once (a slate taking over from a lost live source)
            # The first GOP always goes out (an empty entry would end ffmpeg's input); a later one
            # waits for its time, and an interrupt cuts the entry just before it.
            if self._wait_until(due, interruptible=progress.sent):
                return timedelta(seconds=offset)
            data = gop.data
            if end is not None and offset + 1.5 * self.segment.total_seconds() > end:
                data = _trim_gop(data, first, end)  # the last GOP: cut it where the entry ends
            progress.send(data, offset)
            self.status.released_until = entry.airs_at + timedelta(seconds=offset)
        return None

    def _wait_until(self, due: datetime, *, interruptible: bool) -> bool:
        """Sleep until `due`; True if interrupted (or closed) first."""
        while True:
            if self._closed.is_set() or (interruptible and self._interrupt.is_set()):
                return True
            remaining = (due - self.clock()).total_seconds()
            if remaining <= 0:
                return False
            (self._interrupt if interruptible else self._closed).wait(min(remaining, 0.5))


class ReaderGone(Exception):
    """ffmpeg closed the connection (it was stopped or restarted): not the source's fault."""


class _Progress:
    """What of an entry has gone out: whether anything, and the offset of the last GOP sent."""

    def __init__(self, send: Callable[[bytes], None]):
        self._send = send
        self.sent = False
        self.offset = timedelta(0)

    def send(self, data: bytes, offset_seconds: float) -> None:
        try:
            self._send(data)
        except OSError as error:  # BrokenPipeError, ConnectionResetError, …
            raise ReaderGone(str(error)) from error
        self.sent = True
        self.offset = timedelta(seconds=offset_seconds)


def _trim_gop(data: bytes, first_pts: int, end_seconds: float) -> bytes:
    """Drop the PES packets of this GOP that start at or after `end_seconds` into the entry."""
    end_pts = (first_pts + int(end_seconds * PTS_HZ)) % PTS_WRAP
    out = bytearray()
    keep: dict[int, bool] = {}
    for at in range(0, len(data) - TS_PACKET + 1, TS_PACKET):
        pid = (data[at + 1] & 0x1F) << 8 | data[at + 2]
        if data[at + 1] & 0x40 and (times := pes_times(data, at)) is not None:
            keep[pid] = ts_delta(times[1], end_pts) < 0
        if keep.get(pid, True):
            out += data[at : at + TS_PACKET]
    return bytes(out)


class _Prepended:
    """A pipe with the bytes already read from it put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO):
        self.head = head
        self.rest = rest

    def read(self, size: int) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        return self.rest.read1(size)  # what the pipe has now: don't wait for a full buffer


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = source.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return bytes(data)


# The as-run log (one INSERT as an entry starts, one UPDATE as it stops; DB errors are logged, never
# raised into the stream) lives in playout.as_run, which also marks pre-generated pieces aired.
_record_start = as_run.record_start
_record_stop = as_run.record_stop


# --- The HTTP server ---------------------------------------------------------------------------------

_FEED_PATH = re.compile(
    r"^/feed/(?P<token>[0-9a-f]{16})/(?P<index>\d{1,9})\.ts\?k=(?P<secret>[A-Za-z0-9_-]+)$"
)


class FeedServer:
    """The supervisor's loopback HTTP server that every channel's ffmpeg reads its feed from."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self._feeds: dict[str, ChannelFeed] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._server.serve_forever, name="playout-feed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._lock:
            feeds = list(self._feeds.values())
            self._feeds.clear()
        for feed in feeds:
            feed.close()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def register(self, feed: ChannelFeed) -> None:
        with self._lock:
            self._feeds[feed.token] = feed

    def unregister(self, feed: ChannelFeed) -> None:
        feed.close()
        with self._lock:
            self._feeds.pop(feed.token, None)

    def url(self, feed: ChannelFeed, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/feed/{feed.token}/{index}.ts?k={feed.secret}"

    def lookup(self, token: str, secret: str) -> ChannelFeed | None:
        with self._lock:
            feed = self._feeds.get(token)
        if feed is None or feed.closed or not hmac.compare_digest(feed.secret, secret):
            return None
        return feed


def _handler_for(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class FeedHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "RetroVueFeed"

        def log_message(self, format, *args):
            logger.debug("feed %s: " + format, self.client_address[0], *args)

        def do_GET(self):
            if not ipaddress.ip_address(self.client_address[0]).is_loopback:
                return self._refuse(403)
            match = _FEED_PATH.match(self.path)
            if not match:
                return self._refuse(404)
            feed = server.lookup(match["token"], match["secret"])
            if feed is None:
                return self._refuse(403)
            self.send_response(200)
            self.send_header("Content-Type", "video/mp2t")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Accept-Ranges", "none")
            self.send_header("Connection", "close")
            self.end_headers()

            def send(data: bytes) -> None:
                if data:
                    self.wfile.write(b"%x\r\n" % len(data) + data + b"\r\n")

            close_old_connections()
            try:
                feed.serve(int(match["index"]), send)
                self.wfile.write(b"0\r\n\r\n")
            except (ReaderGone, ConnectionError):
                logger.info("Channel %s: ffmpeg left entry %s early", feed.channel_number, match["index"])
            except Exception as error:
                feed.status.last_error = str(error)[:500]
                logger.exception("Channel %s: entry %s failed", feed.channel_number, match["index"])
            finally:
                self.close_connection = True
                connections.close_all()

        def _refuse(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

    return FeedHandler


__all__ = [
    "LEAD_SEGMENTS",
    "ChannelFeed",
    "Cut",
    "Entry",
    "FeedServer",
    "Gop",
    "Planner",
    "TsError",
    "TsLayout",
    "find_cut",
    "iter_gops",
    "keyframes",
    "parse_layout",
    "slate_file",
]
