"""One ordered scale for US TV and MPAA ratings, so a channel's limit compares across both.

Unknown or missing ratings rank highest: a channel with a limit never airs what it can't classify.
"""

from __future__ import annotations

RATING_RANK = {
    "TV-Y": 0,
    "TV-Y7": 1,
    "TV-Y7-FV": 1,
    "G": 1,
    "TV-G": 1,
    "PG": 2,
    "TV-PG": 2,
    "PG-13": 3,
    "TV-14": 3,
    "R": 4,
    "TV-MA": 4,
    "NC-17": 5,
}
UNRATED_RANK = 5

LIMIT_CHOICES = [("", "No limit")] + [
    (rating, rating) for rating in ("TV-Y", "TV-Y7", "TV-G", "TV-PG", "TV-14", "TV-MA")
]


def rank(rating: str | None) -> int:
    if not rating:
        return UNRATED_RANK
    normalised = rating.strip().upper().split("/")[-1]  # "us/TV-14" → "TV-14"
    return RATING_RANK.get(normalised, UNRATED_RANK)


def allowed(rating: str | None, limit: str | None) -> bool:
    return not limit or rank(rating) <= rank(limit)
