"""A job ShortAPI has not finished within the time limit is overdue, not failed: it is still
asked about, less often, its charge counts all along, a late success keeps its video and a late
failure follows ShortAPI's word on the refund. An admin may stop following it; no money moves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs import shortapi, tasks
from jobs.models import Job
from spend import budgets
from tests.test_tasks import MP4, Files

pytestmark = pytest.mark.django_db
S = Job.Status


@pytest.fixture
def overdue(make_job, settings):
    settings.KLING_JOB_TIME_LIMIT_MINUTES = 60
    settings.KLING_POLL_OVERDUE_SECONDS = 600
    job = make_job()
    job.claim_for_submission()
    job.mark_submitted("sa-late", Decimal("0.300"))
    job.mark_processing()
    Job.objects.filter(pk=job.pk).update(submitted_at=timezone.now() - timedelta(minutes=61))
    return Job.objects.get(pk=job.pk)


@pytest.fixture
def shortapi_says(monkeypatch):
    said = []

    class Client:
        def query(self, job_id):
            return said.pop(0)

    monkeypatch.setattr(tasks.shortapi, "Client", Client)
    return said


def test_the_sweep_leaves_an_overdue_job_running_and_its_charge_counting(overdue, owner):
    tasks.sweep()
    job = Job.objects.get(pk=overdue.pk)
    assert job.status == S.PROCESSING and job.is_overdue
    assert job.status_label == "Processing (overdue)"
    assert budgets.standing(owner).spent == Decimal("0.300")
    assert job in budgets.not_final(Job.objects.all())


def test_an_overdue_job_is_asked_about_less_often(overdue, shortapi_says):
    shortapi_says.append(shortapi.JobState(status=shortapi.PROCESSING))
    before = timezone.now()
    tasks.refresh_job(overdue.pk)
    wait = Job.objects.get(pk=overdue.pk).next_poll_at - before
    assert timedelta(seconds=599) <= wait <= timedelta(seconds=601)


def test_a_late_success_keeps_its_video_and_its_charge(overdue, shortapi_says, settings,
                                                       django_capture_on_commit_callbacks,
                                                       enqueued):
    files = Files()
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = ["127.0.0.1"]
    try:
        url = files.serve("/late.mp4", MP4)
        shortapi_says.append(shortapi.JobState(status=shortapi.SUCCEEDED, video_url=url))
        with django_capture_on_commit_callbacks(execute=True):
            tasks.refresh_job(overdue.pk)
        tasks.keep_video(overdue.pk)
    finally:
        files.stop()
    job = Job.objects.get(pk=overdue.pk)
    assert job.status == S.SUCCEEDED and job.video
    assert job.cost == Decimal("0.300")


@pytest.mark.parametrize("refunded, cost", [(True, Decimal("0")), (False, Decimal("0.300"))])
def test_a_late_failure_follows_shortapis_word_on_the_refund(overdue, shortapi_says, refunded,
                                                             cost):
    shortapi_says.append(shortapi.JobState(status=3, refunded=refunded, error="Timed out."))
    tasks.refresh_job(overdue.pk)
    job = Job.objects.get(pk=overdue.pk)
    assert job.status == S.FAILED and job.cost == cost


def test_an_admin_stops_following_only_overdue_jobs_and_no_money_moves(
        client, staff, overdue, make_job, shortapi_says, enqueued):
    recent = make_job()
    recent.claim_for_submission()
    recent.mark_submitted("sa-recent", Decimal("0.300"))
    client.force_login(staff)
    client.post(reverse("admin:jobs_job_changelist"),
                {"action": "stop_watching", "_selected_action": [overdue.pk, recent.pk]})
    job = Job.objects.get(pk=overdue.pk)
    assert job.status == S.STOPPED and job.next_poll_at is None
    assert job.cost == Decimal("0.300")
    assert Job.objects.get(pk=recent.pk).status == S.SUBMITTED

    # ShortAPI finishes it after all and calls back: its word still counts
    client.post(reverse("shortapi-callback", args=[job.callback_token]), {},
                content_type="application/json")
    assert enqueued == [(tasks.refresh_job, (job.pk,))]
    shortapi_says.append(shortapi.JobState(status=3, refunded=True))
    tasks.refresh_job(job.pk)
    assert Job.objects.get(pk=job.pk).cost == 0
