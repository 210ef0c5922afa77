"""Tracks of local files: ffprobe's view of the file, and subtitle files beside it (folder and TMM sources)."""

from pathlib import Path

import pytest
from django.conf import settings

from catalog.folders.scan import scan_tmm_source
from catalog.media.probe import probe_media_file
from catalog.media.streams import sidecar_subtitles
from catalog.models import MediaFile, MediaStream, Movie
from catalog.sync.probing import probe_source_files
from retrovue.subprocesses import run_command
from tests.catalog.test_folder_sources import put, tmm_source
from tests.factories import EpisodeFactory

MOVIE_NFO = "<movie><title>Le Samouraï</title><year>1967</year></movie>"


@pytest.fixture(scope="module")
def bilingual(tmp_path_factory) -> Path:
    """2 s: English and French audio (French tagged `fre`), an untagged track, a forced French subtitle."""
    folder = tmp_path_factory.mktemp("bilingual-probe")
    (folder / "forced.srt").write_text("1\n00:00:00,000 --> 00:00:01,000\nBonjour\n")
    video = folder / "bilingual.mkv"
    run_command(
        [settings.RETROVUE_FFMPEG, "-v", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=size=160x120:rate=25:duration=2",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-f", "lavfi", "-i", "sine=frequency=1000:duration=2",
         "-f", "lavfi", "-i", "anullsrc=r=48000:cl=mono", "-i", str(folder / "forced.srt"),
         "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a", "-map", "4:s", "-t", "2",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-ac:a:0", "2", "-c:s", "srt",
         "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fre", "-metadata:s:a:1", "title=Doublage",
         "-metadata:s:s:0", "language=fre", "-disposition:a:0", "default", "-disposition:a:1", "0",
         "-disposition:a:2", "0", "-disposition:s:0", "forced", str(video)],
        timeout=60,
    )  # fmt: skip
    return video


def test_ffprobe_reports_each_audio_and_subtitle_track_with_its_flags(bilingual):
    result = probe_media_file(str(bilingual))
    assert result.playable, result.error
    summary = [(t.kind, t.index, t.language, t.default, t.forced) for t in result.tracks]
    assert summary == [
        ("audio", 1, "eng", True, False),
        ("audio", 2, "fre", False, False),
        ("audio", 3, "", False, False),
        ("subtitle", 4, "fre", False, True),
    ]
    assert result.tracks[1].title == "Doublage" and result.tracks[0].channels == 2


def test_sidecar_names_give_language_forced_and_hearing_impaired():
    listing = [
        "Movie.mkv", "Movie.en.srt", "Movie.French.forced.srt", "Movie.eng.sdh.srt", "Movie.pt-BR.ass",
        "Movie.srt", "Movie.Part2.mkv", "Movie.Part2.de.srt", "Movie.nfo", "Other.en.srt", "Movie.es.hi.srt",
        "Movie.hi.srt",
    ]  # fmt: skip
    found = {
        Path(row.path).name: (row.language_code, row.forced, row.hearing_impaired, row.codec)
        for row in sidecar_subtitles(1, "/films/Movie.mkv", listing)
    }
    assert found == {
        "Movie.en.srt": ("eng", False, False, "srt"),
        "Movie.French.forced.srt": ("fre", True, False, "srt"),
        "Movie.eng.sdh.srt": ("eng", False, True, "srt"),
        "Movie.pt-BR.ass": ("por", False, False, "ass"),
        "Movie.srt": ("", False, False, "srt"),
        "Movie.es.hi.srt": ("spa", False, True, "srt"),
        "Movie.hi.srt": ("hin", False, False, "srt"),
    }
    rows = sidecar_subtitles(1, "/films/Movie.mkv", listing)
    assert all(row.external and row.stream_index is None and row.origin == "sidecar" for row in rows)


@pytest.mark.django_db
def test_a_tmm_scan_stores_probed_tracks_and_sidecars_and_sees_a_sidecar_added_later(tmp_path, bilingual):
    folder = tmp_path / "movies" / "Le Samourai (1967)"
    put(folder / "Le Samourai (1967).mkv", bilingual)
    put(folder / "Le Samourai (1967).nfo", MOVIE_NFO)
    put(folder / "Le Samourai (1967).en.forced.srt", "1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    source = tmm_source(tmp_path / "movies")
    scan_tmm_source(source)

    streams = MediaStream.objects.filter(media_file__playable=Movie.objects.get())
    assert sorted(streams.filter(origin="probe").values_list("kind", "stream_index", "language_code")) == [
        ("audio", 1, "eng"),
        ("audio", 2, "fre"),
        ("audio", 3, ""),
        ("subtitle", 4, "fre"),
    ]
    sidecar = streams.get(origin="sidecar")
    assert (sidecar.language_code, sidecar.forced, sidecar.external) == ("eng", True, True)
    assert sidecar.path == str(folder / "Le Samourai (1967).en.forced.srt")

    put(folder / "Le Samourai (1967).de.srt", "1\n00:00:00,000 --> 00:00:01,000\nHallo\n")
    scan_tmm_source(source)  # the video is unchanged: no new probe, but the new sidecar is seen
    assert sorted(streams.filter(origin="sidecar").values_list("language_code", flat=True)) == ["eng", "ger"]
    assert streams.filter(origin="probe").count() == 4


@pytest.mark.django_db
def test_probing_a_plex_files_local_copy_adds_ffmpegs_view_beside_plexs(tmp_path, bilingual):
    episode = EpisodeFactory()
    put(tmp_path / "ep.mkv", bilingual)
    media_file = MediaFile.objects.create(playable=episode, position=0, local_path=str(tmp_path / "ep.mkv"),
                                          state="normal")  # fmt: skip
    MediaStream.objects.create(media_file=media_file, origin="plex", kind="audio", stream_index=1)
    probe_source_files(episode.source_id)
    assert MediaStream.objects.filter(media_file=media_file, origin="plex").count() == 1
    assert MediaStream.objects.filter(media_file=media_file, origin="probe").count() == 4
