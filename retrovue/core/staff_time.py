"""Staff see times in their own time zone, everywhere in the admin and the staff pages.

The admin's pages set a cookie with the browser's zone (`rv_tz`, from
`Intl.DateTimeFormat().resolvedOptions().timeZone`; templates/admin/base_site.html); this
middleware activates it for that request (admin and API), so Django renders every date in it. Without the cookie
(or with a name that is not a zone) the station's zone (RETROVUE_TIME_ZONE) applies.
"""

from __future__ import annotations

import zoneinfo
from urllib.parse import unquote

from django.utils import timezone

COOKIE = "rv_tz"


def zone_from_cookie(value: str | None) -> zoneinfo.ZoneInfo | None:
    value = unquote(value or "")  # the page writes it URL-encoded ("America%2FNew_York")
    if not value or len(value) > 60:
        return None
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class StaffTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        staff_path = request.path.startswith(("/admin/", "/api/"))
        zone = zone_from_cookie(request.COOKIES.get(COOKIE)) if staff_path else None
        if zone is not None:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
