"""Finding 3 (files) and the folder half of finding 7: a staff account cannot make the station
read a file outside the operator's media roots — not by editing a media file's path, not through a
path that a sync brought in, not through a symbolic link, not as a folder source."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from catalog.choices import FileState
from catalog.folders.scan import scan_folder_source
from catalog.models import MediaFile, MediaSource
from retrovue.core.media_roots import OutsideMediaRoots, inside_media_roots
from tests.factories import EpisodeFactory, FolderSourceFactory, MediaFileFactory
from tests.security.conftest import grant

SECRET = b"the station's encryption key"


@pytest.fixture
def roots(tmp_path, settings):
    """One media root with a small real clip in it, and a stand-in for the data folder beside it."""
    library = tmp_path / "library"
    (library / "Commercials").mkdir(parents=True)
    clip = library / "Commercials" / "spot.mp4"
    subprocess.run(
        [shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=5:duration=1",
         "-pix_fmt", "yuv420p", "-c:v", "libx264", str(clip)],
        check=True,
    )  # fmt: skip
    data = tmp_path / "data"
    data.mkdir()
    (data / "encryption_key").write_bytes(SECRET)
    settings.RETROVUE_LIBRARY_ROOTS = [library]
    settings.DATA_DIR = data
    return library, data, clip


@pytest.fixture
def chapter_staff(superuser, narrow_staff):
    """Staff allowed to use the chapter editor and change media files: the careless colleague."""
    narrow_staff.user = grant(narrow_staff.user, "catalog.view_chaptermark", "catalog.change_mediafile")
    narrow_staff.client.force_login(narrow_staff.user)
    return narrow_staff


def _media_url(item) -> str:
    return reverse("admin:catalog_item_media", args=[item.pk])


def _file(path: Path | str):
    episode = EpisodeFactory()
    return MediaFileFactory(playable=episode, local_path=str(path), state=FileState.NORMAL, container="mp4")


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_file_inside_the_media_roots_plays_with_ranges(roots, chapter_staff):
    _library, _data, clip = roots
    media = _file(clip)
    response = chapter_staff.client.get(_media_url(media.playable), HTTP_RANGE="bytes=0-9")
    assert response.status_code == 206
    assert _body(response) == clip.read_bytes()[:10]


def test_a_path_outside_the_roots_is_never_served(roots, chapter_staff):
    # A path a sync could bring in (a Plex path mapped onto the data folder): refused, not read.
    _library, data, _clip = roots
    media = _file(data / "encryption_key")
    for extra in ({}, {"HTTP_RANGE": "bytes=0-"}):
        for query in ("", "?transcode=1"):
            response = chapter_staff.client.get(_media_url(media.playable) + query, **extra)
            assert response.status_code == 403
            assert SECRET not in _body(response)


def test_a_symbolic_link_inside_a_root_pointing_out_is_refused(roots, chapter_staff):
    library, data, _clip = roots
    link = library / "Commercials" / "key.mp4"
    link.symlink_to(data / "encryption_key")
    dotdot = library / "Commercials" / ".." / ".." / "data" / "encryption_key"
    for path in (link, dotdot):
        media = _file(path)
        response = chapter_staff.client.get(_media_url(media.playable), HTTP_RANGE="bytes=0-")
        assert response.status_code == 403 and SECRET not in _body(response)


def test_the_admin_does_not_let_staff_set_a_files_path(roots, chapter_staff):
    _library, data, clip = roots
    media = _file(clip)
    change = reverse("admin:catalog_mediafile_change", args=[media.pk])
    page = chapter_staff.client.get(change)
    assert page.status_code == 200
    assert 'name="local_path"' not in page.content.decode()
    chapter_staff.client.post(
        change,
        {"playable": media.playable_id, "position": 0, "local_path": str(data / "encryption_key"),
         "state": FileState.NORMAL, "_save": "Save"},
    )  # fmt: skip
    media.refresh_from_db()
    assert media.local_path == str(clip)
    assert chapter_staff.client.get(reverse("admin:catalog_mediafile_add")).status_code == 403
    assert MediaFile.objects.count() == 1


def test_the_data_folder_is_never_a_media_root_even_under_one(tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    settings.RETROVUE_LIBRARY_ROOTS = [tmp_path, tmp_path / "data" / "demo-media"]
    assert inside_media_roots(tmp_path / "movie.mkv")
    assert not inside_media_roots(tmp_path / "data" / "encryption_key")
    assert inside_media_roots(tmp_path / "data" / "demo-media" / "show.mp4")  # a root put there on purpose
    assert not inside_media_roots("")
    assert not inside_media_roots("/etc/passwd")


def test_production_has_no_media_roots_until_the_operator_sets_them(settings, monkeypatch):
    settings.RETROVUE_LIBRARY_ROOTS = None
    settings.RETROVUE_MODE = "production"
    monkeypatch.delenv("RETROVUE_LIBRARY_ROOTS", raising=False)
    assert not inside_media_roots(Path(django_settings.DATA_DIR).parent / "anything.mkv")
    monkeypatch.setenv("RETROVUE_LIBRARY_ROOTS", "/srv/media:/mnt/tv")
    assert inside_media_roots("/mnt/tv/Show/episode.mkv")


@pytest.mark.parametrize("path", ["/etc", "/proc", "DATA", "LIBRARY/..", "LIBRARY/../data"])
def test_folder_sources_must_lie_in_a_media_root(path, roots, superuser):
    library, data, _clip = roots
    path = path.replace("DATA", str(data)).replace("LIBRARY", str(library))
    response = superuser.client.post(
        reverse("admin:catalog_mediasource_add"),
        {"name": "sneaky", "kind": "folder", "enabled": "on", "path": path, "include_subdirectories": "on",
         "sync_interval_minutes": 60},
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the error
    assert "not inside the media roots" in response.content.decode()
    assert not MediaSource.objects.filter(name="sneaky").exists()
    # A source made some other way (an old row, the shell) is refused by the scan itself.
    source = FolderSourceFactory(path=path)
    with pytest.raises(OutsideMediaRoots):
        scan_folder_source(source)


def test_the_folder_scan_does_not_follow_links_out_of_its_root(roots, db):
    library, data, clip = roots
    (data / "movies").mkdir()
    shutil.copy(clip, data / "movies" / "private.mp4")
    (library / "Commercials" / "linked-out.mp4").symlink_to(data / "movies" / "private.mp4")
    (library / "Linked folder").symlink_to(data / "movies", target_is_directory=True)
    source = FolderSourceFactory(path=str(library))
    scan_folder_source(source)
    paths = sorted(MediaFile.objects.values_list("local_path", flat=True))
    assert paths == [str(clip)]
    assert not any(str(data) in os.path.realpath(path) for path in paths)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("bytes=" + "9" * 5000 + "-", 416),  # finding 8: a 5,000-digit start was a 500
        ("bytes=0-" + "9" * 5000, 206),  # an end past any file: up to the end
        ("bytes=-" + "9" * 5000, 206),  # the last "many" bytes: the whole file
        ("bytes=" + "9" * 5000 + "-" + "9" * 5001, 416),
        ("bytes=abc-def", 200),  # malformed: ignored, the whole file
    ],
    ids=["huge-start", "huge-end", "huge-suffix", "huge-both", "malformed"],
)
def test_absurd_range_headers_are_a_clear_answer_not_a_500(header, status, roots, chapter_staff):
    _library, _data, clip = roots
    media = _file(clip)
    response = chapter_staff.client.get(_media_url(media.playable), HTTP_RANGE=header)
    assert response.status_code == status
    if status == 416:
        assert response["Content-Range"] == f"bytes */{clip.stat().st_size}"
    else:
        assert _body(response) == clip.read_bytes()
