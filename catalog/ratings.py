"""One ordered scale for every content rating a library may hold, so a channel's limit compares
across systems: US TV and MPAA, country-prefixed certificates (`gb/15`, `de/16`, `au/MA15+`),
bare ages (`12`, `07`), odd and MyAnimeList forms (`TVMA`, `PG-13 - Teens 13 or older`).

A rating's rank is the minimum viewer age of its band on the scale below. Ages in between round up
to the next band, so a limit is never loosened by rounding (`de/12` counts as TV-14, not TV-PG).
Unknown, unrated or unreadable ratings rank above everything: a channel with a limit never airs
what it can't classify. An empty rating has no rank (`None`); callers fall back to the show's.

Pure functions, no Django: the catalog computes ranks at write time, the scheduler compares them.
"""

from __future__ import annotations

import re

# Band → minimum age. The bands are the US TV ratings plus one step between TV-14 and TV-MA for
# the many 15/16 certificates abroad, and one for adults-only.
TV_Y, TV_Y7, TV_PG, TV_14, AGE_16, TV_MA, ADULTS = 0, 7, 10, 14, 16, 17, 18
BANDS = (TV_Y, TV_Y7, TV_PG, TV_14, AGE_16, TV_MA, ADULTS)
UNRATED_RANK = 99
BAND_NAMES = {
    TV_Y: "TV-Y (all children)",
    TV_Y7: "TV-Y7 / G (7+)",
    TV_PG: "TV-PG / PG (10+)",
    TV_14: "TV-14 / PG-13 (13–14+)",
    AGE_16: "15–16+",
    TV_MA: "TV-MA / R (17+)",
    ADULTS: "Adults only (18+)",
    UNRATED_RANK: "Unrated / unknown",
}

# US TV and MPAA, also the fallback for other countries' letter ratings (`gb/PG`).
US = {
    "TV-Y": TV_Y, "TV-Y7": TV_Y7, "TV-Y7-FV": TV_Y7, "TV-G": TV_Y7, "G": TV_Y7, "PG": TV_PG, "TV-PG": TV_PG,
    "PG-13": TV_14, "TV-13": TV_14, "TV-14": TV_14, "R": TV_MA, "TV-MA": TV_MA, "TVMA": TV_MA,
    "MA-17": TV_MA, "A-17": TV_MA, "R+": TV_MA, "NC-17": ADULTS, "X": ADULTS, "XXX": ADULTS, "RX": ADULTS,
    "M/PG": TV_PG, "GP": TV_PG, "M": AGE_16, "A": ADULTS, "BPJM RESTRICTED": ADULTS,
}  # fmt: skip
# Letter certificates whose meaning differs by country; numeric ones are read as ages.
COUNTRY = {
    "gb": {"U": TV_Y, "UC": TV_Y, "PG": TV_PG, "12A": TV_14, "R18": ADULTS, "X": ADULTS, "A": TV_PG, "AA": TV_14},
    "de": {"BPJM RESTRICTED": ADULTS},
    "au": {"G": TV_Y7, "PG": TV_PG, "M": AGE_16, "MA": AGE_16, "R": ADULTS, "X": ADULTS, "RC": UNRATED_RANK},
    "nz": {"G": TV_Y7, "PG": TV_PG, "M": AGE_16, "RP13": TV_14, "RP16": AGE_16, "RP18": ADULTS, "R": ADULTS},
    "nl": {"AL": TV_Y},
    "no": {"A": TV_Y},
    "se": {"BTL": TV_Y},
    "fr": {"U": TV_Y},
    "ca": {"G": TV_Y7, "PG": TV_PG, "14A": TV_14, "18A": ADULTS, "R": ADULTS, "A": ADULTS},
    "ie": {"G": TV_Y7, "PG": TV_PG, "12A": TV_14, "15A": AGE_16, "16": AGE_16, "18": ADULTS},
    "br": {"L": TV_Y},
    "in": {"U": TV_Y7, "UA": TV_14, "A": ADULTS, "S": ADULTS},
    "us": US,
}  # fmt: skip
UNRATED_WORDS = {
    "NR", "N/R", "NOT RATED", "UNRATED", "NONE", "UR", "N/A", "NA", "NOT YET RATED", "UNKNOWN", "APPROVED",
    "PASSED", "E", "EXEMPT", "RC", "REFUSED CLASSIFICATION", "TBC",
}  # fmt: skip
COUNTRY_PREFIX = re.compile(r"^([a-z]{2})/(.+)$", re.IGNORECASE)
AGE = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")

LIMIT_CHOICES = [("", "No limit")] + [
    (rating, rating) for rating in ("TV-Y", "TV-Y7", "TV-G", "TV-PG", "TV-14", "TV-MA")
]


def band_for_age(age: int) -> int:
    """The lowest band that admits `age`: ages round up, never down."""
    if age <= 6:
        return TV_Y
    return next((band for band in BANDS if band >= age), ADULTS)


def rank(rating: str | None) -> int | None:
    """Minimum age band of a rating; None when there is no rating at all, UNRATED_RANK when unreadable."""
    if rating is None or not rating.strip():
        return None
    text = " ".join(rating.strip().split())
    country = ""
    match = COUNTRY_PREFIX.match(text)
    if match:
        country, text = match.group(1).lower(), match.group(2).strip()
    value = text.upper()
    if country and value in (table := COUNTRY.get(country, {})):
        return table[value]
    if country and value == "E":  # `gb/E`: exempt from classification, says nothing about content
        return UNRATED_RANK
    if value in US and not country:
        return US[value]
    if value in UNRATED_WORDS:
        return UNRATED_RANK
    # MyAnimeList writes "PG-13 - Teens 13 or older": the code is before the dash.
    head = value.split(" - ", 1)[0].strip()
    if head != value and head in US:
        return US[head]
    ages = AGE.findall(value)
    if ages:
        return band_for_age(max(int(age) for age in ages))
    if value in US:  # a letter rating under an unknown country (`xx/PG`)
        return US[value]
    return UNRATED_RANK


def effective_rank(rating: str | None) -> int:
    """Rank with a missing rating treated as unrated (the most restrictive)."""
    found = rank(rating)
    return UNRATED_RANK if found is None else found


def limit_rank(limit: str | None) -> int | None:
    """The highest rank a channel limit admits; None for no limit."""
    return effective_rank(limit) if limit else None


def allowed(rating: str | None, limit: str | None) -> bool:
    return not limit or effective_rank(rating) <= effective_rank(limit)


def rank_allowed(item_rank: int | None, limit: int | None) -> bool:
    """The scheduler's check on stored ranks: an unranked item is unrated."""
    return limit is None or (UNRATED_RANK if item_rank is None else item_rank) <= limit


def band_name(item_rank: int | None) -> str:
    return "No rating" if item_rank is None else BAND_NAMES.get(item_rank, str(item_rank))
