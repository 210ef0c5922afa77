"""Cross-source matching: which movie or show rows of different sources are one work.

`match_source` runs after every sync of a source (the `sync.match` task) and from the admin.
It is incremental: a row is reconsidered only when its title, year, ids or key changed since
matching last saw it (MatchedItem holds a digest), or when the caller asks for a full pass.
Each reconsidered row is compared with the active rows of every other source, shortlisted by
shared external ids, by year (±1) and by staff decisions that name it; the scorer's verdict
then links it (a WorkMember), queues a conflict (a MatchCandidate) or leaves it alone.

Staff decisions (MatchDecision) come first, whatever the evidence: a "keep apart" pair is never
linked by a later run, a "link" pair is linked again after a re-key or a full re-import.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.choices import ItemState, LinkMethod, MatchStatus, MatchVerdict, WorkKind
from catalog.matching.scoring import (
    DECISIVE_PROVIDERS,
    YEAR_TOLERANCE,
    Side,
    Thresholds,
    classify,
    normalize_title,
    score_pair,
)
from catalog.matching.turns import generation, take_turn
from catalog.matching.works import ITEM_FIELD, WorkState
from catalog.models import (
    ExternalId,
    MatchCandidate,
    MatchDecision,
    MatchedItem,
    MediaSource,
    Movie,
    Show,
    Work,
)

logger = logging.getLogger("catalog.matching")

# Judging without the lock is retried this many times when another writer took a turn meanwhile;
# the last attempt judges inside the lock, so a busy queue of decisions cannot starve a run.
OPTIMISTIC_ATTEMPTS = 2


def thresholds() -> Thresholds:
    return Thresholds(
        link=settings.RETROVUE_MATCH_LINK_SCORE, candidate=settings.RETROVUE_MATCH_CANDIDATE_SCORE
    )


@dataclass
class Row:
    """A movie or show row as matching sees it (loaded with values_list, no model instances)."""

    kind: str
    pk: int
    source_id: int
    title: str
    year: int | None
    rating_key: str
    ids: frozenset[tuple[str, str]] = frozenset()
    normalized: str = ""
    _keys: frozenset[str] | None = field(default=None, repr=False, compare=False)

    @property
    def side(self) -> Side:
        return Side(self.title, self.year, self.ids)

    @property
    def label(self) -> str:
        return (f"{self.title} ({self.year})" if self.year else self.title)[:320]

    def identity_keys(self) -> frozenset[str]:
        """Stable identities of the row: any one of them finds it again after a re-key or re-import."""
        if self._keys is None:
            found = {f"{provider}://{value}".lower() for provider, value in self.ids}
            if self.rating_key:
                found.add(f"key:{self.rating_key}")
            found.add(f"title:{self.normalized}|{self.year or ''}")
            self._keys = frozenset(found)
        return self._keys

    def digest(self) -> str:
        text = repr((self.title, self.year, self.rating_key, sorted(self.ids)))
        return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Outcome:
    """What a run concluded about one pair (left has the lower source id)."""

    left: Row
    right: Row
    result: str  # "link", "conflict", "apart" or "none"
    method: str = ""
    verdict: object = None
    decision: MatchDecision | None = None


@dataclass
class MatchReport:
    considered: int = 0
    linked: int = 0
    unlinked: int = 0
    conflicts: int = 0
    closed_conflicts: int = 0
    kinds: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "considered": self.considered,
            "linked": self.linked,
            "unlinked": self.unlinked,
            "conflicts": self.conflicts,
            "closed_conflicts": self.closed_conflicts,
        }


# --------------------------------------------------------------------------------------- loading


def load_rows(kind: str) -> dict[int, Row]:
    """Every active movie (or show) of every enabled source, with its external ids."""
    model = Movie if kind == WorkKind.MOVIE else Show
    rows = {
        pk: Row(kind, pk, source_id, title, year, rating_key, normalized=normalize_title(title))
        for pk, source_id, title, year, rating_key in model.objects.filter(
            state=ItemState.ACTIVE, source__enabled=True
        ).values_list("pk", "source_id", "title", "year", "rating_key")
    }
    owner = "playable_id" if kind == WorkKind.MOVIE else "show_id"
    ids: dict[int, set] = defaultdict(set)
    for owner_pk, provider, value in ExternalId.objects.filter(owner_kind=kind).values_list(
        owner, "provider", "value"
    ):
        if owner_pk in rows:
            ids[owner_pk].add((provider, value))
    for pk, found in ids.items():
        rows[pk].ids = frozenset(found)
    return rows


class _Index:
    """Shortlists for one kind: rows by decisive id, by year, by stable key."""

    def __init__(self, rows: dict[int, Row]):
        self.rows = rows
        self.by_id: dict[tuple[str, str], list[Row]] = defaultdict(list)
        self.by_year: dict[int | None, list[Row]] = defaultdict(list)
        self.by_key: dict[str, list[Row]] = defaultdict(list)
        for row in rows.values():
            for provider, value in row.ids:
                if provider in DECISIVE_PROVIDERS:
                    self.by_id[(provider, value.strip().lower())].append(row)
            self.by_year[row.year or None].append(row)
            for key in row.identity_keys():
                self.by_key[key].append(row)

    def shortlist(self, row: Row, floor: float) -> list[Row]:
        found: dict[int, Row] = {}
        for provider, value in row.ids:
            if provider in DECISIVE_PROVIDERS:
                for other in self.by_id.get((provider, value.strip().lower()), ()):
                    found[other.pk] = other
        if row.year:
            years = [row.year + delta for delta in range(-YEAR_TOLERANCE, YEAR_TOLERANCE + 1)] + [None]
            pool = (other for year in years for other in self.by_year.get(year, ()))
        else:
            pool = (other for others in self.by_year.values() for other in others)
        # quick_ratio (shared characters) bounds both ratios the scorer takes, the character one and
        # the sorted-word one, from above: a pair below the floor here cannot score above it there.
        matcher = SequenceMatcher(None, autojunk=False)
        matcher.set_seq2(row.normalized)
        mine, squashed = len(row.normalized), row.normalized.replace(" ", "")
        for other in pool:
            if other.source_id == row.source_id or other.pk in found:
                continue
            theirs = len(other.normalized)
            if other.normalized.replace(" ", "") == squashed:
                found[other.pk] = other
            elif mine + theirs and 2 * min(mine, theirs) / (mine + theirs) >= floor:
                matcher.set_seq1(other.normalized)
                if matcher.quick_ratio() >= floor:
                    found[other.pk] = other
        return [other for other in found.values() if other.source_id != row.source_id]


# ------------------------------------------------------------------------------------- decisions


class _Decisions:
    """Staff decisions of one kind, indexed by (side, source, key) so a pair's lookup is a few dict hits."""

    def __init__(self, kind: str):
        self.all = list(MatchDecision.objects.filter(kind=kind))
        self.by_key: dict[tuple[str, int, str], list[MatchDecision]] = defaultdict(list)
        for decision in self.all:
            for key in decision.left_keys:
                self.by_key[("left", decision.left_source_id, key)].append(decision)
            for key in decision.right_keys:
                self.by_key[("right", decision.right_source_id, key)].append(decision)

    def _naming(self, side: str, row: Row) -> dict[int, MatchDecision]:
        found = {}
        for key in row.identity_keys():
            for decision in self.by_key.get((side, row.source_id, key), ()):
                found[decision.pk] = decision
        return found

    def for_pair(self, left: Row, right: Row) -> MatchDecision | None:
        candidates = self._naming("left", left)
        if not candidates:
            return None
        for pk in sorted(candidates, reverse=True):  # the newest decision wins
            decision = candidates[pk]
            if decision.right_source_id == right.source_id and right.identity_keys() & set(
                decision.right_keys
            ):
                return decision
        return None

    def partners(self, row: Row, index: _Index) -> list[Row]:
        """Rows a decision pairs with `row`, found by their keys (however far their titles drifted)."""
        found = []
        for side, other_side in (("left", "right"), ("right", "left")):
            for decision in self._naming(side, row).values():
                other_source = getattr(decision, f"{other_side}_source_id")
                for key in getattr(decision, f"{other_side}_keys"):
                    found.extend(
                        other for other in index.by_key.get(key, ()) if other.source_id == other_source
                    )
        return found


def ordered(a: Row, b: Row) -> tuple[Row, Row]:
    return (a, b) if (a.source_id, a.pk) < (b.source_id, b.pk) else (b, a)


# ------------------------------------------------------------------------------------------- run


def match_source(source: MediaSource | int | None = None, *, full: bool = False) -> dict:
    """Match the changed rows of one source (or of all sources) against every other source."""
    source_id = source.pk if isinstance(source, MediaSource) else source
    report = MatchReport()
    for kind in (WorkKind.MOVIE, WorkKind.SHOW):
        _match_kind(kind, source_id, full, report)
    logger.info("Matching %s: %s", f"source {source_id}" if source_id else "all sources", report.as_dict())
    return report.as_dict()


@dataclass
class _Plan:
    """What one run of one kind judged: the rows it saw, the changed ones and each pair's outcome."""

    rows: dict[int, Row]
    changed: list[Row]
    seen: dict[int, str]
    outcomes: dict[tuple[int, int], Outcome] | None  # None: one source only, nothing to pair


def _match_kind(kind: str, source_id: int | None, full: bool, report: MatchReport) -> None:
    """Judge outside any transaction, then write in one short turn.

    Judging (loading every row, scoring the shortlists) is the long part; doing it without a lock
    keeps the database open to syncs and the web (on SQLite a transaction holds the only write
    lock). A row a sync changes meanwhile is judged again by the run that sync queues, as its
    digest no longer matches the one remembered here.
    """
    for attempt in range(OPTIMISTIC_ATTEMPTS + 1):
        optimistic = attempt < OPTIMISTIC_ATTEMPTS
        seen_generation = generation()
        plan = _plan(kind, source_id, full) if optimistic else None
        if optimistic and plan is None:
            return
        with transaction.atomic():
            if take_turn() != seen_generation and optimistic:
                continue  # another run or a staff decision wrote since: these verdicts may be stale
            if not optimistic:
                plan = _plan(kind, source_id, full)
                if plan is None:
                    return
            report.considered += len(plan.changed)
            if plan.outcomes is not None:
                _apply(kind, plan, report)
            _remember(kind, plan.changed, plan.seen)
            return


def _plan(kind: str, source_id: int | None, full: bool) -> _Plan | None:
    """Read and judge (no writes); None when no row of the source changed since matching last saw it."""
    rows = load_rows(kind)
    item_field = ITEM_FIELD[kind]
    mine = [row for row in rows.values() if source_id is None or row.source_id == source_id]
    seen = dict(
        MatchedItem.objects.filter(**{f"{item_field}_id__in": [row.pk for row in mine]}).values_list(
            f"{item_field}_id", "digest"
        )
    )
    changed = [row for row in mine if full or seen.get(row.pk) != row.digest()]
    if not changed:
        return None
    several_sources = len({row.source_id for row in rows.values()}) > 1
    outcomes = _judge_all(kind, rows, changed) if several_sources else None
    return _Plan(rows, changed, seen, outcomes)


def _judge_all(kind: str, rows: dict[int, Row], changed: list[Row]) -> dict[tuple[int, int], Outcome]:
    limits = thresholds()
    index = _Index(rows)
    decisions = _Decisions(kind)
    outcomes: dict[tuple[int, int], Outcome] = {}
    for row in changed:
        partners = {other.pk: other for other in index.shortlist(row, limits.candidate)}
        partners.update({other.pk: other for other in decisions.partners(row, index)})
        for other in partners.values():
            if other.source_id == row.source_id:
                continue
            left, right = ordered(row, other)
            if (left.pk, right.pk) in outcomes:
                continue
            outcomes[(left.pk, right.pk)] = _judge(left, right, decisions, limits)
    _demote_ambiguous(outcomes)
    return outcomes


def _apply(kind: str, plan: _Plan, report: MatchReport) -> None:
    """Write what was judged: links, unlinks, refreshed decisions and the conflict queue."""
    outcomes, changed = plan.outcomes, plan.changed
    state = WorkState(kind, set(plan.rows))
    changed_pks = {row.pk for row in changed}
    _drop_stale_links(state, changed, outcomes, report)
    for outcome in outcomes.values():
        if outcome.result == "apart":
            if state.unlink(outcome.left, outcome.right):
                report.unlinked += 1
            _refresh_decision(outcome)
        elif outcome.result == "link":
            done = state.link(outcome.left, outcome.right, outcome.method, outcome.verdict.confidence)
            if done == "linked":
                report.linked += 1
            elif done == "refused":
                outcome.result = "conflict"  # one side already belongs with another row of that source
                outcome.verdict.reason = f"{outcome.verdict.reason}; already linked to another row"
            if outcome.decision is not None:
                _refresh_decision(outcome)
    state.flush()
    _store_conflicts(kind, changed_pks, outcomes, report)


def _judge(left: Row, right: Row, decisions: _Decisions, limits: Thresholds) -> Outcome:
    verdict = score_pair(left.side, right.side)
    decision = decisions.for_pair(left, right)
    if decision is not None:
        result = "link" if decision.verdict == MatchVerdict.LINK else "apart"
        return Outcome(left, right, result, LinkMethod.STAFF, verdict, decision)
    result = classify(verdict, limits)
    method = LinkMethod.IDS if verdict.ids_agree else LinkMethod.TITLE
    return Outcome(left, right, result, method, verdict)


def _demote_ambiguous(outcomes: dict[tuple[int, int], Outcome]) -> None:
    """A row that would auto-link to two rows of one source links to neither: staff choose."""
    links: dict[tuple[int, int], list[Outcome]] = defaultdict(list)
    for outcome in outcomes.values():
        if outcome.result == "link" and outcome.method != LinkMethod.STAFF:
            links[(outcome.left.pk, outcome.right.source_id)].append(outcome)
            links[(outcome.right.pk, outcome.left.source_id)].append(outcome)
    for group in links.values():
        if len(group) > 1:
            for outcome in group:
                outcome.result = "conflict"
                outcome.verdict.reason = f"{outcome.verdict.reason}; one of several candidates"


def _drop_stale_links(state: WorkState, changed: list[Row], outcomes, report: MatchReport) -> None:
    """An automatic link whose evidence is gone (ids now disagree, title changed) is undone."""
    linked_pairs = {frozenset(key) for key, outcome in outcomes.items() if outcome.result == "link"}
    for row in changed:
        member = state.members.get(row.pk)
        if member is None or member.method == LinkMethod.STAFF:
            continue
        partners = [
            other for other in state.by_work.get(member.work_id, {}).values() if other.item_id != row.pk
        ]
        still_linked = any(frozenset((row.pk, other.item_id)) in linked_pairs for other in partners)
        if not still_linked and state.remove_row(row):
            report.unlinked += 1


def _refresh_decision(outcome: Outcome) -> None:
    """Let a decision learn the pair's current keys (a new ratingKey, a newly added id)."""
    decision = outcome.decision
    if decision is None:
        return
    left_keys = sorted(set(decision.left_keys) | outcome.left.identity_keys())
    right_keys = sorted(set(decision.right_keys) | outcome.right.identity_keys())
    if (left_keys, right_keys) != (sorted(decision.left_keys), sorted(decision.right_keys)):
        decision.left_keys, decision.right_keys = left_keys, right_keys
        MatchDecision.objects.filter(pk=decision.pk).update(left_keys=left_keys, right_keys=right_keys)


def _store_conflicts(kind: str, changed_pks: set[int], outcomes, report: MatchReport) -> None:
    """Open, refresh or close the conflict rows of every pair this run judged (in a few statements)."""
    item_field = ITEM_FIELD[kind]
    left_field, right_field = f"left_{item_field}_id", f"right_{item_field}_id"
    existing = {
        (getattr(candidate, left_field), getattr(candidate, right_field)): candidate
        for candidate in MatchCandidate.objects.filter(
            Q(**{f"{left_field}__in": changed_pks}) | Q(**{f"{right_field}__in": changed_pks}), kind=kind
        )
    }
    to_create, to_update, to_delete = [], [], []
    now = timezone.now()
    for key, outcome in outcomes.items():
        candidate = existing.pop(key, None)
        if outcome.result != "conflict":
            if candidate is not None and candidate.status == MatchStatus.OPEN:
                to_delete.append(candidate.pk)
            continue
        values = _conflict_values(outcome)
        if candidate is None:
            to_create.append(
                MatchCandidate(
                    kind=kind, left_source_id=outcome.left.source_id, right_source_id=outcome.right.source_id,
                    **{left_field: outcome.left.pk, right_field: outcome.right.pk}, **values,
                )
            )  # fmt: skip
        else:
            # Refreshed; a pair resolved before whose decision no longer finds it is open again.
            for name, value in {**values, "status": MatchStatus.OPEN, "updated_at": now}.items():
                setattr(candidate, name, value)
            to_update.append(candidate)
    # The rest are pairs that are no longer candidates at all.
    to_delete += [candidate.pk for candidate in existing.values() if candidate.status == MatchStatus.OPEN]
    MatchCandidate.objects.filter(pk__in=to_delete).delete()
    MatchCandidate.objects.bulk_create(to_create)
    MatchCandidate.objects.bulk_update(to_update, [*_CONFLICT_FIELDS, "status", "updated_at"], batch_size=500)
    report.conflicts += len(to_create)
    report.closed_conflicts += len(to_delete)


_CONFLICT_FIELDS = ["confidence", "title_score", "year_delta", "ids_conflict", "reason", "evidence"]


def _conflict_values(outcome: Outcome) -> dict:
    verdict = outcome.verdict
    sides = {
        name: {"title": row.title, "year": row.year, "ids": _uris(row)}
        for name, row in (("left", outcome.left), ("right", outcome.right))
    }
    return {
        # How alike the two look on title and year; for a pair whose ids disagree, the verdict's
        # confidence is 0 by rule, and the evidence keeps it.
        "confidence": round(verdict.likeness, 4),
        "title_score": round(verdict.title_score, 4),
        "year_delta": verdict.year_delta,
        "ids_conflict": verdict.ids_conflict,
        "reason": verdict.reason[:120],
        "evidence": {**verdict.evidence(), **sides},
    }


def _uris(row: Row) -> list[str]:
    return sorted(f"{provider}://{value}" for provider, value in row.ids)


def _remember(kind: str, changed: list[Row], seen: dict[int, str]) -> None:
    item_field = ITEM_FIELD[kind]
    MatchedItem.objects.filter(
        **{f"{item_field}_id__in": [row.pk for row in changed if row.pk in seen]}
    ).delete()
    MatchedItem.objects.bulk_create(
        [MatchedItem(digest=row.digest(), **{f"{item_field}_id": row.pk}) for row in changed], batch_size=1000
    )


# --------------------------------------------------------------------------------------- staff


def row_for(item) -> Row:
    """A Row for one model instance (used when staff resolve a pair)."""
    kind = WorkKind.MOVIE if isinstance(item, Movie) else WorkKind.SHOW
    ids = frozenset(item.external_ids.values_list("provider", "value"))
    return Row(
        kind,
        item.pk,
        item.source_id,
        item.title,
        item.year,
        item.rating_key,
        ids,
        normalize_title(item.title),
    )


@transaction.atomic
def resolve(candidate: MatchCandidate, verdict: str, user=None) -> MatchDecision:
    """Staff's "Link" or "Keep apart" on a conflict: record the decision and apply it now."""
    left, right = row_for(candidate.left), row_for(candidate.right)
    decision = decide(left, right, verdict, user)
    status = MatchStatus.LINKED if verdict == MatchVerdict.LINK else MatchStatus.KEPT_APART
    MatchCandidate.objects.filter(pk=candidate.pk).update(
        status=status, resolved_by=user, resolved_at=timezone.now()
    )
    return decision


def decide(left: Row, right: Row, verdict: str, user=None) -> MatchDecision:
    """Record staff's verdict on a pair (or change an earlier one) and apply it; call inside a transaction."""
    take_turn()
    left, right = ordered(left, right)
    decision = _Decisions(left.kind).for_pair(left, right)
    values = {
        "verdict": verdict,
        "left_keys": sorted(left.identity_keys() | set(decision.left_keys if decision else [])),
        "right_keys": sorted(right.identity_keys() | set(decision.right_keys if decision else [])),
        "left_label": left.label,
        "right_label": right.label,
        "decided_by": user,
    }
    if decision is None:
        decision = MatchDecision.objects.create(
            kind=left.kind, left_source_id=left.source_id, right_source_id=right.source_id, **values
        )
    else:
        for name, value in values.items():
            setattr(decision, name, value)
        decision.save()
    state = WorkState(left.kind)
    if verdict == MatchVerdict.LINK:
        state.link(left, right, LinkMethod.STAFF, 1.0)
    else:
        state.unlink(left, right)
    state.flush()
    return decision


@transaction.atomic
def keep_work_apart(work: Work, user=None) -> int:
    """Undo a link from the works page: every pair of its members is kept apart from now on."""
    members = list(work.members.select_related("movie", "show"))
    rows = [row_for(member.item) for member in members]
    count = 0
    for index, left in enumerate(rows):
        for right in rows[index + 1 :]:
            decide(left, right, MatchVerdict.APART, user)
            count += 1
    Work.objects.filter(pk=work.pk).delete()
    return count
