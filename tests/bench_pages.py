"""One measurement for tests/benchmarks.py: how long the pages that list history take when one
person has JOBS jobs (spread over two years, charged and some refunded, in the ledger and its
daily totals), on the database DATABASE_URL (or KLING_VAR_DIR's SQLite).

    DATABASE_URL=... python -m tests.bench_pages JOBS

The person's jobs are in a team project half the time, carry titles and searchable prompts (a
word every job has, and one in every 500), and one in fifty is starred (the first twelve of
each too, so that every page is full at 24 jobs as at 100,000), so searches, filters and
the project's page are measured too.

Prints one JSON object: for each page, the median milliseconds of 15 requests and the number of
queries one request makes.
"""

import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "klingstudio.settings")
os.environ.setdefault("LOG_LEVEL", "ERROR")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from jobs import search  # noqa: E402
from jobs.models import Job, SearchWord, Star  # noqa: E402
from spend.models import DailySpend, LedgerEntry  # noqa: E402
from teams.models import Project, Team  # noqa: E402

MODELS = [("kwaivgi/kling-2.6/image-to-video", "pro", Decimal("0.300")),
          ("kwaivgi/kling-3.0/image-to-video", "std", Decimal("0.715"))]
PAGES = {"gallery": "/", "my spend": "/spend/", "spend review": "/admin/spend/",
         "admin jobs": "/admin/jobs/job/", "admin ledger": "/admin/spend/ledgerentry/"}
BATCH = 5000


def prompt_for(n):
    """Every job's prompt has "camera"; one in 500 (and the first twelve, so a short history
    fills a page too) has "lighthouse"."""
    subject = "a lighthouse keeper" if n % 500 == 0 or n < 12 else f"boat number {n}"
    return f"Slow camera pan over {subject} at dawn"


def history(person, count, project):
    """`count` jobs over the last two years (a handful only this month when the count is
    small, as for a new person), each charged; one in ten failed and refunded."""
    random.seed(count)
    now = timezone.now()
    span = timedelta(days=730) if count > 100 else timedelta(days=now.day - 1, hours=now.hour)
    days = {}
    for start in range(0, count, BATCH):
        jobs = []
        for n in range(start, min(count, start + BATCH)):
            model, mode, price = MODELS[n % 2]
            created = now - span * random.random()
            failed = n % 10 == 0
            jobs.append(Job(owner=person, model_id=model, mode=mode, duration=5,
                            prompt=prompt_for(n), title=f"Take {n}", estimate=price, amount=price,
                            project=project if n % 2 else None,
                            cost=Decimal("0") if failed else price,
                            status=Job.Status.FAILED if failed else Job.Status.SUCCEEDED,
                            refunded=failed, shortapi_job_id=f"sa-{person.pk}-{n}",
                            created_at=created, submitted_at=created, finished_at=created,
                            video="videos/bench.mp4"))
        Job.objects.bulk_create(jobs)
        entries = []
        made = list(Job.objects.filter(owner=person, pk__gt=0).order_by("-pk")[:len(jobs)])
        SearchWord.objects.bulk_create(
            (SearchWord(job=job, word=word) for job in made
             for word in search.words(f"{job.title} {job.prompt}")), batch_size=BATCH)
        # a full page of stars even in a short history, then one in fifty
        Star.objects.bulk_create(Star(person=person, job=job) for job in made
                                 if job.pk % 50 == 0 or job.pk <= 12)
        for job in made:
            row = days.setdefault((timezone.localdate(job.created_at), job.model_id),
                                  {"charged": 0, "refunded": 0, "jobs": 0})
            row["charged"] += job.amount
            row["jobs"] += 1
            entries.append(LedgerEntry(job=job, user=person, shortapi_job_id=job.shortapi_job_id,
                                       kind="charge", amount=job.amount, model_id=job.model_id,
                                       created_at=job.created_at, counts_at=job.created_at))
            if job.refunded:
                row["refunded"] -= job.amount
                entries.append(LedgerEntry(job=job, user=person,
                                           shortapi_job_id=job.shortapi_job_id, kind="refund",
                                           basis="reported", amount=-job.amount,
                                           model_id=job.model_id, created_at=job.created_at,
                                           counts_at=job.created_at))
        LedgerEntry.objects.bulk_create(entries)
    DailySpend.objects.bulk_create(DailySpend(user=person, day=day, model_id=model, **row)
                                   for (day, model), row in days.items())


def measure(client, path):
    for _ in range(2):
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(15):
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    return {"ms": statistics.median(times), "queries": len(queries)}


def main(count):
    call_command("migrate", verbosity=0)
    person = User.objects.create_user(f"person-{count}")
    staff = User.objects.create_user(f"staff-{count}", is_staff=True, is_superuser=True)
    team = Team.objects.create(name=f"Team {count}")
    team.members.add(person)
    project = Project.objects.create(name="Film", team=team)
    history(person, count, project)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    settings.ALLOWED_HOSTS = ["testserver"]
    results = {}
    pages = {**PAGES,
             "search, common word": "/?q=camera",
             "search, rare word": "/?q=lighthouse",
             "search, two words": "/?q=lighthouse+camera",
             "filtered: finished Kling 3.0": "/?status=done&model=kwaivgi%2Fkling-3.0%2Fimage-to-video",
             "sorted by cost": "/?sort=costliest",
             "starred only": "/?starred=on",
             "project page": f"/projects/{project.pk}/",
             "project searched": f"/projects/{project.pk}/?q=lighthouse"}
    for name, path in pages.items():
        client = Client()
        client.force_login(staff if path.startswith("/admin/") else person)
        results[name] = measure(client, path)
    print(json.dumps(results))


if __name__ == "__main__":
    main(int(sys.argv[1]))
