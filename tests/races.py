"""Races between an admin and the workers over one job, run on a real database with real threads.

    DATABASE_URL=postgres://... python -m tests.races ROUNDS

Each round puts a fresh job in the state a race starts from, lets two threads loose on it at
the same instant (a barrier), and checks the money rules on what the database holds afterwards.
Prints one JSON object: per race, how often each side won and every round that broke a rule.
The test in test_money_races.py runs it against PostgreSQL and asserts there were none.
"""

import json
import os
import random
import sys
import threading
import time
from collections import Counter
from decimal import Decimal

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "klingstudio.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.db import connection  # noqa: E402

from jobs import shortapi, tasks  # noqa: E402
from jobs.models import Job  # noqa: E402
from spend.models import LedgerEntry  # noqa: E402

S = Job.Status
ESTIMATE = Decimal("0.300")


def new_job(owner, status, shortapi_job_id=None, charged=False):
    job = Job.objects.create(owner=owner, model_id="kwaivgi/kling-2.6/image-to-video",
                             mode="pro", duration=5, prompt="race", estimate=ESTIMATE,
                             status=S.SUBMITTING if charged else status)
    if charged:
        assert job.mark_submitted(shortapi_job_id, ESTIMATE)
        if status == S.PROCESSING:
            assert job.mark_processing()
    return job.pk


def race(first, second):
    """Run both at once; returns what each returned (or the exception it raised)."""
    barrier = threading.Barrier(2)
    results = [None, None]

    def run(index, action):
        try:
            barrier.wait()
            # a little jitter, so that each side wins some rounds
            time.sleep(random.uniform(0, 0.004))
            results[index] = action()
        except Exception as error:  # a rule broken shows as an error, not a lost thread
            results[index] = f"error: {type(error).__name__}: {error}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def money(pk, kind=None):
    entries = LedgerEntry.objects.filter(job_id=pk)
    return list(entries.filter(kind=kind) if kind else entries)


def state_of(pk):
    return Job.objects.get(pk=pk)


# Each race: set up, the two sides, and the rules the outcome must keep (a list of broken ones).

def give_up_against_claim(owner):
    pk = new_job(owner, S.QUEUED)
    results = race(lambda: state_of(pk).give_up("admin"),
                   lambda: state_of(pk).claim_for_submission())
    job, broken = state_of(pk), []
    if results.count(True) != 1:
        broken.append(f"not exactly one winner: {results}")
    expected = S.FAILED if results[0] is True else S.SUBMITTING
    if job.status != expected:
        broken.append(f"ended {job.status}, expected {expected}")
    if money(pk):
        broken.append("money written")
    return "admin" if results[0] is True else "worker", broken


def give_up_against_resolve(owner):
    pk = new_job(owner, S.UNKNOWN)
    resolved = f"sa-resolved-{pk}"
    results = race(lambda: state_of(pk).give_up("admin"),
                   lambda: state_of(pk).mark_submitted(resolved))
    job, broken = state_of(pk), []
    # whichever came first, ShortAPI's confirmation wins: the job is followed and charged once
    if job.status != S.SUBMITTED or job.shortapi_job_id != resolved:
        broken.append(f"ended {job.status} with {job.shortapi_job_id}: {results}")
    charges = money(pk, LedgerEntry.Kind.CHARGE)
    if len(charges) != 1 or charges[0].amount != ESTIMATE or money(pk, LedgerEntry.Kind.REFUND):
        broken.append(f"money: {[(e.kind, e.amount) for e in money(pk)]}")
    return "admin first" if results[0] is True else "resolve first", broken


def stop_watching_against_refunded_failure(owner):
    return _stop_against_report(owner, shortapi.JobState(status=3, refunded=True),
                                Decimal("0"))


def stop_watching_against_unrefunded_failure(owner):
    return _stop_against_report(owner, shortapi.JobState(status=3, refunded=False), ESTIMATE)


def stop_watching_against_success(owner):
    return _stop_against_report(owner, shortapi.JobState(status=2, video_url="https://x/v.mp4"),
                                ESTIMATE)


def _stop_against_report(owner, state, cost):
    pk = new_job(owner, S.PROCESSING, f"sa-{owner.pk}-{Job.objects.count()}", charged=True)
    results = race(lambda: state_of(pk).stop_watching("admin"),
                   lambda: tasks.apply_state(state_of(pk), state))
    job, broken = state_of(pk), []
    final = S.SUCCEEDED if state.succeeded else S.FAILED
    if job.status != final:
        broken.append(f"ended {job.status}, ShortAPI said {final}: {results}")
    if job.cost != cost or len(money(pk, LedgerEntry.Kind.CHARGE)) != 1:
        broken.append(f"cost {job.cost}, expected {cost}")
    return "admin first" if results[0] is True else "report first", broken


def two_refunded_failures(owner):
    pk = new_job(owner, S.PROCESSING, f"sa-{owner.pk}-{Job.objects.count()}", charged=True)
    failed = shortapi.JobState(status=3, refunded=True)
    race(lambda: tasks.apply_state(state_of(pk), failed),
         lambda: tasks.apply_state(state_of(pk), failed))
    broken = []
    if len(money(pk, LedgerEntry.Kind.REFUND)) != 1 or state_of(pk).cost != 0:
        broken.append(f"money: {[(e.kind, e.amount) for e in money(pk)]}")
    return "both", broken


def late_answer_against_callback(owner):
    pk = new_job(owner, S.SUBMITTING)
    shortapi_job_id = f"sa-late-{pk}"

    def answer():
        job = state_of(pk)
        if not job.mark_submitted(shortapi_job_id, Decimal("0.290")):
            job.record_creation(shortapi_job_id, Decimal("0.290"))

    def callback():
        job = state_of(pk)
        if not job.mark_submitted(shortapi_job_id):
            job.record_creation(shortapi_job_id, None)

    race(answer, callback)
    broken = []
    if len(money(pk, LedgerEntry.Kind.CHARGE)) != 1 or state_of(pk).cost != Decimal("0.290"):
        broken.append(f"money: {[(e.kind, e.basis, e.amount) for e in money(pk)]}")
    return "both", broken


RACES = [give_up_against_claim, give_up_against_resolve, stop_watching_against_refunded_failure,
         stop_watching_against_unrefunded_failure, stop_watching_against_success,
         two_refunded_failures, late_answer_against_callback]


def main(rounds):
    owner, _ = User.objects.get_or_create(username="racer")
    report = {}
    for race_function in RACES:
        winners, broken = Counter(), []
        for _ in range(rounds):
            winner, problems = race_function(owner)
            winners[winner] += 1
            broken += problems
        report[race_function.__name__] = {"winners": dict(winners), "broken": broken}
    print(json.dumps(report))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
