"""Serving the artwork cache when no nginx stands in front (the embedded default).

Production serves `/artwork/` from nginx (deploy/nginx.conf); both accept only content-hash names,
so nothing else in the folder, and nothing outside it, can be asked for.
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.urls import re_path
from django.views.decorators.http import require_safe

from catalog.artwork.store import artwork_root
from retrovue.core.served_files import open_inside

NAME = r"(?P<prefix>[0-9a-f]{2})/(?P<name>(?P=prefix)[0-9a-f]{62}-w[0-9]{2,4}\.jpg)"
CACHE_SECONDS = 365 * 24 * 3600


@require_safe
def artwork(request, prefix: str, name: str):
    try:
        handle = open_inside(artwork_root(), f"{prefix}/{name}")  # no symlink out of the cache
    except OSError:
        raise Http404("no such artwork") from None
    response = FileResponse(handle, content_type="image/jpeg")
    # The name is the image's hash: it never gets other content.
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}, immutable"
    return response


urlpatterns = [re_path(rf"^artwork/{NAME}$", artwork, name="artwork")]
