"""Rolls every channel's logs forward every 15 minutes (editable in the admin's Periodic tasks)."""

import json

from django.db import migrations

ENTRY_NAME = "Roll schedules forward"


def schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    periodic_task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    interval, _ = interval_model.objects.get_or_create(every=15, period="minutes")
    periodic_task_model.objects.get_or_create(
        name=ENTRY_NAME,
        defaults={"task": "scheduling.roll_forward", "interval": interval, "kwargs": json.dumps({})},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=ENTRY_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
