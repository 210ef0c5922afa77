import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from catalog.choices import (
    ChapterOrigin,
    ContentKind,
    FileState,
    ItemState,
    SourceKind,
    SyncKind,
    SyncStatus,
)
from catalog.folders import listing
from catalog.folders import scan as folder_scan
from catalog.folders.names import clean_title, rating_key_for, short_form_kind_for
from catalog.folders.scan import FolderScanError, scan_folder_source, scan_source, scan_tmm_source
from catalog.media import probe
from catalog.models import (
    ChapterMark,
    Episode,
    ExternalId,
    MediaFile,
    Movie,
    Playable,
    Season,
    ShortFormItem,
    Show,
    SyncRun,
)
from tests.catalog.test_probe import MediaSamples, make_media_samples
from tests.factories import FolderSourceFactory

SHOW_NFO = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<tvshow>
  <title>The Wonder Years</title>
  <year>1988</year>
  <plot>Growing up in the suburbs.</plot>
  <mpaa>TV-PG</mpaa>
  <genre>Comedy</genre>
  <genre>Drama</genre>
  <studio>ABC</studio>
  <uniqueid type="imdb">tt0094582</uniqueid>
  <uniqueid type="tvdb" default="true">72394</uniqueid>
  <retrovue><daypart>early_fringe</daypart><demographic>family</demographic></retrovue>
</tvshow>
"""


def episode_nfo(season: int, episode: int, title: str, tvdb: str = "", extra: str = "") -> str:
    unique = f'<uniqueid type="tvdb" default="true">{tvdb}</uniqueid>' if tvdb else ""
    return (
        f"<episodedetails><title>{title}</title><season>{season}</season><episode>{episode}</episode>"
        f"<aired>1988-02-0{episode}</aired><plot>Plot of {title}.</plot>{unique}{extra}</episodedetails>\n"
    )


MOVIE_NFO = """<movie>
  <title>Back to the Future</title>
  <year>1985</year>
  <premiered>1985-07-03</premiered>
  <mpaa>Rated PG</mpaa>
  <genre>Adventure</genre>
  <studio>Amblin Entertainment</studio>
  <ratings><rating name="imdb" default="true" max="10"><value>8.5</value></rating></ratings>
  <uniqueid type="imdb" default="true">tt0088763</uniqueid>
  <uniqueid type="tmdb">105</uniqueid>
  <retrovue>
    <daypart>prime_time</daypart>
    <season_preference>summer</season_preference>
    <category>sci-fi</category>
    <demographic>teens</demographic>
    <warnings>mild language</warnings>
    <notes>Pair with the sequel.</notes>
  </retrovue>
</movie>
"""


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> MediaSamples:
    return make_media_samples(tmp_path_factory.mktemp("folder-media"))


@pytest.fixture
def probe_calls(monkeypatch):
    """Counts ffprobe runs the scanner asks for, still probing for real."""
    calls = []
    real = probe.probe_media_file

    def counting(path, **kwargs):
        calls.append(path)
        return real(path, **kwargs)

    monkeypatch.setattr(probe, "probe_media_file", counting)
    return calls


def put(path: Path, source: Path | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, Path):
        shutil.copyfile(source, path)
    else:
        path.write_text(source)
    return path


def tmm_source(root: Path, **kwargs):
    return FolderSourceFactory(kind=SourceKind.TMM, path=str(root), **kwargs)


def folder_source(root: Path, **kwargs):
    return FolderSourceFactory(kind=SourceKind.FOLDER, path=str(root), **kwargs)


@pytest.fixture
def show_tree(tmp_path, media):
    root = tmp_path / "tv"
    show = root / "The Wonder Years (1988)"
    put(show / "tvshow.nfo", SHOW_NFO)
    for number, title in [(1, "Pilot"), (2, "Swingers")]:
        put(show / "Season 01" / f"The Wonder Years - S01E0{number}.mkv", media.clip)
        put(
            show / "Season 01" / f"The Wonder Years - S01E0{number}.nfo",
            episode_nfo(1, number, title, f"17550{number}"),
        )
    return root


# ----------------------------------------------------------------------------------- TMM sources


@pytest.mark.django_db
def test_tmm_scan_builds_show_season_and_episodes_from_nfo(show_tree):
    source = tmm_source(show_tree)

    summary = scan_tmm_source(source)

    show = Show.objects.get(source=source)
    assert show.rating_key == "The Wonder Years (1988)"
    assert (show.title, show.year, show.content_rating, show.studio) == (
        "The Wonder Years",
        1988,
        "TV-PG",
        "ABC",
    )
    assert show.genres == ["Comedy", "Drama"]
    assert show.primary_guid == "tvdb://72394"
    assert set(show.external_ids.values_list("provider", "value")) == {
        ("tvdb", "72394"),
        ("imdb", "tt0094582"),
    }
    assert show.library.kind == "show"
    season = Season.objects.get(show=show)
    assert season.season_number == 1
    pilot, swingers = Episode.objects.filter(show=show).order_by("episode_number")
    assert (pilot.title, pilot.season_id, pilot.season_number, pilot.episode_number) == (
        "Pilot",
        season.id,
        1,
        1,
    )
    assert pilot.rating_key == "The Wonder Years (1988)/Season 01/The Wonder Years - S01E01.mkv"
    assert pilot.originally_aired == date(1988, 2, 1)
    assert pilot.primary_guid == "tvdb://175501"
    assert pilot.content_rating == "TV-PG"
    assert 1900 <= pilot.duration_ms <= 2100
    # The show's custom fields are every episode's defaults.
    assert (pilot.daypart, pilot.target_demographic) == ("early_fringe", "family")
    media_file = pilot.files.get()
    assert media_file.local_path == str(show_tree / pilot.rating_key)
    assert media_file.plex_path == ""
    assert (media_file.state, media_file.playable_ok, media_file.video_codec) == (
        FileState.NORMAL,
        True,
        "h264",
    )
    assert summary["added"] == 3  # the show and two episodes
    assert summary["failed"] == 0
    assert summary["complete"] is True
    assert swingers.title == "Swingers"


@pytest.mark.django_db
def test_tmm_scan_imports_a_movie_with_ids_rating_and_scheduling_metadata(tmp_path, media):
    root = tmp_path / "movies"
    put(root / "Back to the Future (1985)" / "Back to the Future (1985).mp4", media.clip)
    put(root / "Back to the Future (1985)" / "Back to the Future (1985).nfo", MOVIE_NFO)
    source = tmm_source(root)

    scan_tmm_source(source)

    movie = Movie.objects.get(source=source)
    assert (movie.title, movie.year, movie.content_rating, movie.studio) == (
        "Back to the Future",
        1985,
        "PG",
        "Amblin Entertainment",
    )
    assert movie.originally_released == date(1985, 7, 3)
    assert movie.audience_rating == Decimal("8.5")
    assert movie.genres == ["Adventure"]
    assert movie.primary_guid == "imdb://tt0088763"  # the .nfo's default uniqueid
    assert set(ExternalId.objects.filter(playable=movie).values_list("provider", "value")) == {
        ("tmdb", "105"),
        ("imdb", "tt0088763"),
    }
    assert movie.daypart == "prime_time"
    assert movie.seasonal_preference == "summer"
    assert movie.category == "sci-fi"
    assert movie.target_demographic == "teens"
    assert movie.content_warnings == "mild language"
    assert movie.notes == "Pair with the sequel."
    assert movie.library.kind == "movie"


@pytest.mark.django_db
def test_movie_nfo_names_the_only_video_in_its_folder(tmp_path, media):
    root = tmp_path / "movies"
    put(root / "Alien" / "alien.1979.mkv", media.clip)
    put(root / "Alien" / "movie.nfo", "<movie><title>Alien</title><year>1979</year></movie>")

    scan_tmm_source(tmm_source(root))

    assert Movie.objects.get().title == "Alien"


@pytest.mark.django_db
def test_multi_episode_nfo_makes_one_episode_per_entry_sharing_the_file(tmp_path, media):
    root = tmp_path / "tv"
    put(root / "ALF" / "tvshow.nfo", "<tvshow><title>ALF</title></tvshow>")
    put(root / "ALF" / "ALF - S01E01-E02.mkv", media.clip)
    put(
        root / "ALF" / "ALF - S01E01-E02.nfo",
        episode_nfo(1, 1, "A.L.F.") + episode_nfo(1, 2, "Strangers in the Night"),
    )
    source = tmm_source(root)

    scan_tmm_source(source)

    episodes = list(Episode.objects.filter(source=source).order_by("episode_number"))
    assert [(episode.episode_number, episode.title) for episode in episodes] == [
        (1, "A.L.F."),
        (2, "Strangers in the Night"),
    ]
    assert [episode.rating_key for episode in episodes] == [
        "ALF/ALF - S01E01-E02.mkv",
        "ALF/ALF - S01E01-E02.mkv#2",
    ]
    paths = {episode.files.get().local_path for episode in episodes}
    assert paths == {str(root / "ALF" / "ALF - S01E01-E02.mkv")}


@pytest.mark.django_db
def test_malformed_nfo_is_reported_by_path_and_the_scan_goes_on(tmp_path, media):
    root = tmp_path / "movies"
    put(root / "Good" / "Good.mp4", media.clip)
    put(root / "Good" / "Good.nfo", "<movie><title>Good</title></movie>")
    put(root / "Broken" / "Broken.mp4", media.clip)
    put(root / "Broken" / "Broken.nfo", "<movie><title>Broken</movie>")
    put(root / "UrlOnly" / "UrlOnly.mp4", media.clip)
    put(root / "UrlOnly" / "UrlOnly.nfo", "https://www.imdb.com/title/tt0090605/\n")
    put(root / "WithUrl" / "WithUrl.mp4", media.clip)
    put(
        root / "WithUrl" / "WithUrl.nfo",
        "<movie><title>With URL</title></movie>\nhttps://www.imdb.com/title/tt0078748/",
    )
    source = tmm_source(root)
    run = SyncRun.objects.create(source=source, status=SyncStatus.RUNNING)

    summary = scan_tmm_source(source, sync_run=run)

    # A URL-only .nfo is an item named from its file, with the URL's id (issue 13).
    assert set(Movie.objects.values_list("title", flat=True)) == {"Good", "UrlOnly", "With URL"}
    assert summary["failed"] == 1
    assert any(line.startswith("Broken/Broken.nfo: not well-formed XML") for line in summary["errors"])
    run.refresh_from_db()
    assert run.failed == 1
    assert "Broken/Broken.nfo: not well-formed XML" in run.error
    assert run.error.splitlines()[0].startswith("1 problem(s)")


@pytest.mark.django_db
def test_bad_custom_values_are_reported_and_the_rest_is_imported(tmp_path, media):
    root = tmp_path / "movies"
    put(root / "Spot.mp4", media.clip)
    put(
        root / "Spot.nfo",
        "<movie><title>Spot</title><retrovue><daypart>brunch</daypart><company>Kenner</company></retrovue></movie>",
    )

    summary = scan_tmm_source(tmm_source(root))

    movie = Movie.objects.get()
    assert (movie.daypart, movie.commercial_company) == ("", "Kenner")
    assert summary["failed"] == 0
    assert any("Spot.nfo: daypart 'brunch' is not one of" in line for line in summary["errors"])


@pytest.mark.django_db
def test_episode_without_a_show_folder_is_reported(tmp_path, media):
    root = tmp_path / "tv"
    put(root / "Loose" / "Loose - S01E01.mkv", media.clip)
    put(root / "Loose" / "Loose - S01E01.nfo", episode_nfo(1, 1, "Alone"))

    summary = scan_tmm_source(tmm_source(root))

    assert not Episode.objects.exists()
    assert summary["failed"] == 1
    assert "no tvshow.nfo in its folder or above it" in summary["errors"][0]


@pytest.mark.django_db
def test_unreadable_tvshow_nfo_names_the_show_after_its_folder(tmp_path, media):
    root = tmp_path / "tv"
    put(root / "Night Court (1984)" / "tvshow.nfo", "<tvshow><title>oops</tvshow>")
    put(root / "Night Court (1984)" / "S01E01.mkv", media.clip)
    put(root / "Night Court (1984)" / "S01E01.nfo", episode_nfo(1, 1, "All You Need Is Love"))

    summary = scan_tmm_source(tmm_source(root))

    assert (Show.objects.get().title, Show.objects.get().year) == ("Night Court", 1984)
    assert Episode.objects.get().title == "All You Need Is Love"
    assert any("tvshow.nfo: not well-formed XML" in line for line in summary["errors"])


@pytest.mark.django_db
def test_video_without_nfo_in_a_tmm_source_is_reported_not_imported(tmp_path, media):
    root = tmp_path / "movies"
    put(root / "Unscraped.mp4", media.clip)
    put(root / "Extras" / "Making of.mp4", media.clip)

    summary = scan_tmm_source(tmm_source(root))

    assert not Playable.objects.exists()
    assert summary["errors"] == ["Unscraped.mp4: no .nfo beside it (same name, or movie.nfo); not imported"]


# --------------------------------------------------------------------------------- folder sources


@pytest.mark.django_db
def test_short_form_kind_comes_from_the_folder_name(tmp_path, media):
    root = tmp_path / "clips"
    put(root / "commercials" / "Coca-Cola_Hilltop (1971).mp4", media.clip)
    put(root / "Bumpers" / "nbc.bumper.mp4", media.clip)
    put(root / "station ids" / "wxyz.mp4", media.clip)
    put(root / "ids" / "wabc.mp4", media.clip)
    put(root / "promos" / "fall-1987" / "cosby.mp4", media.clip)
    put(root / "intros" / "open.mp4", media.clip)
    put(root / "outros" / "close.mp4", media.clip)
    put(root / "interstitials" / "schoolhouse rock.mp4", media.clip)
    put(root / "filler" / "fish tank.mp4", media.clip)
    put(root / "misc" / "mystery.mp4", media.clip)
    source = folder_source(root)

    summary = scan_folder_source(source)

    kinds = dict(ShortFormItem.objects.values_list("rating_key", "kind"))
    assert kinds == {
        "commercials/Coca-Cola_Hilltop (1971).mp4": ContentKind.COMMERCIAL,
        "Bumpers/nbc.bumper.mp4": ContentKind.BUMPER,
        "station ids/wxyz.mp4": ContentKind.STATION_ID,
        "ids/wabc.mp4": ContentKind.STATION_ID,
        "promos/fall-1987/cosby.mp4": ContentKind.PROMO,
        "intros/open.mp4": ContentKind.INTRO,
        "outros/close.mp4": ContentKind.OUTRO,
        "interstitials/schoolhouse rock.mp4": ContentKind.INTERSTITIAL,
        "filler/fish tank.mp4": ContentKind.FILLER,
        "misc/mystery.mp4": ContentKind.FILLER,
    }
    hilltop = ShortFormItem.objects.get(kind=ContentKind.COMMERCIAL)
    assert (hilltop.title, hilltop.year) == ("Coca-Cola Hilltop", 1971)
    assert 1900 <= hilltop.duration_ms <= 2100
    assert hilltop.files.get().state == FileState.NORMAL
    assert ShortFormItem.objects.get(rating_key="Bumpers/nbc.bumper.mp4").title == "nbc bumper"
    assert summary["added"] == 10
    assert [line for line in summary["errors"]] == [
        "misc: the folder name does not say what its clips are (commercials, bumpers, promos, station_ids, "
        "intros, outros, interstitials, filler); imported as filler"
    ]


@pytest.mark.django_db
def test_the_source_folder_itself_can_name_the_kind(tmp_path, media):
    root = tmp_path / "Commercials"
    put(root / "toys" / "lego.mp4", media.clip)

    scan_folder_source(folder_source(root))

    assert ShortFormItem.objects.get().kind == ContentKind.COMMERCIAL


@pytest.mark.django_db
def test_sidecar_nfo_gives_a_clip_its_title_and_scheduling_metadata(tmp_path, media):
    root = tmp_path / "commercials"
    put(root / "kenner-1984.mp4", media.clip)
    put(
        root / "kenner-1984.nfo",
        "<movie><title>Star Wars figures</title><year>1984</year><retrovue><company>Kenner</company>"
        "<expires>1985-01-01</expires><daypart>saturday_morning</daypart><category>toys</category>"
        "</retrovue></movie>",
    )

    scan_folder_source(folder_source(root))

    spot = ShortFormItem.objects.get()
    assert (spot.title, spot.year, spot.commercial_company, spot.category) == (
        "Star Wars figures",
        1984,
        "Kenner",
        "toys",
    )
    assert (spot.expires_on, spot.daypart) == (date(1985, 1, 1), "saturday_morning")


@pytest.mark.django_db
def test_include_subdirectories_false_scans_only_the_top_folder(tmp_path, media):
    root = tmp_path / "bumpers"
    put(root / "top.mp4", media.clip)
    put(root / "deeper" / "nested.mp4", media.clip)

    scan_folder_source(folder_source(root, include_subdirectories=False))

    assert list(ShortFormItem.objects.values_list("rating_key", flat=True)) == ["top.mp4"]


@pytest.mark.django_db
def test_corrupt_media_is_imported_as_unavailable_with_the_probe_error(tmp_path, media):
    root = tmp_path / "commercials"
    put(root / "broken.mp4", media.corrupt)

    summary = scan_folder_source(folder_source(root))

    media_file = MediaFile.objects.get()
    assert media_file.playable_ok is False
    assert media_file.state == FileState.UNAVAILABLE
    assert media_file.probe_error.startswith("not a readable media file")
    assert any(line.startswith("broken.mp4: not a readable media file") for line in summary["errors"])


@pytest.mark.django_db
def test_embedded_chapters_become_chapter_marks(tmp_path, media):
    root = tmp_path / "interstitials"
    put(root / "chaptered.mkv", media.chaptered)

    scan_folder_source(folder_source(root))

    marks = ChapterMark.objects.filter(origin=ChapterOrigin.EMBEDDED).order_by("time_ms")
    # A chapter at 0 is the start of the file, not a break point.
    assert list(marks.values_list("title", "time_ms")) == [("Act one", 800), ("Act two", 1500)]


# ---------------------------------------------------------------------------- incremental rescans


@pytest.mark.django_db
def test_rescan_without_changes_probes_nothing_and_writes_nothing(show_tree, media, probe_calls):
    put(show_tree / "commercials" / "spot.mp4", media.clip)
    source = tmm_source(show_tree)
    scan_tmm_source(source)
    assert len(probe_calls) == 3
    before = {
        "playables": dict(Playable.objects.values_list("pk", "updated_at")),
        "shows": dict(Show.objects.values_list("pk", "updated_at")),
        "files": list(MediaFile.objects.order_by("pk").values()),
        "ids": ExternalId.objects.count(),
    }
    probe_calls.clear()

    summary = scan_tmm_source(source)

    assert probe_calls == []
    assert (summary["added"], summary["updated"], summary["removed"], summary["failed"]) == (0, 0, 0, 0)
    assert summary["skipped"] == 4
    assert summary["probed"] == 0
    assert dict(Playable.objects.values_list("pk", "updated_at")) == before["playables"]
    assert dict(Show.objects.values_list("pk", "updated_at")) == before["shows"]
    assert list(MediaFile.objects.order_by("pk").values()) == before["files"]
    assert ExternalId.objects.count() == before["ids"]


@pytest.mark.django_db
def test_changed_video_is_probed_again_and_changed_nfo_is_reread(show_tree, media, probe_calls):
    source = tmm_source(show_tree)
    scan_tmm_source(source)
    probe_calls.clear()
    season = show_tree / "The Wonder Years (1988)" / "Season 01"
    shutil.copyfile(media.chaptered, season / "The Wonder Years - S01E01.mkv")
    put(season / "The Wonder Years - S01E02.nfo", episode_nfo(1, 2, "Swingers (retitled)", "175502"))

    summary = scan_tmm_source(source)

    assert probe_calls == [str(season / "The Wonder Years - S01E01.mkv")]
    assert summary["updated"] == 2
    assert Episode.objects.get(episode_number=2).title == "Swingers (retitled)"
    assert ChapterMark.objects.filter(playable__episode__episode_number=1).count() == 2


@pytest.mark.django_db
def test_deep_sync_probes_everything_again(tmp_path, media, probe_calls):
    root = tmp_path / "bumpers"
    put(root / "a.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    probe_calls.clear()

    scan_folder_source(source, sync_run=SyncRun.objects.create(source=source, kind=SyncKind.DEEP))

    assert len(probe_calls) == 1


@pytest.mark.django_db
def test_deleted_files_mark_items_removed_and_files_not_found(show_tree, media):
    put(show_tree / "commercials" / "spot.mp4", media.clip)
    source = tmm_source(show_tree)
    scan_tmm_source(source)
    season = show_tree / "The Wonder Years (1988)" / "Season 01"
    (season / "The Wonder Years - S01E02.mkv").unlink()
    (season / "The Wonder Years - S01E02.nfo").unlink()
    (show_tree / "commercials" / "spot.mp4").unlink()

    summary = scan_tmm_source(source)

    gone = Episode.objects.get(episode_number=2)
    assert gone.state == ItemState.REMOVED
    assert gone.files.get().state == FileState.FILE_NOT_FOUND
    spot = ShortFormItem.objects.get()
    assert (spot.state, spot.files.get().state) == (ItemState.REMOVED, FileState.FILE_NOT_FOUND)
    assert Episode.objects.get(episode_number=1).state == ItemState.ACTIVE
    assert Show.objects.get().state == ItemState.ACTIVE
    assert summary["removed"] == 2


@pytest.mark.django_db
def test_removed_item_comes_back_when_its_file_returns(tmp_path, media):
    root = tmp_path / "promos"
    clip = put(root / "cosby.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    clip.unlink()
    scan_folder_source(source)
    put(root / "cosby.mp4", media.clip)

    scan_folder_source(source)

    item = ShortFormItem.objects.get()
    assert (item.state, item.files.get().state) == (ItemState.ACTIVE, FileState.NORMAL)


@pytest.mark.django_db
def test_a_whole_show_folder_gone_removes_show_episodes_and_seasons(show_tree, media):
    put(show_tree / "commercials" / "spot.mp4", media.clip)
    source = tmm_source(show_tree)
    scan_tmm_source(source)
    shutil.rmtree(show_tree / "The Wonder Years (1988)")

    scan_tmm_source(source)

    assert Show.objects.get().state == ItemState.REMOVED
    assert set(Episode.objects.values_list("state", flat=True)) == {ItemState.REMOVED}
    assert Season.objects.get().state == ItemState.REMOVED
    assert Show.objects.count() == 1  # never deleted


@pytest.mark.django_db
def test_nfo_whose_video_vanished_keeps_the_item_with_file_not_found(show_tree):
    source = tmm_source(show_tree)
    scan_tmm_source(source)
    (show_tree / "The Wonder Years (1988)" / "Season 01" / "The Wonder Years - S01E02.mkv").unlink()

    summary = scan_tmm_source(source)

    episode = Episode.objects.get(episode_number=2)
    assert episode.state == ItemState.ACTIVE
    assert episode.files.get().state == FileState.FILE_NOT_FOUND
    assert any("is missing" in line for line in summary["errors"])


@pytest.mark.django_db
def test_selective_scan_does_not_remove_items_outside_its_paths(tmp_path, media):
    root = tmp_path / "clips"
    put(root / "commercials" / "a.mp4", media.clip)
    put(root / "bumpers" / "b.mp4", media.clip)
    put(root / "bumpers" / "c.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    (root / "commercials" / "a.mp4").unlink()
    (root / "bumpers" / "c.mp4").unlink()

    summary = scan_folder_source(source, paths=["bumpers"])

    states = dict(ShortFormItem.objects.values_list("rating_key", "state"))
    assert states == {
        "commercials/a.mp4": ItemState.ACTIVE,  # outside the chosen folder: untouched
        "bumpers/b.mp4": ItemState.ACTIVE,
        "bumpers/c.mp4": ItemState.REMOVED,
    }
    assert summary["removed"] == 1


@pytest.mark.django_db
def test_selective_scan_inside_a_show_finds_the_show_above_it(show_tree, media):
    source = tmm_source(show_tree)
    season = show_tree / "The Wonder Years (1988)" / "Season 01"

    scan_tmm_source(source, paths=[str(season)])

    assert Episode.objects.filter(show__title="The Wonder Years").count() == 2


@pytest.mark.django_db
def test_paths_outside_the_source_are_refused(tmp_path):
    (tmp_path / "clips").mkdir()

    with pytest.raises(ValueError, match="not inside the source folder"):
        scan_folder_source(folder_source(tmp_path / "clips"), paths=["../elsewhere"])


@pytest.mark.django_db
def test_an_incomplete_listing_marks_nothing_removed(tmp_path, media, monkeypatch):
    root = tmp_path / "bumpers"
    put(root / "a.mp4", media.clip)
    put(root / "sub" / "b.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    (root / "a.mp4").unlink()
    real_walk = os.walk

    def walk_with_an_unreadable_folder(top, onerror=None, **kwargs):
        for entry in real_walk(top, onerror=onerror, **kwargs):
            if entry[0].endswith("sub"):
                onerror(PermissionError(13, "Permission denied", entry[0]))
                continue
            yield entry

    monkeypatch.setattr(listing.os, "walk", walk_with_an_unreadable_folder)

    summary = scan_folder_source(source)

    assert summary["complete"] is False
    assert set(ShortFormItem.objects.values_list("state", flat=True)) == {ItemState.ACTIVE}
    assert any("sub: cannot list this folder (Permission denied)" in line for line in summary["errors"])


@pytest.mark.django_db
def test_missing_source_folder_is_an_error_and_changes_nothing(tmp_path, media):
    root = tmp_path / "nas"
    put(root / "bumpers" / "a.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    shutil.rmtree(root)

    with pytest.raises(FolderScanError, match="is the disk mounted"):
        scan_folder_source(source)

    assert ShortFormItem.objects.get().state == ItemState.ACTIVE


@pytest.mark.django_db
def test_an_empty_source_folder_looks_unmounted_and_marks_nothing_removed(tmp_path, media):
    root = tmp_path / "mnt"
    clip = put(root / "bumpers" / "a.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    shutil.rmtree(clip.parent)

    summary = scan_folder_source(source)

    assert summary["complete"] is False
    assert ShortFormItem.objects.get().state == ItemState.ACTIVE
    assert "is the disk mounted?" in summary["errors"][-1]


@pytest.mark.django_db
def test_staff_edits_to_a_clip_without_nfo_survive_a_rescan(tmp_path, media):
    root = tmp_path / "promos"
    put(root / "cosby.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    ShortFormItem.objects.update(
        title="The Cosby Show – Thursday", kind=ContentKind.FILLER, daypart="prime_time"
    )

    scan_folder_source(source)

    item = ShortFormItem.objects.get()
    assert (item.title, item.kind, item.daypart) == (
        "The Cosby Show – Thursday",
        ContentKind.FILLER,
        "prime_time",
    )


# ------------------------------------------------------------------------------ progress and misc


@pytest.mark.django_db
def test_sync_run_gets_counters_and_progress(show_tree):
    source = tmm_source(show_tree)
    run = SyncRun.objects.create(source=source, status=SyncStatus.RUNNING)

    scan_source(source, sync_run=run)

    run.refresh_from_db()
    assert (run.processed, run.added, run.failed) == (3, 3, 0)
    assert (run.progress_total, run.progress_done) == (3, 3)
    assert run.progress_label == "Done (3/3)"
    assert run.error == ""


@pytest.mark.django_db
def test_progress_label_names_show_and_episode(show_tree, monkeypatch):
    labels = []
    real_flush = folder_scan._FolderScan._flush

    def recording_flush(scan, **kwargs):
        labels.append(scan.progress_label)
        return real_flush(scan, force=True, **{k: v for k, v in kwargs.items() if k != "force"})

    monkeypatch.setattr(folder_scan._FolderScan, "_flush", recording_flush)
    source = tmm_source(show_tree)

    scan_tmm_source(source, sync_run=SyncRun.objects.create(source=source))

    assert "The Wonder Years / S01E02 Swingers" in labels


@pytest.mark.django_db
def test_a_cancelled_run_stops_and_marks_nothing_removed(tmp_path, media):
    root = tmp_path / "bumpers"
    put(root / "a.mp4", media.clip)
    put(root / "b.mp4", media.clip)
    source = folder_source(root)
    scan_folder_source(source)
    (root / "b.mp4").unlink()
    run = SyncRun.objects.create(source=source, status=SyncStatus.CANCELLED)

    summary = scan_folder_source(source, sync_run=run)

    assert summary["cancelled"] is True
    assert set(ShortFormItem.objects.values_list("state", flat=True)) == {ItemState.ACTIVE}


@pytest.mark.parametrize(
    ("stem", "title"),
    [
        ("Coca.Cola.Hilltop", "Coca Cola Hilltop"),
        ("nbc_bumper_1987 [480p]", "nbc bumper 1987"),
        ("Apple 1984 (1984)", "Apple 1984"),
        ("Dr. Pepper - Be a Pepper", "Dr. Pepper - Be a Pepper"),
    ],
)
def test_titles_are_cleaned_from_file_names(stem, title):
    assert clean_title(stem) == title


def test_nearest_named_folder_decides_the_kind():
    assert short_form_kind_for("promos/commercials") == ContentKind.COMMERCIAL
    assert short_form_kind_for("toys", "Commercials") == ContentKind.COMMERCIAL
    assert short_form_kind_for("misc") is None


def test_long_paths_get_a_stable_rating_key_that_fits():
    long_path = "a/" * 150 + "clip.mp4"

    assert len(rating_key_for(long_path)) <= 200
    assert rating_key_for(long_path) == rating_key_for(long_path)
    assert rating_key_for(long_path) != rating_key_for(long_path.replace("clip", "clap"))
