"""The sync engine: plain functions that bring sources into the catalog (Celery tasks are thin shims)."""
