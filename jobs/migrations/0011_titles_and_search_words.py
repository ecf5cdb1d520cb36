"""Give jobs sent before titles existed their default title, and index every job's words."""

import re

from django.db import migrations

# As jobs.models.job.title_from and jobs.search.words were when this ran: a migration keeps its
# own copy so later changes to either do not rewrite history.
TITLE_LENGTH, TITLE_WORDS, WORD_LENGTH = 120, 8, 32
WORD = re.compile(r"\w+", re.UNICODE)


def title_from(text):
    words = text.split()
    title = " ".join(words[:TITLE_WORDS])[:TITLE_LENGTH - 1]
    return title + "…" if title != " ".join(words) else title


def words(text):
    return list(dict.fromkeys(w[:WORD_LENGTH] for w in WORD.findall(text.lower())))


def backfill(apps, schema_editor):
    Job = apps.get_model("jobs", "Job")
    Shot = apps.get_model("jobs", "Shot")
    SearchWord = apps.get_model("jobs", "SearchWord")
    batch = []
    for job in Job.objects.exclude(status="draft").only("pk", "title", "prompt").iterator(2000):
        shots = " ".join(Shot.objects.filter(job_id=job.pk).values_list("prompt", flat=True))
        if not job.title:
            job.title = title_from(job.prompt or shots)
            Job.objects.filter(pk=job.pk).update(title=job.title)
        text = " ".join(part for part in (job.title, job.prompt, shots) if part)
        batch += [SearchWord(job_id=job.pk, word=word) for word in words(text)]
        if len(batch) >= 5000:
            SearchWord.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    SearchWord.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("jobs", "0010_projects_titles_takes")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
