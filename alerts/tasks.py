"""Alert tasks. They run on the `default` queue, never behind hours of `pregen` work."""

from celery import shared_task


@shared_task(name="alerts.encode_slates")
def encode_slates(alert_id: int) -> dict:
    from alerts.slate import encode_slates_for

    return encode_slates_for(alert_id)


@shared_task(name="alerts.poll_feed")
def poll_feed(feed_id: int) -> dict:
    from alerts.feeds import poll_feed as poll
    from alerts.models import CapFeed

    feed = CapFeed.objects.filter(pk=feed_id, enabled=True).first()
    return poll(feed) if feed else {"status": "gone"}
