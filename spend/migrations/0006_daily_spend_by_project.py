from django.db import migrations
from django.db.models import F
from django.utils import timezone


def move_to_projects(apps, schema_editor):
    """Until now the daily totals had no project. Jobs made before projects existed have none,
    so their rows stay as they are (on an existing database this finds nothing to do); a charged
    job given a project since then moves its entries from the "no project" row of their day to
    its project's row."""
    LedgerEntry = apps.get_model("spend", "LedgerEntry")
    DailySpend = apps.get_model("spend", "DailySpend")
    entries = LedgerEntry.objects.filter(job__project__isnull=False).values_list(
        "user_id", "counts_at", "model_id", "kind", "amount", "job__project_id")
    for user, counts_at, model, kind, amount, project in entries.order_by("pk").iterator():
        key = {"user_id": user, "day": timezone.localdate(counts_at), "model_id": model}
        column = {"charge": "charged", "refund": "refunded"}.get(kind, "corrected")
        jobs = 1 if kind == "charge" else 0
        DailySpend.objects.filter(project=None, **key).update(
            **{column: F(column) - amount}, jobs=F("jobs") - jobs)
        DailySpend.objects.get_or_create(project_id=project, **key)
        DailySpend.objects.filter(project_id=project, **key).update(
            **{column: F(column) + amount}, jobs=F("jobs") + jobs)
    # rows left with nothing in them came wholly from jobs that now have a project
    DailySpend.objects.filter(project=None, charged=0, refunded=0, corrected=0, jobs=0).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("spend", "0005_teams_and_projects"),
        ("jobs", "0010_projects_titles_takes"),
    ]

    operations = [
        migrations.RunPython(move_to_projects, migrations.RunPython.noop),
    ]
