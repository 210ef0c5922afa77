"""The demo station: media generated with ffmpeg, scanned into the catalog, three channels on the air.

The media is made once into the test data folder and kept there (its manifest makes later runs
reuse it), so only the first test session pays the 20–30 s of generation.
"""

from __future__ import annotations

import io
import json
import shutil
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from PIL import Image

from catalog.choices import ChapterOrigin, ContentKind, FileState, SourceKind
from catalog.media.probe import probe_media_file
from catalog.models import (
    ChapterMark,
    Episode,
    ExternalId,
    Library,
    MediaFile,
    MediaSource,
    Movie,
    Playable,
    Season,
    ShortFormItem,
    Show,
)
from playout import pregen
from playout.ffmpeg_commands import BUG_MARGIN_FRACTION
from playout.models import PregenStatus
from playout.pregen_store import stored_overlays
from retrovue.subprocesses import run_command
from scheduling.choices import PieceKind
from scheduling.demo import contents, media
from scheduling.demo.station import build_demo_station
from scheduling.models import (
    BreakRule,
    Channel,
    Piece,
    ProgramEntry,
    ScheduleTemplate,
    ScheduleWarning,
    TimeSlot,
)

NOW = datetime(2026, 11, 23, 15, 7, tzinfo=UTC)  # a Monday afternoon
ROW_MODELS = (
    MediaSource,
    Library,
    Show,
    Season,
    Playable,
    MediaFile,
    ChapterMark,
    ExternalId,
    Channel,
    ScheduleTemplate,
    TimeSlot,
    TimeSlot.shows.through,
    TimeSlot.movies.through,
    Channel.fallback_items.through,
    BreakRule,
    ProgramEntry,
    Piece,
    ScheduleWarning,
)


@pytest.fixture(scope="session")
def demo_media() -> Path:
    if shutil.which(settings.RETROVUE_FFMPEG) is None:
        pytest.skip("ffmpeg is not installed")
    return media.make_demo_media(Path(settings.DATA_DIR) / "demo-media")


@pytest.fixture(scope="module")
def station_once(django_db_setup, django_db_blocker, demo_media):
    """The station, built once for this module inside a transaction rolled back at its end
    (scanning and scheduling take seconds); each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_demo_station(demo_media, now=NOW)
        transaction.set_rollback(True)


@pytest.fixture
def station(station_once, db) -> dict:
    return station_once


def row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in ROW_MODELS}


# --- the media ------------------------------------------------------------------------------------


def test_demo_plan_has_tv_lengths_chapters_and_enough_clips():
    plan = media.plan_media(Path("/demo"), font="/fonts/x.ttf")
    episodes = [episode for show in contents.SHOWS for episode in show.episodes]
    assert len(contents.SHOWS) >= 3 and all(3 <= len(show.episodes) <= 6 for show in contents.SHOWS)
    assert all(21 * 60 <= episode.seconds <= 23 * 60 for episode in episodes)  # a 22-minute sitcom
    assert all(80 * 60 <= movie.seconds <= 100 * 60 for movie in contents.MOVIES)
    assert any(episode.chapters for episode in episodes) and any(not episode.chapters for episode in episodes)
    commercials = [clip for clip in contents.CLIPS if clip.folder == "commercials"]
    assert len(commercials) >= 12 and {clip.seconds for clip in commercials} == {15, 30}
    assert len({clip.company for clip in commercials}) >= 6
    fillers = sorted(clip.seconds for clip in contents.CLIPS if clip.folder in ("filler", "interstitials"))
    assert fillers[0] <= 5 and fillers[-1] >= 120
    for folder in ("bumpers", "promos", "station_ids", "interstitials", "filler"):
        assert any(clip.folder == folder for clip in contents.CLIPS), folder
    assert len(plan.jobs) == len(episodes) + len(contents.MOVIES) + len(contents.CLIPS)
    assert all(job.path.is_relative_to("/demo") and job.nfo for job in plan.jobs)
    # Same inputs, same digest; another font is another set.
    assert media.plan_digest(plan) == media.plan_digest(media.plan_media(Path("/demo"), font="/fonts/x.ttf"))
    assert media.plan_digest(plan) != media.plan_digest(media.plan_media(Path("/demo"), font=None))


def test_captions_with_quotes_colons_and_commas_render(tmp_path):
    caption = media.Caption("We'll be: right back, [50%]; \\ok", size=14, y="10", x="max(0,w-t*300)")
    assert caption.changes
    output = tmp_path / "frame.png"
    font = media.text_font()
    if font is None:
        pytest.skip("this ffmpeg cannot draw text")
    run_command(
        [
            settings.RETROVUE_FFMPEG, "-v", "error", "-y",
            "-f", "lavfi", "-i", media.video_input(contents._color("000000"), 1, [caption], font),
            "-vf", media.video_filters([caption], font), "-frames:v", "1", str(output),
        ],
        timeout=30,
    )  # fmt: skip
    assert output.stat().st_size > 0


def test_demo_media_is_small_probes_with_chapters_and_is_made_once(demo_media):
    manifest = json.loads((demo_media / media.MANIFEST_NAME).read_text())
    files = manifest["files"]
    videos = [name for name in files if name.endswith((".mkv", ".mp4"))]
    assert len(videos) == len(media.plan_media(demo_media).jobs)
    assert sum(files.values()) < 70_000_000
    assert all((demo_media / name).with_suffix(".nfo").exists() for name in videos)
    assert (demo_media / "library/TV Shows/Maple Street (1987)/tvshow.nfo").exists()

    pilot_path = (
        demo_media / "library/TV Shows/Maple Street (1987)/Season 01/Maple Street - S01E01 - Pilot.mkv"
    )
    pilot = probe_media_file(str(pilot_path))
    assert pilot.playable and pilot.video_codec == "h264" and pilot.audio_codec == "aac"
    assert (pilot.width, pilot.height) == (media.WIDTH, media.HEIGHT)
    assert abs(pilot.duration_ms - 1330_000) < 1000
    assert [start for _, start in pilot.chapters] == [0, 190_000, 700_000, 1_130_000]
    keyframes = run_command(
        [
            settings.RETROVUE_FFPROBE,
            "-v",
            "error",
            "-select_streams",
            "v",
            "-skip_frame",
            "nokey",
            "-show_entries",
            "frame=pts_time",
            "-of",
            "csv=p=0",
            str(pilot_path),
        ],
        timeout=60,
    ).stdout.decode()
    times = {round(float(value.strip(" ,")), 2) for value in keyframes.split() if value.strip(" ,")}
    assert {0, 190, 700, 1130} <= times  # a break cuts on a keyframe, at the chapter's exact time
    spot = probe_media_file(str(demo_media / "clips/commercials/Krunchy Os.mp4"))
    assert spot.playable and abs(spot.duration_ms - 30_000) < 200

    began = time.monotonic()
    before = {name: (demo_media / name).stat().st_mtime_ns for name in files}
    assert media.make_demo_media(demo_media) == demo_media
    assert time.monotonic() - began < 5
    assert {name: (demo_media / name).stat().st_mtime_ns for name in files} == before


# --- the station ----------------------------------------------------------------------------------


def test_demo_station_imports_the_catalog_with_metadata_and_chapters(station):
    library = MediaSource.objects.get(name=contents.LIBRARY_SOURCE_NAME, kind=SourceKind.TMM)
    clips = MediaSource.objects.get(name=contents.CLIPS_SOURCE_NAME, kind=SourceKind.FOLDER)
    assert station["sources"][library.name]["failed"] == 0 and station["sources"][clips.name]["failed"] == 0

    shows = {show.title: show for show in Show.objects.filter(source=library)}
    assert set(shows) == {show.title for show in contents.SHOWS}
    maple = shows["Maple Street"]
    assert (maple.year, maple.content_rating, maple.primary_guid) == (1987, "TV-PG", "tvdb://9900101")
    assert Episode.objects.filter(source=library).count() == sum(
        len(show.episodes) for show in contents.SHOWS
    )
    pilot = Episode.objects.get(show=maple, season_number=1, episode_number=1)
    assert pilot.title == "Pilot" and pilot.category == "sitcom" and pilot.audience_rating is not None
    assert list(
        ChapterMark.objects.filter(playable=pilot, origin=ChapterOrigin.EMBEDDED).values_list(
            "time_ms", flat=True
        )
    ) == [190_000, 700_000, 1_130_000]
    assert not ChapterMark.objects.filter(playable__episode__show=shows["Captain Comet"]).exists()
    assert Episode.objects.get(show=maple, episode_number=6).seasonal_preference == "christmas"
    assert (
        MediaFile.objects.filter(playable__source__in=[library, clips])
        .exclude(state=FileState.NORMAL)
        .count()
        == 0
    )

    movies = {movie.title: movie for movie in Movie.objects.filter(source=library)}
    assert movies["Midnight Harbor"].content_rating == "PG-13"
    assert movies["A Snowy Christmas Eve"].seasonal_preference == "christmas"
    assert ChapterMark.objects.filter(playable=movies["Midnight Harbor"]).count() >= 5

    commercials = ShortFormItem.objects.filter(source=clips, kind=ContentKind.COMMERCIAL)
    assert commercials.count() >= 12
    assert len(set(commercials.values_list("commercial_company", flat=True))) >= 6
    toy = commercials.get(title="Turbo Racers")
    assert (toy.commercial_company, toy.category, toy.daypart, toy.target_demographic) == (
        "Kenbro Toys",
        "toys",
        "saturday_morning",
        "kids",
    )
    assert str(commercials.get(title="Y2K Ready Computers").expires_on) == "1999-12-31"
    for kind in ("bumper", "promo", "station_id", "interstitial", "filler"):
        assert ShortFormItem.objects.filter(source=clips, kind=kind).exists(), kind
    promo = ShortFormItem.objects.get(source=clips, title="Maple Street - Weeknights at 8")
    assert promo.promotes_show == maple


def test_demo_station_has_three_channels_with_slots_blocks_rules_and_a_holiday_template(station):
    channels = {channel.number: channel for channel in Channel.objects.all()}
    assert {"3", "5", "7"} <= set(channels)
    classic, movies, kids = channels["3"], channels["5"], channels["7"]
    assert classic.name == "RetroVue Classic TV" and kids.content_rating_limit == "TV-Y7"

    prime = TimeSlot.objects.get(template__channel=classic, title="Maple Street")
    assert prime.days == [0, 1, 2, 3, 4] and f"{prime.start_time:%H:%M}" == "20:00"
    saturday = TimeSlot.objects.get(template__channel=classic, title="Saturday Morning Cartoons")
    assert saturday.order == "shuffle" and saturday.days == [5]
    assert {show.title for show in saturday.shows.all()} == {"Captain Comet", "The Doodle Bunch"}
    block = TimeSlot.objects.get(template__channel=kids, title="Saturday Morning Super Block")
    assert block.minutes == (7 * 60, 12 * 60)
    christmas = ScheduleTemplate.objects.get(channel=movies, name="Christmas")
    assert (christmas.from_month_day, christmas.until_month_day) == ("12-01", "12-25")
    assert christmas.priority > 0 and christmas.slots.get().movies.get().title == "A Snowy Christmas Eve"
    for channel in (classic, movies, kids):
        assert BreakRule.objects.filter(channel=channel, daypart="").exists()
        assert channel.fallback_items.count() == len(contents.FALLBACK_TITLES)
        for slot in TimeSlot.objects.filter(template__channel=channel):
            slot.full_clean()


def test_demo_station_schedules_a_week_of_programs_and_two_days_of_breaks(station):
    start = NOW.replace(minute=0)
    assert station["schedule"]["channels"] == 3
    for channel in Channel.objects.filter(number__in=["3", "5", "7"]):
        programs = list(ProgramEntry.objects.filter(channel=channel).order_by("start"))
        assert programs[0].start <= NOW and programs[-1].stop >= NOW + timedelta(days=7)
        assert all(before.stop == after.start for before, after in pairwise(programs))
        pieces = list(Piece.objects.filter(channel=channel).order_by("start"))
        assert pieces[0].start <= NOW and pieces[-1].stop >= NOW + timedelta(hours=48)
        assert all(before.stop == after.start for before, after in pairwise(pieces))
        assert start <= programs[0].start

    # Breaks fall at the Pilot's chapter marks: bumper, commercials, bumper.
    pilot = ProgramEntry.objects.filter(channel__number="3", subtitle="Pilot", pieces__isnull=False).first()
    pieces = list(pilot.pieces.order_by("sequence"))
    cuts = [piece.out_ms for piece in pieces if piece.kind == PieceKind.CONTENT][:-1]
    assert cuts == [190_000, 700_000, 1_130_000]
    first_break = pieces[1 : pieces.index(next(p for p in pieces[1:] if p.kind == PieceKind.CONTENT))]
    assert first_break[0].kind == first_break[-1].kind == PieceKind.BUMPER
    companies = [
        piece.playable.commercial_company for piece in first_break if piece.kind == PieceKind.COMMERCIAL
    ]
    assert companies and len(companies) == len(set(companies))

    # The kids' channel airs nothing above its limit, and no adult advertisers.
    kids_items = Playable.objects.filter(pieces__channel__number="7").distinct()
    assert not kids_items.filter(content_rating__in=["TV-PG", "TV-14", "PG-13", "R"]).exists()
    assert not kids_items.filter(target_demographic="adults").exists()


def test_running_the_demo_setup_again_changes_nothing(station, demo_media):
    counts = row_counts()
    stamps = dict(Playable.objects.values_list("pk", "updated_at"))
    again = build_demo_station(demo_media, now=NOW)
    assert row_counts() == counts
    assert dict(Playable.objects.values_list("pk", "updated_at")) == stamps
    assert set(again["created"].values()) == {0}
    assert again["schedule"]["programs"] == 0 and again["schedule"]["pieces"] == 0


def test_guide_page_shows_the_demo_channels(station, client):
    response = client.get("/guide?tz=America/New_York&start=2026-11-23T20:00")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("RetroVue Classic TV", "RetroVue Movies", "RetroVue Kids", "Maple Street", "The Hendersons"):
        assert text in page


def test_setup_demo_station_command_reports_progress_and_reuses_what_exists(station, demo_media):
    counts = row_counts()
    output = io.StringIO()
    call_command("setup_demo_station", media_dir=demo_media, skip_build=True, stdout=output)
    text = output.getvalue()
    assert "Demo media already in" in text
    assert "Scanned RetroVue Demo Library: 0 added, 0 updated" in text
    assert "created nothing new" in text
    assert "Demo station ready: 3 RetroVue Classic TV, 5 RetroVue Movies, 7 RetroVue Kids" in text
    assert row_counts() == counts


# --- the station's look ---------------------------------------------------------------------------


def test_demo_m3u_carries_a_served_png_logo_for_every_channel(station, client):
    response = client.get("/iptv/channels.m3u")
    assert response.status_code == 200
    entries = [line for line in response.content.decode().splitlines() if line.startswith("#EXTINF")]
    assert len(entries) == Channel.objects.filter(enabled=True).count() >= 3
    logos = [line.split('tvg-logo="', 1)[1].split('"', 1)[0] for line in entries]
    assert all(logo.startswith("http://testserver/media/logos/") for logo in logos), logos
    assert len(set(logos)) == len(logos)  # one per channel
    for logo in logos:
        image = client.get(logo.removeprefix("http://testserver"))
        assert image.status_code == 200 and image["Content-Type"] == "image/png"
        with Image.open(io.BytesIO(b"".join(image.streaming_content))) as decoded:
            assert decoded.format == "PNG" and decoded.size[0] >= 128
    for channel in Channel.objects.filter(number__in=["3", "5", "7"]):
        assert channel.bug_image.name.startswith("bugs/") and channel.bug_corner == "bottom_right"


def test_a_pregenerated_demo_piece_carries_the_channel_bug(station, settings, tmp_path):
    settings.RETROVUE_PREGEN_ROOT = str(tmp_path / "pregen")
    settings.RETROVUE_PREGEN_PRESET = "ultrafast"
    channel = Channel.objects.get(number="3")
    piece = (
        Piece.objects.filter(channel=channel, kind=PieceKind.STATION_ID, playable__isnull=False)
        .order_by("out_ms", "start")
        .first()
    )
    row = pregen.encode(pregen.piece_for(piece))
    assert row.status == PregenStatus.READY, row.error
    # A station ID closes a program, so it may also carry "Up next" (its key then covers both).
    bug, _up_next = stored_overlays(row.bug_key)
    assert bug is not None and bug.corner == channel.bug_corner and Path(bug.path).is_file()

    # The bug sits in the bottom-right corner, 5% in from the edges: there the frame on air differs
    # from the source's frame at the same instant; in the opposite corner it is the programme's own.
    profile = channel.stream_profile
    right = profile.width - round(profile.width * BUG_MARGIN_FRACTION)
    bottom = profile.height - round(profile.height * BUG_MARGIN_FRACTION)
    aired = Path(settings.RETROVUE_PREGEN_ROOT) / row.path
    source = Path(piece.playable.files.get().local_path)
    scale = f"scale={profile.width}:{profile.height}"

    def difference(crop: str) -> float:
        on_air = luma(aired, crop)
        original = luma(source, f"{scale},{crop}", seek_ms=piece.in_ms)
        assert len(on_air) == len(original) > 0
        return sum(abs(a - b) for a, b in zip(on_air, original, strict=True)) / len(on_air)

    assert difference(f"crop=90:50:{right - 100}:{bottom - 60}") > 40
    assert difference("crop=90:50:10:10") < 8


def luma(path: Path, filters: str, *, seek_ms: int = 0) -> bytes:
    """The luma of one frame's region, one byte a pixel."""
    argv = [settings.RETROVUE_FFMPEG, "-v", "error", "-ss", f"{seek_ms / 1000:.3f}", "-i", str(path),
            "-vf", filters, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"]  # fmt: skip
    return run_command(argv, timeout=30).stdout
