"""Chapter tools: where an item's commercial breaks may fall, and how staff set them.

Marks come from four origins, and each origin's rows belong to the one process that writes them,
which replaces all of them whenever it runs again:

* `plex` — the chapters Plex reports (the Plex sync),
* `embedded` — chapters stored in the file (`import_embedded_chapters`, and the background probe),
* `detected` — black frames over silence found by ffmpeg (`generate_chapter_marks`),
* `manual` — the list staff saved in the chapter editor (`save_marks`).

**Editing a mark that came from Plex, the file or detection.** The editor shows the marks in use
(`effective_marks`), whatever their origin, and saves the complete final list as the item's
`manual` marks. It never rewrites or deletes the other origins' rows, and once an item has manual
marks those are the only ones that count. So a mark staff moved or deleted stays moved or deleted
when the next Plex sync, file probe or detection run replaces its own rows — which they do on their
own schedule, without asking anyone — while those rows remain a record of what each source said,
which the editor offers again as "not in use". Saving an empty list removes the manual marks and
hands the item back to the machine origins (with no marks at all, the scheduler spaces breaks
evenly, so "no marks" is not a way to say "no breaks" anyway).

Without manual marks, the first origin that has any supplies all of them, in the order plex,
embedded, detected. Origins are not mixed: Plex usually reports the file's own chapters, so plex
and embedded marks would double up, and detection is a guess for files that have nothing better.

**Detection.** One ffmpeg run decodes the file with `blackdetect` on the picture and
`silencedetect` on the first audio track. A break is plausible where the picture is black while
the sound is silent (black alone is enough when the file has no audio), not too close to either end,
and not too long (a long black stretch is a night scene, not a break). Candidates closer together
than a minimum spacing are merged, keeping the one that stays quiet longest. The mark goes in the
middle of the stretch that is both black and silent: a cut there has black on both sides, so one
that lands a frame or two off (keyframes, rounding) still shows black, never the last frame of
an act.

Multi-part items: the tools work on the item's first part; times are relative to its start.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction

from catalog.choices import SHORT_FORM_KINDS, ChapterOrigin, ContentKind, FileState
from catalog.media.probe import ProbeError, probe_chapters, probe_media_file
from catalog.media.versions import airing_files  # the reference version's parts
from catalog.models import ChapterMark, Episode, MediaFile, Movie, Playable, ShortFormItem
from retrovue.core.formatting import format_duration_ms
from retrovue.subprocesses import CommandError, run_command

# Which origin's marks are in use when several have some: the first one present.
ORIGIN_PRECEDENCE = (ChapterOrigin.MANUAL, ChapterOrigin.PLEX, ChapterOrigin.EMBEDDED, ChapterOrigin.DETECTED)
MAX_MARKS = 500
TITLE_MAX_LENGTH = 200


class ChapterToolError(Exception):
    """A chapter tool could not do its work; the message is written for staff."""


class NoMediaFile(ChapterToolError):
    """The item has no media file at all."""


class FileNotLocal(ChapterToolError):
    """The item's file is not readable on this machine (remote-only, missing, unavailable)."""


class MarkValidationError(ChapterToolError):
    """A list of marks from the editor that cannot be saved as it is."""


# --- Detection: pure parts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """A stretch of the file, in seconds."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def overlap(self, other: Span) -> float:
        return max(0.0, min(self.end, other.end) - max(self.start, other.start))


@dataclass(frozen=True)
class DetectionSettings:
    """What counts as a plausible break, and how ffmpeg's detectors are tuned."""

    start_margin_seconds: float = 60.0
    end_margin_seconds: float = 30.0
    min_spacing_seconds: float = 120.0
    min_black_seconds: float = 0.1
    max_black_seconds: float = 10.0
    # A pixel is black below this share of the luma range; a frame is black when 98 % of it is.
    black_pixel_threshold: float = 0.10
    black_picture_ratio: float = 0.98
    silence_noise_db: float = -50.0
    min_silence_seconds: float = 0.3
    min_quiet_overlap_seconds: float = 0.1
    # Decoding is many times faster than real time; one second per second of media is generous.
    timeout_per_media_second: float = 1.0
    min_timeout_seconds: float = 60.0

    def timeout_for(self, duration_seconds: float) -> float:
        return self.min_timeout_seconds + duration_seconds * self.timeout_per_media_second


DEFAULT_DETECTION = DetectionSettings()


@dataclass(frozen=True)
class DetectedBreak:
    """A plausible break: where to cut, the black stretch around it, how long it is quiet."""

    time_ms: int
    black: Span
    quiet_seconds: float


def detection_argv(path: str, detection: DetectionSettings = DEFAULT_DETECTION) -> list[str]:
    """ffmpeg decoding the first picture and sound tracks through both detectors, writing nothing.

    `0:V` leaves out cover art; `0:a:0?` lets a file without sound through. The detectors report
    at the `info` level on stderr.
    """
    blackdetect = (
        f"blackdetect=d={detection.min_black_seconds:g}"
        f":pix_th={detection.black_pixel_threshold:g}:pic_th={detection.black_picture_ratio:g}"
    )
    silencedetect = f"silencedetect=n={detection.silence_noise_db:g}dB:d={detection.min_silence_seconds:g}"
    return [
        settings.RETROVUE_FFMPEG,
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-v",
        "info",
        "-i",
        f"file:{os.path.abspath(path)}",
        "-map",
        "0:V:0",
        "-map",
        "0:a:0?",
        "-sn",
        "-dn",
        "-vf",
        blackdetect,
        "-af",
        silencedetect,
        "-f",
        "null",
        "-",
    ]


_NUMBER = r"(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_BLACK = re.compile(rf"black_start:\s*{_NUMBER}\s+black_end:\s*{_NUMBER}")
_SILENCE = re.compile(rf"silence_(start|end):\s*{_NUMBER}")
_INPUT_AUDIO = re.compile(r"^\s*Stream #\d+:\d+\S*.*?: Audio: ", re.MULTILINE)


def parse_black_spans(stderr: str) -> list[Span]:
    """`black_start:8 black_end:9 black_duration:1` lines, as spans in file order."""
    spans = [Span(max(0.0, float(start)), float(end)) for start, end in _BLACK.findall(stderr)]
    return sorted((span for span in spans if span.end > span.start), key=lambda span: span.start)


def parse_silence_spans(stderr: str, *, duration_seconds: float | None = None) -> list[Span]:
    """`silence_start: 8.0` … `silence_end: 9.0 | silence_duration: 1.0` pairs, as spans.

    A silence still open at the end of the output (older ffmpeg does not close it) lasts to the
    end of the file when its length is known, and is dropped otherwise.
    """
    spans, open_start = [], None
    for which, value in _SILENCE.findall(stderr):
        seconds = max(0.0, float(value))
        if which == "start":
            open_start = seconds
        elif open_start is not None:
            if seconds > open_start:
                spans.append(Span(open_start, seconds))
            open_start = None
    if open_start is not None and duration_seconds is not None and duration_seconds > open_start:
        spans.append(Span(open_start, duration_seconds))
    return spans


def parse_has_audio(stderr: str) -> bool:
    """Whether ffmpeg's description of its input lists a sound track."""
    return bool(_INPUT_AUDIO.search(stderr))


def plausible_breaks(
    black: Sequence[Span],
    silence: Sequence[Span],
    *,
    duration_seconds: float,
    has_audio: bool,
    detection: DetectionSettings = DEFAULT_DETECTION,
) -> list[DetectedBreak]:
    """The black stretches that look like breaks (see the module docstring), in time order."""
    candidates = []
    for span in black:
        if span.duration > detection.max_black_seconds:
            continue
        if has_audio:
            overlaps = [(span.overlap(quiet), quiet) for quiet in silence]
            overlaps = [(length, quiet) for length, quiet in overlaps if length > 0]
            quiet_seconds = sum(length for length, _ in overlaps)
            if quiet_seconds < detection.min_quiet_overlap_seconds:
                continue
            _, longest = max(overlaps, key=lambda pair: pair[0])
            cut = (max(span.start, longest.start) + min(span.end, longest.end)) / 2
        else:
            quiet_seconds = span.duration
            cut = (span.start + span.end) / 2
        if not detection.start_margin_seconds <= cut <= duration_seconds - detection.end_margin_seconds:
            continue
        candidates.append(DetectedBreak(time_ms=round(cut * 1000), black=span, quiet_seconds=quiet_seconds))

    # Best first (quiet longest, then earliest); a candidate too close to a better one is dropped.
    spacing_ms = detection.min_spacing_seconds * 1000
    kept: list[DetectedBreak] = []
    for candidate in sorted(candidates, key=lambda found: (-found.quiet_seconds, found.time_ms)):
        if all(abs(candidate.time_ms - other.time_ms) >= spacing_ms for other in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda found: found.time_ms)


def detect_breaks(
    path: str, *, duration_ms: int | None = None, detection: DetectionSettings = DEFAULT_DETECTION
) -> list[DetectedBreak]:
    """Plausible breaks in a local file, found by one ffmpeg run (timeout scaled to its length).

    `duration_ms` saves an ffprobe run when the caller knows the length already.
    """
    if not duration_ms:
        probe = probe_media_file(path)
        if not probe.playable or not probe.duration_ms:
            raise ChapterToolError(f"Cannot scan {path}: {probe.error or 'its length is unknown'}.")
        duration_ms = probe.duration_ms
    duration_seconds = duration_ms / 1000
    timeout = detection.timeout_for(duration_seconds)
    try:
        completed = run_command(detection_argv(path, detection), timeout=timeout)
    except CommandError as error:
        if error.returncode is None:
            raise ChapterToolError(
                f"Scanning for black frames took longer than {timeout:.0f} s and was stopped ({error})."
            ) from error
        raise ChapterToolError(f"ffmpeg could not scan the file: {_last_lines(error.stderr_tail)}") from error
    stderr = completed.stderr.decode("utf-8", "replace")
    return plausible_breaks(
        parse_black_spans(stderr),
        parse_silence_spans(stderr, duration_seconds=duration_seconds),
        duration_seconds=duration_seconds,
        has_audio=parse_has_audio(stderr),
        detection=detection,
    )


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[-count:]) or "no details"


# --- The item's file -------------------------------------------------------------------------------


def local_media_file(playable: Playable) -> MediaFile:
    """The item's first part, if it can be read on this machine; otherwise why not, for staff."""
    media_file = airing_files(playable.pk).first()
    if media_file is None:
        raise NoMediaFile(f"“{playable.title}” has no media file.")
    if media_file.state == FileState.REMOTE_ONLY:
        raise FileNotLocal(
            f"“{playable.title}” plays from Plex over the network (remote only); this needs the file on "
            "this machine. Add a path mapping for its folder so RetroVue finds it locally."
        )
    if media_file.state != FileState.NORMAL or not media_file.local_path:
        raise FileNotLocal(
            f"The file of “{playable.title}” is not usable here ({media_file.get_state_display().lower()})."
        )
    if not os.path.isfile(media_file.local_path):
        raise FileNotLocal(
            f"The file of “{playable.title}” is no longer on this machine: {media_file.local_path}"
        )
    return media_file


def item_duration_ms(playable: Playable) -> int | None:
    """The length marks must fall within: the first part's probed length, else the item's."""
    media_file = airing_files(playable.pk).first()
    return (media_file.duration_ms if media_file else None) or playable.duration_ms


# --- Writing marks ---------------------------------------------------------------------------------


def import_embedded_chapters(playable: Playable) -> list[ChapterMark]:
    """Replace the item's `embedded` marks with the chapters in its file (none at 0 ms)."""
    media_file = local_media_file(playable)
    try:
        chapters = probe_chapters(media_file.local_path)
    except ProbeError as error:
        raise ChapterToolError(
            f"ffprobe could not read the chapters of “{playable.title}”: {error}"
        ) from error
    wanted: dict[int, str] = {}
    for title, start_ms in chapters:
        if start_ms > 0:
            wanted.setdefault(start_ms, title[:TITLE_MAX_LENGTH])
    return _replace_marks(playable, ChapterOrigin.EMBEDDED, sorted(wanted.items()), media_file.version_id)


def generate_chapter_marks(
    playable: Playable, *, detection: DetectionSettings = DEFAULT_DETECTION
) -> list[ChapterMark]:
    """Detect breaks in the item's local file and replace its `detected` marks with them."""
    media_file = local_media_file(playable)
    breaks = detect_breaks(
        media_file.local_path,
        duration_ms=media_file.duration_ms or playable.duration_ms,
        detection=detection,
    )
    marks = [(found.time_ms, f"Break {number}") for number, found in enumerate(breaks, start=1)]
    return _replace_marks(playable, ChapterOrigin.DETECTED, marks, media_file.version_id)


def run_chapter_detection(playable_id: int) -> dict:
    """The body of the `chapters.generate` task: counts for the task's row."""
    playable = Playable.objects.get(pk=playable_id)
    return {"detected": len(generate_chapter_marks(playable))}


def save_marks(playable: Playable, marks: Iterable[tuple[int, str]]) -> list[ChapterMark]:
    """Replace the item's `manual` marks with the editor's final list (validated, sorted, deduplicated).

    Raises MarkValidationError, naming the offending mark, and changes nothing then.
    """
    cleaned = clean_marks(marks, duration_ms=item_duration_ms(playable))
    return _replace_marks(playable, ChapterOrigin.MANUAL, cleaned)


def clean_marks(marks: Iterable[tuple[int, str]], *, duration_ms: int | None) -> list[tuple[int, str]]:
    """The editor's marks as sorted (time_ms, title) pairs, one per time; the first title wins."""
    marks = list(marks)
    if len(marks) > MAX_MARKS:
        raise MarkValidationError(f"{len(marks)} marks is too many; at most {MAX_MARKS} can be saved.")
    by_time: dict[int, str] = {}
    for number, (time_ms, title) in enumerate(marks, start=1):
        if isinstance(time_ms, bool) or not isinstance(time_ms, int | float) or not math.isfinite(time_ms):
            raise MarkValidationError(f"Mark {number}: the time must be a number of milliseconds.")
        time_ms = round(time_ms)
        if not isinstance(title, str):
            raise MarkValidationError(f"Mark {number}: the title must be text.")
        title = title.strip()
        if len(title) > TITLE_MAX_LENGTH:
            raise MarkValidationError(
                f"Mark {number}: the title is longer than {TITLE_MAX_LENGTH} characters."
            )
        if time_ms < 0:
            raise MarkValidationError(f"Mark {number} is before the start of the item.")
        if time_ms == 0:
            raise MarkValidationError(
                f"Mark {number} is at the very start of the item; a break there is none."
            )
        if duration_ms and time_ms >= duration_ms:
            raise MarkValidationError(
                f"Mark {number} at {format_duration_ms(time_ms)} is past the end of the item "
                f"({format_duration_ms(duration_ms)})."
            )
        if not by_time.get(time_ms):
            by_time[time_ms] = title
    return sorted(by_time.items())


def _replace_marks(
    playable: Playable, origin: str, marks: Sequence[tuple[int, str]], version_id: int | None = None
) -> list[ChapterMark]:
    """Marks read from a file belong to that file's version (`version_id`); staff's to every version."""
    with transaction.atomic():
        # Two saves of one item at once would otherwise both delete, then collide inserting.
        Playable.objects.select_for_update().filter(pk=playable.pk).first()
        ChapterMark.objects.filter(playable=playable, origin=origin).delete()
        return ChapterMark.objects.bulk_create(
            ChapterMark(playable=playable, version_id=version_id, origin=origin, time_ms=time_ms, title=title)
            for time_ms, title in marks
        )


# --- Reading marks ---------------------------------------------------------------------------------


def effective_origin(marks: Iterable[ChapterMark]) -> str | None:
    """The origin whose marks are in use among an item's marks (see the module docstring)."""
    present = {mark.origin for mark in marks}
    return next((origin for origin in ORIGIN_PRECEDENCE if origin in present), None)


def effective_marks(playable: Playable) -> list[ChapterMark]:
    """The item's marks in use, in time order: where the scheduler may put breaks."""
    marks = list(playable.chapter_marks.order_by("time_ms"))
    origin = effective_origin(marks)
    return [mark for mark in marks if mark.origin == origin]


# --- Content kind (edited on the same page) ---------------------------------------------------------


def concrete_item(playable: Playable) -> Playable:
    """The Episode, Movie or ShortFormItem row behind a Playable (the Playable if none)."""
    for child in ("episode", "movie", "shortformitem"):
        try:
            return getattr(playable, child)
        except ObjectDoesNotExist:
            continue
    return playable


def allowed_kinds(item: Playable) -> list[str]:
    """The kinds staff may give an item: episodes and movies keep theirs, clips move among clip kinds."""
    if isinstance(item, Episode):
        return [ContentKind.EPISODE]
    if isinstance(item, Movie):
        return [ContentKind.MOVIE]
    if isinstance(item, ShortFormItem):
        return list(SHORT_FORM_KINDS)
    return [item.kind]


def set_kind(item: Playable, kind: str) -> bool:
    """Give the item another content kind; returns whether it changed."""
    if kind not in allowed_kinds(item):
        labels = ", ".join(ContentKind(value).label.lower() for value in allowed_kinds(item))
        raise ChapterToolError(f"“{item.title}” can only be: {labels}.")
    if item.kind == kind:
        return False
    item.kind = kind
    item.save(update_fields=["kind", "updated_at"])
    return True
