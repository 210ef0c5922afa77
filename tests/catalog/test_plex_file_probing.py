"""After a Plex sync, local copies are probed in the background: playable, length, embedded chapters."""

import shutil

import pytest

from catalog.models import MediaFile
from catalog.sync.probing import files_needing_probe, probe_source_files
from plex_emulator import PlexEmulator
from tests.catalog.plex_helpers import SMALL_LIBRARY, source_for, sync
from tests.catalog.test_probe import make_media_samples

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    return make_media_samples(tmp_path_factory.mktemp("plex-probe-media"))


def test_local_copies_are_probed_after_the_sync(tmp_path, samples):
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        first, second = emulator.library.episodes()[:2]
        good_path, bad_path = first.media[0].parts[0].file, second.media[0].parts[0].file
        folder = good_path.rsplit("/", 1)[0]
        assert bad_path.rsplit("/", 1)[0] == folder, "both episodes live in one season folder"
        shutil.copy(samples.chaptered, tmp_path / good_path.rsplit("/", 1)[1])
        shutil.copy(samples.corrupt, tmp_path / bad_path.rsplit("/", 1)[1])
        source = source_for(emulator)
        source.path_mappings.create(plex_prefix=folder, local_prefix=str(tmp_path))
        sync(source, "full")

    assert files_needing_probe(source.pk).count() == 2
    result = probe_source_files(source.pk)
    assert (result["probed"], result["unplayable"], result["remaining"]) == (2, 1, 0)

    good = MediaFile.objects.get(playable__rating_key=first.rating_key, position=0)
    bad = MediaFile.objects.get(playable__rating_key=second.rating_key, position=0)
    assert good.playable_ok and good.probed_at and good.duration_ms and good.state == "normal"
    assert not bad.playable_ok and bad.probe_error
    assert good.playable.chapter_marks.filter(origin="embedded").exists()


def test_nothing_to_probe_when_no_file_is_local():
    with PlexEmulator(SMALL_LIBRARY) as emulator:
        source = source_for(emulator)
        sync(source, "full")
    assert probe_source_files(source.pk) == {
        "probed": 0,
        "unplayable": 0,
        "chapters_added": 0,
        "remaining": 0,
    }
