"""A file holding several episodes airs once, as one program naming all its episodes."""

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest

from catalog.folders.scan import scan_tmm_source
from catalog.models import Episode, MediaFile
from plex_emulator import PlexEmulator
from plex_emulator.config import EmulatorConfig
from scheduling.builder import build_channel
from scheduling.models import Piece, ProgramEntry
from scheduling.xmltv import render_xmltv
from tests.catalog.plex_helpers import source_for
from tests.catalog.plex_helpers import sync as plex_sync
from tests.catalog.test_folder_sources import episode_nfo, put, tmm_source
from tests.catalog.test_probe import MediaSamples, make_media_samples
from tests.factories import EpisodeFactory, ShowFactory
from tests.scheduling.station import MINUTE, channel_with_slot, short_form_library

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> MediaSamples:
    return make_media_samples(tmp_path_factory.mktemp("multi-episode-media"))


def build(channel, day=MONDAY, days=1):
    return build_channel(channel, day, day + timedelta(days=days), fine_until=day + timedelta(days=days))


def in_slot(channel):
    return list(ProgramEntry.objects.filter(channel=channel, slot__isnull=False).order_by("start"))


def three_episode_tree(root: Path, media: MediaSamples) -> None:
    show = root / "ALF"
    put(show / "tvshow.nfo", "<tvshow><title>ALF</title></tvshow>")
    put(show / "Season 1" / "ALF - S01E01-E03.mkv", media.clip)
    put(
        show / "Season 1" / "ALF - S01E01-E03.nfo",
        episode_nfo(1, 1, "A.L.F.")
        + episode_nfo(1, 2, "Strangers in the Night")
        + episode_nfo(1, 3, "Looking for Lucky"),
    )
    put(show / "Season 1" / "ALF - S01E04.mkv", media.clip)
    put(show / "Season 1" / "ALF - S01E04.nfo", episode_nfo(1, 4, "Pennsylvania 6-5000"))


def test_a_three_episode_file_airs_once_with_one_guide_entry_naming_the_three(tmp_path, media):
    three_episode_tree(tmp_path / "tv", media)
    source = tmm_source(tmp_path / "tv")
    scan_tmm_source(source)
    episodes = list(Episode.objects.filter(source=source).order_by("episode_number"))
    assert [episode.episode_number for episode in episodes] == [1, 2, 3, 4]
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[episodes[0].show], start=time(18), end=time(19))

    build(channel)

    programs = in_slot(channel)
    assert [program.playable_id for program in programs] == [episodes[0].pk, episodes[3].pk]
    double = programs[0]
    assert double.subtitle == "A.L.F. / Strangers in the Night / Looking for Lucky"
    assert (double.season_number, double.episode_number, double.last_episode_number) == (1, 1, 3)
    file_length = MediaFile.objects.get(playable=episodes[0]).duration_ms
    assert double.content_ms == file_length  # the file's real length, not three times it
    content = Piece.objects.filter(program=double, kind="content")
    assert {piece.playable_id for piece in content} == {episodes[0].pk}
    assert sum(piece.out_ms - piece.in_ms for piece in content) == file_length
    assert not Piece.objects.filter(
        channel=channel, playable_id__in=[episodes[1].pk, episodes[2].pk]
    ).exists()

    guide = render_xmltv(
        [channel], MONDAY + timedelta(hours=18), MONDAY + timedelta(hours=19), "http://tv"
    ).decode()
    assert guide.count("<sub-title>A.L.F. / Strangers in the Night / Looking for Lucky</sub-title>") == 1
    assert '<episode-num system="onscreen">S01E01-E03</episode-num>' in guide
    assert '<episode-num system="onscreen">S01E04</episode-num>' in guide
    assert "Strangers in the Night</sub-title>" not in guide.replace(
        "A.L.F. / Strangers in the Night / Looking for Lucky</sub-title>", ""
    )


def test_a_rescan_of_a_multi_episode_file_changes_nothing(tmp_path, media):
    three_episode_tree(tmp_path / "tv", media)
    source = tmm_source(tmp_path / "tv")
    scan_tmm_source(source)
    again = scan_tmm_source(source)
    assert (again["added"], again["updated"], again["removed"]) == (0, 0, 0)
    assert Episode.objects.filter(source=source).count() == 4


def plex_double_episode_show():
    """Plex lists each episode of a two-episode file with the same Part."""
    show = ShowFactory(title="Moonlighting")
    episodes = []
    for number, title in [
        (1, "Pilot, part 1"),
        (2, "Pilot, part 2"),
        (3, "Gunfight at the So-So Corral"),
        (4, "Read the Mind"),
    ]:
        episodes.append(EpisodeFactory(show=show, source=show.source, title=title, season_number=1,
                                       episode_number=number, duration_ms=(44 if number < 3 else 22) * MINUTE))  # fmt: skip
    for episode in episodes:
        shared = episode.episode_number < 3
        MediaFile.objects.create(
            playable=episode, position=0, part_key="/library/parts/900/file.mkv" if shared else f"/library/parts/{episode.pk}/f.mkv",
            plex_path="/data/tv/Moonlighting - S01E01-E02.mkv" if shared else f"/data/tv/{episode.pk}.mkv",
            local_path="", state="remote_only", duration_ms=episode.duration_ms,
        )  # fmt: skip
    show.source.allow_remote_playback = True
    show.source.save(update_fields=["allow_remote_playback"])
    return show, episodes


def test_plex_episodes_sharing_a_part_air_once_and_order_moves_past_both(tmp_path):
    show, episodes = plex_double_episode_show()
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[show], start=time(18), end=time(20))

    build(channel)
    build(channel, MONDAY + timedelta(days=1))

    aired = [program.playable_id for program in in_slot(channel)]
    # Day one: the double (an hour), E03, E04; day two starts over at the double: never E02 alone.
    assert aired[:3] == [episodes[0].pk, episodes[2].pk, episodes[3].pk]
    assert aired[3] == episodes[0].pk
    assert episodes[1].pk not in aired
    double = in_slot(channel)[0]
    assert double.stop - double.start == timedelta(hours=1)
    assert (double.episode_number, double.last_episode_number) == (1, 2)
    assert double.subtitle == "Pilot, part 1 / Pilot, part 2"


def test_an_older_log_that_aired_the_second_episode_continues_after_the_whole_file(tmp_path):
    show, episodes = plex_double_episode_show()
    short_form_library()
    channel, _, slot = channel_with_slot(shows=[show], start=time(18), end=time(19))
    # Logged before files were grouped: the second episode of the double aired on its own.
    ProgramEntry.objects.create(
        channel=channel, slot=slot, playable=episodes[1], start=MONDAY - timedelta(hours=6),
        stop=MONDAY - timedelta(hours=5), title="Moonlighting", season_number=1, episode_number=2,
    )  # fmt: skip

    build(channel)

    assert in_slot(channel)[1].playable_id == episodes[2].pk


def test_a_double_episode_synced_from_plex_airs_once():
    config = EmulatorConfig(
        shows=1, seasons_per_show=1, episodes_per_season=4, specials_per_show=0, movies=0, seed=3
    )
    with PlexEmulator(config) as emulator:
        first, second, *_ = sorted(emulator.library.episodes(), key=lambda episode: episode.index)
        # Plex lists each episode of a two-episode file with that file's Media and Part.
        second.media = first.media
        second.duration = first.duration
        emulator.library.touch(second.rating_key)
        source = source_for(emulator, allow_remote_playback=True)
        run = plex_sync(source, "full")
    assert run.status == "succeeded", run.error
    episodes = list(Episode.objects.filter(source=source).order_by("episode_number"))
    shared = MediaFile.objects.filter(playable__in=episodes[:2]).values_list("part_key", flat=True)
    assert len(set(shared)) == 1  # stored as Plex said: two episodes, one Part
    short_form_library()
    channel, _, _ = channel_with_slot(shows=[episodes[0].show], start=time(18), end=time(20))

    build(channel)

    programs = in_slot(channel)
    assert episodes[1].pk not in [program.playable_id for program in programs]
    assert programs[0].playable_id == episodes[0].pk
    assert (programs[0].episode_number, programs[0].last_episode_number) == (1, 2)
    assert programs[1].playable_id == episodes[2].pk
