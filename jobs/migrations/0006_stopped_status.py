from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0005_polling_schedule_and_posters"),
    ]

    operations = [
        migrations.AlterField(
            model_name="job",
            name="status",
            field=models.CharField(choices=[
                ("draft", "Draft"), ("queued", "Queued"), ("submitting", "Sending"),
                ("submitted", "Submitted"), ("processing", "Processing"),
                ("succeeded", "Succeeded"), ("failed", "Failed"), ("unknown", "Outcome unknown"),
                ("stopped", "No longer followed")], db_index=True, default="queued",
                max_length=16),
        ),
    ]
