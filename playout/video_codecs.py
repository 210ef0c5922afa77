"""The video encoder settings of a stream profile: one frozen parameter set per profile and codec.

Every encoded frame of a channel (whole pieces, smart-copy heads, slates, live transcodes) comes
from these arguments, so pieces encoded on different days from different content carry the same
SPS/PPS. x264's `stitchable` stops it tuning the headers to the content (without it,
`pic_init_qp` follows the bitrate of each piece), which is what lets the channel process tell a
real change of encoding parameters, one it must mark with EXT-X-DISCONTINUITY, from none
(see `playout.parameter_sets`).

The GOP is closed and exactly one segment long, with an IDR at every segment boundary forced by
time (NTSC rates stay on the wall-clock grid) and none anywhere else; no B-frames, so decode order
is display order and video can start at timestamp 0 in MPEG-TS. The preset and the rate control
were chosen by measurement (docs/encoder-settings.md, bench/encoder_settings.py).
"""

from __future__ import annotations

from fractions import Fraction

from scheduling.choices import VideoCodec

DEFAULT_PRESET = "veryfast"


def codec_of(profile) -> str:
    return getattr(profile, "video_codec", "") or VideoCodec.H264


def gop_frames(profile, fps: Fraction) -> int:
    """Frames in one segment: the GOP length."""
    return max(1, round(profile.segment_seconds * fps))


def video_encoder_args(profile, preset: str, fps: Fraction) -> list[str]:
    """`-c:v …` and everything the video encoder needs for `profile`."""
    gop = gop_frames(profile, fps)
    kbps = profile.video_bitrate_kbps
    rate = ["-b:v", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{kbps * 2}k"]
    keyframes = [
        "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
        "-force_key_frames", f"expr:gte(t,n_forced*{profile.segment_seconds})", "-forced-idr", "1",
    ]  # fmt: skip
    if codec_of(profile) == VideoCodec.HEVC:
        # repeat-headers: VPS/SPS/PPS in front of every IDR, as MPEG-TS needs for tune-in.
        params = (
            f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0:open-gop=0:repeat-headers=1:log-level=error"
        )
        return [
            "-c:v", "libx265", "-preset", preset, "-profile:v", "main",
            "-pix_fmt", "yuv420p", *rate, *keyframes, "-x265-params", params,
        ]  # fmt: skip
    return [
        "-c:v", "libx264", "-preset", preset, "-profile:v", "high", "-pix_fmt", "yuv420p", "-bf", "0",
        *rate, "-flags", "+cgop", *keyframes, "-x264-params", "stitchable=1",
    ]  # fmt: skip
