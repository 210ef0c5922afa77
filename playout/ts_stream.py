"""`/iptv/channel/<number>.ts`: a channel as one continuous MPEG transport stream over HTTP.

This view serves the embedded default (`./bin/run`: tuners reach the web server directly). Behind
nginx in production the same URLs go to the TS fan-out server (`playout.ts_fanout`), which reads
each channel once for all its viewers and uses this module's tune-in, tuner and timing rules.

Tuners (Plex Live TV through the HDHomeRun emulation, Channels DVR, plain IPTV players) want a
never-ending TS, not HLS. The channel's segments come from one ffmpeg muxer whose continuity
counters run on across segments (see `playout.channel_process`), so the stream is simply the
segments of the live playlist, in order, as they appear: no process per viewer, nothing decoded.

Tune-in. The feed writes the stream about `LEAD_SEGMENTS` segments ahead of the wall clock, so the
playlist already holds the next few seconds. A new viewer starts at the segment on air now (each
segment opens with PAT/PMT and a keyframe, and its program date time is the schedule's), and gets
everything from there to the newest segment in one burst, then each new segment as it is cut,
which is real time. Players probe several seconds of a TS before showing a frame (ffmpeg's
defaults about 5 s); the burst is that probe, so the first frame shows at once and is "now" to
within a segment. Where no segment covers now (a stalled or restarting channel) the response
starts `START_SEGMENTS_BACK` segments behind the live edge. A reader that falls out of the
playlist window jumps to the same place; a channel that stops producing segments ends the
response after `GIVE_UP_SECONDS`.

Connections: a stream lasts hours but queries the database only at its start, every
`RECHECK_SECONDS`, every `viewer_counts.PUBLISH_SECONDS` (its web process's viewer counts, see
`playout.viewer_counts`) and at its end, so it closes its connection after each of those; holding one per
viewer would use up PostgreSQL's `max_connections` with a few dozen tuners (seen with 20 channels'
streams read at once beside the playout supervisor).

Tuner count: each stream holds one of `TunerCount` lock files (an `flock`, so it counts across
web worker processes and frees itself if a process dies); when all are held the answer is 503, as
a real HDHomeRun's would be.
"""

from __future__ import annotations

import fcntl
import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.views.decorators.http import require_safe

from playout import hls
from playout.demand import note_demand
from playout.viewer_counts import web_tally
from retrovue.core.stream_access import refuse_without_token, viewer_recheck
from retrovue.env import env_int
from scheduling.models import Channel

logger = logging.getLogger(__name__)

CONTENT_TYPE = "video/mp2t"
START_SEGMENTS_BACK = 2
POLL_SECONDS = 0.2
# How long to wait for a playlist when a tuner asks for a channel that is just starting.
WAIT_FOR_PLAYLIST_SECONDS = 1.5
GIVE_UP_SECONDS = 30
# An open stream asks again whether its viewer may still watch (token revoked, account
# deactivated, channel disabled) this often; a stream can last for days.
RECHECK_SECONDS = 30
CHUNK = 64 * 1024
DEFAULT_TUNER_COUNT = 4


def tuner_count() -> int:
    count = getattr(settings, "RETROVUE_HDHR_TUNER_COUNT", None)
    return (
        int(count)
        if count is not None
        else env_int("RETROVUE_HDHR_TUNER_COUNT", DEFAULT_TUNER_COUNT, minimum=1)
    )


def tuner_dir() -> Path:
    return Path(settings.DATA_DIR) / "playout" / "tuners"


class TunerSlot:
    """One held tuner: an exclusive lock on one of the tuner files."""

    def __init__(self, handle, index: int):
        self._handle = handle
        self.index = index

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the lock
            self._handle = None


def acquire_tuner(count: int | None = None, directory: Path | None = None) -> TunerSlot | None:
    count = tuner_count() if count is None else count
    directory = directory or tuner_dir()
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        handle = (directory / f"tuner-{index}.lock").open("a+b")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        return TunerSlot(handle, index)
    return None


def tuners_in_use(count: int | None = None, directory: Path | None = None) -> int:
    count = tuner_count() if count is None else count
    directory = directory or tuner_dir()
    if not directory.is_dir():
        return 0
    busy = 0
    for index in range(count):
        path = directory / f"tuner-{index}.lock"
        if not path.exists():
            continue
        with path.open("a+b") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                busy += 1
            else:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return busy


class SegmentStream:
    """The iterator behind the response: segment bytes in order, following the playlist.

    A class rather than a generator so that `close()` (Django calls it when the response ends,
    however it ends) always frees the tuner, even for a response that was never read.
    """

    def __init__(self, channel: Channel, slot: TunerSlot, still_allowed: Callable[[], bool] | None = None):
        self.channel = channel
        self.number = channel.number
        self.slot = slot
        self.still_allowed = still_allowed
        self._chunks = self._generate()
        self._counted = False

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        self._chunks.close()
        self.slot.release()
        if self._counted:
            self._counted = False
            web_tally().ts_closed(self.number)

    def _generate(self):
        web_tally().ts_opened(self.number)
        self._counted = True
        _release_connection()
        directory = hls.channel_dir(self.number)
        next_msn: int | None = None
        last_progress = last_check = time.monotonic()
        while True:
            if web_tally().maybe_publish():  # keeps this process's counts from going stale
                _release_connection()
            if self.still_allowed is not None and time.monotonic() - last_check >= RECHECK_SECONDS:
                last_check = time.monotonic()
                allowed = self.still_allowed()
                _release_connection()
                if not allowed:
                    logger.info("Channel %s: a TS viewer may no longer watch; ending the stream", self.number)
                    return
            playlist = hls.read_playlist(self.number)
            segments = playlist.segments if playlist else []
            if segments:
                if next_msn is None:
                    next_msn = tune_in_segment(segments, timezone.now()).msn
                elif next_msn < segments[0].msn:
                    logger.info("Channel %s: a TS reader fell behind the window; jumping ahead", self.number)
                    next_msn = tune_in_segment(segments, timezone.now()).msn
            pending = [segment for segment in segments if next_msn is not None and segment.msn >= next_msn]
            for segment in pending:
                try:
                    handle = (directory / segment.uri).open("rb")
                except FileNotFoundError:
                    continue  # deleted under us: the next playlist read moves us on
                with handle:
                    while chunk := handle.read(CHUNK):
                        yield chunk
                next_msn = segment.msn + 1
                last_progress = time.monotonic()
            if time.monotonic() - last_progress > GIVE_UP_SECONDS:
                logger.warning(
                    "Channel %s: no new segment for %s s; ending a TS stream", self.number, GIVE_UP_SECONDS
                )
                return
            time.sleep(POLL_SECONDS)


def _release_connection() -> None:
    """Close this thread's database connection until the stream's next query (see the module
    docstring). Never inside a transaction: that is the caller's (a test's) to end."""
    if not connection.in_atomic_block:
        connection.close()


def tune_in_segment(segments: list[hls.PlaylistSegment], now: datetime) -> hls.PlaylistSegment:
    """Where a new TS viewer starts: the segment on air at `now`, else `START_SEGMENTS_BACK` from
    the edge (see the module docstring)."""
    for segment in reversed(segments):
        if segment.program_date_time <= now:
            if now < segment.ends_at:
                return segment
            break
    return segments[max(0, len(segments) - START_SEGMENTS_BACK)]


def _wait_for_playlist(number: str) -> bool:
    deadline = time.monotonic() + WAIT_FOR_PLAYLIST_SECONDS
    path = hls.playlist_path(number)
    while not path.is_file():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


@require_safe
def channel_ts(request, number: str):
    """The channel as MPEG-TS: 200 video/mp2t, first bytes at once; 404 unknown; 503 all tuners busy."""
    denied = refuse_without_token(request)
    if denied:
        return denied
    channel = get_object_or_404(Channel, number=number, enabled=True)
    if not channel.always_on:
        note_demand(channel)
    if request.method == "HEAD":
        response = HttpResponse(content_type=CONTENT_TYPE)
        response["Cache-Control"] = "no-store"
        return response
    if not _wait_for_playlist(number):
        return _unavailable("The channel is not on air yet.", retry_after=5)
    slot = acquire_tuner()
    if slot is None:
        return _unavailable("All tuners are in use.", retry_after=10)
    response = StreamingHttpResponse(
        SegmentStream(channel, slot, still_allowed=viewer_recheck(request, channel)),
        content_type=CONTENT_TYPE,
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass the stream through as it comes
    return response


def _unavailable(message: str, *, retry_after: int) -> HttpResponse:
    response = HttpResponse(message, status=503, content_type="text/plain")
    response["Retry-After"] = str(retry_after)
    return response


__all__ = ["SegmentStream", "acquire_tuner", "channel_ts", "tune_in_segment", "tuner_count", "tuners_in_use"]
