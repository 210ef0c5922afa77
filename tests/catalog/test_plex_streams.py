"""Audio and subtitle tracks come from Plex's full items (not listings), for new and changed items only."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

from catalog.models import Episode, MediaStream, Movie
from catalog.plex.parse import streams_by_part
from tests.catalog.plex_helpers import sync

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "plex_captures"


def test_a_full_sync_stores_every_parts_audio_and_subtitle_tracks(emulator, synced):
    for model in emulator.library.movies():
        for media in model.media:
            for part in media.parts:
                stored = MediaStream.objects.filter(media_file__part_key__contains=f"/parts/{part.part_id}/")
                audio = stored.filter(kind="audio").order_by("stream_index")
                assert audio[0].language_code == "eng" and audio[0].is_default
                if part.part_id % 4 == 0:
                    # Plex writes "fra" (ISO 639-2/T); the catalog keeps it raw and stores "fre".
                    french = audio.get(language="French")
                    assert (french.language_code, french.language_code_raw, french.is_default) == (
                        "fre",
                        "fra",
                        False,
                    )
                if part.part_id % 23 == 0:  # an untagged track: no language attributes at all
                    untagged = audio.get(language="")
                    assert untagged.language_code == "" and untagged.display_title.startswith("Unknown")
                assert stored.filter(kind="subtitle", forced=True).exists() == (part.part_id % 5 == 0)
                sidecars = stored.filter(external=True)
                assert sidecars.count() == (1 if part.part_id % 3 == 0 else 0)
                for sidecar in sidecars:
                    assert sidecar.stream_index is None and sidecar.key.startswith("/library/streams/")
    assert MediaStream.objects.filter(media_file__playable__kind="episode", kind="audio").count() >= (
        Episode.objects.filter(source=synced).count()
    )


def test_a_sync_without_changes_leaves_tracks_alone(synced):
    before = list(MediaStream.objects.order_by("pk").values_list("pk", flat=True))
    sync(synced)
    assert list(MediaStream.objects.order_by("pk").values_list("pk", flat=True)) == before


def test_a_changed_item_gets_its_tracks_again_and_others_keep_theirs(emulator, synced):
    movie = emulator.library.movies()[0]
    other = Movie.objects.filter(source=synced).exclude(rating_key=movie.rating_key).first()
    other_tracks = list(MediaStream.objects.filter(media_file__playable=other).values_list("pk", flat=True))
    changed = Movie.objects.get(source=synced, rating_key=movie.rating_key)
    MediaStream.objects.filter(media_file__playable=changed).delete()
    emulator.library.touch(movie.rating_key, title="Retitled")
    run = sync(synced)
    assert run.status == "succeeded", run.error
    assert MediaStream.objects.filter(media_file__playable=changed, kind="audio").exists()
    assert list(MediaStream.objects.filter(media_file__playable=other).values_list("pk", flat=True)) == (
        other_tracks
    )


def test_streams_are_read_from_captured_items_nested_or_flat():
    flat = ElementTree.parse(
        f"{FIXTURES}/xml/library_metadata_1__movie_legacy_guid_streams__ha.xml"
    ).getroot()
    [(part_key, streams)] = streams_by_part(flat.find("Video"))
    assert part_key == "/library/parts/4631/1215643935/file.mkv"
    assert [(s.kind, s.index, s.language_code, s.default) for s in streams] == [
        ("audio", 1, "eng", True),
        ("subtitle", 2, "eng", True),
    ]


def test_a_captured_sidecar_subtitle_is_external_and_booleans_default_to_false():
    import json

    with open(f"{FIXTURES}/json/library_metadata_44547__episode_chapters_markers__lukehagar.json") as handle:
        captured = json.load(handle)["MediaContainer"]["Metadata"][0]
    # The JSON capture rebuilt as the XML Plex sends: booleans "1", absent when false.
    video = ElementTree.Element("Video")
    for media in captured["Media"]:
        media_element = ElementTree.SubElement(video, "Media")
        for part in media["Part"]:
            part_element = ElementTree.SubElement(media_element, "Part", key=part["key"])
            for stream in part["Stream"]:
                attributes = {
                    name: ("1" if value is True else str(value))
                    for name, value in stream.items()
                    if value is not False
                }
                ElementTree.SubElement(part_element, "Stream", attributes)
    [(_, streams)] = streams_by_part(video)
    sidecar = next(stream for stream in streams if stream.key)
    assert sidecar.external and sidecar.index is None and sidecar.language_code == "por"
    embedded = [stream for stream in streams if not stream.key]
    assert all(not stream.external for stream in embedded)
    assert not any(stream.forced or stream.hearing_impaired for stream in streams)
