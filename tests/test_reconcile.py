"""Reconciliation: `manage.py reconcile` asks ShortAPI about every job id in a range, lists each
disagreement on status, refund or amount, and with --fix writes corrections marked as such.
ShortAPI is replaced at the client seam only."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from jobs import shortapi, tasks
from jobs.models import Job
from spend import reconcile
from spend.models import Discrepancy, LedgerEntry

pytestmark = pytest.mark.django_db
S = Job.Status
TODAY = timezone.localdate()


class ShortAPIBook:
    """What ShortAPI says about each of its jobs."""

    states = {}

    def query(self, job_id):
        if job_id not in self.states:
            raise shortapi.ShortAPIError("job not found", permanent=True)
        return self.states[job_id]


@pytest.fixture
def book(monkeypatch):
    ShortAPIBook.states = {}
    monkeypatch.setattr(shortapi, "Client", ShortAPIBook)
    return ShortAPIBook.states


def charged_job(make_job, shortapi_job_id, amount="0.300"):
    job = make_job()
    job.claim_for_submission()
    job.mark_submitted(shortapi_job_id, Decimal(amount))
    return Job.objects.get(pk=job.pk)


def run(*flags):
    out = io.StringIO()
    try:
        call_command("reconcile", "--since", str(TODAY - timedelta(days=1)), *flags, stdout=out)
        return 0, out.getvalue()
    except CommandError as error:
        return 1, out.getvalue() + str(error)


def corrections(job):
    return list(LedgerEntry.objects.filter(job=job, kind=LedgerEntry.Kind.CORRECTION).values_list(
        "amount", "basis"))


def test_a_ledger_that_agrees_with_shortapi_has_nothing_to_fix(make_job, book):
    done = charged_job(make_job, "sa-1")
    done.mark_succeeded("https://cdn.example/v.mp4")
    refunded = charged_job(make_job, "sa-2")
    refunded.mark_failed("No.", refunded=True)
    book["sa-1"] = shortapi.JobState(status=2, video_url="https://cdn.example/v.mp4")
    book["sa-2"] = shortapi.JobState(status=3, refunded=True)

    status, out = run()

    assert status == 0, out
    assert "Asked ShortAPI about 2 job(s)" in out and "Nothing to fix" in out


def test_a_refund_shortapi_made_that_the_ledger_lacks_is_corrected(make_job, book):
    job = charged_job(make_job, "sa-1")
    job.mark_failed("No.", refunded=False)  # as ShortAPI first said
    book["sa-1"] = shortapi.JobState(status=3, refunded=True)  # and then refunded it

    status, out = run()
    assert status == 1 and "refund: ours $0.30 net, ShortAPI refunded it" in out
    assert "1 can be fixed: run again with --fix" in out
    assert corrections(job) == [] and Discrepancy.objects.filter(fixed_at=None).count() == 1

    status, out = run("--fix")
    assert status == 0 and "[fixed]" in out
    assert corrections(job) == [(Decimal("-0.300"), LedgerEntry.Basis.RECONCILE)]
    assert Job.objects.get(pk=job.pk).cost == 0
    assert Discrepancy.objects.filter(fixed_at=None).count() == 0

    assert run() == (0, run()[1]) and "Nothing to fix" in run()[1]


def test_a_job_shortapi_failed_and_refunded_is_settled_and_refunded_once(make_job, book):
    job = charged_job(make_job, "sa-1")
    book["sa-1"] = shortapi.JobState(status=3, refunded=True, error="No.")
    status, out = run("--fix")
    assert status == 0, out
    job = Job.objects.get(pk=job.pk)
    assert job.status == S.FAILED and job.cost == 0
    assert LedgerEntry.objects.filter(job=job).count() == 2  # the charge and ShortAPI's refund
    assert "Nothing to fix" in run()[1]


def test_a_refund_the_ledger_made_that_shortapi_did_not_is_corrected(make_job, book):
    job = charged_job(make_job, "sa-1")
    job.mark_failed("Given up before the money rules.", refunded=True)  # an old-style refund
    book["sa-1"] = shortapi.JobState(status=3, refunded=False)
    status, out = run("--fix")
    assert "refund: ours $0.00 net, ShortAPI did not refund it" in out
    assert Job.objects.get(pk=job.pk).cost == Decimal("0.300")


def test_a_job_we_failed_that_shortapi_finished_becomes_a_success_with_its_video(
        make_job, book, enqueued, django_capture_on_commit_callbacks):
    job = charged_job(make_job, "sa-1")
    job.mark_failed("Given up at the time limit.", refunded=False)
    book["sa-1"] = shortapi.JobState(status=2, video_url="https://cdn.example/late.mp4")

    with django_capture_on_commit_callbacks(execute=True):
        status, out = run("--fix")

    assert "status: ours failed, ShortAPI succeeded" in out and status == 0
    job = Job.objects.get(pk=job.pk)
    assert job.status == S.SUCCEEDED and job.video_url.endswith("late.mp4")
    assert enqueued == [(tasks.keep_video, (job.pk,))]


def test_an_amount_shortapi_names_that_differs_is_corrected_in_the_charges_period(make_job,
                                                                                  book, at):
    last_month = timezone.now() - timedelta(days=35)
    with at(last_month):
        job = charged_job(make_job, "sa-1", "0.300")
    book["sa-1"] = shortapi.JobState(status=2, video_url="https://x/v.mp4",
                                     amount=Decimal("0.286"))
    call_command("reconcile", "--since", str(TODAY - timedelta(days=40)), "--fix",
                 stdout=io.StringIO())
    correction = LedgerEntry.objects.get(job=job, kind=LedgerEntry.Kind.CORRECTION)
    assert correction.amount == Decimal("-0.014") and correction.counts_at == last_month
    assert "Reconciled with ShortAPI" in correction.note


def test_a_job_id_shortapi_does_not_know_is_reported_not_fixed(make_job, book):
    job = charged_job(make_job, "sa-ghost")
    status, out = run("--fix")
    assert status == 1 and "unknown to shortapi" in out
    assert corrections(job) == []


def test_the_spend_review_shows_what_the_last_run_found_and_can_ask_for_a_run(
        client, staff, make_job, book, enqueued, monkeypatch):
    job = charged_job(make_job, "sa-1")
    book["sa-1"] = shortapi.JobState(status=3, refunded=True)
    run()
    client.force_login(staff)
    listed = client.get(reverse("spend-review")).content.decode().split(
        'data-role="discrepancies"')[1].split("</table>")[0]
    assert f"Job {job.pk}" in listed and "refunded it" in listed and "Status" in listed

    queued = []
    monkeypatch.setattr("spend.views.async_task", lambda func, *args, **kw: queued.append(
        (func, args)))
    response = client.post(reverse("spend-reconcile"), {"first": str(TODAY), "last": str(TODAY)})
    assert response.status_code == 302
    assert queued == [(reconcile.run, (TODAY, TODAY))]


def test_only_staff_can_ask_for_a_run(client, owner):
    client.force_login(owner)
    response = client.post(reverse("spend-reconcile"), {"first": str(TODAY), "last": str(TODAY)})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_a_date_that_is_not_a_date_is_explained(book):
    with pytest.raises(CommandError, match="write it as YYYY-MM-DD"):
        call_command("reconcile", "--since", "last tuesday")
