"""Artwork: the sync records each poster's reference, the artwork task fetches changed ones once over
HTTP from the emulator (or from a TMM folder), caches them by content hash, and reports bad images."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from catalog.artwork import local
from catalog.artwork.errors import ArtworkSourceUnavailable
from catalog.artwork.fetch import refresh_artwork
from catalog.artwork.store import BadImage, decode
from catalog.models import Episode, Movie, Playable, Season, Show, artwork_url
from catalog.models.artwork import POSTER_WIDTH, THUMB_WIDTH, artwork_path
from plex_emulator import EmulatorConfig, PlexEmulator
from tests.catalog.plex_helpers import source_for, sync

pytestmark = pytest.mark.django_db

THUMBS = r"/library/metadata/\d+/thumb/"
LIBRARY = EmulatorConfig(
    shows=3, seasons_per_show=2, episodes_per_season=2, specials_per_show=1, movies=4, seed=7
)


@pytest.fixture
def artwork_root(settings, tmp_path) -> Path:
    settings.ARTWORK_ROOT = tmp_path / "artwork"
    return settings.ARTWORK_ROOT


@pytest.fixture
def emulator():
    with PlexEmulator(LIBRARY) as running:
        yield running


@pytest.fixture
def synced(emulator, artwork_root):
    source = source_for(emulator)
    run = sync(source, "full")
    assert run.status == "succeeded", run.error
    return source


def cached_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.jpg"))


def all_rows(source):
    return [
        *Show.objects.filter(source=source),
        *Season.objects.filter(show__source=source),
        *Playable.objects.filter(source=source),
    ]


def test_sync_records_each_items_plex_thumb_path_with_its_timestamp(emulator, synced):
    movie = Movie.objects.filter(source=synced).first()
    item = emulator.library.get(movie.rating_key)
    assert movie.artwork_ref == f"/library/metadata/{movie.rating_key}/thumb/{item.image_version}"
    assert not Show.objects.filter(source=synced, artwork_ref="").exists()
    assert not Episode.objects.filter(source=synced, artwork_ref="").exists()
    assert not Season.objects.filter(show__source=synced, artwork_ref="").exists()


def test_artwork_task_caches_every_poster_by_content_hash_and_dedups_identical_images(
    emulator, synced, artwork_root
):
    result = refresh_artwork(synced.pk)

    rows = all_rows(synced)
    assert result["failed"] == 0, result["errors"]
    assert all(row.artwork_hash and not row.artwork_error for row in rows)
    assert all(row.artwork_fetched_ref == row.artwork_ref for row in rows)
    # Seasons show their show's poster (same bytes under another URL): one set of files for both.
    for season in Season.objects.filter(show__source=synced).select_related("show"):
        assert season.artwork_hash == season.show.artwork_hash
    hashes = {row.artwork_hash for row in rows}
    assert len(hashes) < len(rows)
    assert result["already_cached"] == len(rows) - len(hashes)
    assert len(cached_files(artwork_root)) == 2 * len(hashes)
    # Every row was fetched exactly once over HTTP, with the token in a header only.
    assert emulator.requests.count(THUMBS) == len(rows)
    assert all("X-Plex-Token" not in record.query for record in emulator.requests.records)

    show = Show.objects.filter(source=synced).first()
    poster = Image.open(artwork_root / artwork_path(show.artwork_hash, POSTER_WIDTH))
    thumb = Image.open(artwork_root / artwork_path(show.artwork_hash, THUMB_WIDTH))
    assert poster.format == thumb.format == "JPEG"
    assert poster.size == (200, 300), "a 200 px poster is not blown up to 300"
    assert thumb.size == (160, 240)
    assert show.artwork_url() == f"/artwork/{show.artwork_hash[:2]}/{show.artwork_hash}-w300.jpg"


def test_unchanged_references_are_not_fetched_again(emulator, synced, artwork_root):
    refresh_artwork(synced.pk)
    before = emulator.requests.count(THUMBS)

    assert sync(synced, "incremental").status == "succeeded"
    result = refresh_artwork(synced.pk)

    assert result == {"fetched": 0, "already_cached": 0, "cleared": 0, "failed": 0, "errors": []}
    assert emulator.requests.count(THUMBS) == before


def test_a_new_poster_in_plex_is_fetched_and_nothing_else(emulator, synced, artwork_root):
    refresh_artwork(synced.pk)
    movie = Movie.objects.filter(source=synced).order_by("pk").first()
    old_hash = movie.artwork_hash
    emulator.requests.reset()

    emulator.library.touch(movie.rating_key)  # Plex gives the poster URL a new timestamp
    assert sync(synced, "incremental").status == "succeeded"
    result = refresh_artwork(synced.pk)

    movie.refresh_from_db()
    assert result["fetched"] == 1
    assert emulator.requests.count(THUMBS) == 1
    assert movie.artwork_hash and movie.artwork_hash != old_hash
    assert (artwork_root / artwork_path(movie.artwork_hash, POSTER_WIDTH)).is_file()


@pytest.mark.parametrize(
    ("mode", "says"),
    [("garbage", "not an image format"), ("truncated", "corrupt image"), ("html", "web page")],
)
def test_a_bad_image_is_that_items_error_and_the_rest_are_cached(emulator, synced, artwork_root, mode, says):
    movie = Movie.objects.filter(source=synced).order_by("pk").first()
    emulator.artwork.corrupt(rf"/library/metadata/{movie.rating_key}/thumb/", mode)

    result = refresh_artwork(synced.pk)

    movie.refresh_from_db()
    assert result["failed"] == 1
    assert says in movie.artwork_error
    assert movie.artwork_hash == ""
    assert movie.artwork_fetched_ref == movie.artwork_ref, "not retried until the poster changes"
    assert movie.title in result["errors"][0]
    others = [row for row in all_rows(synced) if row.pk != movie.pk or not isinstance(row, Playable)]
    assert all(row.artwork_hash for row in others)


def test_a_missing_image_on_the_server_is_that_items_error(emulator, synced, artwork_root):
    movie = Movie.objects.filter(source=synced).order_by("pk").first()
    Playable.objects.filter(pk=movie.pk).update(
        artwork_ref=f"/library/metadata/{movie.rating_key}0000/thumb/1"
    )

    refresh_artwork(synced.pk)

    movie.refresh_from_db()
    assert movie.artwork_error == "Plex answered 404"


def test_a_server_error_stops_the_run_for_a_retry_and_keeps_what_was_done(emulator, synced, artwork_root):
    emulator.faults.schedule("http503", THUMBS, nth=5, times=1)

    with pytest.raises(ArtworkSourceUnavailable):
        refresh_artwork(synced.pk)

    done = [row for row in all_rows(synced) if row.artwork_hash]
    assert len(done) == 4
    emulator.requests.reset()
    result = refresh_artwork(synced.pk)  # the retry picks up only what is left
    assert result["failed"] == 0
    assert emulator.requests.count(THUMBS) == len(all_rows(synced)) - 4
    assert all(row.artwork_hash for row in all_rows(synced))


def test_a_finished_sync_queues_the_artwork_task_only_when_something_changed(
    emulator, synced, artwork_root, monkeypatch
):
    from catalog.choices import SyncStatus
    from catalog.models import SyncRun
    from catalog.sync.triggers import run_queued_sync

    queued = []
    monkeypatch.setattr("catalog.tasks.fetch_artwork.delay", lambda *args: queued.append(args))
    monkeypatch.setattr("catalog.sync.engine.plex_client_for", lambda source, **kw: _fast(source))

    run = SyncRun.objects.create(source=synced, kind="incremental", status=SyncStatus.QUEUED)
    run_queued_sync(run.pk)
    assert queued == [(synced.pk, False)]

    refresh_artwork(synced.pk)
    queued.clear()
    run = SyncRun.objects.create(source=synced, kind="incremental", status=SyncStatus.QUEUED)
    run_queued_sync(run.pk)
    assert queued == []


def _fast(source):
    from tests.catalog.plex_helpers import fast_client

    return fast_client(source)


# --- TMM / Kodi folders ---------------------------------------------------------------------------


def _jpeg(colour, size=(400, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def tmm_tree(tmp_path) -> Path:
    root = tmp_path / "tmm"
    show = root / "Shows" / "Retro Show (1985)"
    season = show / "Season 1"
    season.mkdir(parents=True)
    (show / "tvshow.nfo").write_text("<tvshow><title>Retro Show</title><year>1985</year></tvshow>")
    (show / "poster.jpg").write_bytes(_jpeg("red"))
    (show / "season01-poster.jpg").write_bytes(_jpeg("red"))  # the same picture: cached once
    (season / "Retro Show S01E01.mkv").write_bytes(b"not really a video")
    (season / "Retro Show S01E01.nfo").write_text(
        "<episodedetails><title>Pilot</title><season>1</season><episode>1</episode></episodedetails>"
    )
    (season / "Retro Show S01E01-thumb.jpg").write_bytes(_jpeg("blue", (640, 360)))
    movie = root / "Movies" / "Old Film (1960)"
    movie.mkdir(parents=True)
    (movie / "Old Film (1960).mkv").write_bytes(b"not really a video")
    (movie / "Old Film (1960).nfo").write_text("<movie><title>Old Film</title><year>1960</year></movie>")
    (movie / "Old Film (1960)-poster.jpg").write_bytes(b"<html><body>502 Bad Gateway</body></html>")
    return root


def test_tmm_folder_artwork_is_found_by_kodi_names_and_cached(tmm_tree, artwork_root):
    from catalog.sync.folders import sync_folder_source
    from tests.factories import FolderSourceFactory

    source = FolderSourceFactory(kind="tmm", path=str(tmm_tree))
    sync_folder_source(source)

    show = Show.objects.get(source=source)
    season = Season.objects.get(show=show, season_number=1)
    episode = Episode.objects.get(source=source)
    movie = Movie.objects.get(source=source)
    assert show.artwork_ref.startswith("Shows/Retro Show (1985)/poster.jpg|")
    assert season.artwork_ref.startswith("Shows/Retro Show (1985)/season01-poster.jpg|")
    assert episode.artwork_ref.startswith("Shows/Retro Show (1985)/Season 1/Retro Show S01E01-thumb.jpg|")

    result = refresh_artwork(source.pk)

    for row in (show, season, episode, movie):
        row.refresh_from_db()
    assert show.artwork_hash and show.artwork_hash == season.artwork_hash
    assert episode.artwork_hash and episode.artwork_hash != show.artwork_hash
    assert "web page" in movie.artwork_error and movie.artwork_hash == ""
    assert result["fetched"] == 2 and result["already_cached"] == 1 and result["failed"] == 1
    assert Image.open(artwork_root / artwork_path(episode.artwork_hash, POSTER_WIDTH)).size == (300, 169)

    # Replacing the poster changes its reference (mtime, size): it alone is read again.
    poster = tmm_tree / "Shows" / "Retro Show (1985)" / "poster.jpg"
    poster.write_bytes(_jpeg("green"))
    later = time.time() + 5
    os.utime(poster, (later, later))
    sync_folder_source(source)
    result = refresh_artwork(source.pk)
    show.refresh_from_db()
    assert result["fetched"] == 1
    assert show.artwork_hash != season.artwork_hash


def test_folder_references_never_leave_the_source_folder(tmp_path):
    root = str(tmp_path)
    assert local.path_from_reference(root, "../outside.jpg|1:2") is None
    assert local.path_from_reference(root, "/etc/passwd|1:2") is None
    assert local.path_from_reference(root, "a/../../b.jpg|1:2") is None
    assert local.path_from_reference(root, "Shows/x/poster.jpg|1:2") == str(tmp_path / "Shows/x/poster.jpg")


def test_decode_refuses_what_is_not_an_image():
    with pytest.raises(BadImage, match="web page"):
        decode(b"<!DOCTYPE html><html><body>Error</body></html>")
    with pytest.raises(BadImage, match="no bytes"):
        decode(b"")
    with pytest.raises(BadImage):
        decode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)


def test_artwork_url_is_none_without_an_image():
    assert artwork_url("") is None
    assert artwork_url("ab" * 32, THUMB_WIDTH) == f"/artwork/ab/{'ab' * 32}-w160.jpg"


# --- serving (embedded default, no nginx) ---------------------------------------------------------


def test_django_serves_cached_artwork_as_a_long_cached_jpeg(client, artwork_root):
    from catalog.artwork.store import store_image

    digest = store_image(_jpeg("purple"))
    response = client.get(f"/artwork/{artwork_path(digest, THUMB_WIDTH)}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert "immutable" in response["Cache-Control"] and "max-age=31536000" in response["Cache-Control"]
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).width == THUMB_WIDTH


@pytest.mark.parametrize(
    "path",
    [
        "/artwork/secret.txt",
        "/artwork/ab/../../secret.txt",
        "/artwork/%2e%2e/secret.txt",
        f"/artwork/cd/{'ab' * 32}-w160.jpg",  # the folder must be the hash's first two characters
        f"/artwork/ab/{'ab' * 32}-w160.jpg",  # well formed, not cached
    ],
)
def test_django_serves_nothing_but_cached_hash_names(client, artwork_root, path):
    artwork_root.mkdir(parents=True, exist_ok=True)
    (artwork_root / "secret.txt").write_text("not artwork")
    (artwork_root.parent / "secret.txt").write_text("not artwork")
    response = client.get(path)
    assert response.status_code == 404
