"""Making the demo media: `make_demo_media(folder)` writes the set with ffmpeg.

The set is four shows (sitcoms and cartoons, with Kodi .nfo files the TMM scanner reads), four
feature films, and the short-form clips a station breaks with, each clip with an .nfo carrying its
scheduling metadata in a `<retrovue>` block (see `contents` for what, `nfo` for the sidecars).

What makes programs of real TV lengths cheap is their picture. Long-form video is a test card
drawn once and repeated at 1 frame per second, with the act and a running clock drawn on each frame
(so a viewer, or a test, can read where in a program the station is); its audio is a quiet pip
every five seconds, a one-minute loop stream-copied to length. An episode is about 1.2 MB and half
a second of work. Clips are short, so they move (15 fps: sliding headlines, some full-motion test
patterns) and have jingles. Chapters are embedded in the Matroska files, with a keyframe at each.

The whole set is about 55 MB and 35 CPU-seconds. A finished set has a manifest with a digest of
every command and sidecar that made it; a folder that already holds a complete set is left alone,
so running the demo again costs nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from retrovue.subprocesses import CommandError, run_command
from scheduling.demo.contents import CLIPS, CLIPS_FOLDER, LIBRARY_FOLDER, MOVIES, SHOWS, DemoClip, _file_name
from scheduling.demo.nfo import clip_nfo, episode_nfo, movie_nfo, show_nfo

DEMO_MEDIA_VERSION = 1
MANIFEST_NAME = "retrovue-demo-manifest.json"

WIDTH, HEIGHT = 320, 240
CLIP_FPS = 15
AUDIO_LOOP_SECONDS = 60  # long enough that re-reading it is rare, short enough to cost nothing
FFMPEG_TIMEOUT_SECONDS = 300.0
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/Library/Fonts/Arial.ttf",
)

Log = Callable[[str], None]


def _quiet(_line: str) -> None:
    pass


@dataclass
class MediaJob:
    """One file to make: the ffmpeg command that writes it (to `path` + ".part") and its sidecar."""

    path: Path
    argv: list[str]
    nfo: str = ""
    ffmetadata: str = ""  # chapters, written beside the output for ffmpeg to read
    cost: int = 0  # seconds of output, to start the long jobs first


@dataclass
class MediaPlan:
    """The whole set: its files' jobs, the shows' tvshow.nfo texts, and the shows' audio loops."""

    folder: Path
    font: str | None = None
    jobs: list[MediaJob] = field(default_factory=list)
    show_nfos: dict[Path, str] = field(default_factory=dict)
    audio_loops: dict[Path, list[str]] = field(default_factory=dict)


def make_demo_media(folder: str | Path, *, workers: int | None = None, log: Log = _quiet) -> Path:
    """Generate the demo library into `folder` (created if needed) unless a complete set is there.

    The manifest records a digest of every command and sidecar of the set, so a set made by an
    older version of this module (or another font) is made again. Returns the folder.
    """
    folder = Path(folder).expanduser().resolve()
    plan = plan_media(folder, font=text_font())
    digest = plan_digest(plan)
    if media_is_complete(folder, read_manifest(folder), digest):
        log(f"Demo media already in {folder}.")
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder / ".demo-media.lock"):
        # Another process may have made the set while this one waited for the lock.
        old = read_manifest(folder)
        if media_is_complete(folder, old, digest):
            log(f"Demo media already in {folder}.")
            return folder
        if plan.font is None:
            log("This ffmpeg cannot draw text (drawtext or a font is missing): no titles on screen.")
        _generate(plan, digest=digest, old=old, workers=workers, log=log)
    return folder


def _generate(plan: MediaPlan, *, digest: str, old: dict, workers: int | None, log: Log) -> None:
    began = time.monotonic()
    folder = plan.folder
    work = folder / ".work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        for argv in plan.audio_loops.values():
            run_command(argv, timeout=FFMPEG_TIMEOUT_SECONDS)
        for path, text in plan.show_nfos.items():
            _write_text(path, text)
        jobs = sorted(plan.jobs, key=lambda job: -job.cost)  # the films first: they take longest
        with ThreadPoolExecutor(max_workers=workers or max(2, os.cpu_count() or 2)) as pool:
            for done, _ in enumerate(pool.map(_run_job, jobs), start=1):
                if done % 10 == 0 or done == len(jobs):
                    log(f"  {done}/{len(jobs)} files made")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    files = {_relative(path, folder): path.stat().st_size for path in _all_outputs(plan)}
    for stale in set(old.get("files") or {}) - set(files):
        (folder / stale).unlink(missing_ok=True)  # only what an older set listed, never other files
    manifest = {"version": DEMO_MEDIA_VERSION, "digest": digest, "files": files}
    _write_text(folder / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True))
    size_mb = sum(files.values()) / 1_000_000
    log(f"Made {len(files)} demo files ({size_mb:.1f} MB) in {time.monotonic() - began:.1f} s.")


@contextlib.contextmanager
def _locked(path: Path):
    """One generator per folder at a time (the launcher and a staff member may both start one)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def plan_digest(plan: MediaPlan) -> str:
    """What the set is made of: every file's command line and sidecar, relative to the folder."""
    root = str(plan.folder)

    def relative(argv: list[str]) -> list[str]:
        return [part.replace(root, "") for part in argv[1:]]  # not the binary's path: any ffmpeg will do

    spec = {
        "version": DEMO_MEDIA_VERSION,
        "jobs": [[relative(job.argv), job.nfo, job.ffmetadata] for job in plan.jobs],
        "audio": [relative(argv) for argv in plan.audio_loops.values()],
        "shows": sorted(plan.show_nfos.values()),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return manifest if isinstance(manifest, dict) else {}


def media_is_complete(folder: Path, manifest: dict, digest: str) -> bool:
    if manifest.get("version") != DEMO_MEDIA_VERSION or manifest.get("digest") != digest:
        return False
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        return False
    for relative, size in files.items():
        try:
            if (folder / relative).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def text_font() -> str | None:
    """A font file for drawtext, or None when this ffmpeg cannot draw text."""
    try:
        filters = run_command([settings.RETROVUE_FFMPEG, "-hide_banner", "-filters"], timeout=30)
    except CommandError:
        return None
    if not re.search(rb"\sdrawtext\s", filters.stdout):
        return None
    for candidate in FONT_CANDIDATES:
        if os.path.isfile(candidate):
            return candidate
    if shutil.which("fc-match"):
        try:
            found = (
                run_command(["fc-match", "-f", "%{file}", "sans:bold"], timeout=10).stdout.decode().strip()
            )
        except CommandError:
            return None
        if found and os.path.isfile(found):
            return found
    return None


def plan_media(folder: Path, *, font: str | None = None) -> MediaPlan:
    """Every file of the set and the command that makes it (pure: nothing runs)."""
    plan = MediaPlan(folder=folder, font=font)
    work = folder / ".work"
    tv, movies = folder / LIBRARY_FOLDER / "TV Shows", folder / LIBRARY_FOLDER / "Movies"
    for show in SHOWS:
        loop = work / f"{show.key}.aac"
        plan.audio_loops[loop] = audio_loop_argv(loop, show.tone_hz)
        show_dir = tv / f"{show.title} ({show.year})"
        plan.show_nfos[show_dir / "tvshow.nfo"] = show_nfo(show)
        for episode in show.episodes:
            seconds, chapters = episode.seconds, episode.chapters
            name = (
                f"{show.title} - S{episode.season:02d}E{episode.number:02d} - {_file_name(episode.title)}.mkv"
            )
            path = show_dir / f"Season {episode.season:02d}" / name
            captions = [
                Caption(show.title, size=22, y="16"),
                Caption(f"S{episode.season:02d}E{episode.number:02d}  {episode.title}", size=14, y="48"),
                *_chapter_captions(chapters, seconds),
                Caption(f"%{{pts:hms}} / {_hms(seconds)}", size=16, y="h-36", clock=True),
            ]
            plan.jobs.append(
                MediaJob(
                    path,
                    long_form_argv(path, show.background, loop, seconds, chapters, captions, font),
                    nfo=episode_nfo(show, episode, seconds),
                    ffmetadata=ffmetadata(episode.title, chapters, seconds),
                    cost=seconds,
                )
            )
    for movie in MOVIES:
        loop = work / f"movie-{movie.tmdb}.aac"
        plan.audio_loops[loop] = audio_loop_argv(loop, movie.tone_hz)
        seconds, chapters = movie.seconds, movie.chapters
        name = f"{movie.title} ({movie.year})"
        path = movies / _file_name(name) / f"{_file_name(name)}.mkv"
        captions = [
            Caption(movie.title, size=22, y="16"),
            Caption(f"A {movie.studio} release, {movie.year}", size=12, y="48"),
            *_chapter_captions(chapters, seconds),
            Caption("THE END", size=30, y="(h-th)/2+44", start=max(0, seconds - 30), end=seconds),
            Caption(f"%{{pts:hms}} / {_hms(seconds)}", size=16, y="h-36", clock=True),
        ]
        plan.jobs.append(
            MediaJob(
                path,
                long_form_argv(path, movie.background, loop, seconds, chapters, captions, font),
                nfo=movie_nfo(movie, seconds),
                ffmetadata=ffmetadata(movie.title, chapters, seconds),
                cost=seconds,
            )
        )
    for clip in CLIPS:
        path = folder / CLIPS_FOLDER / clip.folder / f"{clip.stem}.mp4"
        plan.jobs.append(MediaJob(path, clip_argv(path, clip, font), clip_nfo(clip), cost=clip.seconds))
    return plan


@dataclass(frozen=True)
class Caption:
    """A line of text drawn on a video, centred unless `x` says otherwise.

    `clock` lines expand %{pts:hms}; `start`/`end` show a line for part of the video only. Lines
    that never change are drawn once, on the still (see `video_input`).
    """

    text: str
    size: int
    y: str
    start: int | None = None
    end: int | None = None
    clock: bool = False
    color: str = "white"
    x: str = "(w-tw)/2"

    @property
    def changes(self) -> bool:
        return self.clock or self.start is not None or re.search(r"\bt\b", self.x) is not None


# Test sources whose picture moves by itself; every other look is a still.
ANIMATED_LOOKS = ("testsrc2", "gradients", "mandelbrot", "life", "cellauto")


def drawtext_filter(caption: Caption, font: str) -> str:
    options = [
        f"fontfile={font}",
        f"text={caption.text}",
        f"expansion={'normal' if caption.clock else 'none'}",
        f"fontsize={caption.size}",
        f"fontcolor={caption.color}",
        "box=1",
        "boxcolor=black@0.55",
        "boxborderw=4",
        f"x={caption.x}",
        f"y={caption.y}",
    ]
    if caption.start is not None and caption.end is not None:
        options.append(f"enable=between(t,{caption.start},{caption.end - 0.001:.3f})")
    return "drawtext=" + ":".join(_option(option) for option in options)


def video_input(look: str, rate: int, captions: list[Caption], font: str | None) -> str:
    """The lavfi source: the look at the demo size with its unchanging captions.

    A still look is drawn once and repeated (`loop`), so a 95-minute film costs one rendered
    picture plus the clock, not 5,700 test patterns.
    """
    source = look.format(size=f"{WIDTH}x{HEIGHT}", rate=rate)
    fixed = [drawtext_filter(caption, font) for caption in captions if not caption.changes] if font else []
    # Scaled first: colorchart's size comes from its patches.
    chain = [source, f"scale={WIDTH}:{HEIGHT}", *fixed, "format=yuv420p"]
    if not source.startswith(ANIMATED_LOOKS):
        chain += ["trim=end_frame=1", "loop=loop=-1:size=1", "setpts=N/FRAME_RATE/TB"]
    return ",".join(chain)


def video_filters(captions: list[Caption], font: str | None) -> str:
    """What is drawn on every frame: the captions that change over time."""
    moving = [drawtext_filter(caption, font) for caption in captions if caption.changes] if font else []
    return ",".join([*moving, "format=yuv420p"])


def audio_loop_argv(path: Path, tone_hz: int) -> list[str]:
    """A quiet pip every five seconds: audible, and almost free to store.

    Raw ADTS, not .m4a: an .m4a's edit list hides the encoder's priming samples behind a negative
    start time, which Matroska can only store by shifting the whole file 64 ms off its chapters.
    """
    source = f"sine=frequency={tone_hz}:sample_rate=16000:duration={AUDIO_LOOP_SECONDS}," + _filter(
        "volume", volume="if(lt(mod(t,5),0.25),0.12,0)", eval="frame"
    )
    return [
        *_ffmpeg(),
        "-f", "lavfi", "-i", source,
        "-c:a", "aac", "-ac", "1", "-b:a", "8k", "-f", "adts", str(path),
    ]  # fmt: skip


def long_form_argv(
    path: Path,
    look: str,
    audio_loop: Path,
    seconds: int,
    chapters: tuple[tuple[int, str], ...],
    captions: list[Caption],
    font: str | None,
) -> list[str]:
    """An episode or film: a 1 fps still with captions and a running clock, the show's audio loop
    copied to length, chapters from an ffmetadata file beside the output, and a keyframe at every
    chapter so a break cuts cleanly."""
    argv = [
        *_ffmpeg(),
        "-f", "lavfi", "-i", video_input(look, 1, captions, font),
        "-stream_loop", "-1", "-i", str(audio_loop),
        "-f", "ffmetadata", "-i", str(_ffmeta_path(path)),
        "-map", "0:v", "-map", "1:a", "-map_metadata", "2", "-map_chapters", "2",
        "-t", str(seconds),
        "-vf", video_filters(captions, font),
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "34", "-g", "30", "-pix_fmt", "yuv420p",
        "-threads", "1", "-c:a", "copy",
    ]  # fmt: skip
    if chapters[1:]:
        argv += ["-force_key_frames", ",".join(str(start) for start, _ in chapters[1:])]
    return [*argv, "-f", "matroska", str(_part(path))]


def clip_argv(path: Path, clip: DemoClip, font: str | None) -> list[str]:
    """A short clip at 15 fps: its look, a headline that slides in (commercials) or a line that
    scrolls (longer clips), and a jingle: the clip's tone with a beep an octave up every second."""
    audio = f"sine=frequency={clip.tone_hz}:beep_factor=2:sample_rate=16000:duration={clip.seconds}"
    if clip.folder == "commercials":
        captions = [
            Caption(
                clip.headline,
                size=26 if len(clip.headline) < 16 else 20,
                y="(h-th)/2-20",
                x="max((w-tw)/2,w-t*320)",
            ),
            Caption(clip.subline, size=14, y="(h-th)/2+24"),
            Caption(clip.company, size=11, y="h-28", color="yellow"),
        ]
    else:
        captions = [Caption(clip.headline, size=24 if len(clip.headline) < 20 else 18, y="(h-th)/2-12")]
        if clip.subline:
            scroll = "w-mod(t*60,w+tw)" if clip.seconds >= 20 else "(w-tw)/2"
            captions.append(Caption(clip.subline, size=13, y="(h-th)/2+24", x=scroll))
    return [
        *_ffmpeg(),
        "-f", "lavfi", "-i", video_input(clip.look, CLIP_FPS, captions, font),
        "-f", "lavfi", "-i", audio,
        "-map", "0:v", "-map", "1:a", "-t", str(clip.seconds),
        "-vf", video_filters(captions, font),
        "-c:v", "libx264", "-preset", "ultrafast", "-crf", "32", "-g", str(CLIP_FPS * 2), "-pix_fmt", "yuv420p",
        "-threads", "1",
        "-c:a", "aac", "-ac", "1", "-b:a", "24k", "-movflags", "+faststart",
        "-f", "mp4", str(_part(path)),
    ]  # fmt: skip


def ffmetadata(title: str, chapters: tuple[tuple[int, str], ...], seconds: int) -> str:
    lines = [";FFMETADATA1", f"title={_ffmeta_escape(title)}"]
    for index, (start, name) in enumerate(chapters):
        end = chapters[index + 1][0] if index + 1 < len(chapters) else seconds
        lines += ["[CHAPTER]", "TIMEBASE=1/1000", f"START={start * 1000}", f"END={end * 1000}"]
        lines.append(f"title={_ffmeta_escape(name)}")
    return "\n".join(lines) + "\n"


def _run_job(job: MediaJob) -> None:
    job.path.parent.mkdir(parents=True, exist_ok=True)
    if job.ffmetadata:
        _write_text(_ffmeta_path(job.path), job.ffmetadata)
    try:
        run_command(job.argv, timeout=FFMPEG_TIMEOUT_SECONDS)
        os.replace(_part(job.path), job.path)
    finally:
        _part(job.path).unlink(missing_ok=True)
        _ffmeta_path(job.path).unlink(missing_ok=True)
    if job.nfo:
        _write_text(job.path.with_suffix(".nfo"), job.nfo)


def _all_outputs(plan: MediaPlan) -> list[Path]:
    paths = list(plan.show_nfos)
    for job in plan.jobs:
        paths.append(job.path)
        if job.nfo:
            paths.append(job.path.with_suffix(".nfo"))
    return paths


# --- helpers ----------------------------------------------------------------------------------------


def _chapter_captions(chapters: tuple[tuple[int, str], ...], seconds: int) -> list[Caption]:
    captions = []
    for index, (start, name) in enumerate(chapters):
        end = chapters[index + 1][0] if index + 1 < len(chapters) else seconds
        captions.append(Caption(name.upper(), size=28, y="(h-th)/2", start=start, end=end))
    return captions


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _option(option: str) -> str:
    """One drawtext option, escaped for the option parser and then for the filtergraph."""
    key, _, value = option.partition("=")
    value = re.sub(r"([\\':])", r"\\\1", value)
    return f"{key}=" + re.sub(r"([\\'\[\],;])", r"\\\1", value)


def _filter(name: str, **options: str) -> str:
    return name + "=" + ":".join(_option(f"{key}={value}") for key, value in options.items())


def _ffmeta_escape(text: str) -> str:
    return re.sub(r"([=;#\\\n])", r"\\\1", text)


def _ffmpeg() -> list[str]:
    # One thread per process: the jobs run side by side, one per core, which beats threading
    # tiny 320×240 encodes.
    return [settings.RETROVUE_FFMPEG, "-hide_banner", "-nostdin", "-v", "error", "-y", "-filter_threads", "1"]


def _part(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _ffmeta_path(path: Path) -> Path:
    return path.with_name(path.name + ".ffmeta")


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
