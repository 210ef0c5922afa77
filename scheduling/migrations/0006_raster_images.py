"""Channel logos and bugs become RasterImageFields; what was stored before is checked once.

A stored logo or bug that decodes as an image is re-encoded as PNG under a content name; one that
does not (an HTML or SVG "logo" could run script on the station's origin) is deleted, the field
cleared, and a staff notice raised so someone uploads a real image.
"""

from django.db import migrations
from django.utils import timezone

import retrovue.fields

LABELS = {"logo": ("logo", "logos/"), "bug_image": ("bug", "bugs/")}


def recheck_channel_images(apps, schema_editor):
    from django.core.files.storage import default_storage

    from retrovue.core.images import recheck_stored_upload

    Channel = apps.get_model("scheduling", "Channel")
    StaffNotice = apps.get_model("core", "StaffNotice")
    for channel in Channel.objects.exclude(logo="", bug_image=""):
        for field, (label, folder) in LABELS.items():
            name = getattr(channel, field).name
            if not name:
                continue
            new_name, why = recheck_stored_upload(default_storage, name, folder)
            if new_name == name:
                continue
            Channel.objects.filter(pk=channel.pk).update(**{field: new_name or ""})
            if new_name is None:
                now = timezone.now()
                StaffNotice.objects.create(
                    key=f"upload:channel:{channel.pk}:{field}",
                    level="warning",
                    title=f"Channel {channel.number}: {label} removed",
                    message=f"The channel's {label} was removed: {why}. Upload it again as an image.",
                    raised_at=now,
                    last_raised_at=now,
                )


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0005_stream_profile_tracks"),
        ("core", "0006_least_privilege"),
    ]

    operations = [
        migrations.AlterField(
            model_name="channel",
            name="bug_image",
            field=retrovue.fields.RasterImageField(
                blank=True, help_text="PNG (with transparency), JPEG, GIF or WebP; stored as PNG.", upload_to="bugs/"
            ),
        ),
        migrations.AlterField(
            model_name="channel",
            name="logo",
            field=retrovue.fields.RasterImageField(
                blank=True, help_text="PNG, JPEG, GIF or WebP; stored as PNG.", upload_to="logos/"
            ),
        ),
        migrations.RunPython(recheck_channel_images, migrations.RunPython.noop),
    ]
