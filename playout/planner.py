"""What airs next on a channel, decided at each boundary of its feed (see `playout.feed`).

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

import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings

from catalog.choices import FileState
from catalog.media.versions import airing_files
from playout import ffmpeg_commands as commands
from playout import pregen
from playout.inputs import InputUnavailable, RemoteParts, readable_here
from playout.models import AsRunEntry
from playout.mpegts import TsError, find_cut
from retrovue.subprocesses import CommandError, run_command
from scheduling.choices import PieceKind
from scheduling.models import Channel, Piece

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playout.mpegts import Gop

logger = logging.getLogger(__name__)

# A cursor this close to a piece's start starts the piece from the top (clock jitter, rounding).
START_TOLERANCE = timedelta(milliseconds=250)
# Slates are served in chunks of at most this long, so the log is asked again regularly.
SLATE_CHUNK = timedelta(seconds=10)
SLATE_FILE_MS = 12_000
SLATE_ENCODE_TIMEOUT = 120
# A live transcode of a remote part may run this much longer than its piece (the relay's backstop).
LIVE_RELAY_GRACE_SECONDS = 300


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
    interrupt_key: str | None = None  # what interrupts the channel, for entries that air an interruption

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
        # What interrupts the channel now (see playout.interruptions): its key, whether it is a
        # crawl, and the schedule time the programme left the screen.
        self.interruption_on_air: str | None = None
        self.interruption_crawling = False
        self.interruption_began: datetime | None = None

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
        from playout import interruptions  # it builds on this module

        returning = self.interruption_on_air is not None
        interrupting = interruptions.entry_for(self, cursor)  # an emergency alert goes first
        if interrupting is not None:
            return interrupting
        return self.programme(cursor, on_the_cursor=returning)

    def programme(self, cursor: datetime, *, on_the_cursor: bool = False) -> Entry:
        """What the schedule airs from `cursor` on, interruptions aside (a crawl draws over it)."""
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
            entry = self._entry_for(piece, cursor, on_the_cursor=on_the_cursor)
            if entry is not None:
                return entry
            cursor = piece.stop
        return self.slate_entry(cursor, cursor + SLATE_CHUNK, note="only slivers scheduled")

    def _entry_for(self, piece: Piece, cursor: datetime, *, on_the_cursor: bool = False) -> Entry | None:
        """The piece from `cursor` on. With `on_the_cursor` (the stream is already at `cursor`, as
        when an alert ends mid-piece), a pre-generated piece airs from its keyframe at or before
        the cursor, late by less than a segment, and is cut that much short at its end, so the
        stream, the schedule and the as-run log stay on the same clock."""
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
                if offset and on_the_cursor:
                    # The keyframe nearest a little under half a segment back is the one at or
                    # before the cursor (a keyframe right on the cursor wins).
                    back = int(float(self.profile.segment_seconds) * 450)
                    cut = find_cut(path, max(0, _ms(offset) - back))
                    if timedelta(milliseconds=cut.offset_ms) <= offset:
                        return Entry(
                            origin=AsRunEntry.Origin.PREGEN,
                            airs_at=cursor,
                            duration=length - offset,
                            piece=piece,
                            path=path,
                            byte_offset=cut.byte_offset,
                            trim=True,
                        )
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

    def _live_argv(
        self, piece: Piece, offset: timedelta, *, overlay: str = ""
    ) -> tuple[list[str], RemoteParts] | None:
        """Pre-generation's encode of this piece from `offset` on, with the channel bug (and an
        alert's crawl, `overlay`), to a pipe, with the remote parts it reads from Plex (to close
        when it ends); None with no file to read, here or on the server."""
        files = list(airing_files(piece.playable_id, self.profile).select_related("playable__source"))
        parts = []
        # The transcode runs at the pace of air: a remote part's relay URL must live that long.
        remote = RemoteParts(ttl=(piece.out_ms - piece.in_ms) / 1000 + LIVE_RELAY_GRACE_SECONDS)
        for media_file in files:
            path = media_file.local_path
            if media_file.state == FileState.FILE_NOT_FOUND or not readable_here(path):
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
                overlay=overlay,
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
