"""The ledger records what ShortAPI said, per ShortAPI job id: a charge from the create answer
(or priced from the table, marked, and corrected when the real amount is learned), a refund only
when ShortAPI reports one. Our own decisions write no money. Duplicates never count twice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs import shortapi, tasks
from jobs.models import Job
from spend import policy
from spend.models import LedgerEntry

pytestmark = pytest.mark.django_db
CHARGE, REFUND, CORRECTION = (LedgerEntry.Kind.CHARGE, LedgerEntry.Kind.REFUND,
                              LedgerEntry.Kind.CORRECTION)
ANSWER, TABLE, REPORTED = (LedgerEntry.Basis.ANSWER, LedgerEntry.Basis.TABLE,
                           LedgerEntry.Basis.REPORTED)


def submitted(make_job, amount="0.600", shortapi_job_id=None):
    job = make_job()
    assert job.claim_for_submission()
    assert job.mark_submitted(shortapi_job_id or f"sa-{job.pk}",
                              None if amount is None else Decimal(amount))
    return job


def entries(job):
    return list(LedgerEntry.objects.filter(job=job).order_by("pk").values_list(
        "shortapi_job_id", "kind", "basis", "amount"))


def fresh(job):
    return Job.objects.get(pk=job.pk)


def test_it_charges_the_amount_shortapis_create_answer_names(make_job, owner):
    job = submitted(make_job, "0.715")
    assert entries(job) == [(f"sa-{job.pk}", CHARGE, ANSWER, Decimal("0.715"))]
    entry = LedgerEntry.objects.get(job=job)
    assert (entry.user, entry.model_id) == (owner, job.model_id)
    assert fresh(job).cost == Decimal("0.715")


def test_a_create_answer_without_an_amount_is_priced_from_the_table_and_says_so(make_job):
    job = submitted(make_job, amount=None)
    [(_, kind, basis, amount)] = entries(job)
    assert (kind, basis, amount) == (CHARGE, TABLE, job.estimate) and amount > 0
    assert "priced from the table" in LedgerEntry.objects.get(job=job).note


def test_a_job_refused_before_shortapi_made_it_has_no_entries(make_job):
    job = make_job()
    job.claim_for_submission()
    job.mark_not_sent("ShortAPI refused this job.")
    assert entries(job) == [] and fresh(job).cost == 0


def test_a_failure_shortapi_refunded_is_refunded_once(make_job):
    job = submitted(make_job)
    assert job.mark_failed("Kling could not make this video.", refunded=True)
    assert not job.mark_failed("again", refunded=True)
    sa = f"sa-{job.pk}"
    assert entries(job) == [(sa, CHARGE, ANSWER, Decimal("0.600")),
                            (sa, REFUND, REPORTED, Decimal("-0.600"))]
    assert fresh(job).cost == 0


def test_a_failure_shortapi_did_not_refund_keeps_its_charge_and_says_so(make_job, owner, client):
    job = submitted(make_job)
    tasks.apply_state(fresh(job), shortapi.JobState(status=3, error="Content policy."))
    job = fresh(job)
    assert job.status == Job.Status.FAILED and not job.refunded
    assert [kind for _, kind, _, _ in entries(job)] == [CHARGE]
    assert job.cost == Decimal("0.600") and job.charged_though_failed
    assert "did not refund it, so its charge stands" in job.error
    client.force_login(owner)
    assert "failed, charged by ShortAPI" in client.get(job.get_absolute_url()).content.decode()


def test_duplicate_and_late_reports_never_count_twice(make_job):
    job = submitted(make_job)
    failed = shortapi.JobState(status=3, refunded=True, error="no")
    for state in (failed, failed, shortapi.JobState(status=shortapi.PROCESSING), failed):
        tasks.apply_state(fresh(job), state)
    tasks.submit_job(job.pk)  # a redelivered submission finds nothing to claim
    assert [kind for _, kind, _, _ in entries(job)] == [CHARGE, REFUND]


def test_the_database_refuses_a_second_charge_or_refund_for_one_shortapi_job(make_job):
    job = submitted(make_job)
    for kind in (CHARGE, REFUND):
        LedgerEntry.objects.create(job=job, user=job.owner, kind=kind, amount=Decimal("-1"),
                                   shortapi_job_id="sa-x", model_id=job.model_id)
        with pytest.raises(IntegrityError), transaction.atomic():
            LedgerEntry.objects.create(job=job, user=job.owner, kind=kind, amount=Decimal("1"),
                                       shortapi_job_id="sa-x", model_id=job.model_id)


@pytest.mark.django_db(transaction=True)
def test_money_is_written_only_inside_the_change_that_causes_it(make_job):
    job = make_job()
    with pytest.raises(RuntimeError, match="inside the transaction"):
        policy.charge(job, "sa-outside", Decimal("1"))


def test_a_confirmed_job_is_priced_from_the_table_then_corrected_by_the_real_answer(make_job):
    job = make_job()
    job.claim_for_submission()
    job.mark_unknown("No answer.")
    assert job.mark_submitted("sa-1")  # a callback confirmed it; no amount known
    job.record_creation("sa-1", Decimal("0.299"))  # then the create call's answer arrives
    assert entries(job) == [("sa-1", CHARGE, TABLE, Decimal("0.300")),
                            ("sa-1", CORRECTION, ANSWER, Decimal("-0.001"))]
    assert fresh(job).cost == Decimal("0.299")
    job.record_creation("sa-1", Decimal("0.299"))  # and again: nothing more
    assert len(entries(job)) == 2


def test_an_amount_a_query_names_corrects_a_table_price_once(make_job):
    job = submitted(make_job, amount=None)
    for _ in range(2):
        tasks.apply_state(fresh(job), shortapi.JobState(status=1, amount=Decimal("0.35")))
    assert fresh(job).cost == Decimal("0.35")
    # an amount ShortAPI's own answer named is a fact already: a query does not change it
    named = submitted(make_job, "0.600")
    tasks.apply_state(fresh(named), shortapi.JobState(status=1, amount=Decimal("0.9")))
    assert fresh(named).cost == Decimal("0.600")


def test_an_admins_resend_that_makes_a_second_shortapi_job_is_charged_for_both(make_job):
    job = make_job()
    job.claim_for_submission()
    job.mark_unknown("No answer.")
    assert job.resend() and job.claim_for_submission()
    assert job.mark_submitted("sa-second", Decimal("0.300"))
    # the first attempt turns out to have been made after all, reported by its callback
    job.record_creation("sa-first", None)
    assert sorted(entries(job)) == [("sa-first", CHARGE, TABLE, Decimal("0.300")),
                                    ("sa-second", CHARGE, ANSWER, Decimal("0.300"))]
    assert fresh(job).shortapi_job_id == "sa-second"  # the one followed
    assert fresh(job).cost == Decimal("0.600")


def test_a_job_shortapi_made_after_an_admin_gave_it_up_is_charged_and_followed(make_job,
                                                                               monkeypatch):
    job = make_job()
    job.claim_for_submission()
    job.mark_unknown("No answer.")
    assert job.give_up("An admin gave this job up.")
    assert fresh(job).status == Job.Status.STOPPED and entries(job) == []

    class Client:
        def query(self, job_id):
            return shortapi.JobState(status=shortapi.PROCESSING)

    monkeypatch.setattr(tasks.shortapi, "Client", Client)
    tasks.resolve_unknown(job.pk, "sa-7")  # its callback arrives after all
    job = fresh(job)
    assert (job.status, job.shortapi_job_id) == (Job.Status.PROCESSING, "sa-7")
    assert entries(job) == [("sa-7", CHARGE, TABLE, job.estimate)]


def test_our_own_decisions_write_no_money(make_job):
    never_sent, unknown, overdue = make_job(), make_job(), submitted(make_job)
    unknown.claim_for_submission()
    unknown.mark_unknown("No answer.")
    before = LedgerEntry.objects.count()
    assert never_sent.give_up("stop") and unknown.give_up("stop")
    assert overdue.stop_watching("stop")
    assert LedgerEntry.objects.count() == before
    assert fresh(overdue).cost == Decimal("0.600")


def test_a_refund_and_a_correction_count_in_the_period_of_their_charge(make_job, owner, at):
    from spend.models import DailySpend

    charged_at = timezone.now() - timedelta(days=40)
    with at(charged_at):
        job = submitted(make_job, amount=None)
    tasks.apply_state(fresh(job), shortapi.JobState(status=3, refunded=True,
                                                    amount=Decimal("0.35")))
    later = LedgerEntry.objects.filter(job=job).exclude(kind=CHARGE)
    assert {entry.kind for entry in later} == {CORRECTION, REFUND}
    assert all(entry.counts_at == charged_at for entry in later)
    assert all(entry.created_at > charged_at + timedelta(days=39) for entry in later)
    assert fresh(job).cost == 0
    # and the daily totals put all three on the charge's day
    [day] = DailySpend.objects.filter(user=owner)
    assert day.day == timezone.localdate(charged_at) and day.net == 0


def test_each_jobs_cost_is_what_its_entries_add_up_to_and_is_read_with_the_job(
        make_job, owner, django_assert_num_queries):
    jobs = [submitted(make_job, "0.300") for _ in range(3)]
    jobs[0].mark_failed("gone", refunded=True)
    jobs[1].record_creation("sa-second", Decimal("0.250"))
    with django_assert_num_queries(1):
        costs = sorted(j.cost for j in Job.objects.owned_by(owner))
    assert costs == [Decimal("0"), Decimal("0.300"), Decimal("0.550")]
    for job in Job.objects.all():
        assert job.cost == LedgerEntry.total(LedgerEntry.objects.filter(job=job))


def test_the_daily_totals_follow_every_entry(make_job, owner):
    from spend.models import DailySpend

    job = submitted(make_job, amount=None)
    tasks.apply_state(fresh(job), shortapi.JobState(status=3, refunded=True,
                                                    amount=Decimal("0.35")))
    day = DailySpend.objects.get(user=owner)
    assert (day.charged, day.corrected, day.refunded, day.jobs) == (
        Decimal("0.300"), Decimal("0.050"), Decimal("-0.350"), 1)
    assert day.net == LedgerEntry.total(LedgerEntry.objects.all()) == 0
