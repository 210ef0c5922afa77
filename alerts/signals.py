"""Keeps one django-celery-beat entry per CAP feed, so its polling interval is edited on the feed."""

import json

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from alerts.models import CapFeed


def periodic_task_name(feed: CapFeed) -> str:
    return f"Poll CAP feed #{feed.pk}"


@receiver(post_save, sender=CapFeed)
def schedule_feed_poll(sender, instance: CapFeed, **kwargs):
    interval, _ = IntervalSchedule.objects.get_or_create(
        every=max(10, instance.poll_seconds), period=IntervalSchedule.SECONDS
    )
    PeriodicTask.objects.update_or_create(
        name=periodic_task_name(instance),
        defaults={
            "task": "alerts.poll_feed",
            "interval": interval,
            "kwargs": json.dumps({"feed_id": instance.pk}),
            "enabled": instance.enabled,
            "queue": "default",
            "description": f"Poll the CAP feed {instance.name}",
        },
    )


@receiver(post_delete, sender=CapFeed)
def unschedule_feed_poll(sender, instance: CapFeed, **kwargs):
    PeriodicTask.objects.filter(name=periodic_task_name(instance)).delete()
