"""Keeps one django-celery-beat entry per source, so its sync interval is edited on the source."""

import json

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from catalog.models import MediaSource


def periodic_task_name(source: MediaSource) -> str:
    return f"Sync source #{source.pk}"


@receiver(post_save, sender=MediaSource)
def schedule_source_sync(sender, instance: MediaSource, **kwargs):
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=instance.sync_interval_minutes, period=IntervalSchedule.MINUTES
    )
    PeriodicTask.objects.update_or_create(
        name=periodic_task_name(instance),
        defaults={
            "task": "sync.scheduled",
            "interval": interval,
            "kwargs": json.dumps({"source_id": instance.pk}),
            "enabled": instance.enabled,
            "description": f"Incremental sync of {instance.name}",
        },
    )


@receiver(post_delete, sender=MediaSource)
def unschedule_source_sync(sender, instance: MediaSource, **kwargs):
    PeriodicTask.objects.filter(name=periodic_task_name(instance)).delete()
