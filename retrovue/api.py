"""The API root: django-ninja at /api/, one router per app, authentication on everything."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.db import DataError
from ninja import NinjaAPI, Schema

from retrovue.core.api_permissions import enforce_declared_permissions, refuse_before_parsing, requires
from retrovue.core.auth import API_AUTH

api = NinjaAPI(
    title="RetroVue API",
    version="1",
    description="Catalog, scheduling, playout and alerts. Authenticate with a staff session or "
    "`Authorization: Bearer <token>` (tokens are issued in the admin under System → API tokens).",
    auth=API_AUTH,
    docs_decorator=staff_member_required,
    urls_namespace="api",
)
# Every operation of every router (added below) checks the Django permissions it declares.
api.add_decorator(enforce_declared_permissions)
api.add_decorator(refuse_before_parsing, mode="view")


def number_out_of_range(request, exc):
    """A page or id beyond what the database's integers hold is bad input, not a server error:
    SQLite raises OverflowError for it, PostgreSQL "bigint out of range" (a DataError), and the
    read-only API has no other way to hand the database a value it refuses."""
    return api.create_response(request, {"detail": "A number in the request is out of range."}, status=400)


api.add_exception_handler(OverflowError, number_out_of_range)
api.add_exception_handler(DataError, number_out_of_range)


class ApiIndexOut(Schema):
    name: str
    version: str
    user: str
    sections: dict[str, str]


@api.get("/", response=ApiIndexOut, summary="What this API offers")
@requires()
def api_index(request):
    return {
        "name": "RetroVue",
        "version": api.version,
        "user": request.user.get_username(),
        "sections": {
            "catalog": "/api/catalog/",
            "scheduling": "/api/scheduling/",
            "playout": "/api/playout/",
            "alerts": "/api/alerts/",
            "system": "/api/system/",
            "docs": "/api/docs",
        },
    }


def _mount_routers() -> None:
    from alerts.api import router as alerts_router
    from catalog.api import router as catalog_router
    from playout.api import router as playout_router
    from retrovue.core.api import router as system_router
    from scheduling.api import router as scheduling_router

    api.add_router("/catalog/", catalog_router)
    api.add_router("/scheduling/", scheduling_router)
    api.add_router("/playout/", playout_router)
    api.add_router("/alerts/", alerts_router)
    api.add_router("/system/", system_router)


_mount_routers()
