"""The programming desk page (staff with `scheduling.view_deskentry`): the timeline of every channel,
edited through /api/scheduling/desk/ (see `scheduling.desk_api`).

Register in the admin's namespace, before the admin's own URLs, like the playout monitor:
`path("admin/", (desk_urls(admin.site) + … + admin.site.get_urls(), "admin", admin.site.name))`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from scheduling.desk import GRID_CHOICES


@ensure_csrf_cookie
def desk_page(request, admin_site):
    if not request.user.has_perm("scheduling.view_deskentry"):
        raise PermissionDenied
    permissions = {
        action: request.user.has_perm(f"scheduling.{action}_deskentry")
        for action in ("add", "change", "delete")
    }
    context = {
        **admin_site.each_context(request),
        "title": "Programming desk",
        "is_nav_sidebar_enabled": False,  # the timeline needs the width
        "api_base": reverse("api:api_index") + "scheduling/desk",
        "grid_choices": GRID_CHOICES,
        "can": permissions,
        "monitor_url": reverse("admin:playout_monitor"),
    }
    return TemplateResponse(request, "scheduling/desk.html", context)


def desk_urls(admin_site) -> list:
    return [
        path(
            "scheduling/desk/",
            admin_site.admin_view(desk_page),
            {"admin_site": admin_site},
            name="scheduling_desk",
        )
    ]
