"""The Plex sync against the emulator: baseline, incremental changes, re-keys, removal safety, faults."""

import pytest

from catalog.models import (
    ChapterMark,
    Episode,
    ExternalId,
    Library,
    MediaFile,
    Movie,
    PlexMarker,
    Show,
    SyncRun,
)
from tests.catalog.plex_helpers import snapshot, source_for, sync

pytestmark = pytest.mark.django_db


def test_full_sync_brings_in_every_show_season_episode_and_movie(emulator, synced):
    library = emulator.library
    assert Show.objects.filter(source=synced).count() == library.count("show")
    assert Episode.objects.filter(source=synced).count() == library.count("episode")
    assert Movie.objects.filter(source=synced).count() == library.count("movie")
    assert set(Library.objects.filter(source=synced).values_list("kind", flat=True)) == {"movie", "show"}
    assert not Episode.objects.filter(source=synced, show__isnull=True).exists()
    assert Episode.objects.filter(source=synced, season_number=0).exists(), "specials (season 0) are kept"


def test_full_sync_records_its_run(synced):
    run = SyncRun.objects.get(source=synced)
    assert (run.kind, run.status) == ("full", "succeeded")
    assert run.added == run.processed > 0
    assert run.api_calls > 0
    assert run.finished_at >= run.started_at
    assert any(line.startswith("Added episode: ") for line in run.changes)
    assert any(line.startswith("Added movie: ") for line in run.changes)


def test_same_title_shows_from_different_years_stay_apart(emulator, synced):
    galactica = Show.objects.filter(source=synced, title="Battlestar Galactica").order_by("year")
    assert [show.year for show in galactica] == [1978, 2003]
    first, second = galactica
    assert first.primary_guid != second.primary_guid
    assert not set(first.episodes.values_list("pk", flat=True)) & set(
        second.episodes.values_list("pk", flat=True)
    )


def test_external_ids_and_primary_guid_follow_priority(synced):
    with_tvdb = Show.objects.filter(source=synced, external_ids__provider="tvdb").distinct()
    assert with_tvdb.exists()
    for show in with_tvdb:
        assert show.primary_guid.startswith("tvdb://")
    assert ExternalId.objects.filter(source=synced, owner_kind="movie").exists()


def test_chapters_markers_and_media_parts_are_imported(synced):
    assert ChapterMark.objects.filter(playable__source=synced, origin="plex").exists()
    assert PlexMarker.objects.filter(playable__source=synced, kind="intro").exists()
    assert (
        MediaFile.objects.filter(playable__source=synced).count()
        >= Episode.objects.filter(source=synced).count()
    )
    assert MediaFile.objects.filter(playable__source=synced, position=1).exists(), (
        "multi-part items keep every part"
    )


def test_files_that_are_not_on_this_machine_are_remote_only(synced):
    states = set(MediaFile.objects.filter(playable__source=synced).values_list("state", flat=True))
    assert states == {"remote_only"}


def test_mapped_folder_with_missing_files_is_file_not_found(emulator):
    source = source_for(emulator)
    plex_path = emulator.library.episodes()[0].media[0].parts[0].file
    source.path_mappings.create(plex_prefix=plex_path.rsplit("/", 3)[0], local_prefix="/nonexistent/mount")
    sync(source, "full")
    missing = MediaFile.objects.get(
        playable__rating_key=emulator.library.episodes()[0].rating_key, position=0
    )
    assert missing.state == "file_not_found"
    assert missing.local_path.startswith("/nonexistent/mount/")


def test_mapped_file_that_exists_here_is_normal(emulator, tmp_path):
    source = source_for(emulator)
    plex_path = emulator.library.episodes()[0].media[0].parts[0].file
    folder = plex_path.rsplit("/", 1)[0]
    (tmp_path / plex_path.rsplit("/", 1)[1]).write_bytes(b"video")
    source.path_mappings.create(plex_prefix=folder, local_prefix=str(tmp_path))
    sync(source, "full")
    present = MediaFile.objects.get(
        playable__rating_key=emulator.library.episodes()[0].rating_key, position=0
    )
    assert present.state == "normal"
    assert present.local_path == str(tmp_path / plex_path.rsplit("/", 1)[1])


def test_second_sync_without_changes_asks_little_and_changes_nothing(emulator, synced):
    before = snapshot(synced)
    emulator.requests.reset()
    run = sync(synced)
    assert run.status == "succeeded", run.error
    assert (run.added, run.updated, run.removed) == (0, 0, 0)
    assert run.changes == []
    assert snapshot(synced) == before
    # "/", "/library/sections", then per library: a changed-items query and a count per item type,
    # and its collections listing (unchanged collections' members are not re-read).
    assert emulator.requests.total <= 2 + 2 * 1 + 2 * 3 + 2 + 2
    assert run.api_calls == emulator.requests.total


def test_incremental_sync_applies_exactly_the_changes(emulator, synced):
    library = emulator.library
    episodes = library.episodes()
    renamed = episodes[:12]
    for episode in renamed:
        library.touch(episode.rating_key, title=f"{episode.title} (remastered)")
    for show in library.shows()[:3]:
        library.touch(show.rating_key)
    deleted = [episodes[-1].rating_key, episodes[-2].rating_key]
    for key in deleted:
        library.delete(key)
    added = [library.add_episode(library.shows()[0].rating_key, 1, title=f"New {n}") for n in range(3)]
    added_movie = library.add_movie("Tron", 1982)

    run = sync(synced)

    assert run.status == "succeeded", run.error
    assert (run.added, run.updated, run.removed) == (3 + 1, 12, 2)
    for episode in renamed:
        assert Episode.objects.get(source=synced, rating_key=episode.rating_key).title.endswith(
            "(remastered)"
        )
    assert set(
        Episode.objects.filter(source=synced, state="removed").values_list("rating_key", flat=True)
    ) == set(deleted)
    assert (
        Episode.objects.filter(
            source=synced, rating_key__in=[e.rating_key for e in added], state="active"
        ).count()
        == 3
    )
    assert Movie.objects.filter(
        source=synced, rating_key=added_movie.rating_key, title="Tron", year=1982
    ).exists()
    assert sum(line.startswith("Updated episode: ") for line in run.changes) == 12
    assert sum(line.startswith("Removed episode: ") for line in run.changes) == 2


def test_removed_rows_are_kept_and_come_back_when_plex_lists_them_again(emulator, synced):
    movie = emulator.library.movies()[0]
    emulator.library.delete(movie.rating_key)
    sync(synced)
    row = Movie.objects.get(source=synced, rating_key=movie.rating_key)
    assert row.state == "removed"
    assert row.files.exists(), "nothing cascades away"


def test_deleting_a_whole_show_marks_show_seasons_and_episodes_removed(emulator, synced):
    show = emulator.library.shows()[1]
    emulator.library.delete(show.rating_key)
    run = sync(synced)
    row = Show.objects.get(source=synced, rating_key=show.rating_key)
    assert row.state == "removed"
    assert set(row.episodes.values_list("state", flat=True)) == {"removed"}
    assert set(row.seasons.values_list("state", flat=True)) == {"removed"}
    assert run.removed == 1 + row.seasons.count() + row.episodes.count()


def test_rekeyed_items_keep_their_rows(emulator, synced):
    show = emulator.library.shows()[2]
    old_key = show.rating_key
    row_before = Show.objects.get(source=synced, rating_key=old_key)
    episode_pks = set(row_before.episodes.values_list("pk", flat=True))
    mapping = emulator.library.rekey(old_key)
    run = sync(synced)
    assert run.status == "succeeded", run.error
    row_after = Show.objects.get(pk=row_before.pk)
    assert row_after.rating_key == mapping[old_key]
    assert row_after.state == "active"
    assert set(row_after.episodes.filter(state="active").values_list("pk", flat=True)) == episode_pks
    assert run.removed == 0


def test_deep_sync_rewrites_everything_and_converges(emulator, synced):
    before = snapshot(synced)
    run = sync(synced, "deep")
    assert run.status == "succeeded"
    assert run.updated == run.processed
    assert snapshot(synced) == before


def test_sync_survives_a_fifth_of_requests_failing(emulator):
    source = source_for(emulator)
    emulator.faults.set_rate(0.2)
    run = sync(source, "full")
    emulator.faults.set_rate(0.0)
    assert run.status == "succeeded", run.error
    clean = source_for(emulator, name="clean copy")
    sync(clean, "full")
    assert snapshot(source) == snapshot(clean)


def test_server_going_away_mid_sync_marks_nothing_removed(emulator, synced):
    emulator.library.delete(emulator.library.episodes()[0].rating_key)
    watermarks = dict(Library.objects.filter(source=synced).values_list("pk", "sync_watermark"))
    emulator.faults.schedule("reset", path=r"type=4", nth=1, times=1000)
    run = sync(synced)
    assert run.status == "failed"
    assert "could not reach" in run.error or "gave up" in run.error
    assert not Episode.objects.filter(source=synced, state="removed").exists()
    assert dict(Library.objects.filter(source=synced).values_list("pk", "sync_watermark")) == watermarks
    emulator.faults.clear()
    again = sync(synced)
    assert again.status == "succeeded", again.error
    assert Episode.objects.filter(source=synced, state="removed").count() == 1


def test_wrong_token_fails_clearly_and_is_shown_on_the_source(emulator):
    source = source_for(emulator)
    source.token = "not-the-token"
    source.save()
    run = sync(source, "full")
    assert run.status == "failed"
    assert "401" in run.error and "sign in" in run.error
    source.refresh_from_db()
    assert "401" in source.last_error
    assert "not-the-token" not in run.error


def test_unreachable_server_is_a_clear_error():
    from catalog.models import MediaSource

    source = MediaSource.objects.create(name="gone", kind="plex", base_url="http://127.0.0.1:9", token="x")
    run = sync(source, "full")
    assert run.status == "failed"
    assert "could not reach http://127.0.0.1:9" in run.error


def test_malformed_answers_that_persist_fail_the_run(emulator):
    source = source_for(emulator)
    emulator.faults.schedule("malformed", path=r"/library/sections$", nth=1, times=1000)
    run = sync(source, "full")
    assert run.status == "failed"
    assert "malformed XML" in run.error
