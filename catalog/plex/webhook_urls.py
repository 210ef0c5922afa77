"""URLs under /hooks/: machine endpoints that authenticate by a secret in the path, not by login."""

from django.urls import path

from catalog.plex.webhooks import plex_webhook

app_name = "hooks"

urlpatterns = [
    path("plex/<str:secret>/", plex_webhook, name="plex"),
    # Without the slash too: APPEND_SLASH would answer a POST with a redirect, and Plex drops the body.
    path("plex/<str:secret>", plex_webhook),
]
