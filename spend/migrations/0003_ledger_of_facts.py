"""The ledger records what ShortAPI said, per ShortAPI job id, with where each amount came from
and the budget period it counts in; reconciliations keep what they find."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def per_shortapi_job(apps, schema_editor):
    """Existing entries name their job's ShortAPI id; a refund counts in its charge's period."""
    LedgerEntry = apps.get_model("spend", "LedgerEntry")
    for entry in LedgerEntry.objects.select_related("job").order_by("pk"):
        entry.shortapi_job_id = entry.job.shortapi_job_id or f"job-{entry.job_id}"
        entry.basis = "answer" if entry.kind == "charge" else "reported"
        charge = LedgerEntry.objects.filter(job_id=entry.job_id, kind="charge").first()
        entry.counts_at = charge.created_at if charge else entry.created_at
        entry.save(update_fields=["shortapi_job_id", "basis", "counts_at"])


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0006_stopped_status"),
        ("spend", "0002_ledger_for_existing_jobs"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="ledgerentry", name="one_charge_one_refund_per_job"),
        migrations.AddField(
            model_name="ledgerentry", name="shortapi_job_id",
            field=models.CharField(default="", max_length=200, verbose_name="ShortAPI job"),
            preserve_default=False),
        migrations.AddField(
            model_name="ledgerentry", name="basis",
            field=models.CharField(choices=[
                ("answer", "ShortAPI's create answer"),
                ("table", "Priced from the table (ShortAPI named no amount)"),
                ("reported", "ShortAPI's report"),
                ("reconcile", "A reconciliation with ShortAPI")],
                default="answer", max_length=10)),
        migrations.AddField(
            model_name="ledgerentry", name="counts_at",
            field=models.DateTimeField(default=django.utils.timezone.now,
                                       verbose_name="counts in the period of")),
        migrations.AddField(
            model_name="ledgerentry", name="note", field=models.TextField(blank=True)),
        migrations.AlterField(
            model_name="ledgerentry", name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now,
                                       verbose_name="written")),
        migrations.AlterField(
            model_name="ledgerentry", name="kind",
            field=models.CharField(choices=[("charge", "Charge"), ("refund", "Refund"),
                                            ("correction", "Correction")], max_length=10)),
        migrations.RunPython(per_shortapi_job, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(condition=models.Q(("kind__in", ["charge", "refund"])),
                                               fields=("shortapi_job_id", "kind"),
                                               name="one_charge_one_refund_per_shortapi_job")),
        migrations.AddIndex(model_name="ledgerentry",
                            index=models.Index(fields=["counts_at"], name="spend_ledge_counts__idx")),
        migrations.AddIndex(model_name="ledgerentry",
                            index=models.Index(fields=["user", "counts_at"],
                                               name="spend_ledge_user_counts_idx")),
        migrations.AddIndex(model_name="ledgerentry",
                            index=models.Index(fields=["shortapi_job_id"],
                                               name="spend_ledge_shortapi_idx")),
        migrations.CreateModel(
            name="Discrepancy",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("shortapi_job_id", models.CharField(max_length=200, verbose_name="ShortAPI job")),
                ("what", models.CharField(choices=[("status", "Status"), ("refund", "Refund"),
                                                   ("amount", "Amount"),
                                                   ("missing", "Unknown to ShortAPI")],
                                          max_length=10)),
                ("ours", models.CharField(max_length=200)),
                ("theirs", models.CharField(max_length=200)),
                ("difference", models.DecimalField(decimal_places=3, default=0, max_digits=10)),
                ("found_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("fixed_at", models.DateTimeField(blank=True, null=True)),
                ("job", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                          related_name="discrepancies", to="jobs.job")),
            ],
            options={"verbose_name_plural": "discrepancies", "ordering": ["-found_at", "-id"]},
        ),
    ]
