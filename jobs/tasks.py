"""The django-q2 tasks that move jobs along: submit, watch, refresh, keep the video, sweep.

Tasks take job ids, never model instances, and act only through the Job state machine, so a task
that runs twice (a redelivery, a duplicate callback, the sweep and a watcher at once) does no harm:
the conditional update lets one of them win and the others return.
"""

import logging
import random
import time
from datetime import timedelta

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from jobs import catalogue, images, shortapi
from jobs.models import Job

log = logging.getLogger(__name__)

MAX_SUBMIT_ATTEMPTS = 5
WATCH_PAUSE_CAP = 15
STUCK_SUBMITTING = timedelta(seconds=settings.Q_CLUSTER["timeout"] * 2)


def enqueue_submission(job):
    """Send the job once the row that records it is committed, never before."""
    transaction.on_commit(lambda: async_task(submit_job, job.pk, task_name=f"submit-{job.pk}"))


def submit_job(job_id):
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not job.claim_for_submission():
        return
    try:
        args = catalogue.build_args(job_spec(job))
    except OSError:
        job.mark_failed("The uploaded frames could not be read from storage. Upload them again "
                        "in a new job.")
        return
    callback = callback_url(job)
    try:
        created = shortapi.Client().create(job.model_id, args, callback_url=callback)
    except shortapi.ShortAPIError as error:
        _handle_refused_create(job, error)
        return
    if not job.mark_submitted(created.job_id, created.amount):
        # Someone (an admin) moved the job while the create call was in flight. ShortAPI made a
        # paid job all the same: keep its id and charge so it is never lost.
        Job.objects.filter(pk=job.pk).update(shortapi_job_id=created.job_id, amount=created.amount)
        log.error("Job %s was created at ShortAPI as %s after it had moved to %s", job.pk,
                  created.job_id, job.status)
        return
    if not callback:
        async_task(watch_job, job.pk, 0, task_name=f"watch-{job.pk}-0")


def _handle_refused_create(job, error):
    if error.maybe_accepted:
        job.mark_unknown(f"{error.message} ShortAPI may or may not have started this job, so it "
                         "was not sent again. An admin can check and resolve it.")
    elif error.permanent:
        job.mark_failed(f"ShortAPI refused this job: {error.message} Nothing was charged.")
    elif job.submit_attempts >= MAX_SUBMIT_ATTEMPTS:
        job.mark_failed(f"{error.message} Gave up after {job.submit_attempts} tries; nothing was "
                        "charged. Try again later.")
    else:
        job.release_for_retry(f"{error.message} Trying again shortly.",
                              timezone.now() + retry_delay(job.submit_attempts, error.retry_after))


def retry_delay(attempt, retry_after=None):
    """Exponential backoff with full jitter, never sooner than ShortAPI's Retry-After."""
    delay = random.uniform(0, min(600, 5 * 2 ** attempt))
    return timedelta(seconds=max(delay, retry_after or 0))


def job_spec(job):
    return catalogue.JobSpec(
        model_id=job.model_id,
        mode=job.mode,
        duration=job.duration,
        prompt=job.prompt,
        negative_prompt=job.negative_prompt,
        generate_audio=job.generate_audio,
        image=images.wire_reference(job.start_frame),
        image_tail=images.wire_reference(job.end_frame) if job.end_frame else "",
    )


def callback_url(job):
    if not settings.PUBLIC_BASE_URL:
        return None
    return settings.PUBLIC_BASE_URL + reverse("shortapi-callback", args=[job.callback_token])


def watch_job(job_id, round_number):
    """Poll closely a job no callback will announce, then leave it to the sweep."""
    time.sleep(min(2 ** round_number, WATCH_PAUSE_CAP))
    job = refresh_job(job_id)
    if job is None or job.is_finished or job.submitted_at is None:
        return
    watched_for = (timezone.now() - job.submitted_at).total_seconds()
    if watched_for < settings.KLING_FAST_POLL_SECONDS:
        async_task(watch_job, job_id, round_number + 1,
                   task_name=f"watch-{job_id}-{round_number + 1}")


def refresh_job(job_id):
    """Ask ShortAPI where a job is and move it there. Returns the job as it now stands."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or job.status not in Job.Status.watched():
        return job
    try:
        state = shortapi.Client().query(job.shortapi_job_id)
    except shortapi.ShortAPIError as error:
        log.warning("Could not query job %s: %s", job.pk, error.message)
        return job
    job.note_polled()
    apply_state(job, state)
    return job


def apply_state(job, state):
    if state.succeeded:
        if not state.video_url:
            log.warning("Job %s succeeded without a video URL; will ask again", job.pk)
        elif job.mark_succeeded(state.video_url):
            keep_video(job)
    elif state.finished:
        reason = state.error or "Kling could not make this video."
        job.mark_failed(f"{reason} You were not charged for it.", refunded=state.refunded)
    elif state.status == shortapi.PROCESSING:
        job.mark_processing()


def keep_video(job):
    """Download the result into media storage, since ShortAPI's URLs expire."""
    try:
        content = download(job.video_url, settings.KLING_VIDEO_MAX_BYTES)
    except DownloadError as error:
        job.note_video_error(f"The video could not be saved yet: {error}")
        log.warning("Could not keep the video of job %s: %s", job.pk, error)
        return
    job.store_video("video.mp4", ContentFile(content))


class DownloadError(Exception):
    pass


def download(url, max_bytes, deadline_seconds=120):
    started = time.monotonic()
    try:
        with requests.get(url, stream=True, timeout=(10, 30)) as response:
            if response.status_code != 200:
                raise DownloadError(f"the server answered HTTP {response.status_code}")
            chunks, size = [], 0
            for chunk in response.iter_content(64 * 1024):
                size += len(chunk)
                if size > max_bytes:
                    raise DownloadError(f"the file is larger than {max_bytes} bytes")
                if time.monotonic() - started > deadline_seconds:
                    raise DownloadError("the download took too long")
                chunks.append(chunk)
    except requests.RequestException as error:
        raise DownloadError(f"the download failed ({type(error).__name__})") from None
    content = b"".join(chunks)
    if content[4:8] != b"ftyp":
        raise DownloadError("the file is not an MP4 video")
    return content


def sweep():
    """Every minute: resend what is due, poll what is unfinished, keep missing videos."""
    now = timezone.now()
    due = Q(next_attempt_at__lte=now) | Q(next_attempt_at=None,
                                          created_at__lte=now - timedelta(minutes=2))
    for job_id in Job.objects.filter(due, status=Job.Status.QUEUED).values_list("pk", flat=True):
        async_task(submit_job, job_id, task_name=f"submit-{job_id}")
    for job in Job.objects.filter(status=Job.Status.SUBMITTING,
                                  updated_at__lte=now - STUCK_SUBMITTING):
        job.mark_unknown("The worker stopped while sending this job, so whether ShortAPI started "
                         "it is unknown. An admin can check and resolve it.")
    stale = now - timedelta(seconds=30)
    for job_id in Job.objects.unfinished().exclude(last_polled_at__gt=stale).values_list(
            "pk", flat=True)[:200]:
        async_task(refresh_job, job_id, task_name=f"refresh-{job_id}")
    for job in Job.objects.filter(status=Job.Status.SUCCEEDED, video="",
                                  finished_at__gte=now - timedelta(days=1)).exclude(video_url=""):
        keep_video(job)
