"""A folder library mixing every real-world case of issue 13, synced three times: the first run
imports everything and lists per file what is truly unreadable; the second and third report 0
added / 0 updated / 0 removed and write nothing."""

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from catalog.choices import SourceKind, SyncStatus
from catalog.models import Collection, Episode, MediaFile, Movie, Season, ShortFormItem, Show
from catalog.sync.folders import sync_folder_source
from scheduling.builder import build_channel
from scheduling.models import ProgramEntry
from scheduling.xmltv import render_xmltv
from tests.catalog.mixed_library import EXPECTED_FAILURES, EXPECTED_PROBLEMS, build
from tests.factories import FolderSourceFactory
from tests.scheduling.station import channel_with_slot, short_form_library

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("mixed") / "library")


def snapshot_of_rows(source):
    """Every row the sync writes, with its update time: equal snapshots mean nothing was written."""
    return (
        sorted(Show.objects.filter(source=source).values_list("pk", "updated_at")),
        sorted(Season.objects.filter(show__source=source).values_list("pk", "title", "state")),
        sorted(Movie.objects.filter(source=source).values_list("pk", "updated_at")),
        sorted(Episode.objects.filter(source=source).values_list("pk", "updated_at")),
        sorted(ShortFormItem.objects.filter(source=source).values_list("pk", "updated_at")),
        sorted(
            MediaFile.objects.filter(playable__source=source).values_list("pk", "probed_at", "local_path")
        ),
        sorted(Collection.objects.filter(source=source).values_list("pk", "updated_at", "child_count")),
    )


def test_a_mixed_library_imports_everything_then_two_resyncs_change_nothing(library):
    source = FolderSourceFactory(kind=SourceKind.TMM, path=str(library), name="Mixed library")

    first = sync_folder_source(source)

    # Everything readable is in; what is not is listed per file, and only that.
    assert first.status == SyncStatus.PARTIAL  # a run with problems is partial, never silent
    assert first.failed == len(EXPECTED_FAILURES)
    problem_lines = first.error.splitlines()[1:]
    for path, reason in EXPECTED_PROBLEMS.items():
        assert any(line.startswith(f"{path}: {reason}") for line in problem_lines), (path, first.error)
    assert set(Movie.objects.filter(source=source, state="active").values_list("title", flat=True)) == {
        "Back to the Future", "Back to the Future Part II", "Alien", "Aliens", "Amélie", "Big Buck Bunny", "Sintel",
        "Corrupt",  # imported, its file unavailable with ffprobe's reason (as before)
    }  # fmt: skip
    assert MediaFile.objects.get(playable__title="Corrupt").state == "unavailable"
    alf = Show.objects.get(source=source, title="ALF")
    assert list(Episode.objects.filter(show=alf).order_by("episode_number").values_list("episode_number", flat=True)) == [
        1, 2, 3, 4, 5, 6, 7, 8,
    ]  # fmt: skip
    assert Season.objects.get(show=alf, season_number=1).title == "The First Season"
    assert set(Collection.objects.filter(source=source).values_list("title", flat=True)) == {
        "Back to the Future Collection", "Alien Collection",
    }  # fmt: skip
    assert ShortFormItem.objects.filter(source=source).count() == 2
    added = first.added
    rows = snapshot_of_rows(source)

    for _ in range(2):
        again = sync_folder_source(source)
        assert (again.added, again.updated, again.removed) == (0, 0, 0), again.error
        assert again.failed == len(EXPECTED_FAILURES)  # still reported, still only those
        assert again.error.splitlines()[1:] == problem_lines
        assert again.skipped == added
        assert snapshot_of_rows(source) == rows


def test_the_mixed_librarys_multi_episode_files_each_air_once(library):
    source = FolderSourceFactory(kind=SourceKind.TMM, path=str(library), name="Mixed library")
    sync_folder_source(source)
    alf = Show.objects.get(source=source, title="ALF")
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[alf], start=time(18), end=time(20))
    monday = datetime(2026, 11, 23, tzinfo=UTC)

    build_channel(channel, monday, monday + timedelta(days=1), fine_until=monday + timedelta(days=1))

    programs = ProgramEntry.objects.filter(channel=channel, slot__isnull=False).order_by("start")
    assert [(p.episode_number, p.last_episode_number) for p in programs] == [
        (1, 2),
        (3, 4),
        (5, None),
        (6, 8),
    ]
    assert programs[3].subtitle == "Pennsylvania 6-5000 / Keepin' the Faith / For Your Eyes Only"
    guide = render_xmltv([channel], monday, monday + timedelta(days=1), "http://tv").decode()
    for code in ("S01E01-E02", "S01E03-E04", "S01E05", "S01E06-E08"):
        assert guide.count(f'<episode-num system="onscreen">{code}</episode-num>') == 1
