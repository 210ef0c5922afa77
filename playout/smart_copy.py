"""Smart copy: a piece whose source video already fits the channel keeps the source's own frames.

A full encode of a 22-minute act costs minutes of CPU; most of it is wasted when the source is
already H.264 (or HEVC) at the profile's size and frame rate. Where it fits, pre-generation:

1. encodes only the *head*: the frames from the cut-in to the source's next keyframe (less than one
   source GOP), with the profile's frozen encoder settings (`playout.video_codecs`);
2. copies the *body*: every compressed frame from that keyframe up to the cut-out. With no
   B-frames decode order is display order, so stopping after a frame count is frame-exact and the
   tail needs no encode;
3. joins head and body with the concat demuxer (each with its exact duration) and muxes them with
   the audio, cut, resampled, padded, timed and encoded exactly as a full encode does it. Loudness
   goes to the same -24 LUFS target, by a gain measured over the cut (EBU R128) and a -2 dBTP
   limiter rather than single-pass `loudnorm`: `loudnorm` works at 192 kHz and would be most of
   the CPU a smart copy spends.

The result is what the feed expects of any piece (`playout.feed`, `playout.mpegts`): MPEG-TS, video
from timestamp 0 with a constant frame step, an IDR at t=0 and at every later GOP, the frame count
nearest out − in. Copied GOPs become segments, so a source fits only if its keyframes are never
further apart than a segment. The head is one short GOP of its own; its parameter sets differ from
the source's, and the channel marks that change in its playlist (`playout.parameter_sets`).

What fits (`mismatch`): the profile's codec; its size (any size on a pass-through profile); its
frame rate, constant; yuv420p; square pixels; progressive; no B-frames; keyframes at most one
segment apart over the cut. Never smart-copied: a piece with a bug or lower third (an overlay cannot
ride on copied frames), a burnt-in subtitle, a cut spanning parts, a remote part, a source without
audio, a cut running past the source's end. Those, and any smart copy that fails, are fully encoded.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from django.conf import settings

from playout import ffmpeg_commands as commands
from playout.video_codecs import codec_of, video_encoder_args
from retrovue.subprocesses import run_command
from scheduling.choices import VideoMode

PROBE_TIMEOUT_SECONDS = 120
# Loudness: the target `loudnorm` aims for in a full encode (ATSC A/85), its true-peak ceiling
# (-2 dBTP, as a linear amplitude), and bounds on the gain (a near-silent cut is not pumped up).
TARGET_LUFS = -24.0
PEAK_LIMIT = 10 ** (-2 / 20)
MAX_GAIN_DB = 20.0
SILENCE_LUFS = -60.0
_INTEGRATED = re.compile(r"^\s*I:\s+(-?[0-9.]+|-inf) LUFS", re.MULTILINE)
# ffprobe reads packets from this far before the cut-in, to find the keyframe that opens its GOP.
KEYFRAME_LOOKBACK_SECONDS = 12


class SmartCopyError(Exception):
    """A smart copy that went wrong after it was planned (the piece is then fully encoded)."""


@dataclass(frozen=True)
class SourceVideo:
    """A source's first video stream as ffprobe describes it."""

    codec: str
    width: int
    height: int
    fps: Fraction | None  # None unless constant (r_frame_rate == avg_frame_rate)
    pix_fmt: str
    sample_aspect: str
    has_b_frames: int
    field_order: str
    start: Fraction  # the stream's first timestamp (seconds)
    file_start: Fraction  # the file's (ffmpeg's -ss counts from it)
    time_base: Fraction
    bit_rate_kbps: int | None

    @property
    def offset(self) -> Fraction:
        """Where the stream starts on the file's timeline (seconds)."""
        return self.start - self.file_start


@dataclass(frozen=True)
class CopyPlan:
    """Which source frames a piece is made of: [first_frame, copy_from) encoded, [copy_from,
    end_frame) copied. Frame n of the source is at `offset + n / fps` on the file's timeline."""

    path: str
    fps: Fraction
    offset: Fraction
    first_frame: int
    copy_from: int
    copy_from_at: Fraction  # that keyframe's own timestamp on the file's timeline (containers round)
    end_frame: int
    audio_track: int
    head_kbps: int

    @property
    def head_frames(self) -> int:
        return self.copy_from - self.first_frame

    @property
    def copied_frames(self) -> int:
        return self.end_frame - self.copy_from

    def time_of(self, frame: int) -> Fraction:
        return self.offset + Fraction(frame) / self.fps


def enabled(profile) -> bool:
    return getattr(profile, "video_mode", VideoMode.ENCODE) in (VideoMode.SMART_COPY, VideoMode.PASS_THROUGH)


def probe_video(path: str, *, ffprobe: str | None = None) -> SourceVideo | None:
    """The first video stream of `path`, or None if it has none (or ffprobe can't read it)."""
    argv = [
        ffprobe or settings.RETROVUE_FFPROBE, "-v", "error", "-select_streams", "v:0",
        "-show_entries",
        "stream=codec_name,width,height,r_frame_rate,avg_frame_rate,pix_fmt,sample_aspect_ratio,"
        "has_b_frames,field_order,start_time,time_base,bit_rate:format=start_time,bit_rate",
        "-of", "json", commands._file_url(path),
    ]  # fmt: skip
    found = json.loads(run_command(argv, timeout=PROBE_TIMEOUT_SECONDS).stdout or b"{}")
    streams = found.get("streams") or []
    if not streams:
        return None
    stream, container = streams[0], found.get("format") or {}
    rate, average = _fraction(stream.get("r_frame_rate")), _fraction(stream.get("avg_frame_rate"))
    start = _timestamp(stream.get("start_time"), Fraction(0))
    file_start = _timestamp(container.get("start_time"), start)
    bit_rate = stream.get("bit_rate") or container.get("bit_rate")
    return SourceVideo(
        codec=stream.get("codec_name", ""),
        width=int(stream.get("width") or 0),
        height=int(stream.get("height") or 0),
        fps=rate if rate and average and abs(rate - average) <= rate / 1000 else None,
        pix_fmt=stream.get("pix_fmt", ""),
        sample_aspect=stream.get("sample_aspect_ratio") or "1:1",
        has_b_frames=int(stream.get("has_b_frames") or 0),
        field_order=stream.get("field_order") or "progressive",
        start=start,
        file_start=file_start,
        time_base=_fraction(stream.get("time_base")) or Fraction(1, 90_000),
        bit_rate_kbps=int(bit_rate) // 1000 if str(bit_rate or "").isdigit() else None,
    )


def mismatch(video: SourceVideo, profile) -> str | None:
    """Why the source's video can't be copied onto `profile`'s channel (None: it fits)."""
    fps = commands.frame_rate(profile)
    pass_through = profile.video_mode == VideoMode.PASS_THROUGH
    if video.codec != codec_of(profile):
        return f"codec {video.codec or 'unknown'}, not {codec_of(profile)}"
    if not pass_through and (video.width, video.height) != (profile.width, profile.height):
        return f"size {video.width}×{video.height}, not {profile.width}×{profile.height}"
    if video.fps is None or video.fps != fps:
        return f"frame rate {video.fps or 'variable'}, not {fps}"
    if video.pix_fmt != "yuv420p":
        return f"pixel format {video.pix_fmt}, not yuv420p"
    if video.sample_aspect not in ("1:1", "0:1", "N/A"):
        return f"non-square pixels ({video.sample_aspect})"
    if video.field_order not in ("progressive", "unknown"):
        return f"interlaced ({video.field_order})"
    if video.has_b_frames:
        return "B-frames"
    return None


def keyframe_frames(
    path: str, video: SourceVideo, from_s: Fraction, to_s: Fraction
) -> list[tuple[int, bool, Fraction]]:
    """(frame number, is keyframe, timestamp on the file's timeline) of the video packets ffprobe
    reads between the two times (on the file's timeline), in decode order: only the packets,
    nothing is decoded."""
    start = video.file_start + max(Fraction(0), from_s)
    argv = [
        settings.RETROVUE_FFPROBE, "-v", "error", "-select_streams", "v:0",
        "-read_intervals", f"{float(start):.6f}%{float(video.file_start + to_s):.6f}",
        "-show_entries", "packet=pts,dts,flags", "-of", "json", commands._file_url(path),
    ]  # fmt: skip
    packets = json.loads(run_command(argv, timeout=PROBE_TIMEOUT_SECONDS).stdout or b"{}").get("packets", [])
    frames = []
    for packet in packets:
        pts, dts = packet.get("pts"), packet.get("dts")
        if pts is None or (dts is not None and dts != pts):
            raise SmartCopyError("a packet without a timestamp, or decoded out of order")
        seconds = Fraction(pts) * video.time_base
        frames.append((_frame_at(seconds, video), "K" in packet.get("flags", ""), seconds - video.file_start))
    return frames


def plan(part: commands.SourcePart, in_ms: int, out_ms: int, profile, video: SourceVideo) -> CopyPlan | str:
    """Which frames to encode and which to copy, or why this cut can't be smart-copied."""
    fps = commands.frame_rate(profile)
    timing = commands.piece_timing(out_ms - in_ms, profile)
    first = max(0, round((Fraction(in_ms, 1000) - video.offset) * fps))
    end = first + timing.frames
    if part.duration_ms is not None and Fraction(part.duration_ms, 1000) < video.offset + Fraction(end) / fps:
        return "the cut runs past the end of the source"
    packets = keyframe_frames(
        part.path,
        video,
        Fraction(in_ms, 1000) - KEYFRAME_LOOKBACK_SECONDS,
        Fraction(out_ms, 1000) + 2,
    )
    present = {frame for frame, _key, _at in packets}
    if any(frame not in present for frame in range(first, end)):
        return "frames missing or off the frame grid in the cut"
    keys = sorted({frame for frame, key, _at in packets if key and first <= frame < end})
    if not keys:
        return "no keyframe inside the cut"
    gop = commands.gop_frames(profile)
    edges = [*keys, end]
    if max(later - earlier for earlier, later in itertools.pairwise(edges)) > gop:
        return f"source keyframes further apart than a segment ({gop} frames)"
    # At the profile's size the head is encoded exactly like the channel's other pieces, so its
    # parameter sets (x264 picks the level from the bitrate) match theirs; a pass-through source
    # of another size has its own anyway, and its head gets its bitrate to look like the rest.
    head_kbps = profile.video_bitrate_kbps
    if (video.width, video.height) != (profile.width, profile.height):
        head_kbps = max(head_kbps, video.bit_rate_kbps or 0)
    copy_from_at = next(at for frame, key, at in packets if key and frame == keys[0])
    return CopyPlan(
        path=part.path, fps=fps, offset=video.offset, first_frame=first, copy_from=keys[0],
        copy_from_at=copy_from_at, end_frame=end, audio_track=part.audio_track, head_kbps=head_kbps,
    )  # fmt: skip


def head_argv(copy: CopyPlan, profile, output: Path, *, preset: str, ffmpeg: str | None = None) -> list[str]:
    """Encode the frames before the first copied keyframe: one short closed GOP from t=0. The seek
    lands a quarter frame before the first frame, so that frame is the first one kept (a seek onto
    a frame's exact time may round past it), and the frame count ends it."""
    seek = copy.time_of(copy.first_frame) - 1 / (4 * copy.fps)
    encoder = _with_bitrate(video_encoder_args(profile, preset, copy.fps), copy.head_kbps)
    return [
        *commands._head(ffmpeg), "-ss", _seconds(max(Fraction(0), seek)), "-i", commands._file_url(copy.path),
        "-map", "0:v:0", "-an", "-sn", "-dn", "-vf", "setpts=PTS-STARTPTS", "-fps_mode", "passthrough",
        "-frames:v", str(copy.head_frames), *encoder, "-map_metadata", "-1",
        "-f", "mpegts", "-muxdelay", "0", "-muxpreload", "0", commands._file_url(output),
    ]  # fmt: skip


def body_argv(copy: CopyPlan, output: Path, *, ffmpeg: str | None = None) -> list[str]:
    """Copy the compressed frames from the first keyframe on. Seeking a hair (under a microsecond,
    ffmpeg's resolution) after the keyframe's own timestamp (not its place on the frame grid: a
    container with millisecond timestamps rounds it either way) lands on it; with stream copy ffmpeg
    then keeps everything from that keyframe, and the frame count ends the body."""
    seek = Fraction(math.ceil(copy.copy_from_at * 1_000_000), 1_000_000)
    return [
        *commands._head(ffmpeg), "-ss", _seconds(seek), "-i", commands._file_url(copy.path),
        "-map", "0:v:0", "-an", "-sn", "-dn", "-c:v", "copy", "-frames:v", str(copy.copied_frames),
        "-map_metadata", "-1", "-f", "mpegts", "-muxdelay", "0", "-muxpreload", "0",
        commands._file_url(output),
    ]  # fmt: skip


def join_list_text(copy: CopyPlan, head: Path | None, body: Path) -> str:
    """The concat list of head and body, each with its exact length (the concat demuxer would
    otherwise time a file by its container duration and leave a gap or overlap at the join)."""
    lines = ["ffconcat version 1.0"]
    if head is not None:
        lines += [f"file '{commands._file_url(head)}'", f"duration {_seconds(copy.head_frames / copy.fps)}"]
    lines += [f"file '{commands._file_url(body)}'", f"duration {_seconds(copy.copied_frames / copy.fps)}"]
    return "\n".join(lines) + "\n"


def loudness_argv(copy: CopyPlan, in_ms: int, out_ms: int, *, ffmpeg: str | None = None) -> list[str]:
    """Measure the cut's audio (EBU R128 integrated loudness): decoding audio alone costs a fraction
    of what `loudnorm` costs at its 192 kHz working rate. Only the integrated loudness is read (the
    limiter in the mux keeps peaks down), so no true-peak meter runs: its 4x oversampling was three
    quarters of this pass (3.4 of 4.4 CPU-s on a 420 s act, bench/README.md)."""
    return [
        ffmpeg or settings.RETROVUE_FFMPEG, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
        "-accurate_seek", "-ss", _seconds(Fraction(in_ms, 1000)), "-t", _seconds(Fraction(out_ms - in_ms, 1000)),
        "-i", commands._file_url(copy.path), "-map", f"0:a:{copy.audio_track}", "-vn", "-sn", "-dn",
        "-af", "ebur128", "-f", "null", "-",
    ]  # fmt: skip


def loudness_gain_db(ebur128_log: str) -> float:
    """The linear gain that brings the measured cut to the station's target loudness (-24 LUFS, as
    `loudnorm` aims for); 0 for silence or a log without a summary."""
    found = _INTEGRATED.findall(ebur128_log)
    if not found:
        return 0.0
    integrated = float(found[-1])
    if integrated <= SILENCE_LUFS:
        return 0.0
    return max(-MAX_GAIN_DB, min(MAX_GAIN_DB, TARGET_LUFS - integrated))


def mux_argv(
    copy: CopyPlan,
    join_list: Path,
    in_ms: int,
    out_ms: int,
    profile,
    output: Path,
    *,
    gain_db: float = 0.0,
    ffmpeg: str | None = None,
) -> list[str]:
    """The piece: joined video copied, the source's audio over the cut at 48 kHz stereo, brought
    to the target loudness by a measured linear gain with a true-peak limiter (not `loudnorm`:
    same target, the source's own dynamics, under half the CPU), cut on an AAC frame and shifted
    by the priming exactly as a full encode does."""
    timing = commands.piece_timing(out_ms - in_ms, profile)
    audio = (
        f"{commands.source_audio_filter(f'[1:a:{copy.audio_track}]', timing.samples)},"
        f"volume={gain_db:.2f}dB,alimiter=limit={PEAK_LIMIT:.4f}:level=false:attack=5:release=50,"
        f"{commands.audio_finish(timing)}[aout]"
    )
    return [
        *commands._head(ffmpeg), "-f", "concat", "-safe", "0", "-i", commands._file_url(join_list),
        "-accurate_seek", "-ss", _seconds(Fraction(in_ms, 1000)), "-t", _seconds(Fraction(out_ms - in_ms, 1000)),
        "-i", commands._file_url(copy.path),
        "-filter_complex", audio, "-map", "0:v:0", "-map", "[aout]", "-c:v", "copy",
        *commands.audio_output_args(profile, output),
    ]  # fmt: skip


def make_piece(
    copy: CopyPlan,
    in_ms: int,
    out_ms: int,
    profile,
    output: Path,
    scratch: Callable[[str], Path],
    run: Callable[[list[str]], object],
    *,
    preset: str,
) -> None:
    """Run the smart copy into `output`. `scratch(kind)` names a temp file (the caller deletes it),
    `run(argv)` runs one ffmpeg. Raises SmartCopyError if the copied body is not the frames asked
    for (and whatever `run` raises)."""
    head = scratch("head") if copy.head_frames else None
    body, join_list = scratch("body"), scratch("list")
    if head is not None:
        run(head_argv(copy, profile, head, preset=preset))
    run(body_argv(copy, body))
    copied = count_video_packets(body)
    if copied != copy.copied_frames:
        raise SmartCopyError(f"the copied body has {copied} frames, not {copy.copied_frames}")
    join_list.write_text(join_list_text(copy, head, body))
    measured = run(loudness_argv(copy, in_ms, out_ms))
    gain = loudness_gain_db(getattr(measured, "stderr", b"").decode("utf-8", "replace"))
    run(mux_argv(copy, join_list, in_ms, out_ms, profile, output, gain_db=gain))


def count_video_packets(path: Path) -> int:
    argv = [
        settings.RETROVUE_FFPROBE, "-v", "error", "-select_streams", "v:0", "-count_packets",
        "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", commands._file_url(path),
    ]  # fmt: skip
    # MPEG-TS lists the stream twice (under its program too): the first line is enough.
    lines = run_command(argv, timeout=PROBE_TIMEOUT_SECONDS).stdout.decode().split()
    return int(lines[0]) if lines and lines[0].isdigit() else -1


def _frame_at(timestamp: Fraction, video: SourceVideo) -> int:
    """The frame number of a packet with this timestamp (seconds): its place on the stream's frame
    grid, or -1 if it is off the grid by more than a tenth of a frame (a variable frame rate)."""
    exact = (timestamp - video.start) * video.fps
    nearest = round(exact)
    return nearest if abs(exact - nearest) <= Fraction(1, 10) else -1


def _with_bitrate(argv: list[str], kbps: int) -> list[str]:
    """The encoder arguments with the head's bitrate: the source's, so the head looks like what follows."""
    rates = {"-b:v": f"{kbps}k", "-maxrate": f"{kbps}k", "-bufsize": f"{kbps * 2}k"}
    return [rates.get(argv[index - 1], part) if index else part for index, part in enumerate(argv)]


def _fraction(text) -> Fraction | None:
    try:
        value = Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _timestamp(text, default: Fraction) -> Fraction:
    """A start time ffprobe reports ("0.023000"; zero or negative are start times too)."""
    try:
        return Fraction(str(text))
    except (ValueError, ZeroDivisionError):
        return default


def _seconds(value: Fraction | float) -> str:
    return f"{float(value):.6f}"


def scratch_names(temporary: Path) -> Callable[[str], Path]:
    """Temp file names beside the piece's own temp file, which `pregen_encode.remove_partial_files`
    recognises as this process's (the owner tag is kept; only the random hex grows)."""
    stem = temporary.name.removesuffix(".tmp")
    kinds = {"head": "a", "body": "b", "list": "c"}
    return lambda kind: temporary.with_name(f"{stem}{kinds[kind]}.tmp")
