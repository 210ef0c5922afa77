"""Celery shims for scheduling (the work is in scheduling.builder)."""

from celery import shared_task


@shared_task(name="scheduling.roll_forward")
def roll_forward_task() -> dict:
    from scheduling.builder import roll_forward

    return roll_forward()


@shared_task(name="scheduling.rebuild_channel")
def rebuild_channel_task(channel_id: int) -> dict:
    from scheduling.builder import rebuild_from_safe_point
    from scheduling.models import Channel

    channel = Channel.objects.filter(pk=channel_id).first()
    return rebuild_from_safe_point(channel) if channel else {"skipped": 1}
