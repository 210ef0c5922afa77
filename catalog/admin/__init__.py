"""The catalog in the Django admin. Django's admin autodiscovery imports this package, and these
imports register every catalog ModelAdmin and the pages hung from them."""

from catalog.admin import health, items, live, matching, plex_sign_in, tags  # noqa: F401
