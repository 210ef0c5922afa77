"""Disc folders (issue 13, item 3): a VIDEO_TS or BDMV folder is one item whose media files are
its main title, in order; the DVD menu never airs; a layout with nothing to play is a clear
per-item problem; an unchanged disc is not probed again."""

import shutil
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from catalog.choices import SyncStatus
from catalog.folders.scan import scan_folder_source, scan_tmm_source
from catalog.models import MediaFile, Movie, ShortFormItem, SyncRun
from scheduling.builder import build_channel
from scheduling.models import Piece, ProgramEntry
from tests.catalog.disc_media import bluray_folder, dvd_folder, vob
from tests.catalog.test_folder_sources import folder_source, put, tmm_source
from tests.scheduling.station import channel_with_slot, short_form_library

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)
FEATURE_NFO = "<movie><title>Big Buck Bunny</title><year>2008</year></movie>"


@pytest.fixture(scope="module")
def discs(tmp_path_factory) -> Path:
    """One DVD and one Blu-ray, made once and copied into each test's tree."""
    made = tmp_path_factory.mktemp("discs")
    dvd_folder(made / "dvd" / "VIDEO_TS")
    bluray_folder(made / "bluray" / "BDMV")
    return made


def disc_tree(root: Path, discs: Path) -> None:
    shutil.copytree(discs / "dvd" / "VIDEO_TS", root / "Big Buck Bunny (2008)" / "VIDEO_TS")
    put(root / "Big Buck Bunny (2008)" / "VIDEO_TS" / "VIDEO_TS.nfo", FEATURE_NFO)
    shutil.copytree(discs / "bluray" / "BDMV", root / "Sintel (2010)" / "BDMV")
    put(root / "Sintel (2010)" / "movie.nfo", "<movie><title>Sintel</title></movie>")  # beside the folder


def files_of(movie) -> list[str]:
    return [Path(path).name for path in MediaFile.objects.filter(playable=movie).order_by("position").values_list("local_path", flat=True)]  # fmt: skip


def test_a_dvd_folder_is_one_movie_whose_files_are_its_longest_title_set_not_the_menu(tmp_path, discs):
    disc_tree(tmp_path / "movies", discs)
    source = tmm_source(tmp_path / "movies")

    summary = scan_tmm_source(source)

    assert summary["failed"] == 0, summary["errors"]
    assert summary["errors"] == []  # the disc's .nfo beside it is no orphan
    movie = Movie.objects.get(source=source, rating_key="Big Buck Bunny (2008)/VIDEO_TS")
    assert (movie.title, movie.year) == ("Big Buck Bunny", 2008)
    assert files_of(movie) == ["VTS_02_1.VOB", "VTS_02_2.VOB"]
    parts = list(MediaFile.objects.filter(playable=movie).order_by("position"))
    assert all(part.playable_ok and part.video_codec == "mpeg2video" for part in parts)
    assert movie.duration_ms == sum(part.duration_ms for part in parts)
    assert 2_800 <= movie.duration_ms <= 3_300  # the 3 s feature, not the 4 s menu
    assert Movie.objects.filter(source=source).count() == 2  # no item per .VOB or .m2ts


def test_a_dvd_folder_airs_its_main_title(tmp_path, discs):
    disc_tree(tmp_path / "movies", discs)
    source = tmm_source(tmp_path / "movies")
    scan_tmm_source(source)
    dvd = Movie.objects.get(source=source, title="Big Buck Bunny")
    short_form_library()
    channel, _, _ = channel_with_slot(start=time(20), end=time(21), content="movies", movies=[dvd])

    build_channel(channel, MONDAY, MONDAY + timedelta(days=1), fine_until=MONDAY + timedelta(days=1))

    program = ProgramEntry.objects.filter(channel=channel, slot__isnull=False).first()
    assert program.playable_id == dvd.pk and program.content_ms == dvd.duration_ms
    content = Piece.objects.filter(program=program, kind="content")
    assert sum(piece.out_ms - piece.in_ms for piece in content) == dvd.duration_ms


def test_a_bluray_folder_is_its_longest_stream_with_the_nfo_beside_the_folder(tmp_path, discs):
    disc_tree(tmp_path / "movies", discs)
    source = tmm_source(tmp_path / "movies")

    scan_tmm_source(source)

    movie = Movie.objects.get(source=source, rating_key="Sintel (2010)/BDMV")
    assert movie.title == "Sintel"
    assert files_of(movie) == ["00001.m2ts"]
    assert 1_800 <= movie.duration_ms <= 2_300


def test_a_disc_layout_with_nothing_to_play_is_a_clear_problem_for_that_item(tmp_path, discs):
    root = tmp_path / "movies"
    disc_tree(root, discs)
    menu_only = root / "Menu Only" / "VIDEO_TS"
    vob(menu_only / "VIDEO_TS.VOB", 1)
    put(menu_only / "VIDEO_TS.nfo", "<movie><title>Menu Only</title></movie>")
    put(root / "Broken Disc" / "VIDEO_TS" / "VTS_01_1.VOB", "not an mpeg stream")
    put(root / "Broken Disc" / "VIDEO_TS" / "VIDEO_TS.nfo", "<movie><title>Broken</title></movie>")
    (root / "No Streams" / "BDMV").mkdir(parents=True)
    put(root / "No Streams" / "BDMV" / "index.nfo", "<movie><title>No Streams</title></movie>")
    source = tmm_source(root)
    run = SyncRun.objects.create(source=source, status=SyncStatus.RUNNING)

    summary = scan_tmm_source(source, sync_run=run)

    assert summary["failed"] == 3
    assert set(Movie.objects.filter(source=source).values_list("title", flat=True)) == {
        "Big Buck Bunny",
        "Sintel",
    }
    errors = "\n".join(summary["errors"])
    assert (
        "Menu Only/VIDEO_TS: a DVD folder without title sets (no VTS_nn_1.VOB); VIDEO_TS.VOB is only"
        in errors
    )
    assert "Broken Disc/VIDEO_TS: no title set ffprobe can play (title set 1: VTS_01_1.VOB" in errors
    assert "No Streams/BDMV: a Blu-ray folder without streams (no BDMV/STREAM/*.m2ts)" in errors
    run.refresh_from_db()
    assert "Menu Only/VIDEO_TS: a DVD folder without title sets" in run.error


def test_an_unchanged_disc_is_not_probed_again_and_a_rescan_changes_nothing(tmp_path, discs, monkeypatch):
    disc_tree(tmp_path / "movies", discs)
    source = tmm_source(tmp_path / "movies")
    scan_tmm_source(source)
    from catalog.media import probe

    calls = []
    real = probe.probe_media_file
    monkeypatch.setattr(probe, "probe_media_file", lambda path, **kw: calls.append(path) or real(path, **kw))

    again = scan_tmm_source(source)

    assert calls == []
    assert (again["added"], again["updated"], again["removed"], again["failed"]) == (0, 0, 0, 0)


def test_a_disc_that_loses_its_files_is_reported_and_its_item_is_kept(tmp_path, discs):
    root = tmp_path / "movies"
    disc_tree(root, discs)
    source = tmm_source(root)
    scan_tmm_source(source)
    for name in ("VTS_01_1.VOB", "VTS_02_1.VOB", "VTS_02_2.VOB"):
        (root / "Big Buck Bunny (2008)" / "VIDEO_TS" / name).unlink()

    summary = scan_tmm_source(source)

    assert any(
        "Big Buck Bunny (2008)/VIDEO_TS: a DVD folder without title sets" in line
        for line in summary["errors"]
    )
    assert Movie.objects.get(source=source, title="Big Buck Bunny").state == "active"
    assert summary["removed"] == 0


def test_a_disc_in_a_plain_folder_source_is_one_clip_and_its_menu_is_never_one(tmp_path, discs):
    root = tmp_path / "clips"
    shutil.copytree(discs / "dvd" / "VIDEO_TS", root / "commercials" / "Holiday Ads 1987" / "VIDEO_TS")
    source = folder_source(root)

    summary = scan_folder_source(source)

    assert summary["failed"] == 0, summary["errors"]
    [clip] = ShortFormItem.objects.filter(source=source)
    assert (clip.kind, clip.title) == ("commercial", "Holiday Ads 1987")
    assert files_of(clip) == ["VTS_02_1.VOB", "VTS_02_2.VOB"]


def test_scanning_a_path_inside_a_disc_folder_scans_the_whole_disc(tmp_path, discs):
    root = tmp_path / "movies"
    disc_tree(root, discs)
    source = tmm_source(root)

    scan_tmm_source(source, paths=["Big Buck Bunny (2008)/VIDEO_TS/VTS_02_2.VOB"])

    [movie] = Movie.objects.filter(source=source)
    assert movie.rating_key == "Big Buck Bunny (2008)/VIDEO_TS"
    assert files_of(movie) == ["VTS_02_1.VOB", "VTS_02_2.VOB"]
