"""Budgets: a submission holds its estimate before anything is sent; one that would go past the
person's budget is refused with what is left and when it resets; holds settle to the real charge
or are released on failure; periods roll over."""

from datetime import datetime, timedelta, timezone as dt_timezone
from decimal import Decimal

import pytest
from django.db import IntegrityError
from django.urls import reverse

from jobs.models import Job
from spend import budgets
from spend.models import Budget, LedgerEntry
from tests.conftest import upload

pytestmark = pytest.mark.django_db
KLING_26 = "kwaivgi/kling-2.6/image-to-video"


def compose(client, prompt="Waves", duration="5"):
    return client.post(reverse("compose"), {
        "model": KLING_26, "mode": "pro", "duration": duration, "prompt": prompt,
        "start_frame": upload()})


def test_without_a_budget_spending_is_unlimited(owner):
    standing = budgets.hold(owner, Decimal("1000"))
    assert standing.budget is None and standing.left is None


def test_a_personal_budget_wins_over_the_default(owner, other):
    Budget.objects.create(user=None, amount=Decimal("5"))
    Budget.objects.create(user=owner, amount=Decimal("2"))
    assert budgets.standing(owner).budget == Decimal("2")
    assert budgets.standing(other).budget == Decimal("5")


def test_there_is_only_one_default_budget_and_one_budget_per_person(owner):
    Budget.objects.create(user=None, amount=Decimal("5"))
    Budget.objects.create(user=owner, amount=Decimal("5"))
    with pytest.raises(IntegrityError):
        Budget.objects.create(user=None, amount=Decimal("9"))


def test_a_submission_past_the_budget_is_refused_and_nothing_is_queued(
        client, owner, enqueued, django_capture_on_commit_callbacks):
    Budget.objects.create(user=owner, amount=Decimal("0.50"))
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        assert compose(client, "First").status_code == 302
        refused = compose(client, "Second, kept as typed")
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "estimated at $0.30, but only $0.20 of your $0.50 monthly budget is left" in text
    assert "It resets on 1 " in text and "Nothing was sent or charged" in text
    assert "Second, kept as typed" in text
    assert Job.objects.count() == 1 and len(enqueued) == 1


def test_a_hold_settles_to_the_real_charge_and_is_released_on_failure(owner, make_job):
    Budget.objects.create(user=owner, amount=Decimal("1"))
    held = make_job(estimate=Decimal("0.300"))
    assert budgets.standing(owner).committed == Decimal("0.300")
    held.claim_for_submission()
    held.mark_submitted("sa-1", Decimal("0.250"))
    standing = budgets.standing(owner)
    assert (standing.spent, standing.held) == (Decimal("0.250"), Decimal("0"))
    held.mark_failed("Kling could not make it.", refunded=True)
    assert budgets.standing(owner).committed == Decimal("0")
    refused_early = make_job(estimate=Decimal("0.300"))
    refused_early.claim_for_submission()
    refused_early.mark_not_sent("ShortAPI refused this job.")
    assert budgets.standing(owner).committed == Decimal("0")


def test_a_job_whose_outcome_is_unknown_keeps_its_hold(owner, make_job):
    job = make_job(estimate=Decimal("0.300"))
    job.claim_for_submission()
    job.mark_unknown("No answer.")
    assert budgets.standing(owner).held == Decimal("0.300")


@pytest.mark.parametrize("period, now, start, end", [
    ("monthly", datetime(2026, 12, 31, 23, 59), datetime(2026, 12, 1), datetime(2027, 1, 1)),
    ("weekly", datetime(2026, 11, 21, 10, 0), datetime(2026, 11, 16), datetime(2026, 11, 23)),
    ("daily", datetime(2026, 11, 21, 10, 0), datetime(2026, 11, 21), datetime(2026, 11, 22)),
])
def test_each_period_starts_and_resets_where_people_expect(settings, period, now, start, end):
    settings.KLING_BUDGET_PERIOD = period
    utc = dt_timezone.utc
    assert budgets.period_bounds(now.replace(tzinfo=utc)) == (start.replace(tzinfo=utc),
                                                             end.replace(tzinfo=utc))


def test_last_periods_spending_does_not_count_after_the_rollover(owner, make_job, at):
    Budget.objects.create(user=owner, amount=Decimal("1"))
    start, _ = budgets.period_bounds()
    job = make_job()
    with at(start - timedelta(seconds=1)):
        job.claim_for_submission()
        job.mark_submitted("sa-1", Decimal("0.900"))
    assert budgets.standing(owner).spent == Decimal("0")
    assert budgets.standing(owner, now=start - timedelta(days=1)).spent == Decimal("0.900")
    this_period = make_job()
    this_period.claim_for_submission()
    this_period.mark_submitted("sa-2", Decimal("0.250"))
    assert budgets.standing(owner).spent == Decimal("0.250")


def test_a_refund_in_the_next_period_cancels_its_charge_there_not_here(client, owner, staff,
                                                                       make_job, at):
    """At the edge of a $1 budget: charged $0.90 last period, refunded this period. This
    period still has $1.00 left, not $1.90, and last period nets to nothing."""
    from jobs import shortapi, tasks

    Budget.objects.create(user=owner, amount=Decimal("1"))
    job = make_job(estimate=Decimal("0.900"))
    start, _ = budgets.period_bounds()
    last_period = start - timedelta(days=3)
    with at(last_period):
        job.claim_for_submission()
        job.mark_submitted("sa-1", Decimal("0.900"))
    assert budgets.standing(owner, now=last_period).spent == Decimal("0.900")

    tasks.apply_state(Job.objects.get(pk=job.pk), shortapi.JobState(status=3, refunded=True))

    now, before = budgets.standing(owner), budgets.standing(owner, now=last_period)
    assert (now.spent, now.left) == (Decimal("0"), Decimal("1"))
    assert before.spent == Decimal("0")
    refund = LedgerEntry.objects.get(job=job, kind=LedgerEntry.Kind.REFUND)
    assert refund.counts_at == last_period and refund.created_at >= start
    # the pages read the same periods
    client.force_login(owner)
    assert "$0.00" in client.get(reverse("my-spend")).content.decode().split(
        'data-role="spent"')[1][:20]
    client.force_login(staff)
    review = client.get(reverse("spend-review"), {
        "first": last_period.date().isoformat(), "last": last_period.date().isoformat()})
    totals = review.context["totals"]
    assert totals["net"] == 0 and totals["refunded"] == Decimal("-0.900")


def test_people_are_warned_past_the_warning_share(client, owner, make_job, settings):
    settings.KLING_BUDGET_WARN_PERCENT = 80
    Budget.objects.create(user=owner, amount=Decimal("1"))
    client.force_login(owner)
    make_job(estimate=Decimal("0.790"))
    assert "You have used" not in client.get(reverse("gallery")).content.decode()
    make_job(estimate=Decimal("0.010"))
    page = client.get(reverse("compose")).content.decode()
    assert "You have used 80% of your budget" in page and "$0.20 is left" in page
