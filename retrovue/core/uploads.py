"""Serving uploaded logos and bugs when no nginx stands in front (the embedded default).

Only the names uploads are stored under (`logos/<hash>.png`, `bugs/<hash>.png`) are served, from
inside MEDIA_ROOT without following symbolic links, and as inert downloads: `nosniff`, a CSP that
forbids everything (and sandboxes the document), `Content-Disposition: attachment`. An `<img>`
or an IPTV player still shows them; a browser never runs them as a page. deploy/nginx.conf serves
`/media/` the same way in production.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.views.decorators.http import require_safe

from retrovue.core.served_files import open_inside

UPLOAD_NAME = re.compile(r"^(logos|bugs)/[A-Za-z0-9_-]{1,100}\.png$")
INERT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Content-Disposition": "attachment",
    "Cache-Control": "public, max-age=3600",
}


@require_safe
def serve_upload(request, path: str):
    if not UPLOAD_NAME.match(path):
        raise Http404("No such file.")
    try:
        handle = open_inside(Path(settings.MEDIA_ROOT), path)
    except OSError:
        raise Http404("No such file.") from None
    response = FileResponse(handle, content_type="image/png")
    for name, value in INERT_HEADERS.items():
        response[name] = value
    return response
