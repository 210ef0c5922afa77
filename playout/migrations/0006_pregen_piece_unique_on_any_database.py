"""One pre-generated row per cut on any database: two partial unique constraints replace the
NULLS NOT DISTINCT one, which SQLite cannot create (so the embedded default had no uniqueness at
all). Duplicates an SQLite install made meanwhile are removed first, keeping the oldest row, the
one pre-generation already used."""

from django.db import migrations, models

CUT = ("playable_id", "special", "profile_id", "bug_key", "in_ms", "out_ms")


def drop_duplicate_cuts(apps, schema_editor):
    piece_model = apps.get_model("playout", "PregenPiece")
    seen, duplicates = set(), []
    for row in piece_model.objects.order_by("pk").values_list("pk", *CUT).iterator(chunk_size=5000):
        pk, key = row[0], row[1:]
        if key in seen:
            duplicates.append(pk)
        else:
            seen.add(key)
    for start in range(0, len(duplicates), 500):
        piece_model.objects.filter(pk__in=duplicates[start : start + 500]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("playout", "0005_as_run_plurals_live_events"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="pregenpiece",
            name="pregen_piece_unique_cut",
        ),
        migrations.RunPython(drop_duplicate_cuts, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="pregenpiece",
            constraint=models.UniqueConstraint(
                condition=models.Q(("playable__isnull", False)),
                fields=("playable", "special", "profile", "bug_key", "in_ms", "out_ms"),
                name="pregen_piece_unique_cut",
            ),
        ),
        migrations.AddConstraint(
            model_name="pregenpiece",
            constraint=models.UniqueConstraint(
                condition=models.Q(("playable__isnull", True)),
                fields=("special", "profile", "bug_key", "in_ms", "out_ms"),
                name="pregen_piece_unique_special_cut",
            ),
        ),
    ]
