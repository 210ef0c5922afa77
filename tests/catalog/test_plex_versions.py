"""Plex versions are not parts: a `<Media>` is one version of an item, its `<Part>`s play in order.

A film with two versions airs one of them (per channel profile, in the stated order, or the one staff
pinned), with that version's length and break points only; items stored before versions existed are
marked by the migration and read again in full by the next sync.
"""

from __future__ import annotations

import importlib
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from django.apps import apps as django_apps

from catalog.media.versions import VersionFacts, airing_files, chapter_marks_of_reference, choose
from catalog.models import ChapterMark, MediaFile, MediaVersion, Movie, PathMapping, Playable
from catalog.plex.parse import parse_item
from catalog.sync.plex_media import versions_of
from catalog.sync.probing import probe_source_files
from playout import pregen_encode
from playout.inputs import RemoteParts
from plex_emulator import PlexEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, source_for, sync

CAPTURE = (
    Path(__file__).resolve().parents[1]
    / "fixtures/plex_captures/xml/library_metadata_159637__movie_two_media_multipart__plexapirs_as_xml.xml"
)


class Profile:
    def __init__(self, width: int, height: int):
        self.width, self.height = width, height


SD = Profile(640, 480)
HD = Profile(1920, 1080)


def version(
    pk, *, here=True, codec="h264", size=(1920, 1080), duration=5_400_000, pinned=False, position=None
):
    return VersionFacts(
        pk, pk if position is None else position, pinned, here, codec, size[0], size[1], duration
    )  # fmt: skip


# --- the order ---------------------------------------------------------------------------------------


def test_a_version_on_disk_here_goes_before_a_better_fitting_remote_one():
    remote_fit = version(1, here=False, codec="h264", size=(640, 480))
    local_misfit = version(2, here=True, codec="hevc", size=(3840, 2160))
    assert choose([remote_fit, local_misfit], SD).pk == 2


def test_codec_fit_goes_before_size():
    hevc_right_size = version(1, codec="hevc", size=(640, 480))
    h264_too_big = version(2, codec="h264", size=(1920, 1080))
    assert choose([hevc_right_size, h264_too_big], SD).pk == 2


def test_the_largest_size_not_above_the_profile_wins():
    versions = [version(1, size=(480, 360)), version(2, size=(1920, 1080)), version(3, size=(640, 480))]
    assert choose(versions, SD).pk == 3
    assert choose(versions, HD).pk == 2


def test_when_every_version_is_above_the_profile_the_smallest_wins():
    assert choose([version(1, size=(3840, 2160)), version(2, size=(1280, 720))], SD).pk == 2


def test_plex_order_breaks_a_tie_and_no_profile_means_the_largest():
    twins = [version(5, position=1), version(6, position=0)]
    assert choose(twins, SD).pk == 6
    assert choose([version(1, size=(1280, 720)), version(2, size=(1920, 1080))]).pk == 2


def test_a_pinned_version_airs_whatever_the_order_says():
    pinned = version(1, here=False, codec="mpeg2video", size=(3840, 2160), pinned=True)
    assert choose([pinned, version(2)], SD).pk == 1
    assert choose([pinned, version(2)]).pk == 1


def test_a_profile_never_swaps_in_another_cut_than_the_scheduled_one():
    theatrical = version(1, size=(1920, 1080), duration=5_400_000)
    extended_sd = version(2, size=(640, 480), duration=6_600_000)
    same_cut_sd = version(3, size=(640, 480), duration=5_401_000)
    assert choose([theatrical, extended_sd]).pk == 1
    assert choose([theatrical, extended_sd], SD).pk == 1, "the schedule was built with the reference's length"
    assert choose([theatrical, extended_sd, same_cut_sd], SD).pk == 3


# --- real Plex XML -----------------------------------------------------------------------------------


def test_a_captured_two_version_film_parses_into_two_versions_not_three_parts():
    item = parse_item(ElementTree.parse(CAPTURE).getroot()[0], "movie")
    versions = versions_of(item)
    assert [len(parts) for parts in versions] == [1, 2]
    assert [parts[0].media_key for parts in versions] == ["307380", "307381"]
    assert [(parts[0].video_codec, parts[0].width) for parts in versions] == [("hevc", 3840), ("h264", 1280)]
    assert versions[1][0].file.endswith("Pt1.mp4") and versions[1][1].file.endswith("Pt2.mp4")


# --- a two-version film, synced from the emulator, aired ---------------------------------------------


def make_clip(path: Path, seconds: int = 3, chapter_ms: int = 1000) -> None:
    """A tiny real file with two chapters (the second starting at `chapter_ms`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    chapters = path.with_suffix(".chapters.txt")
    chapters.write_text(
        ";FFMETADATA1\n"
        f"[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND={chapter_ms}\ntitle=Open\n"
        f"[CHAPTER]\nTIMEBASE=1/1000\nSTART={chapter_ms}\nEND={seconds * 1000}\ntitle=Act two\n"
    )
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc=size=160x120:rate=10:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-i", str(chapters),
         "-map", "0:v", "-map", "1:a", "-map_metadata", "2", "-map_chapters", "2",
         "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-f", "matroska", str(path)],
        check=True, timeout=60,
    )  # fmt: skip
    chapters.unlink()


def two_cut_film(emulator: PlexEmulator):
    """A film whose second version (4K HEVC) is a longer cut than its first (1080p)."""
    return emulator.library.add_movie("Two Cuts", 1984, versions=2, version_lengths=(5_400_000, 6_000_000))


@pytest.mark.django_db(transaction=True)
def test_a_two_version_film_airs_one_version_with_its_length_and_cut_points_only(tmp_path):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        movie = two_cut_film(emulator)
        first, second = movie.media
        source = source_for(emulator)
        # Only the 4K cut is on this machine.
        server_folder = second.parts[0].file.rsplit("/", 1)[0]
        PathMapping.objects.create(source=source, plex_prefix=server_folder, local_prefix=str(tmp_path))
        local_file = tmp_path / second.parts[0].file.rsplit("/", 1)[1]
        make_clip(local_file)
        assert sync(source, "full").status == "succeeded"

    stored = Movie.objects.get(source=source, rating_key=movie.rating_key)
    versions = list(MediaVersion.objects.filter(playable=stored).order_by("position"))
    assert [(v.media_key, v.video_codec, v.duration_ms) for v in versions] == [
        (str(first.media_id), first.video_codec, first.duration),
        (str(second.media_id), "hevc", second.duration),
    ]
    assert MediaFile.objects.filter(playable=stored).count() == 2  # one part per version, not one list
    # On disk here goes first: the 4K cut airs, on an SD channel too, and the item is as long as it.
    assert stored.duration_ms == second.duration != first.duration
    for profile in (None, SD, HD):
        assert [f.local_path for f in airing_files(stored.pk, profile)] == [str(local_file)]

    # Plex's chapters describe its default (first) version; the file's own mark the 4K cut.
    probe_source_files(source.pk)
    plex_marks = ChapterMark.objects.filter(playable=stored, origin="plex")
    assert plex_marks.exists() and {mark.version_id for mark in plex_marks} == {versions[0].pk}
    cut_points = sorted(chapter_marks_of_reference([stored.pk]).values_list("time_ms", flat=True))
    assert cut_points == [1000]

    # Pre-generation reads that version's file, and only it.
    with RemoteParts(ttl=60) as remote:
        parts = pregen_encode._source_parts(stored.pk, stored.duration_ms, remote, SD)
    assert [part.path for part in parts] == [str(local_file)]


# --- pinning in the admin ----------------------------------------------------------------------------


def _change_form_post(response) -> dict:
    """The POST a browser would send back for an admin change page as it was served."""
    data = {}

    def add(form):
        for bound in form:
            value = bound.value()
            if value is None or value is False:
                continue
            if value is True:
                data[bound.html_name] = "on"
            elif isinstance(value, list | tuple):
                data[bound.html_name] = [str(v) for v in value]
            else:
                data[bound.html_name] = str(value)

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add(formset.management_form)
        for form in formset.forms:
            add(form)
    return data


@pytest.mark.django_db(transaction=True)
def test_staff_pin_a_version_in_the_admin_and_it_airs_with_its_length(admin_client):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        movie = two_cut_film(emulator)
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
    stored = Movie.objects.get(source=source, rating_key=movie.rating_key)
    first, second = MediaVersion.objects.filter(playable=stored).order_by("position")
    # Nothing on disk: the H.264 1080p version is the reference.
    assert stored.duration_ms == first.duration_ms
    assert list(airing_files(stored.pk)) == list(first.parts.all())

    url = f"/admin/catalog/movie/{stored.pk}/change/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"parts on disk here" in page.content.lower()
    data = _change_form_post(page)
    index = next(key for key, value in data.items() if key.endswith("-id") and value == str(second.pk))
    data[index.replace("-id", "-pinned")] = "on"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context and response.context["errors"]

    second.refresh_from_db()
    stored.refresh_from_db()
    assert second.pinned
    assert stored.duration_ms == second.duration_ms
    for profile in (None, SD):
        assert list(airing_files(stored.pk, profile)) == list(second.parts.all())

    # Two pins are refused with a message, not a server error.
    data = _change_form_post(admin_client.get(url))
    for key in [key for key in data if key.endswith("-id") and key.startswith(index.split("-")[0])]:
        data[key.replace("-id", "-pinned")] = "on"
    refused = admin_client.post(url, data)
    assert refused.status_code == 200
    assert "Pin one version at most" in refused.content.decode()
    assert MediaVersion.objects.filter(playable=stored, pinned=True).count() == 1


# --- repairing rows stored before versions -----------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_migration_marks_multi_part_items_and_the_next_sync_reads_them_again():
    migration = importlib.import_module("catalog.migrations.0016_media_versions")
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        movie = two_cut_film(emulator)
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
        stored = Movie.objects.get(source=source, rating_key=movie.rating_key)
        fingerprint = stored.source_fingerprint
        files_before = set(MediaFile.objects.filter(playable=stored).values_list("pk", flat=True))
        # As main stored it: both versions' files in one list of parts, no versions.
        for position, media_file in enumerate(MediaFile.objects.filter(playable=stored).order_by("pk")):
            MediaFile.objects.filter(pk=media_file.pk).update(version=None, position=position)
        MediaVersion.objects.filter(playable=stored).delete()
        Playable.objects.filter(pk=stored.pk).update(duration_ms=movie.media[0].duration)
        single = Movie.objects.filter(source=source).exclude(pk=stored.pk).first()
        assert MediaFile.objects.filter(playable=single).count() == 1

        migration.mark_items_with_several_parts(django_apps, None)

        marked = set(Playable.objects.filter(needs_full_resync=True).values_list("pk", flat=True))
        assert stored.pk in marked and single.pk not in marked
        assert Playable.objects.get(pk=stored.pk).source_fingerprint == ""

        # Nothing changed on Plex: an incremental run would list nothing, yet the marked item is read.
        run = sync(source, "incremental")
    assert run.status == "succeeded", run.error
    stored.refresh_from_db()
    assert not stored.needs_full_resync
    assert stored.source_fingerprint == fingerprint
    assert MediaVersion.objects.filter(playable=stored).count() == 2
    assert all(f.version_id for f in MediaFile.objects.filter(playable=stored))
    # The same file rows were taken over (probe results and tracks kept), none duplicated.
    assert set(MediaFile.objects.filter(playable=stored).values_list("pk", flat=True)) == files_before
    assert stored.duration_ms == movie.media[0].duration
    # Every marked item (the emulator's split film and two-version film too) was read and rewritten once.
    assert run.updated == len(marked)
    assert not Playable.objects.filter(needs_full_resync=True).exists()


@pytest.mark.django_db(transaction=True)
def test_a_pin_and_the_version_rows_survive_a_resync_of_a_changed_item():
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        movie = two_cut_film(emulator)
        source = source_for(emulator)
        assert sync(source, "full").status == "succeeded"
        stored = Movie.objects.get(source=source, rating_key=movie.rating_key)
        versions_before = list(MediaVersion.objects.filter(playable=stored).order_by("position"))
        files_before = sorted(MediaFile.objects.filter(playable=stored).values_list("pk", "version_id"))
        MediaVersion.objects.filter(pk=versions_before[1].pk).update(pinned=True)
        emulator.library.touch(movie.rating_key, title="Two Cuts (Director's Edition)")
        run = sync(source, "incremental")
    assert run.status == "succeeded", run.error
    stored.refresh_from_db()
    assert stored.title == "Two Cuts (Director's Edition)"
    versions_after = list(MediaVersion.objects.filter(playable=stored).order_by("position"))
    assert [v.pk for v in versions_after] == [v.pk for v in versions_before]
    assert [v.pinned for v in versions_after] == [False, True]
    assert sorted(MediaFile.objects.filter(playable=stored).values_list("pk", "version_id")) == files_before
    assert stored.duration_ms == versions_after[1].duration_ms == 6_000_000
