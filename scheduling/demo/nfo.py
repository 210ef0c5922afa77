"""The demo's Kodi .nfo sidecars: tvshow.nfo, episodes and films for the TMM scanner, and clips
with a `<retrovue>` block carrying the scheduling metadata the break planner reads."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from scheduling.demo.contents import DemoClip, DemoEpisode, DemoMovie, DemoShow


def show_nfo(show: DemoShow) -> str:
    root = ET.Element("tvshow")
    _sub(root, "title", show.title)
    _sub(root, "year", show.year)
    _sub(root, "premiered", f"{show.year}-09-01")
    _sub(root, "plot", show.plot)
    _sub(root, "mpaa", show.rating)
    _sub(root, "studio", show.studio)
    for genre in show.genres:
        _sub(root, "genre", genre)
    _sub(root, "uniqueid", show.tvdb, type="tvdb", default="true")
    block = _sub(root, "retrovue")
    _sub(block, "category", show.category)
    _sub(block, "demographic", show.demographic)
    return _xml(root)


def episode_nfo(show: DemoShow, episode: DemoEpisode, seconds: int) -> str:
    root = ET.Element("episodedetails")
    _sub(root, "title", episode.title)
    _sub(root, "showtitle", show.title)
    _sub(root, "season", episode.season)
    _sub(root, "episode", episode.number)
    _sub(root, "aired", episode.aired)
    _sub(root, "plot", episode.plot)
    _sub(root, "runtime", max(1, round(seconds / 60)))
    ratings = _sub(root, "ratings")
    rating = _sub(ratings, "rating", name="tvdb", max="10", default="true")
    _sub(rating, "value", episode.score)
    _sub(
        root, "uniqueid", show.tvdb * 100 + episode.season * 20 + episode.number, type="tvdb", default="true"
    )
    if episode.seasonal:
        _sub(_sub(root, "retrovue"), "season", episode.seasonal)
    return _xml(root)


def movie_nfo(movie: DemoMovie, seconds: int) -> str:
    root = ET.Element("movie")
    _sub(root, "title", movie.title)
    _sub(root, "year", movie.year)
    _sub(root, "premiered", f"{movie.year}-06-13")
    _sub(root, "plot", movie.plot)
    _sub(root, "mpaa", movie.rating)
    _sub(root, "studio", movie.studio)
    _sub(root, "runtime", max(1, round(seconds / 60)))
    for genre in movie.genres:
        _sub(root, "genre", genre)
    ratings = _sub(root, "ratings")
    _sub(_sub(ratings, "rating", name="themoviedb", max="10", default="true"), "value", movie.score)
    _sub(root, "uniqueid", movie.tmdb, type="tmdb", default="true")
    _sub(root, "uniqueid", movie.imdb, type="imdb")
    if movie.seasonal:
        _sub(_sub(root, "retrovue"), "season", movie.seasonal)
    return _xml(root)


def clip_nfo(clip: DemoClip) -> str:
    """A clip's sidecar: its title, rating and the scheduling metadata the break planner reads."""
    root = ET.Element("movie")
    _sub(root, "title", clip.title)
    _sub(root, "year", clip.year)
    _sub(root, "mpaa", clip.rating)
    if clip.subline:
        _sub(root, "plot", clip.subline)
    block = _sub(root, "retrovue")
    for tag, value in (
        ("company", clip.company),
        ("category", clip.category),
        ("daypart", clip.daypart),
        ("season", clip.season),
        ("demographic", clip.demographic),
        ("expires", clip.expires),
    ):
        if value:
            _sub(block, tag, value)
    return _xml(root)


def _sub(parent: ET.Element, tag: str, text=None, **attributes) -> ET.Element:
    element = ET.SubElement(parent, tag, {key: str(value) for key, value in attributes.items()})
    if text is not None:
        element.text = str(text)
    return element


def _xml(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>\n' + ET.tostring(root, "unicode") + "\n"
