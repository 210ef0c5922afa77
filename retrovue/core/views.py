from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from retrovue.core.health import GROUPS, report_cache


@never_cache
@require_GET
def healthz(request):
    """Readiness of the whole station, anonymous: 200 when every check passes, else 503.

    `?check=database` (or any comma-separated subset of database, broker, queues, channels) runs
    only those groups; the web container's own healthcheck asks for the database alone, so a
    stopped worker does not mark the web server unhealthy.
    """
    asked = [name.strip() for name in request.GET.get("check", "").split(",") if name.strip()]
    unknown = [name for name in asked if name not in GROUPS]
    if unknown:
        return JsonResponse(
            {"ok": False, "error": f"unknown check group; choose from {', '.join(GROUPS)}"}, status=400
        )
    report = report_cache.get(asked or GROUPS)
    return JsonResponse(report.as_dict(), status=200 if report.ok else 503)
