"""Chapter tools: break detection (ffmpeg's black and silence detectors), embedded chapter import,
the marks staff save, and the chapter editor's pages (editor, detection, media for the player)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import path, reverse

import catalog.tasks
from catalog.chapters import editor, marks, player
from catalog.chapters.editor import chapter_editor_urls
from catalog.chapters.marks import (
    ChapterToolError,
    DetectionSettings,
    MarkValidationError,
    Span,
    allowed_kinds,
    detect_breaks,
    detection_argv,
    effective_marks,
    generate_chapter_marks,
    import_embedded_chapters,
    parse_black_spans,
    parse_has_audio,
    parse_silence_spans,
    plausible_breaks,
    save_marks,
    set_kind,
)
from catalog.chapters.player import byte_range, transcode_argv
from catalog.choices import ChapterOrigin, ContentKind, FileState
from catalog.models import ChapterMark
from retrovue.core.models import TaskRun, TaskRunState
from retrovue.subprocesses import run_command
from tests.factories import (
    ChapterMarkFactory,
    EpisodeFactory,
    MediaFileFactory,
    MovieFactory,
    ShortFormFactory,
    StaffUserFactory,
)

# The editor's URLs wired the way the project wires them: inside the admin's namespace.
urlpatterns = [
    path("admin/", (chapter_editor_urls(admin.site) + admin.site.get_urls(), "admin", admin.site.name))
]
pytestmark = pytest.mark.urls(__name__)

SMALL_MARGINS = DetectionSettings(start_margin_seconds=2, end_margin_seconds=2)

# ffmpeg 5.1 on the 20 s clip below (black and silent from 8 s to 9 s), trimmed.
DETECTOR_STDERR = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/tmp/x.mp4':
  Duration: 00:00:20.00, start: 0.000000, bitrate: 178 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 160x120, 25 fps (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, mono, fltp, 66 kb/s (default)
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> wrapped_avframe (native))
  Stream #0:1 -> #0:1 (aac (native) -> pcm_s16le (native))
[silencedetect @ 0x55a5df28b0c0] silence_start: 8.00054
[silencedetect @ 0x55a5df28b0c0] silence_end: 9.00002 | silence_duration: 0.999478
[blackdetect @ 0x55a5df2aba40] black_start:8 black_end:9 black_duration:1
frame=  500 fps=0.0 q=-0.0 Lsize=N/A time=00:00:20.01 bitrate=N/A speed= 166x
"""

VIDEO_ONLY_STDERR = """\
Input #0, matroska,webm, from 'file:/tmp/silent.mkv':
  Duration: 00:10:00.00, start: 0.000000, bitrate: 115 kb/s
  Stream #0:0: Video: h264 (High), yuv420p(progressive), 640x480, 25 fps, 25 tbr, 1k tbn (default)
Stream mapping:
  Stream #0:0 -> #0:0 (h264 (native) -> wrapped_avframe (native))
[blackdetect @ 0x5608627b6b80] black_start:120.5 black_end:121.7 black_duration:1.2
"""

CHAPTERS = """;FFMETADATA1
[CHAPTER]
TIMEBASE=1/1000
START=0
END=5000
title=Cold open
[CHAPTER]
TIMEBASE=1/1000
START=5000
END=12000
title=Act one
[CHAPTER]
TIMEBASE=1/1000
START=12000
END=20000
title=Act two
"""


@dataclass(frozen=True)
class Clips:
    breaking: Path  # 20 s MP4, H.264/AAC; picture black and sound silent from 8 s to 9 s
    chaptered: Path  # the same as Matroska with chapters at 0, 5 and 12 s


def _ffmpeg(*args: str) -> None:
    run_command([settings.RETROVUE_FFMPEG, "-v", "error", "-y", *args], timeout=60)


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Clips:
    folder = tmp_path_factory.mktemp("chapter-clips")
    breaking = folder / "breaking.mp4"
    picture, sound = "size=160x120:rate=25", "frequency=440:sample_rate=44100"
    # testsrc + tone, then black + silence, then testsrc + tone again.
    _ffmpeg(
        *("-f", "lavfi", "-i", f"testsrc={picture}:duration=8"),
        *("-f", "lavfi", "-i", f"sine={sound}:duration=8"),
        *("-f", "lavfi", "-i", f"color=black:{picture}:duration=1"),
        *("-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono"),
        *("-f", "lavfi", "-i", f"testsrc={picture}:duration=11"),
        *("-f", "lavfi", "-i", f"sine={sound}:duration=11"),
        "-filter_complex",
        "[3:a]atrim=0:1[quiet];[0:v][1:a][2:v][quiet][4:v][5:a]concat=n=3:v=1:a=1[v][a]",
        *("-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", str(breaking)),
    )
    metadata = folder / "chapters.txt"
    metadata.write_text(CHAPTERS)
    chaptered = folder / "chaptered.mkv"
    _ffmpeg(
        *("-i", str(breaking), "-i", str(metadata)),
        *("-map", "0", "-map_metadata", "1", "-map_chapters", "1", "-c", "copy", str(chaptered)),
    )
    return Clips(breaking=breaking, chaptered=chaptered)


def _local_file(item, file_path: Path, *, container: str = "mp4", duration_ms: int = 20_000):
    return MediaFileFactory(
        playable=item,
        local_path=str(file_path),
        state=FileState.NORMAL,
        container=container,
        video_codec="h264",
        audio_codec="aac",
        duration_ms=duration_ms,
    )


def _marks(item, origin: str) -> list[tuple[int, str]]:
    return list(
        ChapterMark.objects.filter(playable=item, origin=origin)
        .order_by("time_ms")
        .values_list("time_ms", "title")
    )


# --- Parsing ffmpeg's detectors --------------------------------------------------------------------


def test_black_spans_are_read_from_blackdetect_lines():
    assert parse_black_spans(DETECTOR_STDERR) == [Span(8.0, 9.0)]
    assert parse_black_spans(VIDEO_ONLY_STDERR) == [Span(120.5, 121.7)]


def test_silence_spans_pair_each_start_with_its_end():
    assert parse_silence_spans(DETECTOR_STDERR) == [Span(8.00054, 9.00002)]


def test_a_silence_still_open_at_the_end_lasts_to_the_end_of_the_file():
    stderr = (
        "[silencedetect @ 0x1] silence_start: -0.0013\n"
        "[silencedetect @ 0x1] silence_end: 1.5 | silence_duration: 1.5\n"
        "[silencedetect @ 0x1] silence_start: 58.25\n"
    )

    assert parse_silence_spans(stderr, duration_seconds=60.0) == [Span(0.0, 1.5), Span(58.25, 60.0)]
    assert parse_silence_spans(stderr) == [Span(0.0, 1.5)]


def test_whether_the_file_has_sound_is_read_from_ffmpegs_input_description():
    assert parse_has_audio(DETECTOR_STDERR) is True
    assert parse_has_audio(VIDEO_ONLY_STDERR) is False


def test_detection_runs_both_detectors_with_ffmpeg_writing_nothing():
    argv = detection_argv("/media/a b.mkv")

    assert argv[0] == settings.RETROVUE_FFMPEG
    assert "file:/media/a b.mkv" in argv
    assert argv[argv.index("-vf") + 1] == "blackdetect=d=0.1:pix_th=0.1:pic_th=0.98"
    assert argv[argv.index("-af") + 1] == "silencedetect=n=-50dB:d=0.3"
    assert argv[-3:] == ["-f", "null", "-"]


# --- Which breaks are plausible --------------------------------------------------------------------


def test_the_cut_falls_in_the_middle_of_the_black_and_silent_stretch():
    found = plausible_breaks(
        [Span(300.0, 302.0)], [Span(300.5, 303.0)], duration_seconds=1320, has_audio=True
    )

    assert [(found_break.time_ms, found_break.quiet_seconds) for found_break in found] == [(301_250, 1.5)]


def test_black_without_silence_is_no_break_when_the_file_has_sound():
    assert (
        plausible_breaks([Span(300.0, 301.0)], [Span(400.0, 401.0)], duration_seconds=1320, has_audio=True)
        == []
    )


def test_black_alone_is_a_break_when_the_file_has_no_sound():
    found = plausible_breaks([Span(300.0, 301.0)], [], duration_seconds=1320, has_audio=False)

    assert [found_break.time_ms for found_break in found] == [300_500]


def test_breaks_too_close_to_the_start_or_the_end_are_left_out():
    black = [Span(10.0, 11.0), Span(600.0, 601.0), Span(1300.0, 1301.0)]

    found = plausible_breaks(black, black, duration_seconds=1320, has_audio=True)

    assert [found_break.time_ms for found_break in found] == [600_500]


def test_margins_are_configurable():
    black = [Span(10.0, 11.0), Span(1300.0, 1301.0)]
    loose = DetectionSettings(start_margin_seconds=5, end_margin_seconds=5)

    found = plausible_breaks(black, black, duration_seconds=1320, has_audio=True, detection=loose)

    assert [found_break.time_ms for found_break in found] == [10_500, 1_300_500]


def test_candidates_closer_than_the_spacing_keep_the_one_quiet_longest():
    black = [Span(600.0, 600.5), Span(650.0, 652.0), Span(700.0, 701.0), Span(900.0, 900.4)]

    found = plausible_breaks(black, black, duration_seconds=1320, has_audio=True)

    # 650 s (2 s quiet) beats 600 s and 700 s, both within two minutes of it; 900 s stands alone.
    assert [found_break.time_ms for found_break in found] == [651_000, 900_200]


def test_a_long_black_stretch_is_a_scene_not_a_break():
    black = [Span(600.0, 625.0)]

    assert plausible_breaks(black, black, duration_seconds=1320, has_audio=True) == []


# --- Detection on a real file ----------------------------------------------------------------------


def test_detection_finds_the_black_silent_second_in_a_real_clip(clips):
    found = detect_breaks(str(clips.breaking), detection=SMALL_MARGINS)

    assert len(found) == 1
    assert 8_350 <= found[0].time_ms <= 8_650
    assert found[0].black.start == pytest.approx(8.0, abs=0.1)


def test_detection_with_default_margins_finds_nothing_in_a_twenty_second_clip(clips):
    assert detect_breaks(str(clips.breaking), duration_ms=20_000) == []


def test_generating_replaces_detected_marks_and_leaves_the_others(db, clips):
    episode = EpisodeFactory(duration_ms=20_000)
    _local_file(episode, clips.breaking)
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.DETECTED, time_ms=3_000)
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.PLEX, time_ms=5_000)

    marks = generate_chapter_marks(episode, detection=SMALL_MARGINS)

    assert [(mark.title, mark.origin) for mark in marks] == [("Break 1", ChapterOrigin.DETECTED)]
    assert 8_350 <= marks[0].time_ms <= 8_650
    assert [time for time, _ in _marks(episode, ChapterOrigin.DETECTED)] == [marks[0].time_ms]
    assert _marks(episode, ChapterOrigin.PLEX) == [(5_000, "")]


def test_generating_for_a_remote_only_item_says_it_needs_a_local_file(db):
    episode = EpisodeFactory(title="Pilot")
    MediaFileFactory(playable=episode, state=FileState.REMOTE_ONLY, local_path="")

    with pytest.raises(ChapterToolError, match="remote only") as raised:
        generate_chapter_marks(episode)

    assert "path mapping" in str(raised.value)


def test_generating_for_a_file_gone_from_disk_names_the_path(db, tmp_path):
    episode = EpisodeFactory()
    _local_file(episode, tmp_path / "gone.mp4")

    with pytest.raises(ChapterToolError, match="no longer on this machine"):
        generate_chapter_marks(episode)


# --- Embedded chapters -----------------------------------------------------------------------------


def test_embedded_chapters_replace_the_items_embedded_marks_except_the_one_at_zero(db, clips):
    movie = MovieFactory(duration_ms=20_000)
    _local_file(movie, clips.chaptered, container="mkv")
    ChapterMarkFactory(playable=movie, origin=ChapterOrigin.EMBEDDED, time_ms=1_234, title="stale")
    ChapterMarkFactory(playable=movie, origin=ChapterOrigin.PLEX, time_ms=5_000, title="Plex")

    import_embedded_chapters(movie)

    assert _marks(movie, ChapterOrigin.EMBEDDED) == [(5_000, "Act one"), (12_000, "Act two")]
    assert _marks(movie, ChapterOrigin.PLEX) == [(5_000, "Plex")]


# --- Saving the editor's marks ---------------------------------------------------------------------


def test_saving_replaces_manual_marks_sorted_and_deduplicated(db):
    episode = EpisodeFactory(duration_ms=1_320_000)
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.MANUAL, time_ms=100_000, title="old")
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.PLEX, time_ms=420_000)

    save_marks(
        episode, [(900_000, " Act three "), (420_000, ""), (420_000, "Act two"), (300_000.4, "Act one")]
    )

    assert _marks(episode, ChapterOrigin.MANUAL) == [
        (300_000, "Act one"),
        (420_000, "Act two"),
        (900_000, "Act three"),
    ]
    assert _marks(episode, ChapterOrigin.PLEX) == [(420_000, "")]


@pytest.mark.parametrize(
    ("time_ms", "message"),
    [
        (1_320_000, "past the end of the item"),
        (2_000_000, "past the end of the item"),
        (-5, "before the start"),
        (0, "very start"),
        ("ten", "number of milliseconds"),
    ],
)
def test_saving_refuses_marks_outside_the_item_and_changes_nothing(db, time_ms, message):
    episode = EpisodeFactory(duration_ms=1_320_000)
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.MANUAL, time_ms=100_000)

    with pytest.raises(MarkValidationError, match=message):
        save_marks(episode, [(200_000, "fine"), (time_ms, "bad")])

    assert _marks(episode, ChapterOrigin.MANUAL) == [(100_000, "")]


def test_manual_marks_win_then_plex_then_embedded_then_detected(db):
    episode = EpisodeFactory()
    for origin, time_ms in [
        (ChapterOrigin.DETECTED, 1_000),
        (ChapterOrigin.EMBEDDED, 2_000),
        (ChapterOrigin.PLEX, 3_000),
        (ChapterOrigin.MANUAL, 4_000),
    ]:
        ChapterMarkFactory(playable=episode, origin=origin, time_ms=time_ms)
        assert [mark.time_ms for mark in effective_marks(episode)] == [time_ms]


def test_episodes_and_movies_keep_their_kind_and_clips_move_among_clip_kinds(db):
    spot = ShortFormFactory(kind=ContentKind.COMMERCIAL)

    assert allowed_kinds(EpisodeFactory()) == [ContentKind.EPISODE]
    assert allowed_kinds(MovieFactory()) == [ContentKind.MOVIE]
    assert set_kind(spot, ContentKind.PROMO) is True
    spot.refresh_from_db()
    assert spot.kind == ContentKind.PROMO
    with pytest.raises(ChapterToolError, match="can only be"):
        set_kind(spot, ContentKind.MOVIE)


# --- The editor page -------------------------------------------------------------------------------


def _editor_url(item) -> str:
    return reverse("admin:catalog_item_chapters", args=[item.pk])


def _post_json(client: Client, url: str, body: dict):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_editor_renders_for_staff_with_marks_player_and_metadata(staff_client, clips):
    episode = EpisodeFactory(title="The Contest", show__title="Seinfeld", season_number=4, episode_number=11)
    _local_file(episode, clips.breaking)
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.PLEX, time_ms=7_000, title="Act two")

    response = staff_client.get(_editor_url(episode))

    assert response.status_code == 200
    page = response.content.decode()
    editor = response.context["editor"]
    assert editor["marks"] == [{"time_ms": 7_000, "title": "Act two", "origin": "plex", "also": []}]
    assert editor["media_url"] == reverse("admin:catalog_item_media", args=[episode.pk])
    assert editor["transcode"] is False
    assert editor["kinds"] == [["episode", "Episode"]]
    assert 'id="rv-video"' in page
    assert "Seinfeld" in page and "S04E11" in page and str(clips.breaking) in page
    assert reverse("admin:catalog_episode_change", args=[episode.pk]) in page


def test_editor_explains_why_a_remote_only_item_cannot_play(staff_client):
    episode = EpisodeFactory()
    MediaFileFactory(playable=episode, state=FileState.REMOTE_ONLY, local_path="")

    response = staff_client.get(_editor_url(episode))

    assert response.status_code == 200
    assert response.context["editor"]["media_url"] == ""
    assert "remote only" in response.context["media_problem"]


def test_editor_sends_anonymous_visitors_to_the_login_page(db):
    episode = EpisodeFactory()

    response = Client().get(_editor_url(episode))

    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_saving_replaces_manual_marks_and_returns_the_new_state(staff_client):
    episode = EpisodeFactory(duration_ms=1_320_000)
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.PLEX, time_ms=420_000, title="Act two")

    response = _post_json(
        staff_client,
        _editor_url(episode),
        {"marks": [{"time_ms": 900_000, "title": "Act three"}, {"time_ms": 420_000, "title": "Act two"}]},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["origin"] == "manual"
    assert [(mark["time_ms"], mark["origin"], mark["also"]) for mark in body["marks"]] == [
        (420_000, "manual", ["plex"]),
        (900_000, "manual", []),
    ]
    assert body["others"] == []  # the Plex mark at 420 s is in use as a manual mark at the same time
    assert _marks(episode, ChapterOrigin.PLEX) == [(420_000, "Act two")]


def test_saving_a_mark_past_the_end_is_a_400_with_a_clear_error(staff_client):
    episode = EpisodeFactory(duration_ms=1_320_000)

    response = _post_json(
        staff_client, _editor_url(episode), {"marks": [{"time_ms": 1_500_000, "title": ""}]}
    )

    assert response.status_code == 400
    assert response.json()["error"] == "Mark 1 at 00:25:00.00 is past the end of the item (00:22:00.00)."
    assert not ChapterMark.objects.filter(playable=episode).exists()


def test_saving_from_a_plain_form_redirects_back_to_the_editor(staff_client):
    episode = EpisodeFactory(duration_ms=1_320_000)

    response = staff_client.post(
        _editor_url(episode), {"time_ms": ["600000", "300000"], "title": ["Act three", "Act two"]}
    )

    assert response.status_code == 302
    assert response["Location"] == _editor_url(episode)
    assert _marks(episode, ChapterOrigin.MANUAL) == [(300_000, "Act two"), (600_000, "Act three")]


def test_saving_changes_a_clips_kind_but_never_turns_an_episode_into_a_movie(staff_client):
    spot = ShortFormFactory(kind=ContentKind.COMMERCIAL)
    episode = EpisodeFactory()

    assert _post_json(staff_client, _editor_url(spot), {"marks": [], "kind": "bumper"}).status_code == 200
    refused = _post_json(staff_client, _editor_url(episode), {"marks": [], "kind": "movie"})

    spot.refresh_from_db()
    episode.refresh_from_db()
    assert spot.kind == ContentKind.BUMPER
    assert refused.status_code == 400
    assert "can only be: episode" in refused.json()["error"]
    assert episode.kind == ContentKind.EPISODE


def test_saving_needs_the_change_permission_and_a_csrf_token(db):
    episode = EpisodeFactory(duration_ms=1_320_000)
    viewer = StaffUserFactory(username="viewer", is_superuser=False)
    viewer.user_permissions.add(Permission.objects.get(codename="view_chaptermark"))
    client = Client()
    client.force_login(viewer)
    admin_client = Client(enforce_csrf_checks=True)
    admin_client.force_login(StaffUserFactory(username="boss"))
    body = {"marks": [{"time_ms": 60_000, "title": ""}]}

    assert client.get(_editor_url(episode)).status_code == 200
    assert _post_json(client, _editor_url(episode), body).status_code == 403
    assert _post_json(admin_client, _editor_url(episode), body).status_code == 403  # no CSRF token
    assert not ChapterMark.objects.filter(playable=episode).exists()


# --- Generating from the page ----------------------------------------------------------------------


def test_generate_runs_detection_for_a_short_file_while_staff_wait(staff_client, clips, monkeypatch):
    spot = ShortFormFactory(duration_ms=20_000)
    _local_file(spot, clips.breaking)
    monkeypatch.setattr(
        editor,
        "generate_chapter_marks",
        functools.partial(generate_chapter_marks, detection=SMALL_MARGINS),
    )

    response = staff_client.post(reverse("admin:catalog_item_chapters_generate", args=[spot.pk]))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "succeeded"
    assert body["message"] == "Found 1 plausible break."
    assert [mark["origin"] for mark in body["detected"]] == ["detected"]
    assert 8_350 <= body["detected"][0]["time_ms"] <= 8_650


def test_generate_queues_a_long_file_and_reports_the_tasks_outcome(staff_client, clips, monkeypatch):
    episode = EpisodeFactory(duration_ms=22 * 60 * 1000)
    _local_file(episode, clips.breaking, duration_ms=22 * 60 * 1000)
    queued = []
    fake_task = SimpleNamespace(apply_async=lambda args: queued.append(args) or SimpleNamespace(id="task-1"))
    monkeypatch.setattr(catalog.tasks, "generate_chapters", fake_task, raising=False)
    url = reverse("admin:catalog_item_chapters_generate", args=[episode.pk])

    response = staff_client.post(url)

    assert response.status_code == 202
    assert queued == [[episode.pk]]
    status_url = response.json()["status_url"]
    assert staff_client.get(status_url).json() == {"state": "queued"}
    run = TaskRun.objects.create(task_id="task-1", task_name="chapters.generate", state=TaskRunState.RUNNING)
    assert staff_client.get(status_url).json() == {"state": "running"}
    ChapterMarkFactory(playable=episode, origin=ChapterOrigin.DETECTED, time_ms=600_000, title="Break 1")
    run.state = TaskRunState.SUCCEEDED
    run.save()
    done = staff_client.get(status_url).json()
    assert done["state"] == "succeeded"
    assert done["detected"] == [{"time_ms": 600_000, "title": "Break 1", "origin": "detected"}]
    run.state, run.error = TaskRunState.FAILED, "ChapterToolError: ffmpeg could not scan the file: boom"
    run.save()
    assert staff_client.get(status_url).json()["error"] == "ffmpeg could not scan the file: boom"


def test_generate_refuses_an_item_without_a_local_file(staff_client):
    episode = EpisodeFactory()
    MediaFileFactory(playable=episode, state=FileState.REMOTE_ONLY, local_path="")

    response = staff_client.post(reverse("admin:catalog_item_chapters_generate", args=[episode.pk]))

    assert response.status_code == 409
    assert "remote only" in response.json()["error"]


# --- Media for the player --------------------------------------------------------------------------


def _media_url(item) -> str:
    return reverse("admin:catalog_item_media", args=[item.pk])


def test_byte_ranges_are_read_like_browsers_send_them():
    assert byte_range(None, 1000) is None
    assert byte_range("bytes=0-", 1000) == (0, 999)
    assert byte_range("bytes=100-199", 1000) == (100, 199)
    assert byte_range("bytes=900-5000", 1000) == (900, 999)
    assert byte_range("bytes=-100", 1000) == (900, 999)
    assert byte_range("bytes=0-1,5-6", 1000) is None
    assert byte_range("items=0-1", 1000) is None
    with pytest.raises(player.RangeNotSatisfiable):
        byte_range("bytes=1000-", 1000)


def test_media_serves_byte_ranges_of_a_browser_playable_file(staff_client, clips):
    episode = EpisodeFactory()
    _local_file(episode, clips.breaking)
    data = clips.breaking.read_bytes()

    partial = staff_client.get(_media_url(episode), HTTP_RANGE="bytes=100-1099")
    whole = staff_client.get(_media_url(episode))
    beyond = staff_client.get(_media_url(episode), HTTP_RANGE=f"bytes={len(data)}-")

    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 100-1099/{len(data)}"
    assert partial["Content-Length"] == "1000"
    assert partial["Content-Type"] == "video/mp4"
    assert b"".join(partial.streaming_content) == data[100:1100]
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    assert b"".join(whole.streaming_content) == data
    assert beyond.status_code == 416
    assert beyond["Content-Range"] == f"bytes */{len(data)}"


def test_media_refuses_items_whose_file_is_not_on_this_machine(staff_client):
    remote = EpisodeFactory()
    MediaFileFactory(playable=remote, state=FileState.REMOTE_ONLY, local_path="")
    fileless = EpisodeFactory()

    refused = staff_client.get(_media_url(remote))
    missing = staff_client.get(_media_url(fileless))

    assert refused.status_code == 409
    assert "remote only" in refused.content.decode()
    assert missing.status_code == 404
    assert "has no media file" in missing.content.decode()


def test_media_takes_no_path_from_the_request(staff_client, clips):
    episode = EpisodeFactory()
    _local_file(episode, clips.breaking)

    response = staff_client.get(_media_url(episode), {"path": "/etc/passwd", "file": "../../etc/passwd"})
    traversal = staff_client.get(f"/admin/catalog/item/{episode.pk}/../../../etc/passwd/media/")

    assert b"".join(response.streaming_content) == clips.breaking.read_bytes()
    assert traversal.status_code in (302, 404)  # the admin's catch-all, never a file


def test_media_sends_anonymous_visitors_to_the_login_page(db, clips):
    episode = EpisodeFactory()
    _local_file(episode, clips.breaking)

    assert Client().get(_media_url(episode)).status_code == 302


def test_other_containers_are_transcoded_live_and_ffmpeg_stops_with_the_response(
    staff_client, clips, monkeypatch
):
    movie = MovieFactory(duration_ms=20_000)
    _local_file(movie, clips.chaptered, container="mkv")
    started = []
    real_start = player.start_process
    monkeypatch.setattr(
        player,
        "start_process",
        lambda argv, **kwargs: started.append(real_start(argv, **kwargs)) or started[-1],
    )

    response = staff_client.get(_media_url(movie), {"start": "4.5"})
    first = next(iter(response.streaming_content))
    response.close()

    assert response["Content-Type"] == "video/mp4"
    assert b"ftyp" in first[:16]
    assert started[0].poll() is not None
    assert started[0].args[started[0].args.index("-ss") + 1] == "4.500"


def test_the_transcode_is_fragmented_mp4_on_stdout():
    argv = transcode_argv("/media/show.mkv", 12.0)

    assert argv[argv.index("-ss") + 1] == "12.000"
    assert argv.index("-ss") < argv.index("-i")  # seek the input: fast, and exact when transcoding
    assert argv[argv.index("-movflags") + 1] == "frag_keyframe+empty_moov+default_base_moof"
    assert argv[-3:] == ["-f", "mp4", "pipe:1"]
    assert "-ss" not in transcode_argv("/media/show.mkv", 0)


def test_detection_task_body_counts_what_it_found(db, clips, monkeypatch):
    episode = EpisodeFactory(duration_ms=20_000)
    _local_file(episode, clips.breaking)
    monkeypatch.setattr(
        marks, "generate_chapter_marks", functools.partial(generate_chapter_marks, detection=SMALL_MARGINS)
    )

    assert marks.run_chapter_detection(episode.pk) == {"detected": 1}
