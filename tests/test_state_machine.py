"""The Job state machine: which status each method moves a job from, and that nothing else moves.

Every expectation is read back from the database, because the conditional UPDATE is the
behaviour that matters when two workers race.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from jobs.models import Job

S = Job.Status
LATER = timezone.now() + timedelta(minutes=5)

# method name -> (arguments, statuses it may start from, status it ends in)
TRANSITIONS = {
    "submit_draft": ((), {S.DRAFT}, S.QUEUED),
    "wait_for_approval": ((), {S.DRAFT}, S.WAITING),
    "approve": ((), {S.WAITING}, S.QUEUED),
    "decline": ((), {S.WAITING}, S.DRAFT),
    "claim_for_submission": ((), {S.QUEUED}, S.SUBMITTING),
    "mark_submitted": (("sa-job-1", Decimal("0.715")), {S.SUBMITTING, S.UNKNOWN, S.STOPPED},
                       S.SUBMITTED),
    "release_for_retry": (("Network down.", LATER), {S.SUBMITTING}, S.QUEUED),
    "mark_unknown": (("Timed out.",), {S.SUBMITTING}, S.UNKNOWN),
    "mark_processing": ((), {S.SUBMITTED}, S.PROCESSING),
    "mark_succeeded": (("https://cdn.example.com/v.mp4",), {S.SUBMITTED, S.PROCESSING, S.STOPPED},
                       S.SUCCEEDED),
    "mark_failed": (("Kling could not.",), {S.SUBMITTED, S.PROCESSING, S.STOPPED}, S.FAILED),
    "mark_not_sent": (("Refused.",), {S.QUEUED, S.SUBMITTING}, S.FAILED),
    "stop_watching": (("An admin stopped following it.",), {S.SUBMITTED, S.PROCESSING},
                      S.STOPPED),
    "resend": ((), {S.UNKNOWN}, S.QUEUED),
}
# give_up ends where the job was: a job never sent fails, an unknown outcome is no longer followed
GIVE_UP = {S.QUEUED: S.FAILED, S.UNKNOWN: S.STOPPED}
ALLOWED = [(name, start) for name, (_, starts, _) in TRANSITIONS.items() for start in starts]
REFUSED = [(name, start) for name, (_, starts, _) in TRANSITIONS.items()
           for start in S if start not in starts]


def row(job):
    return Job.objects.filter(pk=job.pk).values().get()


def call(job, name):
    arguments = TRANSITIONS[name][0]
    return getattr(job, name)(*arguments)


@pytest.mark.django_db
@pytest.mark.parametrize("name, start", ALLOWED, ids=[f"{n}-from-{s}" for n, s in ALLOWED])
def test_it_moves_a_job_from_every_allowed_status(make_job, name, start):
    job = make_job(status=start)
    assert call(job, name) is True
    assert Job.objects.get(pk=job.pk).status == TRANSITIONS[name][2]
    assert job.status == TRANSITIONS[name][2]


@pytest.mark.django_db
@pytest.mark.parametrize("name, start", REFUSED, ids=[f"{n}-from-{s}" for n, s in REFUSED])
def test_it_refuses_a_move_from_any_other_status_and_leaves_the_row_alone(make_job, name,
                                                                         start):
    job = make_job(status=start)
    before = row(job)
    assert call(job, name) is False
    assert row(job) == before
    assert Job.objects.get(pk=job.pk).status == start


@pytest.mark.django_db
@pytest.mark.parametrize("start", list(S))
def test_an_admin_gives_up_only_a_job_never_sent_or_whose_outcome_is_unknown(make_job, start):
    job = make_job(status=start)
    before = row(job)
    assert job.give_up("An admin gave it up.") is (start in GIVE_UP)
    assert Job.objects.get(pk=job.pk).status == GIVE_UP.get(start, start)
    if start not in GIVE_UP:
        assert row(job) == before


@pytest.mark.django_db
def test_a_stopped_job_whose_id_is_known_cannot_be_given_another(make_job):
    job = make_job(status=S.STOPPED, shortapi_job_id="sa-1", amount=Decimal("0.3"))
    assert job.mark_submitted("sa-2", Decimal("0.3")) is False
    assert Job.objects.get(pk=job.pk).shortapi_job_id == "sa-1"


@pytest.mark.django_db
def test_only_a_reconciliation_turns_a_failed_job_into_a_success(make_job):
    ours = make_job(status=S.FAILED, shortapi_job_id="sa-1", amount=Decimal("0.3"))
    refunded = make_job(status=S.FAILED, shortapi_job_id="sa-2", amount=Decimal("0.3"),
                        refunded=True)
    assert ours.mark_succeeded("https://cdn.example.com/v.mp4") is False
    assert ours.mark_succeeded("https://cdn.example.com/v.mp4", correcting=True) is True
    assert refunded.mark_succeeded("https://cdn.example.com/v.mp4", correcting=True) is False


@pytest.mark.django_db
@pytest.mark.parametrize("end", [S.SUCCEEDED, S.FAILED])
def test_it_never_moves_a_finished_job_again(make_job, end):
    job = make_job(status=S.SUBMITTED, shortapi_job_id="sa-1", amount=Decimal("0.3"))
    if end == S.SUCCEEDED:
        assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    else:
        assert job.mark_failed("Gave up.", refunded=True)
    before = row(job)
    for name in TRANSITIONS:
        assert call(job, name) is False, name
    assert row(job) == before
    assert Job.objects.get(pk=job.pk).is_finished


@pytest.mark.django_db
def test_it_claims_a_job_only_once(make_job):
    job = make_job()
    assert job.claim_for_submission() is True
    assert job.claim_for_submission() is False
    stored = Job.objects.get(pk=job.pk)
    assert stored.status == S.SUBMITTING
    assert stored.submit_attempts == 1
    assert job.submit_attempts == 1


@pytest.mark.django_db
def test_it_counts_every_claim_after_a_release(make_job):
    job = make_job()
    assert job.claim_for_submission()
    assert job.release_for_retry("Network down.", LATER)
    assert job.claim_for_submission()
    assert Job.objects.get(pk=job.pk).submit_attempts == 2


@pytest.mark.django_db
def test_it_lets_only_one_of_two_stale_copies_claim(make_job):
    job = make_job()
    first, second = Job.objects.get(pk=job.pk), Job.objects.get(pk=job.pk)
    assert first.claim_for_submission() is True
    assert second.claim_for_submission() is False
    assert Job.objects.get(pk=job.pk).submit_attempts == 1
    assert second.status == S.SUBMITTING  # the loser sees where the job really is


@pytest.mark.django_db
def test_it_lets_only_one_of_two_stale_copies_record_a_submission(make_job):
    job = make_job(status=S.SUBMITTING)
    first, second = Job.objects.get(pk=job.pk), Job.objects.get(pk=job.pk)
    assert first.mark_submitted("sa-first", Decimal("0.3")) is True
    assert second.mark_submitted("sa-second", Decimal("0.6")) is False
    stored = Job.objects.get(pk=job.pk)
    assert (stored.shortapi_job_id, stored.amount) == ("sa-first", Decimal("0.3"))
    assert second.shortapi_job_id == "sa-first"


@pytest.mark.django_db
def test_it_lets_a_stale_copy_neither_fail_nor_succeed_a_finished_job(make_job):
    job = make_job(status=S.PROCESSING, shortapi_job_id="sa-1", amount=Decimal("0.3"))
    stale = Job.objects.get(pk=job.pk)
    assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    assert stale.mark_failed("Too late.") is False
    assert Job.objects.get(pk=job.pk).status == S.SUCCEEDED


# What each move records


@pytest.mark.django_db
def test_it_records_shortapis_job_id_and_amount_on_submission(make_job):
    job = make_job(status=S.SUBMITTING, error="old", next_attempt_at=LATER)
    assert job.mark_submitted("sa-42", Decimal("0.715"))
    stored = Job.objects.get(pk=job.pk)
    assert stored.shortapi_job_id == "sa-42"
    assert stored.amount == Decimal("0.715")
    assert stored.submitted_at is not None
    assert (stored.error, stored.next_attempt_at) == ("", None)


@pytest.mark.django_db
def test_it_records_why_and_when_on_release(make_job):
    job = make_job(status=S.SUBMITTING)
    assert job.release_for_retry("Network down.", LATER)
    stored = Job.objects.get(pk=job.pk)
    assert (stored.error, stored.next_attempt_at) == ("Network down.", LATER)


@pytest.mark.django_db
def test_it_records_the_reason_for_an_unknown_outcome(make_job):
    job = make_job(status=S.SUBMITTING)
    assert job.mark_unknown("Timed out.")
    assert Job.objects.get(pk=job.pk).error == "Timed out."


@pytest.mark.django_db
def test_it_records_the_video_url_on_success(make_job):
    job = make_job(status=S.PROCESSING, error="transient")
    assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    stored = Job.objects.get(pk=job.pk)
    assert stored.video_url == "https://cdn.example.com/v.mp4"
    assert stored.finished_at is not None
    assert stored.error == ""


@pytest.mark.django_db
def test_it_records_the_reason_and_refund_on_failure(make_job):
    job = make_job(status=S.SUBMITTED)
    assert job.mark_failed("ShortAPI gave up.", refunded=True)
    stored = Job.objects.get(pk=job.pk)
    assert (stored.error, stored.refunded) == ("ShortAPI gave up.", True)
    assert stored.finished_at is not None


@pytest.mark.django_db
def test_it_clears_the_retry_time_on_resend(make_job):
    job = make_job(status=S.UNKNOWN, next_attempt_at=LATER)
    assert job.resend()
    assert Job.objects.get(pk=job.pk).next_attempt_at is None


# Cost


@pytest.mark.django_db
def test_it_costs_the_amount_once_succeeded(make_job):
    job = make_job(status=S.SUBMITTING)
    assert job.mark_submitted("sa-1", Decimal("0.715"))
    assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    assert Job.objects.get(pk=job.pk).cost == Decimal("0.715")


@pytest.mark.django_db
@pytest.mark.parametrize("refunded, cost", [(True, Decimal("0")), (False, Decimal("0.715"))])
def test_a_failed_job_costs_nothing_only_if_shortapi_refunded_it(make_job, refunded, cost):
    job = make_job(status=S.SUBMITTING)
    assert job.mark_submitted("sa-1", Decimal("0.715"))
    assert job.mark_failed("ShortAPI gave up.", refunded=refunded)
    stored = Job.objects.get(pk=job.pk)
    assert stored.cost == cost
    assert stored.charged_though_failed is (not refunded)


@pytest.mark.django_db
def test_it_costs_nothing_before_shortapi_names_an_amount(make_job):
    assert make_job(status=S.SUBMITTING).cost == Decimal("0")


# The documented transitions


def documented_transitions():
    """(from, to) pairs read from the Status docstring's `a -> b, c  why` lines."""
    pairs = set()
    for line in Job.Status.__doc__.splitlines():
        match = re.match(r"\s*(\w+)\s*->\s*(.+)", line)
        if match:
            targets = re.split(r"\s{2,}", match.group(2).strip())[0]
            pairs |= {(match.group(1), target.strip()) for target in targets.split(",")}
    return pairs


def test_it_documents_every_status_in_the_status_docstring():
    for status in S:
        assert re.search(rf"\b{status.value}\b", Job.Status.__doc__), status.value


def test_it_documents_exactly_the_transitions_the_methods_allow():
    allowed = {(str(start), str(end)) for _, starts, end in TRANSITIONS.values()
               for start in starts}
    allowed |= {(str(start), str(end)) for start, end in GIVE_UP.items()}
    assert documented_transitions() == allowed
