"""The emulator's XML has the shape of real captured Plex responses.

For each captured fixture we request the same endpoint from the emulator and
check that every element name in the fixture appears, and that each element's
attribute names are a subset of what the emulator emits for that element
(unioned over the whole response, since optional attributes such as
``viewCount`` only appear on some items). Data is never compared, only shape.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from plex_emulator import PlexEmulator
from plex_emulator.library import Library

from .conftest import parse_xml

PAGE_NOTHING = "X-Plex-Container-Start=0&X-Plex-Container-Size=0"
FILTER_META = f"includeMeta=1&includeAdvanced=1&{PAGE_NOTHING}"

# Attributes the captures have but the emulator deliberately leaves out, and why.
TOLERATED_EVERYWHERE = {
    "MediaContainer": {"title"},  # PMS 1.20 container attribute; current servers send title1/title2 only
    "Video": {"primaryExtraKey"},  # extras (trailers) are not modelled
    "Directory": {"primaryExtraKey"},
    **{
        tag: {"count"} for tag in ("Genre", "Director", "Writer", "Producer", "Country", "Role")
    },  # old usage counts
}
TOLERATED_BY_FIXTURE = {
    "root__server_info_templated__ha.xml": {"MediaContainer": {"myPlexUsername"}},  # not signed in to plex.tv
    # A 2023 server's extras, beside the point of this capture (versions and parts): preview
    # thumbnails and seek indexes of a Part, colour metadata, SDH flags sent only when set, tag keys.
    "library_metadata_159637__movie_two_media_multipart__plexapirs_as_xml.xml": {
        "Part": {"hasThumbnail", "indexes"},
        "Stream": {"colorPrimaries", "colorRange", "colorSpace", "colorTrc", "hearingImpaired"},
        "Role": {"tagKey"},
    },
}
# Elements a fixture has that the emulator never sends on that endpoint, and why.
ABSENT_BY_FIXTURE = {
    # Per-provider <Rating image="imdb://…" value type> elements of the new agents are not modelled.
    "library_metadata_159637__movie_two_media_multipart__plexapirs_as_xml.xml": {"Rating"},
}
ABSENT_ITEM_TYPES = {("Directory", "artist")}  # music sections are not modelled
# The ha season listing has flat <Stream>s (a hand-edited capture); real servers send
# streams only in metadata details, so those are compared against the episodes' details.
DETAIL_ONLY = {"Stream"}
INTEGER_ATTRIBUTES = {
    "ratingKey", "parentRatingKey", "grandparentRatingKey", "addedAt", "updatedAt", "duration", "size",
    "totalSize", "offset", "index", "parentIndex", "leafCount", "childCount", "viewCount", "year", "id",
    "streamType", "librarySectionID", "bitrate", "width", "height",
}  # fmt: skip

Paths = Callable[[Library], list[str]]
CASES: dict[str, Paths] = {
    "root__server_info_templated__ha.xml": lambda library: ["/"],
    "library_sections__ha.xml": lambda library: ["/library/sections"],
    "library_sections_1_all__movies_legacy_guid__ha.xml": lambda library: ["/library/sections/1/all"],
    "library_sections_2_all__shows_legacy_guid__ha.xml": lambda library: ["/library/sections/2/all"],
    "library_sections_1_all__size0_totalSize_only__ha.xml": lambda library: [
        f"/library/sections/1/all?{PAGE_NOTHING}"
    ],
    "library_sections_2_all_type4__size0_totalSize_only__ha.xml": lambda library: [
        f"/library/sections/2/all?type=4&{PAGE_NOTHING}"
    ],
    "library_sections_1_all__includeMeta_size0_filters__ha.xml": lambda library: [
        f"/library/sections/1/all?{FILTER_META}"
    ],
    "library_sections_2_all__includeMeta_size0_filters__ha.xml": lambda library: [
        f"/library/sections/2/all?{FILTER_META}"
    ],
    # The capture lists a collection despite Size=0 (hand-edited); ask for the whole listing.
    "library_sections_1_collections__includeMeta_size0__ha.xml": lambda library: [
        "/library/sections/1/collections?includeMeta=1&includeAdvanced=1"
    ],
    "library_sections_2_collections__includeMeta_size0__ha.xml": lambda library: [
        f"/library/sections/2/collections?{FILTER_META}"
    ],
    "library_metadata_1__movie_legacy_guid_streams__ha.xml": lambda library: [
        "/library/metadata/" + ",".join(movie.rating_key for movie in library.movies())
    ],
    # A film with two versions (<Media>), the second in two parts (converted from a JSON capture).
    "library_metadata_159637__movie_two_media_multipart__plexapirs_as_xml.xml": lambda library: [
        f"/library/metadata/{movie.rating_key}" for movie in library.movies() if len(movie.media) > 1
    ],
    # A show's seasons with the "All episodes" shortcut first (converted from a JSON capture).
    "library_metadata_22_children__seasons_all_episodes__plexapirs_as_xml.xml": lambda library: [
        f"/library/metadata/{show.rating_key}/children" for show in library.shows()[:3]
    ],
    "library_metadata_20_children__season_episodes_flat_Part__ha.xml": lambda library: [
        f"/library/metadata/{season.rating_key}/children" for season in library.seasons() if season.index > 0
    ],
}


def shape(roots: list[ET.Element]) -> dict[str, set[str]]:
    attributes_by_tag: dict[str, set[str]] = defaultdict(set)
    for root in roots:
        for element in root.iter():
            attributes_by_tag[element.tag] |= set(element.attrib)
    return attributes_by_tag


def items(roots: list[ET.Element]) -> set[tuple[str, str | None]]:
    return {(child.tag, child.get("type")) for root in roots for child in root if child.tag != "Meta"}


def fetch(emulator: PlexEmulator, path: str) -> ET.Element:
    response = requests.get(emulator.url + path, headers={"X-Plex-Token": emulator.token}, timeout=10)
    assert response.status_code == 200, f"{path}: {response.status_code}"
    return parse_xml(response.content)


def episode_details(emulator: PlexEmulator) -> list[ET.Element]:
    keys = ",".join(episode.rating_key for episode in emulator.library.episodes())
    return [fetch(emulator, f"/library/metadata/{keys}")]


@pytest.mark.parametrize("fixture_name", sorted(CASES))
def test_emulator_response_has_the_shape_of_the_capture(
    fixture_name: str, fixtures_dir: Path, emulator: PlexEmulator
):
    fixture_path = fixtures_dir / "xml" / fixture_name
    assert fixture_path.exists(), f"fixture {fixture_name} missing from {fixture_path.parent}"
    captured = [parse_xml(fixture_path.read_bytes())]
    served = [fetch(emulator, path) for path in CASES[fixture_name](emulator.library)]
    captured_shape, served_shape = shape(captured), shape(served)
    if DETAIL_ONLY & captured_shape.keys() and not DETAIL_ONLY & served_shape.keys():
        for tag, names in shape(episode_details(emulator)).items():
            if tag in DETAIL_ONLY:
                served_shape[tag] |= names

    absent = ABSENT_BY_FIXTURE.get(fixture_name, set())
    assert set(captured_shape) - absent <= set(served_shape), "element names missing"
    tolerated = {**TOLERATED_EVERYWHERE}
    for tag, names in TOLERATED_BY_FIXTURE.get(fixture_name, {}).items():
        tolerated[tag] = tolerated.get(tag, set()) | names
    missing = {
        tag: sorted(names - served_shape[tag] - tolerated.get(tag, set()))
        for tag, names in captured_shape.items()
        if tag not in absent and names - served_shape[tag] - tolerated.get(tag, set())
    }
    assert missing == {}, f"attributes in {fixture_name} that the emulator never sends"
    expected_items = {pair for pair in items(captured) if pair[0] not in absent} - ABSENT_ITEM_TYPES
    assert expected_items <= items(served)


@pytest.mark.parametrize("fixture_name", sorted(CASES))
def test_numeric_attributes_stay_numeric(fixture_name: str, fixtures_dir: Path, emulator: PlexEmulator):
    fixture_path = fixtures_dir / "xml" / fixture_name
    assert fixture_path.exists(), f"fixture {fixture_name} missing from {fixture_path.parent}"
    captured = parse_xml(fixture_path.read_bytes())
    numeric_in_capture = {
        (element.tag, name)
        for element in captured.iter()
        for name, value in element.attrib.items()
        if name in INTEGER_ATTRIBUTES and value.lstrip("-").isdigit()
    }
    for root in (fetch(emulator, path) for path in CASES[fixture_name](emulator.library)):
        for element in root.iter():
            for name, value in element.attrib.items():
                if (element.tag, name) in numeric_in_capture:
                    assert value.lstrip("-").isdigit(), f"{element.tag}@{name}={value!r} is not an integer"


def test_show_children_lead_with_the_all_episodes_entry_like_the_capture(fixtures_dir: Path, emulator):
    captured = parse_xml(
        (
            fixtures_dir / "xml" / "library_metadata_22_children__seasons_all_episodes__plexapirs_as_xml.xml"
        ).read_bytes()
    )
    show = emulator.library.shows()[0]
    served = fetch(emulator, f"/library/metadata/{show.rating_key}/children")
    for root in (captured, served):
        first = root[0]
        assert (first.tag, first.get("title"), first.get("ratingKey"), first.get("type")) == (
            "Directory", "All episodes", None, None,
        )  # fmt: skip
        assert first.get("key").endswith("/allLeaves")
        assert int(root.get("size")) == len(root)  # counted in size, as Plex does
    assert list(captured[0].attrib) == list(served[0].attrib)
    excluded = fetch(emulator, f"/library/metadata/{show.rating_key}/children?excludeAllLeaves=1")
    assert all(child.get("type") == "season" for child in excluded)


def test_a_two_version_film_nests_each_versions_parts_like_the_capture(fixtures_dir: Path, emulator):
    captured = parse_xml(
        (
            fixtures_dir / "xml" / "library_metadata_159637__movie_two_media_multipart__plexapirs_as_xml.xml"
        ).read_bytes()
    )
    movie = next(movie for movie in emulator.library.movies() if len(movie.media) > 1)
    served = fetch(emulator, f"/library/metadata/{movie.rating_key}")
    for root in (captured, served):
        video = root.find("Video")
        media = video.findall("Media")
        assert len(media) == 2  # one <Media> per version, each holding its own <Part>s
        assert all(version.findall("Part") for version in media)
        assert not video.findall("Part"), "parts live inside their version, never beside it"
        # The item's length is its first (default) version's.
        assert video.get("duration") == media[0].get("duration")


def test_a_two_cut_film_reports_each_versions_length_and_the_first_as_the_items(emulator):
    movie = emulator.library.add_movie("Two Cuts", 1984, versions=2, version_lengths=(5_400_000, 6_000_000))
    video = fetch(emulator, f"/library/metadata/{movie.rating_key}").find("Video")
    assert video.get("duration") == "5400000"
    assert [media.get("duration") for media in video.findall("Media")] == ["5400000", "6000000"]
    assert [part.get("duration") for part in video.iter("Part")] == ["5400000", "6000000"]
