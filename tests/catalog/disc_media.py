"""Small disc-folder trees made with ffmpeg for the disc tests: a DVD's VIDEO_TS (MPEG-2 program
streams in .VOB files, as `-f vob` writes them) and a Blu-ray's BDMV/STREAM (.m2ts transport
streams). Real discs also hold .IFO/.BUP/.mpls files that RetroVue does not read; empty stand-ins
make the layout look right."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from retrovue.subprocesses import run_command


def vob(path: Path, seconds: float, pattern: str = "testsrc") -> Path:
    """An MPEG-2 program stream, as a DVD's .VOB files hold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_command(
        [
            settings.RETROVUE_FFMPEG, "-v", "error", "-y",
            "-f", "lavfi", "-i", f"{pattern}=size=176x144:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", str(seconds), "-c:v", "mpeg2video", "-b:v", "300k", "-c:a", "mp2", "-b:a", "64k",
            "-f", "vob", str(path),
        ],
        timeout=60,
    )  # fmt: skip
    return path


def m2ts(path: Path, seconds: float) -> Path:
    """An MPEG transport stream, as a Blu-ray's STREAM files hold."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_command(
        [
            settings.RETROVUE_FFMPEG, "-v", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=880",
            "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-f", "mpegts", str(path),
        ],
        timeout=60,
    )  # fmt: skip
    return path


def dvd_folder(video_ts: Path) -> Path:
    """A DVD whose menu (VIDEO_TS.VOB) is the longest single file, with two title sets: an extra of
    1 s (title set 1) and the feature of 3 s in two VOBs (title set 2)."""
    for name in ("VIDEO_TS.IFO", "VIDEO_TS.BUP", "VTS_01_0.IFO", "VTS_02_0.IFO"):
        (video_ts / name).parent.mkdir(parents=True, exist_ok=True)
        (video_ts / name).write_bytes(b"DVDVIDEO-VMG")
    vob(video_ts / "VIDEO_TS.VOB", 4, pattern="smptebars")
    vob(video_ts / "VTS_01_0.VOB", 1, pattern="smptebars")
    vob(video_ts / "VTS_01_1.VOB", 1)
    vob(video_ts / "VTS_02_1.VOB", 1.5)
    vob(video_ts / "VTS_02_2.VOB", 1.5)
    return video_ts


def bluray_folder(bdmv: Path) -> Path:
    """A Blu-ray with a 1 s clip (a logo) and the 2 s feature."""
    (bdmv / "PLAYLIST").mkdir(parents=True, exist_ok=True)
    (bdmv / "PLAYLIST" / "00000.mpls").write_bytes(b"MPLS0200")
    (bdmv / "index.bdmv").write_bytes(b"INDX0200")
    m2ts(bdmv / "STREAM" / "00000.m2ts", 1)
    m2ts(bdmv / "STREAM" / "00001.m2ts", 2)
    return bdmv
