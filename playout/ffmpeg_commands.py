"""ffmpeg command lines for pre-generated pieces, built by pure functions that tests can read.

Every file made here is one MPEG-TS with exactly one video stream (H.264, or HEVC for an HEVC
profile; settings in `playout.video_codecs`) and one AAC-LC audio stream,
in that order, so the channel process can stream-copy any sequence of them through ffmpeg's concat
demuxer. For that to stay seamless each file is made the same way:

- video: the profile's size (letterboxed or pillarboxed by display aspect, so anamorphic DVDs come
  out right), constant frame rate, yuv420p, High profile, no B-frames, a closed GOP of exactly one
  segment with an IDR at t=0 and at every segment boundary after it;
- audio: 48 kHz stereo AAC-LC, loudness-normalised (single-pass `loudnorm` to -24 LUFS, the ATSC
  A/85 target), silence-padded when the source runs short;
- timing: both streams start at timestamp 0 and the file lasts exactly a whole number of frames,
  the frame count nearest out − in. The AAC encoder's 1024 priming samples are placed at 0 (the
  audio is shifted 21 ms later, inside any lip-sync tolerance) and the audio is cut on an AAC frame
  so it ends at or before the video: a file's duration is then its video length, and a concat of
  files never overlaps audio or drifts.

No B-frames keeps decode order equal to display order, which is what lets video start at exactly
0 in MPEG-TS (which cannot carry negative timestamps); at these bitrates it costs little quality.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

from django.conf import settings

from playout import video_codecs
from playout.video_codecs import DEFAULT_PRESET, video_encoder_args

AUDIO_RATE = 48_000
AAC_FRAME_SAMPLES = 1024
AAC_PRIMING_SAMPLES = 1024
# Single-pass EBU R128 normalisation to the ATSC A/85 target. A two-pass (measure, then linear)
# run would be truer to the source's dynamics but doubles the decode; broadcast-style dynamic
# levelling is what a station sounds like anyway.
LOUDNORM = "loudnorm=I=-24:TP=-2:LRA=7"
# A remote Part that sends nothing for this long fails the encode (microseconds, as ffmpeg wants).
REMOTE_READ_TIMEOUT_US = 60_000_000
SLATE_MESSAGE = "We are experiencing technical difficulties"
SLATE_SUBTITLE = "Please stand by"
SLATE_COLOR = "0x14284b"
# Where a channel bug sits: its largest size and its distance from the edges, as fractions of the
# frame (inside the 5% action-safe area).
BUG_MAX_FRACTION = 0.2
BUG_MARGIN_FRACTION = 0.05
# NTSC rates are stored rounded (29.97); encoding them as 30/1 would drift 3.6 s an hour.
_NTSC_RATES = {
    Decimal("23.976"): Fraction(24000, 1001),
    Decimal("29.97"): Fraction(30000, 1001),
    Decimal("59.94"): Fraction(60000, 1001),
}


@dataclass(frozen=True)
class BurnSubtitle:
    """A text subtitle to burn in: a sidecar file, or track `track` (counting subtitle tracks only)
    of the video file itself."""

    path: str
    track: int | None = None


@dataclass(frozen=True)
class SourcePart:
    """One file of an item (multi-part movies have several). `duration_ms` is needed for every
    part but the last, to find which parts a cut spans. `audio_track` picks among the file's audio
    tracks (ffmpeg's `a:<n>`); `subtitle` is burnt into the picture."""

    path: str
    duration_ms: int | None = None
    has_video: bool = True
    has_audio: bool = True
    url: str = ""  # read this instead of `path`: a remote Part through the loopback relay
    audio_track: int = 0
    subtitle: BurnSubtitle | None = None


@dataclass(frozen=True)
class Bug:
    """A channel bug to burn in: an image (PNG with alpha), its corner and its opacity (0–1)."""

    path: str
    corner: str = "bottom_right"
    opacity: float = 0.6


@dataclass(frozen=True)
class LowerThird:
    """A lower third to burn in ("Up next: …"): an image (PNG with alpha) laid across the bottom of
    the frame from `from_ms` into the piece to its end."""

    path: str
    from_ms: int = 0


@dataclass(frozen=True)
class PieceTiming:
    """The exact length of an encoded piece: whole frames, and the audio samples that go with them."""

    frames: int
    fps: Fraction

    @property
    def seconds(self) -> Fraction:
        return self.frames / self.fps

    @property
    def duration_ms(self) -> int:
        return round(self.seconds * 1000)

    @property
    def samples(self) -> int:
        """Audio samples the video length spans."""
        return round(self.seconds * AUDIO_RATE)

    @property
    def encoded_samples(self) -> int:
        """Samples to feed the encoder so audio, priming included, ends on an AAC frame no later
        than the video (never fewer than one frame)."""
        whole_frames = self.samples // AAC_FRAME_SAMPLES
        return max(AAC_FRAME_SAMPLES, whole_frames * AAC_FRAME_SAMPLES - AAC_PRIMING_SAMPLES)


def frame_rate(profile) -> Fraction:
    """The profile's frame rate as an exact fraction (29.97 → 30000/1001)."""
    rate = Decimal(str(profile.frame_rate)).normalize()
    return _NTSC_RATES.get(rate) or Fraction(rate).limit_denominator(1001)


def gop_frames(profile) -> int:
    """Frames in one segment: the GOP length."""
    return video_codecs.gop_frames(profile, frame_rate(profile))


def piece_timing(duration_ms: int, profile) -> PieceTiming:
    fps = frame_rate(profile)
    return PieceTiming(frames=max(1, round(Fraction(duration_ms, 1000) * fps)), fps=fps)


def pregen_argv(
    source: str | os.PathLike | Sequence[SourcePart],
    in_ms: int,
    out_ms: int,
    profile,
    bug: Bug | None = None,
    output: str | os.PathLike = "-",
    *,
    ffmpeg: str | None = None,
    preset: str = DEFAULT_PRESET,
    lower_third: LowerThird | None = None,
    overlay: str = "",
) -> list[str]:
    """Cut an item at [in_ms, out_ms) of its timeline and encode it to `profile` (see module doc).
    `overlay` is a chain of video filters drawn last (an alert's crawl, `playout.crawl`).

    `source` is a path, or the item's parts in order; a cut that spans parts reads each and joins
    them. Seeking is `-ss` before `-i` (fast, and frame-accurate because everything is re-encoded).
    A source that ends early is padded (last frame held, silence) to the full length.
    """
    if out_ms <= in_ms:
        raise ValueError(f"out point {out_ms} ms is not after in point {in_ms} ms")
    parts = [SourcePart(os.fspath(source))] if isinstance(source, str | os.PathLike) else list(source)
    spans = _spans(parts, in_ms, out_ms)
    timing = piece_timing(out_ms - in_ms, profile)
    fps = timing.fps
    width, height = profile.width, profile.height

    inputs: list[str] = []
    filters: list[str] = []
    joined: list[str] = []
    input_count = 0
    frame_edges = _edges([span[2] - in_ms for span in spans], out_ms - in_ms, fps)
    # A sliver of a part shorter than half a frame gets no frames of its own: leave it out.
    timed = [(span, edges) for span, edges in zip(spans, frame_edges, strict=True) if edges[1] > edges[0]]
    for number, ((part, local_in, _cut_start, length_ms), (first, last)) in enumerate(timed):
        frames = last - first
        samples = round(Fraction(last, 1) / fps * AUDIO_RATE) - round(Fraction(first, 1) / fps * AUDIO_RATE)
        inputs += [
            "-accurate_seek",
            "-ss",
            _seconds(local_in),
            "-t",
            _seconds(length_ms),
            *_input(part),
        ]
        source_index = input_count
        input_count += 1
        if part.has_video:
            video_in = f"[{source_index}:v:0]"
            deinterlace = "yadif=deint=interlaced,"
        else:
            inputs += ["-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:r={_rate(fps)}"]
            video_in = f"[{input_count}:v:0]"
            input_count += 1
            deinterlace = ""
        if part.has_audio:
            audio_in = f"[{source_index}:a:{part.audio_track}]"
        else:
            inputs += ["-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo"]
            audio_in = f"[{input_count}:a:0]"
            input_count += 1
        burn = _subtitle_filter(part.subtitle, local_in) if part.has_video else ""
        filters.append(
            f"{video_in}{deinterlace}{burn}fps=fps={_rate(fps)}:start_time=0,"
            f"{_fit(width, height)},format=yuv420p,"
            f"tpad=stop=-1:stop_mode=clone,trim=end_frame={frames}[v{number}]"
        )
        filters.append(f"{source_audio_filter(audio_in, samples)}[a{number}]")
        joined.append(f"[v{number}][a{number}]")
    if len(joined) > 1:
        filters.append(f"{''.join(joined)}concat=n={len(joined)}:v=1:a=1[vjoined][ajoined]")
        video, audio = "[vjoined]", "[ajoined]"
    else:
        video, audio = "[v0]", "[a0]"

    if bug is not None:
        inputs += ["-i", _file_url(bug.path)]
        filters.append(_bug_filter(input_count, bug, width, height, video))
        video = "[vbug]"
        input_count += 1
    if lower_third is not None:
        inputs += ["-i", _file_url(lower_third.path)]
        filters.append(_lower_third_filter(input_count, lower_third, width, height, video, bug))
        video = "[vnext]"
    if overlay:
        filters.append(f"{video}{overlay}format=yuv420p[voverlay]")
        video = "[voverlay]"
    filters.append(f"{audio}{LOUDNORM},{audio_finish(timing)}[aout]")
    return [
        *_head(ffmpeg),
        *inputs,
        "-filter_complex",
        ";".join(filters),
        "-map",
        video,
        "-map",
        "[aout]",
        *_output_args(profile, preset, output),
    ]


def slate_argv(
    duration_ms: int,
    profile,
    output: str | os.PathLike = "-",
    *,
    message: str = SLATE_MESSAGE,
    subtitle: str = SLATE_SUBTITLE,
    ffmpeg: str | None = None,
    preset: str = DEFAULT_PRESET,
) -> list[str]:
    """A "technical difficulties" card over silence, any length, encoded like every other piece.

    An empty `message` draws no text (for a host without fonts, where drawtext fails)."""
    timing = piece_timing(duration_ms, profile)
    width, height = profile.width, profile.height
    video = f"[0:v]{_slate_text(message, subtitle, width)}format=yuv420p,trim=end_frame={timing.frames}[vout]"
    return _generated_argv(
        f"color=c={SLATE_COLOR}:s={width}x{height}:r={_rate(timing.fps)}",
        f"anullsrc=r={AUDIO_RATE}:cl=stereo",
        video,
        timing,
        profile,
        output,
        ffmpeg=ffmpeg,
        preset=preset,
    )


def station_card_argv(
    duration_ms: int,
    profile,
    card: str | os.PathLike,
    output: str | os.PathLike = "-",
    *,
    ffmpeg: str | None = None,
    preset: str = DEFAULT_PRESET,
) -> list[str]:
    """A station ID card (a still image, see scheduling.graphics) over silence, fitted into the
    profile's frame and encoded like every other piece. The image is laid over a black field with
    eof_action=repeat, as the bug is, so the piece lasts exactly `duration_ms`."""
    timing = piece_timing(duration_ms, profile)
    width, height = profile.width, profile.height
    video = (
        f"[2:v:0]format=rgba,{_fit(width, height)}[card];"
        f"[0:v][card]overlay=x=0:y=0:eof_action=repeat,format=yuv420p,trim=end_frame={timing.frames}[vout]"
    )
    audio = f"[1:a]aformat=sample_fmts=fltp:channel_layouts=stereo,{audio_finish(timing)}[aout]"
    return [
        *_head(ffmpeg),
        "-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:r={_rate(timing.fps)}",
        "-f", "lavfi", "-i", f"anullsrc=r={AUDIO_RATE}:cl=stereo",
        "-i", _file_url(card),
        "-filter_complex", f"{video};{audio}",
        "-map", "[vout]", "-map", "[aout]",
        *_output_args(profile, preset, output),
    ]  # fmt: skip


def test_pattern_argv(
    duration_ms: int,
    profile,
    output: str | os.PathLike = "-",
    *,
    ffmpeg: str | None = None,
    preset: str = DEFAULT_PRESET,
) -> list[str]:
    """SMPTE colour bars (HD bars for widescreen profiles) with a 1 kHz tone at -20 dBFS, the
    line-up reference level, on both channels."""
    timing = piece_timing(duration_ms, profile)
    width, height = profile.width, profile.height
    bars = "smptehdbars" if width * 3 > height * 4 else "smptebars"
    tone = "0.1*sin(2*PI*1000*t)"
    return _generated_argv(
        f"{bars}=s={width}x{height}:r={_rate(timing.fps)}",
        f"aevalsrc={tone}|{tone}:s={AUDIO_RATE}:c=stereo",
        f"[0:v]format=yuv420p,trim=end_frame={timing.frames}[vout]",
        timing,
        profile,
        output,
        ffmpeg=ffmpeg,
        preset=preset,
    )


test_pattern_argv.__test__ = False  # a builder, not a test: keep pytest from collecting it


# --- Pieces of the command line --------------------------------------------------------------------


def _head(ffmpeg: str | None) -> list[str]:
    return [ffmpeg or settings.RETROVUE_FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]


def _generated_argv(
    video_source: str,
    audio_source: str,
    video_filter: str,
    timing: PieceTiming,
    profile,
    output,
    *,
    ffmpeg: str | None,
    preset: str,
) -> list[str]:
    audio_filter = f"[1:a]aformat=sample_fmts=fltp:channel_layouts=stereo,{audio_finish(timing)}[aout]"
    return [
        *_head(ffmpeg),
        "-f",
        "lavfi",
        "-i",
        video_source,
        "-f",
        "lavfi",
        "-i",
        audio_source,
        "-filter_complex",
        f"{video_filter};{audio_filter}",
        "-map",
        "[vout]",
        "-map",
        "[aout]",
        *_output_args(profile, preset, output),
    ]


def _output_args(profile, preset: str, output) -> list[str]:
    return [
        *video_encoder_args(profile, preset, frame_rate(profile)),
        *audio_output_args(profile, output),
    ]


def audio_output_args(profile, output) -> list[str]:
    """The AAC encoder and the MPEG-TS muxer (shared by smart copy, which copies the video).

    ffmpeg's AAC encoder with its fast coder: the default two-loop search spends 2.3x the CPU
    (2.41 vs 1.06 CPU-s per 120 s of stereo at 192k here), and AAC was the largest part of a smart
    copy's cost, paid for every second of every piece (docs/encoder-settings.md)."""
    return [
        "-c:a",
        "aac",
        "-aac_coder",
        "fast",
        "-profile:a",
        "aac_low",
        "-b:a",
        f"{profile.audio_bitrate_kbps}k",
        "-ar",
        str(AUDIO_RATE),
        "-ac",
        "2",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        # loudnorm holds back 3 s of audio, so video waits in the muxing queue meanwhile.
        "-max_muxing_queue_size",
        "4096",
        "-f",
        "mpegts",
        "-muxdelay",
        "0",
        "-muxpreload",
        "0",
        output if str(output) == "-" else _file_url(output),
    ]


def source_audio_filter(audio_in: str, samples: int) -> str:
    """A seeked source's audio from timestamp 0, as 48 kHz stereo, padded or cut to `samples`."""
    return (
        f"{audio_in}aresample={AUDIO_RATE}:async=1:first_pts=0,"
        f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo,"
        f"apad,atrim=end_sample={samples}"
    )


def audio_finish(timing: PieceTiming) -> str:
    """Resample (loudnorm works at 192 kHz), pad, cut on an AAC frame, and shift by the priming."""
    return (
        f"aresample={AUDIO_RATE},"
        f"aformat=sample_fmts=fltp:sample_rates={AUDIO_RATE}:channel_layouts=stereo,"
        f"apad,atrim=end_sample={timing.encoded_samples},"
        f"asetpts=PTS+{AAC_PRIMING_SAMPLES}/SR/TB"
    )


def _fit(width: int, height: int) -> str:
    """Scale to fit the frame by display aspect (`dar` honours anamorphic pixels), then pad with
    black: letterbox for wide sources, pillarbox for narrow ones."""
    box = f"{width}/{height}"
    return (
        f"scale=w='if(gt(dar,{box}),{width},2*trunc({height}*dar/2))'"
        f":h='if(gt(dar,{box}),2*trunc({width}/dar/2),{height})',"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1"
    )


def _bug_filter(index: int, bug: Bug, width: int, height: int, video: str) -> str:
    max_w, max_h = round(width * BUG_MAX_FRACTION), round(height * BUG_MAX_FRACTION)
    margin_x, margin_y = round(width * BUG_MARGIN_FRACTION), round(height * BUG_MARGIN_FRACTION)
    corner = bug.corner or "bottom_right"
    x = f"{margin_x}" if corner.endswith("left") else f"W-w-{margin_x}"
    y = f"{margin_y}" if corner.startswith("top") else f"H-h-{margin_y}"
    opacity = min(1.0, max(0.0, float(bug.opacity)))
    # One still image: overlay keeps showing its last frame (eof_action=repeat) to the end.
    return (
        f"[{index}:v:0]format=rgba,"
        f"scale=w='min(iw,{max_w})':h='min(ih,{max_h})':force_original_aspect_ratio=decrease,"
        f"colorchannelmixer=aa={opacity:.2f}[bugimage];"
        f"{video}[bugimage]overlay=x={x}:y={y}:eof_action=repeat,format=yuv420p[vbug]"
    )


def _lower_third_filter(
    index: int, lower_third: LowerThird, width: int, height: int, video: str, bug: Bug | None
) -> str:
    """The lower third across the bottom inside the action-safe margin, beside a bug in a bottom
    corner rather than over it, shown from its time on (t is the piece's own clock)."""
    margin_x, margin_y = round(width * BUG_MARGIN_FRACTION), round(height * BUG_MARGIN_FRACTION)
    band_width, x = width - 2 * margin_x, margin_x
    corner = (bug.corner or "bottom_right") if bug is not None else ""
    if corner.startswith("bottom"):
        beside = round(width * BUG_MAX_FRACTION) + margin_x // 2
        band_width -= beside
        x += beside if corner.endswith("left") else 0
    start = lower_third.from_ms / 1000
    return (
        f"[{index}:v:0]format=rgba,scale=w={band_width}:h=-2[lowerthird];"
        f"{video}[lowerthird]overlay=x={x}:y=H-h-{margin_y}:eof_action=repeat"
        f":enable='gte(t,{start:.3f})',format=yuv420p[vnext]"
    )


def _subtitle_filter(subtitle: BurnSubtitle | None, local_in_ms: int) -> str:
    """Burn text subtitles (libass). The input was seeked, so its frames start at 0: they are moved
    to the file's own time while the subtitles are drawn, then moved back."""
    if subtitle is None:
        return ""
    options = f"filename={_filter_value(str(Path(subtitle.path).absolute()))}"
    if subtitle.track is not None:
        options += f":si={subtitle.track}"
    if not local_in_ms:
        return f"subtitles={options},"
    offset = _seconds(local_in_ms)
    return f"setpts=PTS+{offset}/TB,subtitles={options},setpts=PTS-{offset}/TB,"


def _filter_value(text: str) -> str:
    """Escape a value for a filter option, then for the filtergraph it sits in (ffmpeg-filters
    "Notes on filtergraph escaping"): argv carries it as is, no shell is involved."""
    option = text.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\:")
    graph = option.replace("\\", "\\\\").replace("'", "\\'")
    for special in "[],;":
        graph = graph.replace(special, "\\" + special)
    return graph


def _slate_text(message: str, subtitle: str, width: int) -> str:
    if not message:
        return ""
    size, small = max(8, round(width / 29)), max(6, round(width / 36))
    text = (
        f"drawtext=expansion=none:font=Sans:text='{_drawtext_escape(message)}':fontcolor=white:fontsize={size}"
        f":x=(w-tw)/2:y=h/2-th-{size // 3},"
    )
    if subtitle:
        text += (
            f"drawtext=expansion=none:font=Sans:text='{_drawtext_escape(subtitle)}':fontcolor=white@0.8"
            f":fontsize={small}:x=(w-tw)/2:y=h/2+{size // 3},"
        )
    return text


def _drawtext_escape(text: str) -> str:
    # Quoted for the filtergraph (a quote can't be escaped inside quotes, so it becomes ’), then
    # backslash-escaped for the filter's own option parser; expansion=none keeps % literal.
    return text.replace("\\", "\\\\").replace("'", "’").replace(":", "\\:")


def _spans(parts: list[SourcePart], in_ms: int, out_ms: int) -> list[tuple[SourcePart, int, int, int]]:
    """(part, in point within the part, cut start on the item's timeline, length) per part the
    cut touches."""
    if not parts:
        raise ValueError("no source files")
    spans = []
    part_start = 0
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if part.duration_ms is None and not last:
            raise ValueError(f"part {position + 1} of {len(parts)} has no known length")
        part_end = out_ms if last else part_start + part.duration_ms
        start, stop = max(in_ms, part_start), min(out_ms, part_end)
        if stop > start:
            spans.append((part, start - part_start, start, stop - start))
        part_start = part_end
        if part_start >= out_ms:
            break
    if not spans:
        raise ValueError(f"the cut {in_ms}–{out_ms} ms is beyond the end of the item")
    return spans


def _edges(starts_ms: list[int], total_ms: int, fps: Fraction) -> list[tuple[int, int]]:
    """Frame ranges per span, rounded on the cumulative timeline so they add up to the whole."""
    total_frames = max(1, round(Fraction(total_ms, 1000) * fps))
    marks = [min(total_frames, round(Fraction(start, 1000) * fps)) for start in starts_ms] + [total_frames]
    return [(marks[i], marks[i + 1]) for i in range(len(starts_ms))]


def _rate(fps: Fraction) -> str:
    return str(fps.numerator) if fps.denominator == 1 else f"{fps.numerator}/{fps.denominator}"


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


def _input(part: SourcePart) -> list[str]:
    """`-i` and its options for one part: the local file, or the relay URL of a remote Part (which
    carries no secret; see `playout.plex_relay`), with a read timeout so a stalled server fails the
    run instead of hanging it."""
    if part.url:
        return ["-rw_timeout", str(REMOTE_READ_TIMEOUT_US), "-i", part.url]
    return ["-i", _file_url(part.path)]


def _file_url(path) -> str:
    """`file:` keeps a name like `http:…` or `-x.mp4` from being read as a protocol or an option."""
    return f"file:{Path(path).absolute()}"
