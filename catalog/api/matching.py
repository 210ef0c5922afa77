"""Read endpoints for cross-source matching, on the catalog router: linked works and the conflict queue."""

from datetime import datetime
from typing import Annotated

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from ninja import FilterLookup, FilterSchema, Query, Schema
from ninja.pagination import paginate

from catalog.api.router import PAGE_SIZE, router
from catalog.models import MatchCandidate, Work, WorkMember
from retrovue.core.api_paging import PageNumberPagination
from retrovue.core.api_permissions import requires

CANDIDATE_RELATED = ("left_movie", "right_movie", "left_show", "right_show")


class WorkMemberOut(Schema):
    """One source's copy of a work."""

    source_id: int
    item_id: int
    title: str
    year: int | None
    method: str
    confidence: float
    linked_at: datetime

    @staticmethod
    def resolve_item_id(member) -> int:
        return member.movie_id or member.show_id

    @staticmethod
    def resolve_title(member) -> str:
        return member.item.title

    @staticmethod
    def resolve_year(member) -> int | None:
        return member.item.year


class WorkOut(Schema):
    """A movie or show that two or more sources hold; the planner airs one copy of it."""

    id: int
    kind: str
    title: str
    year: int | None
    members: list[WorkMemberOut]

    @staticmethod
    def resolve_members(work) -> list:
        return list(work.members.all())


class WorkFilter(FilterSchema):
    kind: str | None = None
    title: Annotated[str | None, FilterLookup("title__icontains")] = None
    source: Annotated[int | None, FilterLookup("members__source_id")] = None


class MatchSideOut(Schema):
    source_id: int
    item_id: int
    title: str
    year: int | None


class MatchConflictOut(Schema):
    """A pair that may be one work, with the evidence; `status` is open until staff decide."""

    id: int
    kind: str
    status: str
    left: MatchSideOut
    right: MatchSideOut
    confidence: float
    title_score: float
    year_delta: int | None
    ids_conflict: bool
    reason: str
    evidence: dict
    created_at: datetime
    resolved_at: datetime | None

    @staticmethod
    def resolve_left(candidate) -> dict:
        return _side(candidate.left, candidate.left_source_id)

    @staticmethod
    def resolve_right(candidate) -> dict:
        return _side(candidate.right, candidate.right_source_id)


def _side(item, source_id: int) -> dict:
    return {"source_id": source_id, "item_id": item.pk, "title": item.title, "year": item.year}


class MatchConflictFilter(FilterSchema):
    status: str | None = None
    kind: str | None = None
    ids_conflict: bool | None = None
    source: Annotated[int | None, FilterLookup(["left_source_id", "right_source_id"])] = None


def _works():
    members = WorkMember.objects.select_related("movie", "show").order_by("source_id", "pk")
    return Work.objects.prefetch_related(Prefetch("members", queryset=members))


@router.get("/works", response=list[WorkOut], summary="Movies and shows linked across sources")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_work")
def list_works(request, filters: Query[WorkFilter]):
    return filters.filter(_works().order_by("title", "year", "id")).distinct()


@router.get("/works/{work_id}", response=WorkOut)
@requires("catalog.view_work")
def get_work(request, work_id: int):
    return get_object_or_404(_works(), pk=work_id)


@router.get("/match-conflicts", response=list[MatchConflictOut], summary="Pairs that may be one work")
@paginate(PageNumberPagination, page_size=PAGE_SIZE)
@requires("catalog.view_matchcandidate")
def list_match_conflicts(request, filters: Query[MatchConflictFilter]):
    return filters.filter(
        MatchCandidate.objects.select_related(*CANDIDATE_RELATED).order_by("-confidence", "id")
    )


@router.get("/match-conflicts/{conflict_id}", response=MatchConflictOut)
@requires("catalog.view_matchcandidate")
def get_match_conflict(request, conflict_id: int):
    return get_object_or_404(MatchCandidate.objects.select_related(*CANDIDATE_RELATED), pk=conflict_id)
