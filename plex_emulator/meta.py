"""The ``<Meta>`` block Plex returns for ``includeMeta=1``.

plexapi loads it before any ``search(filters=...)`` to validate field names
and operators, so the shape matters more than the completeness of the lists:
each ``<Type>`` carries ``<Filter>``, ``<Sort>`` and ``<Field>`` children, and
the ``<FieldType>`` entries list the operators per field type. plexapi adds
``updatedAt``, ``guid`` and ``id`` itself, exactly as it does for a real server.
"""

from __future__ import annotations

from .model import MOVIE, SEARCH_TYPES, Section
from .xmlwriter import element

FIELD_TYPE_OPERATORS = (
    ("tag", (("=", "is"), ("!=", "is not"))),
    ("integer", (("=", "is"), ("!=", "is not"), (">>=", "is greater than"), ("<<=", "is less than"))),
    (
        "string",
        (
            ("=", "contains"),
            ("!=", "does not contain"),
            ("==", "is"),
            ("!==", "is not"),
            ("<=", "begins with"),
            (">=", "ends with"),
        ),
    ),
    ("boolean", (("=", "is true"), ("!=", "is false"))),
    ("date", (("<<=", "is before"), (">>=", "is after"))),
    ("subtitleLanguage", (("=", "is"), ("!=", "is not"))),
    ("audioLanguage", (("=", "is"), ("!=", "is not"))),
    ("resolution", (("=", "is"),)),
)

# (filter, filterType, title)
MOVIE_FILTERS = (
    ("genre", "string", "Genre"), ("year", "integer", "Year"), ("decade", "integer", "Decade"),
    ("contentRating", "string", "Content Rating"), ("collection", "string", "Collection"),
    ("director", "string", "Director"), ("actor", "string", "Actor"), ("writer", "string", "Writer"),
    ("country", "string", "Country"), ("studio", "string", "Studio"), ("resolution", "string", "Resolution"),
    ("unwatched", "boolean", "Unplayed"), ("inProgress", "boolean", "In Progress"),
    ("unmatched", "boolean", "Unmatched"), ("label", "string", "Labels"), ("duplicate", "boolean", "Duplicates"),
)  # fmt: skip
SHOW_FILTERS = (
    ("genre", "string", "Genre"), ("year", "integer", "Year"), ("contentRating", "string", "Content Rating"),
    ("studio", "string", "Studio"), ("collection", "string", "Collection"), ("actor", "string", "Actor"),
    ("unwatchedLeaves", "boolean", "Unplayed"), ("unmatched", "boolean", "Unmatched"),
    ("label", "string", "Labels"),
)  # fmt: skip
EPISODE_FILTERS = (
    ("year", "integer", "Year"), ("resolution", "string", "Resolution"), ("unwatched", "boolean", "Unplayed"),
    ("inProgress", "boolean", "In Progress"), ("unmatched", "boolean", "Unmatched"),
    ("duplicate", "boolean", "Duplicates"),
)  # fmt: skip
ADVANCED_FILTERS = frozenset({"duplicate"})  # Plex flags these advanced="1"

# (key, defaultDirection, title)
COMMON_SORTS = (
    ("year", "desc", "Year"), ("originallyAvailableAt", "desc", "Release Date"),
    ("rating", "desc", "Critic Rating"), ("audienceRating", "desc", "Audience Rating"),
    ("contentRating", "desc", "Content Rating"), ("addedAt", "desc", "Date Added"),
    ("lastViewedAt", "desc", "Date Viewed"), ("random", "desc", "Randomly"),
)  # fmt: skip
PLAYABLE_SORTS = (("duration", "desc", "Duration"), ("viewCount", "desc", "Plays"))
SEASON_SORTS = (("addedAt", "desc", "Date Added"), ("random", "desc", "Randomly"))

# (key without libtype prefix, title, type, subType)
MOVIE_FIELDS = (
    ("title", "Title", "string", None), ("studio", "Studio", "string", None),
    ("userRating", "Rating", "integer", "rating"), ("contentRating", "Content Rating", "tag", None),
    ("year", "Year", "integer", "year"), ("decade", "Decade", "integer", "decade"),
    ("originallyAvailableAt", "Release Date", "date", None), ("duration", "Duration", "integer", "duration"),
    ("unmatched", "Unmatched", "boolean", None), ("genre", "Genre", "tag", None),
    ("collection", "Collection", "tag", None), ("director", "Director", "tag", None),
    ("writer", "Writer", "tag", None), ("actor", "Actor", "tag", None), ("country", "Country", "tag", None),
    ("addedAt", "Date Added", "date", None), ("viewCount", "Plays", "integer", None),
    ("lastViewedAt", "Last Played", "date", None), ("unwatched", "Unplayed", "boolean", None),
    ("resolution", "Resolution", "resolution", None), ("inProgress", "In Progress", "boolean", None),
    ("subtitleLanguage", "Subtitle Language", "subtitleLanguage", None),
    ("audioLanguage", "Audio Language", "audioLanguage", None), ("label", "Label", "tag", None),
)  # fmt: skip
SHOW_FIELDS = (
    ("title", "Show Title", "string", None), ("studio", "Studio", "string", None),
    ("userRating", "Show Rating", "integer", "rating"), ("contentRating", "Content Rating", "tag", None),
    ("year", "Show Year", "integer", "year"), ("viewCount", "Show Plays", "integer", None),
    ("lastViewedAt", "Show Last Played", "date", None), ("genre", "Genre", "tag", None),
    ("collection", "Show Collection", "tag", None), ("actor", "Show Actor", "tag", None),
    ("addedAt", "Date Show Added", "date", None), ("unmatched", "Show Unmatched", "boolean", None),
    ("unwatchedLeaves", "Unplayed Episodes", "boolean", None), ("label", "Label", "tag", None),
)  # fmt: skip
EPISODE_FIELDS = (
    ("title", "Episode Title", "string", None), ("addedAt", "Date Episode Added", "date", None),
    ("originallyAvailableAt", "Episode Air Date", "date", None), ("year", "Episode Year", "integer", "year"),
    ("userRating", "Episode Rating", "integer", "rating"), ("viewCount", "Episode Plays", "integer", None),
    ("lastViewedAt", "Episode Last Played", "date", None), ("unwatched", "Episode Unplayed", "boolean", None),
    ("inProgress", "Episode In Progress", "boolean", None), ("resolution", "Resolution", "resolution", None),
    ("subtitleLanguage", "Subtitle Language", "subtitleLanguage", None),
    ("audioLanguage", "Audio Language", "audioLanguage", None),
    ("unmatched", "Episode Unmatched", "boolean", None),
)  # fmt: skip


def _type_element(section: Section, libtype: str, title: str, active: bool, filters, sorts, fields) -> str:
    section_path = f"/library/sections/{section.section_id}"
    search_type = SEARCH_TYPES[libtype]
    # Movie sections use bare field keys; TV sections prefix them with the libtype.
    prefix = "" if section.kind == MOVIE else f"{libtype}."
    children = [
        element(
            "Filter",
            (
                ("filter", name),
                ("filterType", filter_type),
                ("key", f"{section_path}/{name}?type={search_type}"),
                ("title", filter_title),
                ("type", "filter"),
                ("advanced", "1" if name in ADVANCED_FILTERS else None),
            ),
        )
        for name, filter_type, filter_title in filters
    ]
    children.append(
        element(
            "Sort",
            (
                ("active", "1" if active else None),
                ("activeDirection", "asc" if active else None),
                ("default", "asc"),
                ("defaultDirection", "asc"),
                ("descKey", "titleSort:desc"),
                ("firstCharacterKey", f"{section_path}/firstCharacter?type={search_type}"),
                ("key", "titleSort"),
                ("title", "Title"),
            ),
        )
    )
    children += [
        element(
            "Sort",
            (
                ("defaultDirection", direction),
                ("descKey", f"{key}:desc"),
                ("key", key),
                ("title", sort_title),
            ),
        )
        for key, direction, sort_title in sorts
    ]
    children += [
        element(
            "Field",
            (("key", f"{prefix}{key}"), ("subType", sub_type), ("title", field_title), ("type", field_type)),
        )
        for key, field_title, field_type, sub_type in fields
    ]
    pairs = (
        ("key", f"{section_path}/all?type={search_type}"),
        ("type", libtype),
        ("title", title),
        ("active", "1" if active else "0"),
    )
    return element("Type", pairs, "".join(children))


def _field_types() -> str:
    return "".join(
        element(
            "FieldType",
            (("type", field_type),),
            "".join(element("Operator", (("key", key), ("title", title))) for key, title in operators),
        )
        for field_type, operators in FIELD_TYPE_OPERATORS
    )


def _folder_type(section: Section) -> str:
    pairs = (
        ("key", f"/library/sections/{section.section_id}/folder"),
        ("type", "folder"),
        ("title", "Folders"),
        ("active", "0"),
    )
    return element("Type", pairs)


def section_meta(section: Section) -> str:
    """``<Meta>`` for ``/library/sections/<id>/all?includeMeta=1``."""
    if section.kind == MOVIE:
        types = [
            _type_element(
                section, "movie", "Movies", True, MOVIE_FILTERS, COMMON_SORTS + PLAYABLE_SORTS, MOVIE_FIELDS
            )
        ]
    else:
        types = [
            _type_element(section, "show", "TV Shows", True, SHOW_FILTERS, COMMON_SORTS, SHOW_FIELDS),
            _type_element(section, "season", "Seasons", False, (), SEASON_SORTS, ()),
            _type_element(
                section,
                "episode",
                "Episodes",
                False,
                EPISODE_FILTERS,
                COMMON_SORTS + PLAYABLE_SORTS,
                EPISODE_FIELDS,
            ),
        ]
    return element("Meta", (), "".join(types) + _folder_type(section) + _field_types())


def collections_meta(section: Section) -> str:
    """``<Meta>`` for ``/library/sections/<id>/collections?includeMeta=1`` (no collections are modelled)."""
    section_path = f"/library/sections/{section.section_id}"
    sort = element(
        "Sort",
        (
            ("active", "1"),
            ("activeDirection", "asc"),
            ("default", "asc"),
            ("defaultDirection", "asc"),
            ("descKey", "titleSort:desc"),
            ("firstCharacterKey", f"{section_path}/firstCharacter?type=18"),
            ("key", "titleSort"),
            ("title", "Title"),
        ),
    )
    collection_type = element(
        "Type",
        (
            ("key", f"{section_path}/all?type=18"),
            ("type", "collection"),
            ("title", "Collections"),
            ("active", "1"),
        ),
        sort,
    )
    return element("Meta", (), collection_type + _field_types())
