"""How alike two catalog rows from different sources are: pure functions, no database.

Evidence comes in two strengths. External ids (TMDB, TVDB, IMDb) are decisive: one shared value
with no disagreeing one means the same work whatever the titles say, and any provider on which
the two disagree rules an automatic link out, however alike the titles (a remake, or a wrong id
in one source, is for staff to judge). Without shared ids, the normalised titles and the years
make a confidence; only a near-certain one links on its own, a plausible one becomes a conflict
for staff, anything else is not a candidate at all.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache

# Providers whose ids name a work; plex:// guids are per-server agent matches and prove nothing.
DECISIVE_PROVIDERS = ("tmdb", "tvdb", "imdb")

# Year factors: a slip of one year (release vs premiere date, festival vs theatrical) is common
# enough to stay a candidate, never enough to link without staff.
SAME_YEAR, NEAR_YEAR, UNKNOWN_YEAR = 1.0, 0.9, 0.9
YEAR_TOLERANCE = 1
# A pair whose titles carry different numbers (sequels) is at most a conflict, never a link.
NUMBERS_DIFFER_CAP = 0.85
# Titles that both carry numbers, different ones, are different films (sequels): not even candidates.
NUMBERED_APART_FACTOR = 0.5

_ARTICLES = ("the", "a", "an")
_ROMAN = re.compile(r"^(x{0,3})(ix|iv|v?i{0,3})$")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10}
_NON_WORD = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class Side:
    """One row as the scorer sees it."""

    title: str
    year: int | None = None
    ids: frozenset[tuple[str, str]] = frozenset()


@dataclass
class Verdict:
    """The evidence about one pair and what it adds up to."""

    confidence: float
    title_score: float
    year_delta: int | None
    shared_ids: list[str] = field(default_factory=list)
    conflicting_ids: list[str] = field(default_factory=list)
    reason: str = ""
    likeness: float = 0.0

    @property
    def ids_agree(self) -> bool:
        return bool(self.shared_ids) and not self.conflicting_ids

    @property
    def ids_conflict(self) -> bool:
        return bool(self.conflicting_ids)

    def evidence(self) -> dict:
        return {
            "title_score": round(self.title_score, 3),
            "year_delta": self.year_delta,
            "shared_ids": self.shared_ids,
            "conflicting_ids": self.conflicting_ids,
            "confidence": round(self.confidence, 3),
            "likeness": round(self.likeness, 3),
            "reason": self.reason,
        }


def roman_to_int(token: str) -> int | None:
    """I…XXXIX as a number (sequel numbering), else None; "x" and "i" alone count too."""
    if not token or not _ROMAN.match(token):
        return None
    total, previous = 0, 0
    for letter in reversed(token):
        value = _ROMAN_VALUES[letter]
        total = total - value if value < previous else total + value
        previous = max(previous, value)
    return total or None


@lru_cache(maxsize=65_536)
def normalize_title(title: str, *, roman_numerals: bool = True) -> str:
    """Lower case, no accents or punctuation, "&" as "and", no leading or trailing article.

    "The Matrix", "Matrix, The" and "matrix" all become "matrix"; "Amélie" becomes "amelie";
    "Rocky II" becomes "rocky 2" (both sides are normalised alike, so "I" as a word is harmless).
    """
    text = unicodedata.normalize("NFKD", title)
    text = "".join(char for char in text if not unicodedata.combining(char)).casefold()
    text = text.replace("&", " and ").replace("'", "").replace("’", "")
    words = _NON_WORD.sub(" ", text).split()
    if len(words) > 1 and words[0] in _ARTICLES:
        words = words[1:]
    if len(words) > 1 and words[-1] in _ARTICLES and "," in title:
        words = words[:-1]  # "Matrix, The"
    if roman_numerals:
        words = [str(roman_to_int(word)) if roman_to_int(word) else word for word in words]
    return " ".join(words)


def title_similarity(left: str, right: str) -> float:
    """0…1 likeness of two titles after normalising: the better of a character and a token ratio.

    The token ratio compares sorted words, so word order ("Wars Star") costs nothing; the
    character ratio forgives typos inside a word ("Se7en" / "Seven").
    """
    a, b = normalize_title(left), normalize_title(right)
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    if a.replace(" ", "") == b.replace(" ", ""):
        return 0.99  # "Ghost Busters" / "Ghostbusters"
    characters = SequenceMatcher(None, a, b, autojunk=False).ratio()
    tokens = SequenceMatcher(None, " ".join(sorted(a.split())), " ".join(sorted(b.split())), autojunk=False)
    return max(characters, tokens.ratio())


def _numbers(title: str) -> set[str]:
    return {word for word in normalize_title(title).split() if word.isdigit()}


def year_factor(left: int | None, right: int | None) -> tuple[float, int | None]:
    """(factor, |difference|); factor 0 when the years are further apart than the tolerance."""
    if not left or not right:
        return UNKNOWN_YEAR, None
    delta = abs(left - right)
    if delta == 0:
        return SAME_YEAR, 0
    if delta <= YEAR_TOLERANCE:
        return NEAR_YEAR, delta
    return 0.0, delta


def compare_ids(left: frozenset, right: frozenset) -> tuple[list[str], list[str]]:
    """(shared, conflicting) ids as "provider://value" strings, decisive providers only."""
    left_by = _by_provider(left)
    right_by = _by_provider(right)
    shared, conflicting = [], []
    for provider in DECISIVE_PROVIDERS:
        mine, theirs = left_by.get(provider, set()), right_by.get(provider, set())
        if not mine or not theirs:
            continue
        common = mine & theirs
        if common:
            shared.extend(f"{provider}://{value}" for value in sorted(common))
        else:
            conflicting.append(f"{provider}: {', '.join(sorted(mine))} ≠ {', '.join(sorted(theirs))}")
    return shared, conflicting


def _by_provider(ids) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for provider, value in ids:
        if provider in DECISIVE_PROVIDERS and value:
            found.setdefault(provider, set()).add(value.strip().lower())
    return found


def score_pair(left: Side, right: Side) -> Verdict:
    """All the evidence about one pair; `confidence` is 1.0 for an id match, 0.0 when ids disagree.

    `likeness` is what title and year alone say, whatever the ids: it decides whether a pair
    whose ids disagree still looks enough like one work to show staff.
    """
    title_score = title_similarity(left.title, right.title)
    factor, delta = year_factor(left.year, right.year)
    shared, conflicting = compare_ids(left.ids, right.ids)
    likeness = title_score * factor
    left_numbers, right_numbers = _numbers(left.title), _numbers(right.title)
    if left_numbers and right_numbers and left_numbers != right_numbers:
        # "Rocky III" / "Rocky IV", "Kill Bill: Vol. 1" / "Vol. 2": alike as strings, different films.
        likeness *= NUMBERED_APART_FACTOR
    elif left_numbers != right_numbers:
        # "Jaws" / "Jaws 2", but also "The Empire Strikes Back" / "Star Wars: Episode V - …": staff judge.
        likeness = min(likeness, NUMBERS_DIFFER_CAP)
    if conflicting:
        reason = "ids disagree" + (" (some agree)" if shared else "")
        return Verdict(0.0, title_score, delta, shared, conflicting, reason, likeness)
    if shared:
        return Verdict(1.0, title_score, delta, shared, [], "ids agree", likeness)
    if factor == 0.0:
        reason = "years too far apart"
    elif left_numbers != right_numbers:
        reason = "similar title, but the numbers in it differ"
    elif delta == 0 and title_score == 1.0:
        reason = "same title and year"
    else:
        reason = "similar title" + ("" if delta == 0 else ", year differs" if delta else ", year unknown")
    return Verdict(likeness, title_score, delta, [], [], reason, likeness)


@dataclass(frozen=True)
class Thresholds:
    """`link` and above links automatically (no id disagreement); `candidate` and above is a conflict.

    A pair whose ids disagree is shown to staff only from `disputed` up: two films with
    different TMDB ids and merely similar titles are two films; the same title in the same year
    (give or take one) with different ids means one source has a wrong id, or a remake.
    """

    link: float = 0.95
    candidate: float = 0.6
    disputed: float = 0.85


def classify(verdict: Verdict, thresholds: Thresholds) -> str:
    """ "link", "conflict" or "none" for one pair's evidence."""
    if verdict.ids_conflict:
        # Never auto-linked. Shown to staff only when title and year look like the same work.
        return "conflict" if verdict.likeness >= max(thresholds.candidate, thresholds.disputed) else "none"
    if verdict.ids_agree or verdict.confidence >= thresholds.link:
        return "link"
    if verdict.confidence >= thresholds.candidate:
        return "conflict"
    return "none"
