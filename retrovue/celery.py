"""The Celery application and its queues.

Queues: `sync` (Plex and folder scans), `pregen` (encoding ahead of air), `playout` (channel
supervisors), `default` (everything else). Tasks name their queue in their decorator; the
worker started for a queue only consumes that queue, so a 40-minute deep sync never delays a
channel restart. Pre-generation has a worker of its own (`python -m retrovue worker --queues
pregen`, a threads pool): a deep sync or chapter detection never waits in front of an encode, and
its shutdown stops its encoders (see playout.tasks).

A task's queue follows from its name: `sync.*`, `pregen.*` and `playout.*` go to the queue of that
name, everything else to `default` (routes in settings.CELERY_TASK_ROUTES).
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")

app = Celery("retrovue")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [Queue(name) for name in ("sync", "pregen", "playout", "default")]
app.autodiscover_tasks()
