"""Live events: a slot fed by a live source (HLS, SRT, RTMP or UDP), transcoded live to the channel's
profile with its bug, and a "We'll be right back" slate whenever the source is not there.

The feed asks `plan(planner, cursor)` before anything else (one hook in `playout.feed.Planner.plan`).
When a live event's piece covers `cursor` it answers with:

- a *live* entry while the source delivers: GOPs from a `LiveSource`, the channel's own encode of
  the source (one closed GOP per segment, like every pre-generated piece), sent as they arrive;
- a short *slate* entry ("We'll be right back", two segments) while it does not, after which the
  feed asks again: the source is picked up again at the first boundary after it returns.

Timing across a loss. The feed runs `lead` ahead of the wall clock and sends each GOP when it is
due; a live GOP arrives a little before that (the feed takes a live entry's first GOP when it is
due, so each one waits less than a segment). When the source goes, the GOP after the last one never
comes; the segment muxer closes the last live segment only when the next keyframe arrives, so the
slate's first GOP must be there by the time that GOP was due, and at its own pace: sending slate
ahead of time would put the live edge ahead of the clock and then leave a hole as long as the
burst. So a loss is declared as soon as it can be known (the next GOP is `LATE_SECONDS` overdue,
or the encode's output time stood still for `PROGRESS_STALL_SECONDS`), which is before the slate
is due, and the first slate after a loss lasts half a segment: its segment is listed half a
segment sooner, every segment still goes out on time.

A `LiveSource` keeps one ffmpeg reading the source for as long as the event needs it (started a
little before the slot, so the first segment of the slot is already live), restarting it after a
loss. It watches the encode's *output*, not only its exit (DESK_NOTES §2: most live inputs exit 0,
and some hang for ever, when the source goes): no new GOP, or `-progress` showing no new output
time, is a loss (see above); the live entry ends at its last GOP, the slate follows it at the
feed's pace, and the stuck process is stopped (SIGTERM, then SIGKILL). ffmpeg's own
`-reconnect*` options are not used: reconnecting is this module's job, so the slate can air meanwhile.

The URL is checked again here against the allow-list (`scheduling.live_sources`) and ffmpeg only
gets the protocols that source's scheme needs (`-protocol_whitelist`): no file, concat or subfile,
not even from inside an HLS playlist.

A live event whose end staff move (end early, extend) rebuilds the log; the live entry notices
within a GOP that its piece is gone and the feed asks the log again.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from playout import ffmpeg_commands as commands
from playout.models import AsRunEntry
from playout.mpegts import HEAD_SIZE, LIVE_HEAD_SIZE, Gop, TsError, iter_gops, parse_layout, read_exactly
from playout.planner import START_TOLERANCE, Entry
from retrovue.subprocesses import CommandError, run_command, start_process, stop_process
from scheduling.choices import PieceKind
from scheduling.live_sources import LiveSourceRefused, _checked, protocol_whitelist
from scheduling.models import Piece

logger = logging.getLogger(__name__)

# A GOP this late (after the previous one's arrival plus one GOP) and the source counts as lost.
LATE_SECONDS = 1.0
# `-progress` reports every 0.5 s; an output time that stands still this long is a lost source.
PROGRESS_STALL_SECONDS = 1.5
# A live source is started this long before its slot, so the slot opens on the live picture.
PREWARM = timedelta(seconds=30)
# The slate aired while the source is away, in segments: short, so a returning source is taken soon.
SLATE_SEGMENTS = 2
# The first slate after a loss, in segments: its segment is listed this much sooner (see module doc).
FIRST_SLATE_SEGMENTS = 0.5
# A source nobody asked for this long is stopped (its event ended, moved or was deleted).
IDLE_SECONDS = 30.0
# Seconds between two starts of a source's ffmpeg after a failure.
RESTART_SECONDS = 1.0
# How many GOPs a source keeps for a reader that attaches (the newest is where a live entry starts).
BACKLOG_GOPS = 4
# How often a live entry checks that its piece is still on the log (ended early, moved).
RECHECK_SECONDS = 2.0
RIGHT_BACK_MESSAGE = "We'll be right back"
RIGHT_BACK_MS = 12_000
_PROGRESS_TIME = re.compile(rb"^out_time_us=(\d+)", re.MULTILINE)


class LiveSourceLost(OSError):
    """The live source stopped delivering (the live entry ends at its last GOP)."""


class LiveEventMoved(OSError):
    """The live event's piece left the log (ended early or moved): ask the log again."""


# --- the command ---------------------------------------------------------------------------------


def input_options(url: str) -> list[str]:
    """Protocol options so a dead source ends the read instead of hanging (DESK_NOTES §2)."""
    scheme = urlsplit(url).scheme.lower()
    # Probe one second of input, not five: the live picture starts sooner.
    options = [
        "-protocol_whitelist",
        protocol_whitelist(url),
        "-analyzeduration",
        "1000000",
        "-probesize",
        "1000000",
    ]
    if scheme in ("http", "https"):
        options += ["-rw_timeout", "3000000"]
        if urlsplit(url).path.endswith(".m3u8"):
            options += ["-m3u8_hold_counters", "3", "-live_start_index", "-1"]
    elif scheme in ("rtmp", "rtmps"):
        options += ["-rw_timeout", "1000000"]
    elif scheme in ("udp", "srt"):
        options += ["-timeout", "2000000"]
    return options


def live_input_argv(url: str, profile, bug: commands.Bug | None = None, *, ffmpeg: str | None = None,
                    preset: str = "veryfast") -> list[str]:  # fmt: skip
    """Read the live source and encode it to `profile` (pre-generation's output settings: closed
    GOPs of one segment, 48 kHz AAC), with the bug, as MPEG-TS on stdout; progress on stderr."""
    fps = commands.frame_rate(profile)
    width, height = profile.width, profile.height
    rate = commands._rate(fps)
    filters = [
        f"[0:v:0]fps=fps={rate},{commands._fit(width, height)},format=yuv420p[vfit]",
        f"[0:a:0]aresample={commands.AUDIO_RATE}:async=1:first_pts=0,"
        f"aformat=sample_fmts=fltp:sample_rates={commands.AUDIO_RATE}:channel_layouts=stereo[aout]",
    ]
    inputs = [*input_options(url), "-i", url]
    video = "[vfit]"
    if bug is not None:
        inputs += ["-i", commands._file_url(bug.path)]
        filters.append(commands._bug_filter(1, bug, width, height, video))
        video = "[vbug]"
    return [
        ffmpeg or settings.RETROVUE_FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error",
        "-progress", "pipe:2", "-stats_period", "0.5",
        *inputs,
        "-filter_complex", ";".join(filters), "-map", video, "-map", "[aout]",
        *commands._output_args(profile, preset, "-"),
    ]  # fmt: skip


def right_back_slate(profile, directory: Path | None = None) -> Path:
    """The "We'll be right back" card for a profile, encoded once and kept (like the feed's slate)."""
    directory = directory or Path(settings.DATA_DIR) / "playout" / "slates"
    key = f"{profile.width}x{profile.height}-{profile.frame_rate}-{profile.segment_seconds}s-{profile.video_bitrate_kbps}k"
    path = directory / f"right-back-{re.sub(r'[^0-9A-Za-z.x_-]', '_', key)}.ts"
    if path.is_file():
        return path
    directory.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        for message in (RIGHT_BACK_MESSAGE, ""):  # "": a host without fonts
            try:
                run_command(commands.slate_argv(RIGHT_BACK_MS, profile, temporary, message=message, subtitle=""),
                            timeout=120)  # fmt: skip
                break
            except CommandError:
                if not message:
                    raise
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


# --- one source, kept running ----------------------------------------------------------------------


class LiveSource:
    """One live input's ffmpeg, restarted after each loss, its GOPs kept for the channel's feed."""

    def __init__(
        self, url: str, argv: list[str], *, gop_seconds: float, clock: Callable[[], float] = time.monotonic
    ):
        self.url = url
        self.argv = argv
        self.gop_seconds = gop_seconds  # the encode's GOP: one segment (GOPs come this often)
        self.clock = clock
        self.layout = None
        self.losses = 0
        self.last_error = ""
        self._gops: collections.deque[tuple[int, Gop]] = collections.deque(maxlen=BACKLOG_GOPS)
        self._sequence = 0
        self._last_gop = 0.0
        self._last_progress = 0.0
        self._lost_at = 0.0
        self.just_lost = False  # the next slate is the short one (see plan)
        self._progress_time = -1
        self._wanted = clock()
        self._process: subprocess.Popen | None = None
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"live-source {urlsplit(url).hostname}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def want(self) -> None:
        """Someone still needs this source (else it stops itself after IDLE_SECONDS)."""
        self._wanted = self.clock()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is not None:
            stop_process(process, grace_seconds=2)
        with self._changed:
            self._changed.notify_all()

    @property
    def stopped(self) -> bool:
        return self._stopping.is_set()

    @property
    def loss_seconds(self) -> float:
        """No GOP for this long and the source is gone: one GOP, and a GOP late."""
        return self.gop_seconds + LATE_SECONDS

    def delivering(self) -> bool:
        """A GOP arrived recently and the encode's output time is still moving."""
        now = self.clock()
        return (
            self.layout is not None
            and self._last_gop > self._lost_at  # nothing stale from before the last loss
            and now - self._last_gop < self.loss_seconds
            and now - self._last_progress < PROGRESS_STALL_SECONDS
            and bool(self._gops)
        )

    # The reader side: what a live entry streams.

    def gops(self, still_on_air: Callable[[], bool]) -> Iterator[Gop]:
        """GOPs from the newest one on, as they arrive; raises LiveSourceLost as soon as the next
        GOP is LATE_SECONDS overdue or the encode's output time stands still, LiveEventMoved when
        the event left the log."""
        with self._changed:
            if not self._gops:
                raise LiveSourceLost("the live source has nothing to send")
            sequence, gop, arrived = self._gops[-1]
            layout = self.layout
        yield Gop(gop.pts, layout.psi + gop.data)  # program tables first: a decoder can start here
        checked = self.clock()
        while True:
            self.want()
            with self._changed:
                while not self._stopping.is_set():
                    newer = [item for item in self._gops if item[0] > sequence]
                    if newer:
                        break
                    # Counted from the last GOP's arrival, not from when the feed asks: the feed
                    # asks only when that GOP was due, and the slate must be ready by the next one's.
                    overdue_at = arrived + self.loss_seconds
                    stalled_at = self._last_progress + PROGRESS_STALL_SECONDS
                    now = self.clock()
                    if now >= overdue_at:
                        raise self._lost(now, f"no picture from the live source for {now - arrived:.1f} s")
                    if now >= stalled_at:
                        # The encode's output time stopped: the source is gone (or frozen) now,
                        # before the GOP that would tell us so could ever complete.
                        raise self._lost(
                            now, "the live source stopped (its encode's output time stands still)"
                        )
                    self._changed.wait(min(overdue_at, stalled_at) - now + 0.01)
                else:
                    raise LiveSourceLost("the live source was stopped")
            for _, gop, _ in newer:
                yield gop
            sequence, _, arrived = newer[-1]
            if self.clock() - checked >= RECHECK_SECONDS:
                checked = self.clock()
                if not still_on_air():
                    raise LiveEventMoved("the live event is no longer on the log here")

    def _lost(self, now: float, reason: str) -> LiveSourceLost:
        """Mark the loss (the next slate is the short one); the error for the live entry to raise.
        The log line leaves out ffmpeg's own message, which may quote the URL and its secrets."""
        self._lost_at = now
        self.just_lost = True
        logger.info("Live source %s: lost (%s)", _safe(self.url), reason)
        return LiveSourceLost(reason)

    # The writer side: one ffmpeg after another.

    def _run(self) -> None:
        while not self._stopping.is_set():
            if self.clock() - self._wanted > IDLE_SECONDS:
                logger.info("Live source %s: not needed any more, stopping", self.url)
                self._stopping.set()
                break
            began = self.clock()
            try:
                self._read_once()
            except Exception as error:  # a source problem must never take the supervisor down
                self.last_error = str(error)[:500]
                logger.warning("Live source %s: %s", _safe(self.url), error)
            if not self._stopping.is_set():
                self.losses += 1
                self._stopping.wait(max(0.0, RESTART_SECONDS - (self.clock() - began)))

    def _read_once(self) -> None:
        process = start_process(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._process = process
        self._last_progress = self.clock()
        self._progress_time = -1  # each run's output time starts again from 0
        watcher = threading.Thread(target=self._watch, args=(process,), daemon=True)
        progress = threading.Thread(target=self._read_progress, args=(process,), daemon=True)
        watcher.start()
        progress.start()
        try:
            head = read_exactly(process.stdout, LIVE_HEAD_SIZE)
            if not head:
                raise LiveSourceLost("the live source sent nothing")
            try:
                layout = parse_layout(head)
            except TsError as error:
                raise LiveSourceLost(f"the live encode produced no stream ({error})") from None
            self.layout = layout
            stream = _Prepended(head, process.stdout)
            for gop in iter_gops(stream, layout):
                if stream.ended:
                    # What ffmpeg flushes as it exits: a GOP cut short, which the feed would count as
                    # a whole segment. The source is gone anyway.
                    break
                with self._changed:
                    self._sequence += 1
                    self._gops.append((self._sequence, gop, self.clock()))
                    self._last_gop = self.clock()
                    self._changed.notify_all()
                logger.debug("Live source %s: GOP at %.3f s", _safe(self.url), gop.pts / 90_000)
                if self._stopping.is_set():
                    break
        finally:
            stop_process(process, grace_seconds=2)
            process.stdout.close()
            watcher.join(timeout=5)
            progress.join(timeout=5)
            self._process = None
            with self._changed:
                self._gops.clear()
                self._changed.notify_all()

    def _watch(self, process: subprocess.Popen) -> None:
        """Stop an encode whose output stopped moving (a source that hangs rather than exits)."""
        started = self.clock()
        while process.poll() is None and not self._stopping.is_set():
            now = self.clock()
            if self._last_gop < started:
                time.sleep(
                    0.25
                )  # not delivering yet: connecting, or waiting for a caller (ffmpeg's timeouts)
                continue
            quiet_since = max(self._last_gop, self._last_progress)
            if now - quiet_since > self.loss_seconds + 1 or now - self._last_gop > self.loss_seconds * 2:
                logger.info("Live source %s: output stalled, stopping its ffmpeg", _safe(self.url))
                stop_process(process, grace_seconds=2)
                return
            time.sleep(0.25)

    def _read_progress(self, process: subprocess.Popen) -> None:
        """`-progress` lines: the output time moving is the encode's heartbeat."""
        for line in iter(process.stderr.readline, b""):
            match = _PROGRESS_TIME.match(line)
            if match and match.group(1).isdigit():
                value = int(match.group(1))
                if value > self._progress_time:
                    self._progress_time = value
                    self._last_progress = self.clock()
            elif line.strip() and not line.startswith((b"Last message repeated", b"frame=", b"fps=", b"stream_", b"bitrate=", b"total_",
                                                         b"out_time", b"dup_", b"drop_", b"speed=", b"progress=")):  # fmt: skip
                self.last_error = line.decode("utf-8", "replace").strip()[:500]


def _safe(url: str) -> str:
    """The URL for logs, without credentials or query (SRT passphrases, stream keys)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


class _Prepended:
    """The encode's stdout with its head put back in front; `ended` once it reached its end."""

    def __init__(self, head: bytes, rest):
        self.head = head
        self.rest = rest
        self.ended = False

    def read(self, size: int) -> bytes:
        if self.head:
            data, self.head = self.head, b""
            return data
        data = self.rest.read1(size)
        self.ended = not data
        return data


# --- the sources of this process, and the feed's hook -----------------------------------------------

_sources: dict[tuple[int, str], LiveSource] = {}
_slates_made: set[str] = set()


def _slate_ready_soon(profile) -> None:
    """Encode the "right back" slate in the background before the event needs it (a few seconds
    of encoding must not fall on the moment a source drops)."""
    key = f"{profile.pk}:{profile.width}x{profile.height}:{profile.frame_rate}:{profile.segment_seconds}"
    with _lock:
        if key in _slates_made:
            return
        _slates_made.add(key)

    def make():
        try:
            right_back_slate(profile)
        except Exception:
            logger.exception("Could not make the live events' slate for %s", profile)
            with _lock:
                _slates_made.discard(key)

    threading.Thread(target=make, name="right-back slate", daemon=True).start()


_lock = threading.Lock()


def source_for(
    channel_id: int, url: str, argv_for: Callable[[], list[str]], gop_seconds: float
) -> LiveSource:
    with _lock:
        source = _sources.get((channel_id, url))
        if source is None or source.stopped:
            source = _sources[(channel_id, url)] = LiveSource(url, argv_for(), gop_seconds=gop_seconds)
            source.start()
        source.want()
        return source


def _retire(channel_id: int, keep: set[str]) -> None:
    with _lock:
        for key in [key for key in _sources if key[0] == channel_id and key[1] not in keep]:
            _sources.pop(key).stop()


@atexit.register
def stop_all() -> None:
    with _lock:
        sources = list(_sources.values())
        _sources.clear()
    for source in sources:
        source.stop()


def plan(planner, cursor: datetime) -> Entry | None:
    """The feed's hook: a live event's entry if one is on the air at `cursor` (see module doc);
    None otherwise. Also starts the source of an event about to begin."""
    channel = planner.channel
    at = cursor + START_TOLERANCE
    pieces = list(
        Piece.objects.filter(channel=channel, kind=PieceKind.LIVE, stop__gt=at, start__lt=cursor + PREWARM)
        .select_related("program__desk_entry")
        .order_by("start")
    )
    urls = {}
    for piece in pieces:
        entry = piece.program.desk_entry
        url = entry.live_url if entry is not None else ""
        try:
            urls[piece.pk] = _checked(url)
        except LiveSourceRefused as refusal:
            urls[piece.pk] = None
            planner.live_refusal = str(refusal)
    _retire(channel.pk, {url for url in urls.values() if url})
    if pieces:
        _slate_ready_soon(planner.profile)
    current = next((piece for piece in pieces if piece.start <= at), None)
    sources = {}
    for piece in pieces:
        if urls[piece.pk]:
            sources[piece.pk] = source_for(
                channel.pk,
                urls[piece.pk],
                lambda url=urls[piece.pk]: live_input_argv(url, planner.profile, planner.live_bug()),
                gop_seconds=planner.profile.segment_seconds,
            )
    if current is None:
        return None
    url = urls[current.pk]
    until = current.stop
    segments = SLATE_SEGMENTS
    if url:
        source = sources[current.pk]
        if source.delivering():
            piece_id = current.pk

            def still_on_air() -> bool:
                return Piece.objects.filter(pk=piece_id, stop=until).exists()

            return Entry(
                origin=AsRunEntry.Origin.EVENT, airs_at=cursor, duration=until - cursor, piece=current,
                trim=True, note=f"live from {_safe(url)}", gops=lambda: source.gops(still_on_air),
            )  # fmt: skip
        note = f"live source not there ({source.last_error or 'waiting for it'})"
        if source.just_lost:
            source.just_lost = False
            segments = FIRST_SLATE_SEGMENTS
    else:
        note = f"live source refused: {getattr(planner, 'live_refusal', 'no URL')}"
    chunk = timedelta(seconds=planner.profile.segment_seconds * segments)
    return Entry(
        origin=AsRunEntry.Origin.SLATE, airs_at=cursor, duration=min(until - cursor, chunk), piece=current,
        path=right_back_slate(planner.profile), trim=True, note=note[:500],
    )  # fmt: skip


__all__ = ["HEAD_SIZE", "LiveSource", "LiveSourceLost", "live_input_argv", "plan", "right_back_slate"]
