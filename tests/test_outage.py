"""A ten-minute ShortAPI outage with 500 unfinished jobs: the dispatcher holds off and probes,
so the queue sees a handful of tasks instead of one per job per poll; when ShortAPI answers again
every job is asked about within a minute; the sweep stays small and still cleans staged uploads.

The real ShortAPI client runs against a port nobody listens on (then the simulator), tasks run as
soon as they are queued, and the clock is moved a second at a time."""

import os
import socket
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs import dispatch, outage, staging, tasks, uploads
from jobs.models import Job
from simulator.server import start_in_thread
from tests.conftest import upload

pytestmark = pytest.mark.django_db
JOBS = 500


@pytest.fixture
def clock(monkeypatch):
    """The time every module reads, moved by the test."""
    now = [timezone.now()]
    monkeypatch.setattr(timezone, "now", lambda: now[0])
    return now


@pytest.fixture
def queue(monkeypatch):
    """Every task queued, run at once as a worker would, and counted."""
    ran = []

    def run(func, *args, **kwargs):
        ran.append(func.__name__)
        func(*args)

    for where in ("jobs.tasks.async_task", "jobs.dispatch.async_task"):
        monkeypatch.setattr(where, run)
    return ran


@pytest.fixture
def unreachable(settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings.SHORTAPI_BASE_URL = f"http://127.0.0.1:{port}"
    settings.SHORTAPI_TIMEOUT = 2


def unfinished_jobs(owner, count):
    now = timezone.now()
    Job.objects.bulk_create(
        Job(owner=owner, model_id="kwaivgi/kling-2.6/image-to-video", mode="pro", duration=5,
            prompt=f"job {n}", estimate=Decimal("0.300"), status=Job.Status.PROCESSING,
            shortapi_job_id=f"sa-{n}", submitted_at=now, next_poll_at=now)
        for n in range(count))


def test_an_outage_costs_a_handful_of_tasks_and_recovery_reaches_every_job_within_a_minute(
        owner, clock, queue, unreachable, settings, tmp_path):
    unfinished_jobs(owner, JOBS)
    token = staging.stage(staging.Picked(uploads.check_upload(upload())), owner)
    staged = default_storage.path(staging.staged_name(token, owner))
    os.utime(staged, (time.time() - 2 * staging.MAX_AGE,) * 2)

    for second in range(600):
        clock[0] += timedelta(seconds=1)
        dispatch.dispatch()
        if second % 60 == 0:
            tasks.sweep()

    during = len(queue)
    assert queue.count("refresh_job") == during  # nothing else called ShortAPI
    assert during <= dispatch.BATCH + 20, during  # one batch before it knew, then probes
    assert outage.current() is not None and outage.current().failures >= 5
    assert not os.path.exists(staged)  # the sweep went on cleaning
    assert Job.objects.filter(status=Job.Status.PROCESSING).count() == JOBS

    # ShortAPI is back: the next probe ends the outage and every job is asked about
    with start_in_thread(key=settings.SHORTAPI_KEY, media_dir=tmp_path / "sim") as simulator:
        settings.SHORTAPI_BASE_URL = simulator.url
        back = clock[0]
        while Job.objects.filter(last_polled_at__lt=back).exists() or \
                Job.objects.filter(last_polled_at=None).exists():
            clock[0] += timedelta(seconds=1)
            assert clock[0] - back <= timedelta(minutes=1), "not every job was asked within a minute"
            dispatch.dispatch()
    assert outage.current() is None
    print(f"\noutage: {during} tasks queued in ten minutes for {JOBS} unfinished jobs; "
          f"every job asked again {(clock[0] - back).seconds} s after ShortAPI answered")


def test_a_create_during_an_outage_waits_without_using_up_a_try(make_job, clock, queue,
                                                                unreachable):
    job = make_job()
    tasks.enqueue_submission(job)  # the composer's queueing; its task runs as queued below
    tasks.submit_job(job.pk)  # the first try finds ShortAPI out
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.submit_attempts == 1
    assert outage.paused()
    Job.objects.filter(pk=job.pk).update(next_attempt_at=timezone.now())
    tasks.submit_job(job.pk)  # during the pause: not even tried
    job.refresh_from_db()
    assert job.status == Job.Status.QUEUED and job.submit_attempts == 1
