"""Alert tasks. They run on the `default` queue, never behind hours of `pregen` work."""

from celery import shared_task


@shared_task(name="alerts.encode_slates")
def encode_slates(alert_id: int) -> dict:
    from alerts.slate import encode_slates_for

    return encode_slates_for(alert_id)
