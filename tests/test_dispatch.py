"""The dispatcher: due work is a column on the job, claimed once and queued as one short task."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from jobs import dispatch, tasks
from jobs.models import TASK_LOST_AFTER, Job

pytestmark = pytest.mark.django_db


def queued(enqueued, task):
    return sorted(args[0] for func, args in enqueued if func is task)


def test_it_queues_a_refresh_for_each_unfinished_job_that_is_due(make_job, enqueued):
    now = timezone.now()
    due = make_job(status=Job.Status.SUBMITTED, shortapi_job_id="sa-1",
                   next_poll_at=now - timedelta(seconds=1))
    running = make_job(status=Job.Status.PROCESSING, shortapi_job_id="sa-2",
                       next_poll_at=now)
    make_job(status=Job.Status.PROCESSING, shortapi_job_id="sa-3",
             next_poll_at=now + timedelta(seconds=5))
    make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-4",
             next_poll_at=now - timedelta(minutes=1), video="videos/kept.mp4")

    counts = dispatch.dispatch(now)

    assert queued(enqueued, tasks.refresh_job) == sorted([due.pk, running.pk])
    assert counts == {"refresh": 2, "submit": 0, "video": 0}


def test_a_job_whose_task_waits_is_not_queued_again_until_that_task_is_lost(make_job, enqueued):
    now = timezone.now()
    job = make_job(status=Job.Status.SUBMITTED, shortapi_job_id="sa-1", next_poll_at=now)

    dispatch.dispatch(now)
    dispatch.dispatch(now + timedelta(seconds=30))
    assert queued(enqueued, tasks.refresh_job) == [job.pk]

    dispatch.dispatch(now + TASK_LOST_AFTER + timedelta(seconds=1))
    assert queued(enqueued, tasks.refresh_job) == [job.pk, job.pk]


def test_it_queues_creates_whose_retry_is_due_and_never_a_fresh_one_twice(make_job, enqueued,
                                                                          django_capture_on_commit_callbacks):
    now = timezone.now()
    retry = make_job(next_attempt_at=now - timedelta(seconds=1))
    make_job(next_attempt_at=now + timedelta(minutes=1))
    fresh = make_job()
    with django_capture_on_commit_callbacks(execute=True):
        tasks.enqueue_submission(fresh)  # as the composer does
    assert queued(enqueued, tasks.submit_job) == [fresh.pk]

    dispatch.dispatch(timezone.now())

    assert queued(enqueued, tasks.submit_job) == sorted([fresh.pk, retry.pk])


def test_it_queues_keeping_a_video_that_is_due(make_job, enqueued):
    now = timezone.now()
    due = make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-1", video_url="https://x/1",
                   next_attempt_at=now)
    make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-2", video_url="https://x/2",
             next_attempt_at=now, video_attempts=Job.MAX_VIDEO_ATTEMPTS)
    make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-3", video_url="https://x/3",
             next_attempt_at=now, video="videos/kept.mp4")

    dispatch.dispatch(now)

    assert queued(enqueued, tasks.keep_video) == [due.pk]


def test_a_tick_queues_at_most_one_batch_of_each_kind(make_job, enqueued, monkeypatch):
    monkeypatch.setattr(dispatch, "BATCH", 3)
    now = timezone.now()
    jobs = [make_job(status=Job.Status.SUBMITTED, shortapi_job_id=f"sa-{n}",
                     next_poll_at=now - timedelta(seconds=n)) for n in range(5)]

    dispatch.dispatch(now)
    # the longest overdue first
    assert queued(enqueued, tasks.refresh_job) == sorted(job.pk for job in jobs[2:])
    dispatch.dispatch(now)
    assert len(queued(enqueued, tasks.refresh_job)) == 5


def test_a_submitted_job_is_polled_until_it_finishes(make_job, enqueued, monkeypatch):
    """The whole loop without a worker: dispatch, run the task it queued, dispatch again."""
    from tests.test_tasks import FakeShortAPI
    from jobs import shortapi

    fake = FakeShortAPI()
    monkeypatch.setattr(tasks.shortapi, "Client", fake.Client)
    job = make_job()
    assert job.claim_for_submission() and job.mark_submitted("sa-9", Decimal("0.300"))
    fake.states = [shortapi.JobState(status=0), shortapi.JobState(status=1),
                   shortapi.JobState(status=3, refunded=True)]
    for later in range(1, 10):
        # each time far enough ahead for the next poll to be due
        dispatch.dispatch(timezone.now() + timedelta(minutes=later))
        while enqueued:
            func, args = enqueued.pop(0)
            func(*args)
        if Job.objects.get(pk=job.pk).is_finished:
            break

    job = Job.objects.get(pk=job.pk)
    assert job.status == Job.Status.FAILED and job.polls == 3
    assert fake.queries == ["sa-9"] * 3
