from django.contrib import admin
from django.urls import include, path, re_path

from alerts.console import alert_console_urls
from catalog.admin.sync_dashboard import sync_dashboard_urls
from catalog.chapters.editor import chapter_editor_urls
from playout.monitor import monitor_urls
from retrovue.api import api
from retrovue.core.uploads import serve_upload
from retrovue.core.views import healthz, metrics
from scheduling.desk_views import desk_urls

admin.site.site_header = "RetroVue"
admin.site.site_title = "RetroVue"
admin.site.index_title = "Station administration"

urlpatterns = [
    # The chapter editor's pages live in the admin namespace, before the admin's own catch-all URLs.
    path(
        "admin/",
        (
            chapter_editor_urls(admin.site)
            + monitor_urls(admin.site)
            + sync_dashboard_urls(admin.site)
            + desk_urls(admin.site)
            + alert_console_urls(admin.site)
            + admin.site.get_urls(),
            "admin",
            admin.site.name,
        ),
    ),
    path("api/", api.urls),
    path("hooks/", include("catalog.plex.webhook_urls")),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics, name="metrics"),
    # Uploaded logos and bugs, as inert downloads; nginx serves them the same way in production.
    re_path(r"^media/(?P<path>.+)$", serve_upload),
    # Cached posters by content hash; nginx serves them in production.
    path("", include("catalog.artwork.views")),
    path("", include("scheduling.urls")),
    path("", include("playout.urls")),
    path("", include("playout.watch_urls")),
]
