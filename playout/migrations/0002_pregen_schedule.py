"""Plans pre-generation every 5 minutes and evicts hourly (editable in the admin's Periodic tasks)."""

import json

from django.db import migrations

PLAN_ENTRY = "Pre-generate upcoming pieces"
EVICT_ENTRY = "Evict pre-generated pieces"


def schedule(apps, schema_editor):
    interval_model = apps.get_model("django_celery_beat", "IntervalSchedule")
    periodic_task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    every_five_minutes, _ = interval_model.objects.get_or_create(every=5, period="minutes")
    hourly, _ = interval_model.objects.get_or_create(every=1, period="hours")
    for name, task, interval in (
        (PLAN_ENTRY, "pregen.plan", every_five_minutes),
        (EVICT_ENTRY, "pregen.evict", hourly),
    ):
        periodic_task_model.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "kwargs": json.dumps({})}
        )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[PLAN_ENTRY, EVICT_ENTRY]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("playout", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
