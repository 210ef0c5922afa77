"""The demo station: generated media, a catalog and three channels on the air, no Plex needed.

`make_demo_media(folder)` writes a small library with ffmpeg: four shows (sitcoms and cartoons,
with Kodi .nfo files the TMM scanner reads), four feature films, and the short-form clips a station
breaks with (commercials from ten companies, bumpers, promos, station IDs, interstitials, filler),
each clip with an .nfo carrying its scheduling metadata in a `<retrovue>` block.

Programs keep real TV lengths (a 22-minute sitcom, a 95-minute film), because those lengths are
what the schedule is about; what makes them cheap is their picture. Long-form video is a test card
drawn once and repeated at 1 frame per second, with the act and a running clock drawn on each frame
(so a viewer, or a test, can read where in a program the station is); its audio is a quiet pip
every five seconds, a one-minute loop stream-copied to length. An episode is about 1.2 MB and half
a second of work. Clips are short, so they move (15 fps: sliding headlines, some full-motion test
patterns) and have jingles. Chapters are embedded in the Matroska files at plausible act breaks,
with a keyframe at each; some episodes and one film have none, so even-interval breaks get used too.

The whole set is about 55 MB and 35 CPU-seconds. A finished set has a manifest with a digest of
every command and sidecar that made it; a folder that already holds a complete set is left alone,
so running the demo again costs nothing.

`build_demo_station(folder)` scans the set into a TMM source and a folder source and creates the
channels, templates, slots, break rules and fallback items (get-or-create by stable names, so a
second run changes nothing), then rolls the schedule forward.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import inspect
import json
import os
import re
import shutil
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from catalog.choices import ContentKind, SourceKind, SyncStatus
from catalog.models import MediaSource, Movie, ShortFormItem, Show
from catalog.sync.folders import sync_folder_source
from retrovue.subprocesses import CommandError, run_command
from scheduling.models import BreakRule, Channel, ScheduleTemplate, TimeSlot

DEMO_MEDIA_VERSION = 1
MANIFEST_NAME = "retrovue-demo-manifest.json"
LIBRARY_FOLDER = "library"  # the TMM source: TV Shows/, Movies/
CLIPS_FOLDER = "clips"  # the folder source: commercials/, bumpers/, …
LIBRARY_SOURCE_NAME = "RetroVue Demo Library"
CLIPS_SOURCE_NAME = "RetroVue Demo Clips"

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


# --- what the demo holds ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoEpisode:
    number: int
    title: str
    seconds: int
    aired: str
    plot: str
    chapters: tuple[tuple[int, str], ...] = ()  # (start second, title); the first starts at 0
    season: int = 1
    score: str = "7.5"
    seasonal: str = ""


@dataclass(frozen=True)
class DemoShow:
    key: str
    title: str
    year: int
    rating: str
    studio: str
    genres: tuple[str, ...]
    plot: str
    tvdb: int
    background: str  # a lavfi source, {size} and {rate} filled in
    tone_hz: int
    category: str
    demographic: str
    episodes: tuple[DemoEpisode, ...]


@dataclass(frozen=True)
class DemoMovie:
    title: str
    year: int
    rating: str
    seconds: int
    studio: str
    genres: tuple[str, ...]
    plot: str
    tmdb: int
    imdb: str
    background: str
    tone_hz: int
    chapters: tuple[tuple[int, str], ...] = ()
    seasonal: str = ""
    score: str = "6.8"


@dataclass(frozen=True)
class DemoClip:
    folder: str  # the short-form folder: commercials, bumpers, promos, station_ids, interstitials, filler
    title: str
    seconds: int
    headline: str
    subline: str = ""
    look: str = "testsrc2=size={size}:rate={rate}"
    tone_hz: int = 660
    rating: str = "TV-G"
    company: str = ""
    category: str = ""
    daypart: str = ""
    season: str = ""
    demographic: str = ""
    expires: str = ""
    promotes: str = ""  # a DemoShow key; set as the promo's show after the scan
    year: int = 1988

    @property
    def stem(self) -> str:
        return _file_name(self.title)


SITCOM_ACTS = ((0, "Cold Open"), (190, "Act One"), (700, "Act Two"), (1130, "Tag"))
DENSE_ACTS = tuple((second, f"Scene {index + 1}") for index, second in enumerate(range(0, 1260, 90)))
CARTOON_HALVES = ((0, "Part One"), (660, "Part Two"))


def _reels(seconds: int, every: int) -> tuple[tuple[int, str], ...]:
    return tuple((start, f"Reel {index + 1}") for index, start in enumerate(range(0, seconds, every)))


# fmt: off
SHOWS: tuple[DemoShow, ...] = (
    DemoShow(
        "maple-street", "Maple Street", 1987, "TV-PG", "RVN", ("Comedy",),
        "Three generations of the Parkers share one house, one bathroom and one telephone line.",
        tvdb=9900101, background="smptebars=size={size}:rate={rate}", tone_hz=330, category="sitcom",
        demographic="family",
        episodes=(
            DemoEpisode(1, "Pilot", 1330, "1987-09-14", "The Parkers move in; the dog does not approve.", SITCOM_ACTS, score="7.9"),
            DemoEpisode(2, "The Big Game", 1315, "1987-09-21", "Dad bets the lawn mower on the homecoming game.", SITCOM_ACTS),
            DemoEpisode(3, "Party Line", 1342, "1987-09-28", "Grandma discovers the neighbours share their phone line.", DENSE_ACTS),
            DemoEpisode(4, "Blackout", 1298, "1987-10-05", "A storm knocks the power out on the night of the science fair."),
            DemoEpisode(5, "Road Trip", 1325, "1987-10-12", "Six Parkers, one station wagon, no map.", SITCOM_ACTS, score="8.1"),
            DemoEpisode(6, "Christmas on Maple Street", 1336, "1987-12-21", "The Parkers try to out-decorate the Hendersons.", SITCOM_ACTS, seasonal="christmas"),
        ),
    ),
    DemoShow(
        "the-hendersons", "The Hendersons", 1991, "TV-PG", "RVN", ("Comedy", "Family"),
        "A weather man, a lawyer and three kids who all want the last pork chop.",
        tvdb=9900102, background="pal75bars=size={size}:rate={rate}", tone_hz=392, category="sitcom",
        demographic="family",
        episodes=(
            DemoEpisode(1, "Forecast: Chaos", 1321, "1991-09-17", "Dad predicts sunshine on the day of the family picnic.", SITCOM_ACTS),
            DemoEpisode(2, "The Science Project", 1308, "1991-09-24", "A volcano, a deadline and too much baking soda.", SITCOM_ACTS),
            DemoEpisode(3, "Dinner Guests", 1334, "1991-10-01", "Mom's boss comes to dinner; the twins cook."),
            DemoEpisode(4, "Snow Day", 1312, "1991-10-08", "Everybody is home, nobody is happy about it.", SITCOM_ACTS, score="7.2"),
        ),
    ),
    DemoShow(
        "captain-comet", "Captain Comet", 1984, "TV-Y7", "Starlight Animation", ("Animation", "Adventure"),
        "Captain Comet and the crew of the Stardust protect the galaxy from the Void Pirates.",
        tvdb=9900103, background="yuvtestsrc=size={size}:rate={rate}", tone_hz=523, category="cartoon",
        demographic="kids",
        episodes=(  # no chapter marks: breaks fall at even intervals
            DemoEpisode(1, "Into the Nebula", 1320, "1984-09-08", "The Stardust answers a distress call from inside a nebula."),
            DemoEpisode(2, "The Void Pirates", 1305, "1984-09-15", "The pirates steal the galaxy's last star map."),
            DemoEpisode(3, "Robot Rebellion", 1318, "1984-09-22", "The ship's robots go on strike for better oil."),
            DemoEpisode(4, "Comet Cadets", 1326, "1984-09-29", "Three kids from Earth join the crew for a day."),
            DemoEpisode(5, "Return to Earth", 1310, "1984-10-06", "The Stardust comes home for the first time in a thousand years."),
        ),
    ),
    DemoShow(
        "the-doodle-bunch", "The Doodle Bunch", 1989, "TV-Y", "Crayon Studios", ("Animation", "Children"),
        "Drawings come to life on the pages of Molly's sketchbook.",
        tvdb=9900104, background="rgbtestsrc=size={size}:rate={rate}", tone_hz=587, category="cartoon",
        demographic="kids",
        episodes=(
            DemoEpisode(1, "The Runaway Crayon", 1316, "1989-09-09", "A purple crayon escapes the box.", CARTOON_HALVES),
            DemoEpisode(2, "Eraser Trouble", 1322, "1989-09-16", "Something is rubbing out the doodles.", CARTOON_HALVES),
            DemoEpisode(3, "The Paper Airplane", 1309, "1989-09-23", "The bunch fly to the top of the bookshelf.", CARTOON_HALVES),
            DemoEpisode(4, "Rainy Day Doodles", 1328, "1989-09-30", "Molly has to stay inside; so do the doodles.", CARTOON_HALVES),
        ),
    ),
)

MOVIES: tuple[DemoMovie, ...] = (
    DemoMovie(
        "Midnight Harbor", 1986, "PG-13", 5760, "Lighthouse Pictures", ("Thriller",),
        "A night watchman at the harbor sees a ship that sank forty years ago.",
        tmdb=99000201, imdb="tt9900201", background="color=c=0x102040:size={size}:rate={rate}", tone_hz=220,
        chapters=_reels(5760, 840),
    ),
    DemoMovie(
        "The Great Robot Adventure", 1988, "G", 5520, "Starlight Pictures", ("Family", "Science Fiction"),
        "Two kids build a robot for the science fair; the robot has bigger plans.",
        tmdb=99000202, imdb="tt9900202", background="colorchart=rate={rate}:patch_size=53x60", tone_hz=494,
        chapters=_reels(5520, 900), score="7.1",
    ),
    DemoMovie(  # no chapter marks
        "Starlight Diner", 1983, "PG", 5880, "Lighthouse Pictures", ("Comedy", "Romance"),
        "The last all-night diner on Route 9 has one night to stay open.",
        tmdb=99000203, imdb="tt9900203", background="smptehdbars=size={size}:rate={rate}", tone_hz=262,
    ),
    DemoMovie(
        "A Snowy Christmas Eve", 1985, "G", 5640, "Hearthside Films", ("Family", "Holiday"),
        "Snowed in at a country inn, six strangers put on a Christmas pageant.",
        tmdb=99000204, imdb="tt9900204", background="color=c=0x7a1010:size={size}:rate={rate}", tone_hz=349,
        chapters=_reels(5640, 940), seasonal="christmas", score="7.4",
    ),
)
# fmt: on

_BARS = "smptebars=size={size}:rate={rate}"
_PAL = "pal75bars=size={size}:rate={rate}"
_TEST = "testsrc2=size={size}:rate={rate}"  # full-frame motion: costly to store, so only on short clips
_GLOW = "gradients=size={size}:rate={rate}:speed=0.01:seed=7"  # costly to make, so only on short clips


def _color(hex_rgb: str) -> str:
    return f"color=c=0x{hex_rgb}:size={{size}}:rate={{rate}}"


# fmt: off
CLIPS: tuple[DemoClip, ...] = (
    # Commercials: ten companies; two of them with two spots, which never share a break.
    DemoClip("commercials", "Krunchy Os", 30, "KRUNCHY O's", "Part of this complete breakfast!", look=_color("c08020"), company="General Grains", category="cereal", demographic="kids", tone_hz=784),
    DemoClip("commercials", "Choco Crunch", 15, "CHOCO CRUNCH", "Now with more crunch", look=_color("5a3010"), company="General Grains", category="cereal", demographic="kids", tone_hz=698),
    DemoClip("commercials", "Turbo Racers", 30, "TURBO RACERS", "Batteries not included", look=_TEST, company="Kenbro Toys", category="toys", demographic="kids", daypart="saturday_morning", tone_hz=880),
    DemoClip("commercials", "Galaxy Guardians Action Figures", 15, "GALAXY GUARDIANS", "Collect all six!", look=_color("301060"), company="Kenbro Toys", category="toys", demographic="kids", tone_hz=932),
    DemoClip("commercials", "Fizz Cola", 30, "FIZZ COLA", "The taste of the 80s", look=_color("b01818"), company="Fizz Beverage Co.", category="soft drinks", tone_hz=523),
    DemoClip("commercials", "Fizz Cola Holiday", 30, "FIZZ COLA", "Happy holidays from Fizz", look=_color("106030"), company="Fizz Beverage Co.", category="soft drinks", season="christmas", tone_hz=587),
    DemoClip("commercials", "Speedy Burger", 30, "SPEEDY BURGER", "Two for two ninety-nine", look=_color("d0a000"), company="Speedy Burger", category="fast food", tone_hz=440),
    DemoClip("commercials", "Pizza Palace", 15, "PIZZA PALACE", "Free delivery in 30 minutes", look=_color("a02040"), company="Pizza Palace", category="fast food", tone_hz=494),
    DemoClip("commercials", "Sparkle Dish Soap", 30, "SPARKLE", "Cuts grease, not hands", look=_GLOW, company="Brightway Home Products", category="household", daypart="daytime", demographic="women", tone_hz=659),
    DemoClip("commercials", "Motor City Auto Mall", 30, "MOTOR CITY AUTO MALL", "Zero down, zero percent", look=_color("303030"), company="Motor City Auto Mall", category="automotive", daypart="prime_time", demographic="adults", rating="TV-PG", tone_hz=196),
    DemoClip("commercials", "Bell Tone Long Distance", 30, "BELL TONE", "Call home tonight, 5 cents a minute", look=_color("204080"), company="Bell Tone Telephone", category="telephone", tone_hz=370),
    DemoClip("commercials", "Moonbeam Mattress", 15, "MOONBEAM MATTRESS", "Sleep like the moon", look=_color("101030"), company="Moonbeam Bedding", category="furniture", daypart="late_night", demographic="adults", tone_hz=247),
    DemoClip("commercials", "Y2K Ready Computers", 30, "Y2K READY PCs", "Offer ends December 31, 1999", look=_color("406040"), company="Millennium Micro", category="computers", expires="1999-12-31", tone_hz=1047),
    # Bumpers: out of a program into a break, and back in.
    DemoClip("bumpers", "We'll Be Right Back", 5, "We'll be right back", look=_BARS, category="break out", tone_hz=880, year=1987),
    DemoClip("bumpers", "Now Back to Our Program", 5, "Now back to our program", look=_BARS, category="break in", tone_hz=988, year=1987),
    DemoClip("bumpers", "Cartoons - Stay Tuned Right Back", 6, "Stay tuned, right back!", look=_TEST, category="break out", demographic="kids", daypart="saturday_morning", tone_hz=1175, year=1989),
    DemoClip("bumpers", "Cartoons - Now Back to the Cartoons", 6, "Now back to the cartoons!", look=_TEST, category="break in", demographic="kids", daypart="saturday_morning", tone_hz=1319, year=1989),
    # Promos for the shows (their show is set after the scan) and for the movie channel.
    DemoClip("promos", "Maple Street - Weeknights at 8", 20, "MAPLE STREET", "Weeknights at 8 on RetroVue Classic TV", look=_BARS, promotes="maple-street", tone_hz=330),
    DemoClip("promos", "The Hendersons - Weeknights at 8-30", 20, "THE HENDERSONS", "Weeknights at 8:30 on RetroVue Classic TV", look=_PAL, promotes="the-hendersons", tone_hz=392),
    DemoClip("promos", "Captain Comet - Saturday Mornings", 15, "CAPTAIN COMET", "Saturday mornings and every day on RetroVue Kids", look="yuvtestsrc=size={size}:rate={rate}", promotes="captain-comet", tone_hz=523),
    DemoClip("promos", "The Doodle Bunch - Every Day", 15, "THE DOODLE BUNCH", "Every day on RetroVue Kids", look="rgbtestsrc=size={size}:rate={rate}", promotes="the-doodle-bunch", tone_hz=587),
    DemoClip("promos", "Movie Night on RetroVue Movies", 20, "MOVIE NIGHT", "Blockbusters around the clock on channel 5", look=_color("102040"), tone_hz=262),
    # Station IDs; the category names the channel an ID belongs to ("network": any channel).
    DemoClip("station_ids", "RetroVue Classic TV 3", 8, "RetroVue 3", "Classic TV", look=_BARS, category="channel 3", tone_hz=440),
    DemoClip("station_ids", "RetroVue Movies 5", 8, "RetroVue 5", "Movies", look=_color("102040"), category="channel 5", tone_hz=494),
    DemoClip("station_ids", "RetroVue Kids 7", 8, "RetroVue 7", "Kids", look=_TEST, category="channel 7", tone_hz=523),
    DemoClip("station_ids", "You're Watching RetroVue", 10, "You're watching RetroVue", "Your retro network", look=_GLOW, category="network", tone_hz=587),
    # Interstitials.
    DemoClip("interstitials", "Weather on the Eights", 60, "WEATHER ON THE 8s", "Sunny, high of 72", look=_color("103060"), tone_hz=440),
    DemoClip("interstitials", "Did You Know - Rainbows", 30, "DID YOU KNOW?", "A rainbow is a full circle", look=_GLOW, tone_hz=523),
    DemoClip("interstitials", "Buckle Up - A Public Service Message", 30, "BUCKLE UP", "A public service message", look=_PAL, tone_hz=392),
    DemoClip("interstitials", "Cartoon Fun Fact", 45, "CARTOON FUN FACT", "Cartoons used 24 drawings a second", look=_color("e07000"), demographic="kids", tone_hz=659),
    # Filler of many lengths, so the end of every program fills to its boundary.
    DemoClip("filler", "Color Bars", 5, "RetroVue", look=_BARS, tone_hz=1000),
    DemoClip("filler", "Test Card Interlude", 10, "Please stand by", look=_PAL, tone_hz=1000),
    DemoClip("filler", "Night Skyline", 20, "Night skyline", "Stay tuned", look=_color("000020"), tone_hz=110),
    DemoClip("filler", "Aquarium Moments", 60, "Aquarium moments", "Relax, the show returns shortly", look=_color("0060a0"), tone_hz=131),
    DemoClip("filler", "Fractal Dreams", 90, "Fractal dreams", "RetroVue after hours", look=_color("301040"), tone_hz=147),
    DemoClip("filler", "Starfield", 120, "Starfield", "RetroVue - your retro network", look=_color("000010"), tone_hz=110),
)
# fmt: on

FALLBACK_TITLES = ("Starfield", "Aquarium Moments", "Fractal Dreams")

# --- making the media -------------------------------------------------------------------------------


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


# --- .nfo files -------------------------------------------------------------------------------------


def show_nfo(show: DemoShow) -> str:
    root = ET.Element("tvshow")
    _sub(root, "title", show.title)
    _sub(root, "year", show.year)
    _sub(root, "premiered", f"{show.year}-09-01")
    _sub(root, "plot", show.plot)
    _sub(root, "mpaa", show.rating)
    _sub(root, "studio", show.studio)
    for genre in show.genres:
        _sub(root, "genre", genre)
    _sub(root, "uniqueid", show.tvdb, type="tvdb", default="true")
    block = _sub(root, "retrovue")
    _sub(block, "category", show.category)
    _sub(block, "demographic", show.demographic)
    return _xml(root)


def episode_nfo(show: DemoShow, episode: DemoEpisode, seconds: int) -> str:
    root = ET.Element("episodedetails")
    _sub(root, "title", episode.title)
    _sub(root, "showtitle", show.title)
    _sub(root, "season", episode.season)
    _sub(root, "episode", episode.number)
    _sub(root, "aired", episode.aired)
    _sub(root, "plot", episode.plot)
    _sub(root, "runtime", max(1, round(seconds / 60)))
    ratings = _sub(root, "ratings")
    rating = _sub(ratings, "rating", name="tvdb", max="10", default="true")
    _sub(rating, "value", episode.score)
    _sub(
        root, "uniqueid", show.tvdb * 100 + episode.season * 20 + episode.number, type="tvdb", default="true"
    )
    if episode.seasonal:
        _sub(_sub(root, "retrovue"), "season", episode.seasonal)
    return _xml(root)


def movie_nfo(movie: DemoMovie, seconds: int) -> str:
    root = ET.Element("movie")
    _sub(root, "title", movie.title)
    _sub(root, "year", movie.year)
    _sub(root, "premiered", f"{movie.year}-06-13")
    _sub(root, "plot", movie.plot)
    _sub(root, "mpaa", movie.rating)
    _sub(root, "studio", movie.studio)
    _sub(root, "runtime", max(1, round(seconds / 60)))
    for genre in movie.genres:
        _sub(root, "genre", genre)
    ratings = _sub(root, "ratings")
    _sub(_sub(ratings, "rating", name="themoviedb", max="10", default="true"), "value", movie.score)
    _sub(root, "uniqueid", movie.tmdb, type="tmdb", default="true")
    _sub(root, "uniqueid", movie.imdb, type="imdb")
    if movie.seasonal:
        _sub(_sub(root, "retrovue"), "season", movie.seasonal)
    return _xml(root)


def clip_nfo(clip: DemoClip) -> str:
    """A clip's sidecar: its title, rating and the scheduling metadata the break planner reads."""
    root = ET.Element("movie")
    _sub(root, "title", clip.title)
    _sub(root, "year", clip.year)
    _sub(root, "mpaa", clip.rating)
    if clip.subline:
        _sub(root, "plot", clip.subline)
    block = _sub(root, "retrovue")
    for tag, value in (
        ("company", clip.company),
        ("category", clip.category),
        ("daypart", clip.daypart),
        ("season", clip.season),
        ("demographic", clip.demographic),
        ("expires", clip.expires),
    ):
        if value:
            _sub(block, tag, value)
    return _xml(root)


def _sub(parent: ET.Element, tag: str, text=None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: str(value) for key, value in attributes.items()})
    if text is not None:
        element.text = str(text)
    return element


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>\n' + ET.tostring(root, "unicode") + "\n"


# --- helpers ----------------------------------------------------------------------------------------


def _chapter_captions(chapters: tuple[tuple[int, str], ...], seconds: int) -> list[Caption]:
    captions = []
    for index, (start, name) in enumerate(chapters):
        end = chapters[index + 1][0] if index + 1 < len(chapters) else seconds
        captions.append(Caption(name.upper(), size=28, y="(h-th)/2", start=start, end=end))
    return captions


def _hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _file_name(title: str) -> str:
    return re.sub(r"[^\w\- ()]+", "", title.replace("'", "")).strip()


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


# --- the station ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSlot:
    title: str
    days: tuple[int, ...]
    start: str  # "HH:MM"
    end: str  # "HH:MM"; "00:00" is midnight at the end of the day
    content: str = "episodes"
    order: str = "in_order"
    shows: tuple[str, ...] = ()  # DemoShow keys
    movies: tuple[str, ...] = ()  # DemoMovie titles; none: any movie


@dataclass(frozen=True)
class DemoTemplate:
    name: str
    priority: int
    slots: tuple[DemoSlot, ...]
    from_month_day: str = ""
    until_month_day: str = ""


@dataclass(frozen=True)
class DemoBreakRule:
    daypart: str
    min_spacing_minutes: int
    edge_minutes: int
    breaks_per_half_hour: int
    max_break_seconds: int
    use_bumpers: bool = True


@dataclass(frozen=True)
class DemoChannel:
    number: str
    name: str
    call_sign: str
    templates: tuple[DemoTemplate, ...]
    break_rules: tuple[DemoBreakRule, ...]
    content_rating_limit: str = ""
    target_demographic: str = ""
    sign_off: str = ""
    sign_on: str = ""
    fallback: tuple[str, ...] = FALLBACK_TITLES


WEEKDAYS = (0, 1, 2, 3, 4)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
SATURDAY, SUNDAY = (5,), (6,)
SITCOMS = ("maple-street", "the-hendersons")
CARTOONS = ("captain-comet", "the-doodle-bunch")

# fmt: off
CHANNELS: tuple[DemoChannel, ...] = (
    DemoChannel(
        "3", "RetroVue Classic TV", "WRVC",
        templates=(
            DemoTemplate("Regular week", 0, (
                DemoSlot("Late Night Reruns", EVERY_DAY, "00:00", "02:00", shows=SITCOMS),
                DemoSlot("Reruns", EVERY_DAY, "05:00", "00:00", shows=SITCOMS),
            )),
            DemoTemplate("Weekly lineup", 10, (
                DemoSlot("Morning Cartoons", WEEKDAYS, "07:00", "08:00", shows=CARTOONS),
                DemoSlot("Maple Street", WEEKDAYS, "20:00", "20:30", shows=("maple-street",)),
                DemoSlot("The Hendersons", WEEKDAYS, "20:30", "21:00", shows=("the-hendersons",)),
                DemoSlot("Saturday Morning Cartoons", SATURDAY, "07:00", "11:00", order="shuffle", shows=CARTOONS),
            )),
        ),
        break_rules=(
            DemoBreakRule("", min_spacing_minutes=6, edge_minutes=3, breaks_per_half_hour=2, max_break_seconds=150),
            DemoBreakRule("prime_time", min_spacing_minutes=6, edge_minutes=3, breaks_per_half_hour=2, max_break_seconds=180),
        ),
        sign_off="02:00", sign_on="05:00",
    ),
    DemoChannel(
        "5", "RetroVue Movies", "WRVM",
        templates=(
            DemoTemplate("Movies around the clock", 0, (
                DemoSlot("Movies", EVERY_DAY, "00:00", "00:00", content="movies", order="shuffle"),
            )),
            DemoTemplate("Christmas", 20, (
                DemoSlot("Holiday Movie Night", EVERY_DAY, "20:00", "22:00", content="movies", movies=("A Snowy Christmas Eve",)),
            ), from_month_day="12-01", until_month_day="12-25"),
        ),
        break_rules=(
            DemoBreakRule("", min_spacing_minutes=12, edge_minutes=5, breaks_per_half_hour=1, max_break_seconds=240),
        ),
    ),
    DemoChannel(
        "7", "RetroVue Kids", "WRVK",
        templates=(
            DemoTemplate("Cartoons every day", 0, (
                DemoSlot("Cartoons", EVERY_DAY, "00:00", "00:00", shows=CARTOONS),
            )),
            DemoTemplate("Weekend blocks", 10, (
                DemoSlot("Saturday Morning Super Block", SATURDAY, "07:00", "12:00", order="shuffle", shows=CARTOONS),
                DemoSlot("Sunday Family Movie", SUNDAY, "17:00", "19:00", content="movies", movies=("The Great Robot Adventure",)),
            )),
        ),
        break_rules=(
            DemoBreakRule("", min_spacing_minutes=5, edge_minutes=2, breaks_per_half_hour=2, max_break_seconds=120),
            DemoBreakRule("saturday_morning", min_spacing_minutes=5, edge_minutes=2, breaks_per_half_hour=2, max_break_seconds=150),
        ),
        content_rating_limit="TV-Y7", target_demographic="kids",
    ),
)
# fmt: on


class DemoSetupError(Exception):
    """The demo media could not be brought into the catalog (the message says what went wrong)."""


def build_demo_station(
    media_folder: str | Path, *, now: datetime | None = None, build: bool = True, log: Log = _quiet
) -> dict:
    """Scan the demo media into two sources, set up the demo channels, and roll the schedule forward.

    Everything is found again by a stable name (source names, channel numbers, template names, slot
    titles and times), and only missing rows are created: a second run leaves every row as it was,
    including anything staff changed since (it only records its two scans as sync runs, as every
    scan does). `now` is for tests. Returns what was scanned, created and scheduled.
    """
    began = time.monotonic()
    folder = Path(media_folder).expanduser().resolve()
    missing = [name for name in (LIBRARY_FOLDER, CLIPS_FOLDER) if not (folder / name).is_dir()]
    if missing:
        raise DemoSetupError(f"{folder} holds no demo media ({', '.join(missing)} missing); make it first.")
    summary: dict = {"media_folder": str(folder), "sources": {}, "created": {}, "channels": []}
    library = _source(LIBRARY_SOURCE_NAME, SourceKind.TMM, folder / LIBRARY_FOLDER)
    clips = _source(CLIPS_SOURCE_NAME, SourceKind.FOLDER, folder / CLIPS_FOLDER)
    for source in (library, clips):
        summary["sources"][source.name] = _scan(source, log)
    created: dict[str, int] = {}
    with transaction.atomic():
        created["promo links"] = _link_promos(library, clips)
        channels = [_channel(spec, library, clips, created) for spec in CHANNELS]
    summary["created"] = created
    summary["channels"] = [str(channel) for channel in channels]
    made = ", ".join(f"{count} {name}" for name, count in created.items() if count) or "nothing new"
    log(f"Channels {', '.join(summary['channels'])}: created {made}.")
    summary["schedule"] = _roll_forward(channels, now, log) if build else None
    summary["seconds"] = round(time.monotonic() - began, 1)
    return summary


def _source(name: str, kind: str, path: Path):
    source, created = MediaSource.objects.get_or_create(name=name, defaults={"kind": kind, "path": str(path)})
    if source.kind != kind:
        raise DemoSetupError(f"A source named {name!r} already exists and is not a {kind} source.")
    if not created and source.path != str(path):
        source.path = str(path)  # the media folder moved (--media-dir): follow it
        source.save(update_fields=["path", "updated_at"])
    return source


def _scan(source, log: Log) -> dict:
    run = sync_folder_source(source)
    counts = {name: getattr(run, name) for name in ("processed", "added", "updated", "removed", "failed")}
    log(
        f"Scanned {source.name}: {counts['added']} added, {counts['updated']} updated, "
        f"{counts['processed']} looked at ({run.get_status_display().lower()})."
    )
    if run.status not in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL):
        raise DemoSetupError(f"Scanning {source.name} failed: {run.error or run.get_status_display()}")
    return {**counts, "status": run.status, "sync_run": run.pk}


def _link_promos(library, clips) -> int:
    """Promos advertise their show (no .nfo tag says which); set once, never overriding staff."""
    shows = {show.title: show for show in Show.objects.filter(source=library)}
    linked = 0
    for clip in CLIPS:
        if not clip.promotes:
            continue
        show = shows.get(next(demo.title for demo in SHOWS if demo.key == clip.promotes))
        linked += ShortFormItem.objects.filter(
            source=clips, kind=ContentKind.PROMO, title=clip.title, promotes_show__isnull=True
        ).update(promotes_show=show)
    return linked


def _channel(spec: DemoChannel, library, clips, created: dict[str, int]):
    """One demo channel with its templates, slots and break rules; only missing rows are added.

    Rows are added with bulk_create on purpose: saving them one by one would queue a background
    rebuild per row (scheduling.signals), and the roll-forward that follows builds once.
    """
    channel, made = Channel.objects.get_or_create(
        number=spec.number,
        defaults={
            "name": spec.name,
            "call_sign": spec.call_sign,
            "time_zone": _time_zone(),
            "content_rating_limit": spec.content_rating_limit,
            "target_demographic": spec.target_demographic,
            "sign_off_at": _time(spec.sign_off) if spec.sign_off else None,
            "sign_on_at": _time(spec.sign_on) if spec.sign_on else None,
            "seed": int(spec.number.split(".")[0]),
        },
    )
    _count(created, "channels", made)
    if made:
        channel.fallback_items.set(ShortFormItem.objects.filter(source=clips, title__in=spec.fallback))

    templates = {template.name: template for template in ScheduleTemplate.objects.filter(channel=channel)}
    new_templates = [
        ScheduleTemplate(
            channel=channel,
            name=template.name,
            priority=template.priority,
            from_month_day=template.from_month_day,
            until_month_day=template.until_month_day,
        )
        for template in spec.templates
        if template.name not in templates
    ]
    for template in new_templates:
        template.full_clean()
    templates.update(
        (template.name, template) for template in ScheduleTemplate.objects.bulk_create(new_templates)
    )
    created["templates"] = created.get("templates", 0) + len(new_templates)

    show_titles = {demo.key: demo.title for demo in SHOWS}
    shows = {show.title: show.pk for show in Show.objects.filter(source=library)}
    movies = {movie.title: movie.pk for movie in Movie.objects.filter(source=library)}
    existing = set(
        TimeSlot.objects.filter(template__channel=channel).values_list("template_id", "title", "start_time")
    )
    new_slots, contents = [], []
    for template_spec in spec.templates:
        template = templates[template_spec.name]
        for slot_spec in template_spec.slots:
            if (template.pk, slot_spec.title, _time(slot_spec.start)) in existing:
                continue
            slot = TimeSlot(
                template=template,
                title=slot_spec.title,
                days=list(slot_spec.days),
                start_time=_time(slot_spec.start),
                end_time=_time(slot_spec.end),
                content=slot_spec.content,
                order=slot_spec.order,
            )
            slot.full_clean()
            new_slots.append(slot)
            contents.append(slot_spec)
    TimeSlot.objects.bulk_create(new_slots)
    TimeSlot.shows.through.objects.bulk_create(
        TimeSlot.shows.through(timeslot_id=slot.pk, show_id=shows[show_titles[key]])
        for slot, slot_spec in zip(new_slots, contents, strict=True)
        for key in slot_spec.shows
        if show_titles[key] in shows
    )
    TimeSlot.movies.through.objects.bulk_create(
        TimeSlot.movies.through(timeslot_id=slot.pk, movie_id=movies[title])
        for slot, slot_spec in zip(new_slots, contents, strict=True)
        for title in slot_spec.movies
        if title in movies
    )
    created["slots"] = created.get("slots", 0) + len(new_slots)

    dayparts = set(BreakRule.objects.filter(channel=channel).values_list("daypart", flat=True))
    new_rules = [
        BreakRule(
            channel=channel,
            daypart=rule.daypart,
            min_spacing_minutes=rule.min_spacing_minutes,
            edge_minutes=rule.edge_minutes,
            breaks_per_half_hour=rule.breaks_per_half_hour,
            max_break_seconds=rule.max_break_seconds,
            use_bumpers=rule.use_bumpers,
        )
        for rule in spec.break_rules
        if rule.daypart not in dayparts
    ]
    BreakRule.objects.bulk_create(new_rules)
    created["break rules"] = created.get("break rules", 0) + len(new_rules)
    return channel


def _roll_forward(channels, now: datetime | None, log: Log) -> dict | None:
    try:
        from scheduling.builder import roll_forward
    except ImportError:
        log("The schedule builder is not installed yet; channels are set up without a schedule.")
        return None
    began = time.monotonic()
    if "channels" in inspect.signature(roll_forward).parameters:
        totals = roll_forward(now, channels=channels)
    else:
        totals = roll_forward(now)
    totals = dict(totals or {})
    log(
        f"Scheduled {totals.get('programs', 0)} programs and {totals.get('pieces', 0)} pieces "
        f"in {time.monotonic() - began:.1f} s."
    )
    return totals


def _count(created: dict[str, int], name: str, made: bool) -> None:
    created[name] = created.get(name, 0) + int(made)


def _time(value: str) -> clock_time:
    hours, minutes = (int(part) for part in value.split(":"))
    return clock_time(hours, minutes)


def _time_zone() -> str:
    """The station's zone when one is set (RETROVUE_TIME_ZONE), else the channels' usual default."""
    zone = settings.TIME_ZONE
    return zone if zone and zone != "UTC" else Channel._meta.get_field("time_zone").default
