from django.db import migrations, models


def jobs_of_earlier_exports(apps, schema_editor):
    """An export made before its jobs were recorded holds, as far as can be known without
    reading every file, the takes its sequence has now."""
    Export = apps.get_model("sequences", "Export")
    SequenceTake = apps.get_model("sequences", "SequenceTake")
    for export in Export.objects.exclude(file="").iterator():
        export.jobs = sorted(set(SequenceTake.objects.filter(sequence_id=export.sequence_id)
                                 .values_list("job_id", flat=True)))
        export.save(update_fields=["jobs"])


class Migration(migrations.Migration):

    dependencies = [
        ("sequences", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="export",
            name="jobs",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.RunPython(jobs_of_earlier_exports, migrations.RunPython.noop),
    ]
