from django.contrib import admin
from django.urls import include, path

from retrovue.api import api
from retrovue.core.views import healthz

admin.site.site_header = "RetroVue"
admin.site.site_title = "RetroVue"
admin.site.index_title = "Station administration"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("hooks/", include("catalog.webhook_urls")),
    path("healthz", healthz, name="healthz"),
]
