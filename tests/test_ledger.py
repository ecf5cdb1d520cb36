"""Every money event is a ledger entry: one charge when ShortAPI accepts a job, at most one
refund when it fails; duplicates can never count twice; a job's cost is its entries' sum."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from jobs import shortapi, tasks
from jobs.models import Job
from spend.models import LedgerEntry

pytestmark = pytest.mark.django_db
CHARGE, REFUND = LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND


def submitted(make_job, amount="0.600"):
    job = make_job()
    assert job.claim_for_submission()
    assert job.mark_submitted(f"sa-{job.pk}", Decimal(amount))
    return job


def entries(job):
    return list(LedgerEntry.objects.filter(job=job).order_by("pk").values_list("kind", "amount"))


def test_it_charges_the_amount_shortapi_names_when_it_accepts_a_job(make_job, owner):
    job = submitted(make_job, "0.715")
    assert entries(job) == [(CHARGE, Decimal("0.715"))]
    entry = LedgerEntry.objects.get(job=job)
    assert (entry.user, entry.model_id) == (owner, job.model_id)
    assert job.cost == Decimal("0.715")


def test_a_job_refused_before_any_charge_has_no_entries(make_job):
    job = make_job()
    job.claim_for_submission()
    job.mark_failed("ShortAPI refused this job.")
    assert entries(job) == [] and job.cost == 0


def test_a_failed_job_is_refunded_once(make_job):
    job = submitted(make_job)
    assert job.mark_failed("Kling could not make this video.", refunded=True)
    assert not job.mark_failed("again")
    assert entries(job) == [(CHARGE, Decimal("0.600")), (REFUND, Decimal("-0.600"))]
    assert Job.objects.get(pk=job.pk).cost == 0


def test_duplicate_and_late_reports_never_count_twice(make_job, monkeypatch, settings):
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = []
    job = submitted(make_job)
    failed = shortapi.JobState(status=3, refunded=True, error="no")
    for state in (failed, failed, shortapi.JobState(status=shortapi.PROCESSING), failed):
        tasks.apply_state(Job.objects.get(pk=job.pk), state)
    # a redelivered submission finds nothing to claim
    tasks.submit_job(job.pk)
    assert entries(job) == [(CHARGE, Decimal("0.600")), (REFUND, Decimal("-0.600"))]


def test_the_database_refuses_a_second_charge_or_refund(make_job):
    job = submitted(make_job)
    with pytest.raises(IntegrityError):
        LedgerEntry.objects.create(job=job, user=job.owner, kind=CHARGE, amount=Decimal("1"),
                                   model_id=job.model_id)


def test_a_late_create_answer_corrects_a_charge_priced_from_the_table(make_job):
    job = make_job()
    job.claim_for_submission()
    job.mark_unknown("No answer.")
    assert job.mark_submitted("sa-1", job.estimate)  # confirmed by a callback
    job.record_creation("sa-1", Decimal("0.299"))  # then the real answer arrives
    assert entries(job) == [(CHARGE, Decimal("0.299"))]


def test_a_job_created_after_an_admin_gave_up_on_it_is_still_charged(make_job):
    job = make_job()
    job.claim_for_submission()
    job.mark_failed("An admin stopped this job.")
    job.record_creation("sa-7", Decimal("0.300"))
    assert entries(job) == [(CHARGE, Decimal("0.300"))]
    assert Job.objects.get(pk=job.pk).shortapi_job_id == "sa-7"


def test_the_gallery_reads_each_cost_from_the_ledger_in_one_query(make_job, owner,
                                                                   django_assert_num_queries):
    jobs = [submitted(make_job, "0.300") for _ in range(3)]
    jobs[0].mark_failed("gone")
    with django_assert_num_queries(1):
        costs = sorted(j.cost for j in Job.objects.owned_by(owner).with_cost())
    assert costs == [Decimal("0"), Decimal("0.300"), Decimal("0.300")]
