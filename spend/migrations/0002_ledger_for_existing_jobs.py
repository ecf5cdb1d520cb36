"""Write the ledger entries that jobs charged before the ledger existed would have."""

from django.db import migrations


def backfill(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    LedgerEntry = apps.get_model("spend", "LedgerEntry")
    for job in Job.objects.filter(amount__isnull=False, ledger_entries__isnull=True):
        entry = {"job": job, "user_id": job.owner_id, "model_id": job.model_id}
        LedgerEntry.objects.create(kind="charge", amount=job.amount, **entry)
        if job.status == "failed":
            LedgerEntry.objects.create(kind="refund", amount=-job.amount, **entry)


class Migration(migrations.Migration):
    dependencies = [("spend", "0001_initial")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
