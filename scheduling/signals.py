"""An edited template, slot, break rule or channel rebuilds that channel's logs from the next safe
point (after the program on air), in the background, once per edit burst."""

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from scheduling.models import BreakRule, Channel, ScheduleTemplate, TimeSlot

REBUILD_DELAY_SECONDS = 10  # an admin save touches the template and each inline slot: rebuild once


def _queue_rebuild(channel_id: int) -> None:
    from scheduling.tasks import rebuild_channel_task

    transaction.on_commit(
        lambda: rebuild_channel_task.apply_async((channel_id,), countdown=REBUILD_DELAY_SECONDS)
    )


@receiver([post_save, post_delete], sender=ScheduleTemplate)
@receiver([post_save, post_delete], sender=BreakRule)
def template_changed(sender, instance, **kwargs):
    _queue_rebuild(instance.channel_id)


@receiver([post_save, post_delete], sender=TimeSlot)
def slot_changed(sender, instance, **kwargs):
    channel_id = (
        ScheduleTemplate.objects.filter(pk=instance.template_id).values_list("channel_id", flat=True).first()
    )
    if channel_id:
        _queue_rebuild(channel_id)


@receiver(m2m_changed, sender=TimeSlot.shows.through)
@receiver(m2m_changed, sender=TimeSlot.movies.through)
def slot_content_changed(sender, instance, action, **kwargs):
    if action.startswith("post_") and isinstance(instance, TimeSlot):
        slot_changed(TimeSlot, instance)


@receiver(post_save, sender=Channel)
def channel_changed(sender, instance, created, **kwargs):
    if not created:
        _queue_rebuild(instance.pk)
