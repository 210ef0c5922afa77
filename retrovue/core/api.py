"""The /api/system/ router: background task runs."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, FilterSchema, Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from retrovue.core.models import TaskRun

router = Router(tags=["system"])


class TaskRunOut(Schema):
    id: int
    task_id: str
    task_name: str
    queue: str
    arguments: dict
    state: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict
    error: str


class TaskRunFilter(FilterSchema):
    state: str | None = None
    task_name: str | None = Field(None, q="task_name__icontains")


@router.get("/task-runs", response=list[TaskRunOut], summary="Background task runs, newest first")
@paginate(PageNumberPagination, page_size=50)
def list_task_runs(request, filters: Query[TaskRunFilter]):
    return filters.filter(TaskRun.objects.all())
