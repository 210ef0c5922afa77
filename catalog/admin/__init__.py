"""The catalog in the Django admin. Django's admin autodiscovery imports this package, and these
imports register every catalog ModelAdmin and the pages hung from them."""

from catalog.admin import (  # noqa: F401
    health,
    items,
    live,
    matching,
    media_files,
    plex_sign_in,
    sources,
    sync,
    tags,
)
