from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from retrovue.core.health import groups, report_cache


@never_cache
@require_GET
def healthz(request):
    """Readiness of the whole station, anonymous: 200 while nothing is failing (`status` says "ok"
    or "degraded"), 503 when something is.

    `?check=database` (or any comma-separated subset of database, broker, queues, beat, channels,
    listener) runs only those groups; the web container's own healthcheck asks for the database
    alone, so a stopped worker does not mark the web server unhealthy. Which machine each check
    concerns is shown only to a user allowed to read the metrics.
    """
    asked = [name.strip() for name in request.GET.get("check", "").split(",") if name.strip()]
    known = groups()
    unknown = [name for name in asked if name not in known]
    if unknown:
        return JsonResponse(
            {"ok": False, "error": f"unknown check group; choose from {', '.join(known)}"}, status=400
        )
    report = report_cache.get(asked or known)
    user = _metrics_user(request)
    with_machines = user is not None and user.has_perm(_metrics_permission())
    return JsonResponse(report.as_dict(with_machines=with_machines), status=200 if report.ok else 503)


def _metrics_permission() -> str:
    from retrovue.core.models import METRICS_PERMISSION

    return METRICS_PERMISSION


def _metrics_user(request):
    """The user a staff API token (`Authorization: Bearer rv_…`) or staff session speaks for, else None."""
    from retrovue.core.auth import StaffApiToken

    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer":
        return StaffApiToken().authenticate(request, token.strip())
    user = getattr(request, "user", None)
    return user if user and user.is_active and user.is_staff else None


@never_cache
@require_GET
def metrics(request):
    """Prometheus text format, for a staff user holding the permission "Can read /metrics".

    The numbers name sources and channels and count the station's activity: not for the public,
    and not for every staff account either (a scraper's token gets this one permission).
    """
    from retrovue.core.models import METRICS_PERMISSION

    user = _metrics_user(request)
    if user is None:
        response = HttpResponse("Authentication required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="retrovue-metrics"'
        return response
    if not user.has_perm(METRICS_PERMISSION):
        return HttpResponse(
            f"You need the permission {METRICS_PERMISSION} to read the metrics.\n",
            status=403,
            content_type="text/plain",
        )
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from retrovue.core.metrics import registry

    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
