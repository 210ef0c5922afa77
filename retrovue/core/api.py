"""The /api/system/ router: background task runs."""

from datetime import datetime
from typing import Annotated

from ninja import FilterLookup, FilterSchema, Query, Router, Schema
from ninja.pagination import paginate

from retrovue.core.api_paging import PageNumberPagination
from retrovue.core.api_permissions import requires
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
    task_name: Annotated[str | None, FilterLookup("task_name__icontains")] = None


@router.get("/task-runs", response=list[TaskRunOut], summary="Background task runs, newest first")
@paginate(PageNumberPagination, page_size=50)
@requires("core.view_taskrun")
def list_task_runs(request, filters: Query[TaskRunFilter]):
    return filters.filter(TaskRun.objects.all())
