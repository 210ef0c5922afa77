"""Full items carry realistic audio and subtitle tracks: several languages, forced and sidecar subtitles."""

from __future__ import annotations

from plex_emulator import PlexEmulator

from .test_emulator_http import get, xml


def _parts(emulator: PlexEmulator):
    for item in [*emulator.library.movies(), *emulator.library.episodes()]:
        for media in item.media:
            for part in media.parts:
                yield item, part


def _streams(emulator: PlexEmulator, item, part_id: int):
    detail = xml(get(emulator, f"/library/metadata/{item.rating_key}"))
    part = next(p for p in detail.iter("Part") if p.get("id") == str(part_id))
    return part.findall("Stream")


def test_some_parts_have_french_audio_written_as_plex_writes_it(emulator: PlexEmulator):
    item, part = next((item, part) for item, part in _parts(emulator) if part.part_id % 4 == 0)
    audio = [s for s in _streams(emulator, item, part.part_id) if s.get("streamType") == "2"]
    assert audio[0].get("languageCode") == "eng" and audio[0].get("default") == "1"
    french = next(s for s in audio if s.get("language") == "French")
    assert french.get("languageCode") == "fra" and french.get("default") is None  # absent when false


def test_forced_and_sidecar_subtitles_follow_the_captured_shape(emulator: PlexEmulator):
    item, part = next((item, part) for item, part in _parts(emulator) if part.part_id % 15 == 0)
    subtitles = [s for s in _streams(emulator, item, part.part_id) if s.get("streamType") == "3"]
    forced = [s for s in subtitles if s.get("forced") == "1"]
    assert len(forced) == 1 and forced[0].get("index") is not None
    sidecar = next(s for s in subtitles if s.get("key"))
    assert sidecar.get("key") == f"/library/streams/{sidecar.get('id')}"
    assert sidecar.get("index") is None and "External" in sidecar.get("displayTitle")
    assert all(s.get("forced") is None for s in subtitles if s is not forced[0])


def test_several_items_fetched_at_once_each_carry_their_tracks(emulator: PlexEmulator):
    movies = emulator.library.movies()[:3]
    detail = xml(get(emulator, "/library/metadata/" + ",".join(m.rating_key for m in movies)))
    videos = detail.findall("Video")
    assert [v.get("ratingKey") for v in videos] == [m.rating_key for m in movies]
    assert all(v.findall("Media/Part/Stream[@streamType='2']") for v in videos)
