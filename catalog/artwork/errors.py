"""Errors of the artwork task (no Django imports: the Celery task names them at import time)."""


class ArtworkSourceUnavailable(Exception):
    """The source could not be reached or answered 5xx/429: a transient failure, retried later."""
