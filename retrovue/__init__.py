"""RetroVue: a Plex library turned into a 24/7 cable-TV network."""

from retrovue.celery import app as celery_app

__all__ = ["celery_app"]
