"""Schedules the daily purge of old task records (editable afterwards in the admin's Periodic tasks)."""

import json

from django.db import migrations

TASK_NAME = "core.purge_old_task_runs"
ENTRY_NAME = "Purge old task records"


def schedule_purge(apps, schema_editor):
    crontab_model = apps.get_model("django_celery_beat", "CrontabSchedule")
    periodic_task_model = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = crontab_model.objects.get_or_create(
        minute="17", hour="4", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    periodic_task_model.objects.get_or_create(
        name=ENTRY_NAME,
        defaults={"task": TASK_NAME, "crontab": crontab, "kwargs": json.dumps({}), "queue": "default"},
    )


def unschedule_purge(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=ENTRY_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule_purge, unschedule_purge)]
