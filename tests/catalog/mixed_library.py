"""A TMM folder library mixing every case issue 13 names, built under a folder with ffmpeg-made
media and the hand-written .nfo files of tests/fixtures/nfo/:

    Movies/   sets (by TMDB id and by name), a URL-only .nfo, a messy .nfo (BOM, entities, CDATA,
              mixed case, junk after the root), a movie.nfo layout, a DVD folder (VIDEO_TS, with
              its menu), a Blu-ray folder (BDMV, .nfo beside it), and what is truly unreadable:
              a malformed .nfo, a corrupt video, a DVD folder holding only its menu
    TV/       a Kodi-17 tvshow.nfo, season.nfo, a three-episode file (one .nfo, three roots), a
              double episode under a wrapping root, episode ranges in names (S01E01E02, 1x03-04),
              a URL-only episode .nfo, a TMDB-scraped show with tags
    Commercials/  short-form clips, one with a sidecar .nfo

Build one by hand to try a sync on it:

    .venv/bin/python -m tests.catalog.mixed_library /tmp/mixed-library
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "nfo"

# What the first sync must report as unreadable, by path (relative to the library) and reason.
EXPECTED_PROBLEMS = {
    "Movies/Broken (1999)/Broken (1999).nfo": "not well-formed XML",
    "Movies/Corrupt (2001)/Corrupt (2001).mkv": "",  # ffprobe's own words
    "Movies/Menu Only/VIDEO_TS": "a DVD folder without title sets",
}
# Of those, the ones that are not imported at all (the corrupt video is, as unavailable).
EXPECTED_FAILURES = ("Movies/Broken (1999)/Broken (1999).nfo", "Movies/Menu Only/VIDEO_TS")


def episode(season: int, number: int, title: str) -> str:
    return (
        f"<episodedetails><title>{title}</title><season>{season}</season>"
        f"<episode>{number}</episode></episodedetails>\n"
    )


def build(root: Path, media_folder: Path | None = None) -> Path:
    """Build the library under `root` (media made in `media_folder`, default `root/.media`)."""
    from tests.catalog.disc_media import bluray_folder, dvd_folder, vob
    from tests.catalog.test_probe import make_media_samples

    media = make_media_samples(media_folder or _media_folder(root))
    clip = media.clip

    def put(relative: str, content: Path | str) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            shutil.copyfile(content, path)
        else:
            path.write_text(content)

    def fixture(relative: str, name: str) -> None:
        put(relative, FIXTURES / name)

    # Movies
    put("Movies/Back to the Future (1985)/Back to the Future (1985).mp4", clip)
    put(
        "Movies/Back to the Future (1985)/Back to the Future (1985).nfo",
        "<movie><title>Back to the Future</title><premiered>1985-07-03</premiered>"
        '<uniqueid type="tmdb" default="true">105</uniqueid>'
        '<set tmdbcolid="264"><name>Back to the Future Collection</name></set></movie>',
    )
    put("Movies/Back to the Future Part II (1989)/movie.mp4", clip)
    fixture("Movies/Back to the Future Part II (1989)/movie.nfo", "tmdb_movie_in_set.nfo")
    put("Movies/Alien (1979)/Alien (1979).mp4", clip)
    fixture("Movies/Alien (1979)/Alien (1979).nfo", "url_only.nfo")
    put("Movies/Aliens (1986)/Aliens (1986).mp4", clip)
    fixture("Movies/Aliens (1986)/Aliens (1986).nfo", "legacy_elements_movie.nfo")
    put("Movies/Amelie (2001)/Amelie (2001).mp4", clip)
    fixture("Movies/Amelie (2001)/Amelie (2001).nfo", "messy_movie.nfo")
    dvd_folder(root / "Movies" / "Big Buck Bunny (2008)" / "VIDEO_TS")
    put("Movies/Big Buck Bunny (2008)/VIDEO_TS/VIDEO_TS.nfo", "<movie><title>Big Buck Bunny</title></movie>")
    bluray_folder(root / "Movies" / "Sintel (2010)" / "BDMV")
    put("Movies/Sintel (2010)/movie.nfo", "<movie><title>Sintel</title><year>2010</year></movie>")
    # … and what is truly unreadable.
    put("Movies/Broken (1999)/Broken (1999).mp4", clip)
    put("Movies/Broken (1999)/Broken (1999).nfo", "<movie><title>Broken</movie>")
    put("Movies/Corrupt (2001)/Corrupt (2001).mkv", "this is not a video")
    put("Movies/Corrupt (2001)/Corrupt (2001).nfo", "<movie><title>Corrupt</title></movie>")
    vob(root / "Movies" / "Menu Only" / "VIDEO_TS" / "VIDEO_TS.VOB", 1)
    put("Movies/Menu Only/VIDEO_TS/VIDEO_TS.nfo", "<movie><title>Menu Only</title></movie>")

    # TV
    fixture("TV/ALF/tvshow.nfo", "kodi17_tvshow.nfo")
    fixture("TV/ALF/Season 1/season.nfo", "season.nfo")
    put("TV/ALF/Season 1/ALF - S01E01E02.mkv", clip)
    fixture("TV/ALF/Season 1/ALF - S01E01E02.nfo", "wrapped_double_episode.nfo")
    put("TV/ALF/Season 1/ALF 1x03-04.mkv", clip)
    put("TV/ALF/Season 1/ALF 1x03-04.nfo", "<episodedetails><title>Help Me, Rhonda</title></episodedetails>")
    put("TV/ALF/Season 1/ALF - S01E05.mkv", clip)
    put("TV/ALF/Season 1/ALF - S01E05.nfo", "https://www.imdb.com/title/tt0642287/\n")
    put("TV/ALF/Season 1/ALF - S01E06-E08.mkv", clip)
    put(
        "TV/ALF/Season 1/ALF - S01E06-E08.nfo",
        episode(1, 6, "Pennsylvania 6-5000")
        + episode(1, 7, "Keepin' the Faith")
        + episode(1, 8, "For Your Eyes Only"),
    )
    fixture("TV/Moonlighting/tvshow.nfo", "tmdb_tvshow.nfo")
    put("TV/Moonlighting/Moonlighting - S01E01.mkv", clip)
    put("TV/Moonlighting/Moonlighting - S01E01.nfo", episode(1, 1, "Pilot"))

    # Short form
    put("Commercials/Coca-Cola Hilltop (1971).mp4", clip)
    put("Commercials/Kenner Star Wars (1978).mp4", clip)
    put(
        "Commercials/Kenner Star Wars (1978).nfo",
        "<movie><title>Star Wars figures</title><retrovue><company>Kenner</company></retrovue></movie>",
    )
    return root


def _media_folder(root: Path) -> Path:
    folder = root.parent / f".{root.name}-media"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


if __name__ == "__main__":
    import django

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")
    django.setup()
    print(build(Path(sys.argv[1]).resolve()))
