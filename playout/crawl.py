"""A crawl: an alert's text scrolling across the top of the running programme, re-encoded live.

A slate is encoded once and stream-copied everywhere; a crawl cannot be, because the picture under
the text is each channel's own. So while a channel crawls, the feed airs its programme through one
ffmpeg that decodes what would have aired (the pre-generated piece from the cursor, the slate, or
the live transcode's own source) and encodes it again, to the channel's profile, with the band and
the text drawn on. That costs a live encode per crawling channel (measured in docs/alerts.md), which
is why the station has a crawl capacity and gives the slate to channels beyond it.

The text comes from a file the alerts app wrote (drawtext `textfile=`): what staff or a CAP sender
typed never becomes part of a filtergraph, and the file's own path is ours and escaped for it. It
scrolls from right to left at a speed tied to the frame width, on a clock counted from when the
crawl began, so it runs on smoothly across the pieces it is drawn over.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from playout import ffmpeg_commands as commands

# The band sits inside the action-safe area at the top of the frame (47 CFR §11.51(d): a crawl at
# the top, where it covers least), its text about 1/16 of the frame height.
BAND_COLOR = "0x7a0000@0.85"
TEXT_FRACTION = 1 / 16
# Pixels per second as a fraction of the frame width: a 640-pixel frame scrolls 80 px/s, which reads
# comfortably (a line crosses the screen in eight seconds).
SPEED_FRACTION = 1 / 8


def crawl_filter(text_file: str | os.PathLike, width: int, height: int, *, clock_offset: float = 0.0) -> str:
    """The filters (a chain, ending with a comma) that draw the band and the scrolling text."""
    size = max(10, round(height * TEXT_FRACTION))
    band = round(size * 1.8)
    top = round(height * commands.BUG_MARGIN_FRACTION)
    speed = max(20, round(width * SPEED_FRACTION))
    text = commands._filter_value(str(Path(text_file).absolute()))
    # x = w − ((t + offset)·speed mod (w + text width)): enters on the right, leaves on the left,
    # and starts again. Commas inside the expression are escaped for the filtergraph.
    clock = f"(t+{clock_offset:.3f})"
    return (
        f"drawbox=x=0:y={top}:w=iw:h={band}:color={BAND_COLOR}:t=fill,"
        f"drawtext=expansion=none:font=Sans:textfile={text}:fontcolor=white:fontsize={size}"
        f":y={top}+({band}-th)/2:x=w-mod({clock}*{speed}\\,w+tw),"
    )


def crawl_file_argv(
    source: Path,
    seek_ms: int,
    duration_ms: int,
    profile,
    text_file: Path,
    *,
    clock_offset: float = 0.0,
    preset: str = commands.DEFAULT_PRESET,
    ffmpeg: str | None = None,
) -> list[str]:
    """Re-encode an MPEG-TS in the channel's profile (a pre-generated piece, the slate) from `seek_ms`
    for `duration_ms`, with the crawl drawn on, to stdout. Seeking re-encodes, so it is frame-exact;
    a seek in a complex filtergraph keeps the source's timestamps, so both streams restart at 0."""
    timing = commands.piece_timing(max(1, duration_ms), profile)
    width, height = profile.width, profile.height
    video = (
        f"[0:v:0]setpts=PTS-STARTPTS,{crawl_filter(text_file, width, height, clock_offset=clock_offset)}"
        f"format=yuv420p,trim=end_frame={timing.frames}[vout]"
    )
    audio = (
        f"[0:a:0]asetpts=PTS-STARTPTS,aresample={commands.AUDIO_RATE}:async=1:first_pts=0,"
        f"aformat=sample_fmts=fltp:channel_layouts=stereo,{commands.audio_finish(timing)}[aout]"
    )
    return [
        *commands._head(ffmpeg),
        "-accurate_seek", "-ss", commands._seconds(seek_ms),
        "-i", commands._file_url(source),
        "-filter_complex", f"{video};{audio}",
        "-map", "[vout]", "-map", "[aout]",
        *commands._output_args(profile, preset, "-"),
    ]  # fmt: skip


def clock_offset(since: datetime | None, airs_at: datetime) -> float:
    """Seconds of crawl already shown when an entry airing at `airs_at` begins."""
    if since is None:
        return 0.0
    return max(0.0, (airs_at - since).total_seconds())
