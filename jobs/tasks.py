"""The django-q2 tasks that move jobs along: submit, refresh, resolve, keep the video, sweep.

Tasks take job ids, never model instances, act only through the Job state machine, and never
sleep: work that is due later is a column the dispatcher (`jobs.dispatch`) claims. So a task that
runs twice (a redelivery, a duplicate callback, a dispatcher and a callback at once) does no
harm: the conditional update lets one of them win and the others return.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from jobs import (catalogue, images, outage, polling, reachability, recipes, shortapi, staging,
                  videofacts)
from jobs.models import Job
from jobs.signals import announce, video_settled
from lib import downloads

log = logging.getLogger(__name__)

MAX_SUBMIT_ATTEMPTS = 5
# A live worker's create call ends within the task timeout (django-q2 kills it then), so a job
# still "submitting" after that was left by a worker that died.
STUCK_SUBMITTING = timedelta(seconds=settings.Q_CLUSTER["timeout"] + 30)
# Most jobs any one pass of the sweep touches, so a backlog never makes one tick long.
BATCH = 200


def enqueue_submission(job):
    """Mark the job due and its task queued, and queue the task once the row that records it is
    committed, never before. If that task is lost, the dispatcher sends it when the mark goes
    stale."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk).mark_task_queued(now, next_attempt_at=now)
    transaction.on_commit(lambda: async_task(submit_job, job.pk, task_name=f"submit-{job.pk}"))


def submit_job(job_id):
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    job.take_task()
    # during a ShortAPI outage the job stays queued and due: no try is used up
    if outage.paused() or not job.claim_for_submission():
        return
    try:
        args = catalogue.build_args(job_spec(job))
    except OSError:
        job.mark_not_sent("The uploaded frames could not be read from storage. Upload them "
                          "again in a new job.")
        return
    try:
        created = shortapi.Client().create(job.model_id, args, callback_url=callback_url(job))
    except shortapi.ShortAPIError as error:
        _handle_refused_create(job, error)
        return
    if not job.mark_submitted(created.job_id, created.amount):
        # A callback confirmed the job first, or the sweep took it for a dead worker's while the
        # create call was in flight. Either way ShortAPI made a paid job: keep its charge.
        job.record_creation(created.job_id, created.amount)


def _handle_refused_create(job, error):
    if error.maybe_accepted:
        job.mark_unknown(f"{error.message} ShortAPI may or may not have started this job, so it "
                         "was not sent again. An admin can check and resolve it.")
    elif error.permanent:
        job.mark_not_sent(f"ShortAPI refused this job: {error.message} Nothing was charged.")
    elif job.submit_attempts >= MAX_SUBMIT_ATTEMPTS:
        job.mark_not_sent(f"{error.message} Gave up after {job.submit_attempts} tries; nothing "
                          "was charged. Try again later.")
    else:
        job.release_for_retry(f"{error.message} Trying again shortly.",
                              timezone.now() + polling.retry_delay(job.submit_attempts,
                                                                   error.retry_after))


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
        multi_shot=job.multi_shot,
        shot_type=job.shot_type,
        shots=tuple(catalogue.Shot(shot.prompt, shot.duration) for shot in job.shots.all()),
        elements=tuple(
            catalogue.Element(images.wire_reference(element.frontal_image),
                              tuple(images.wire_reference(reference.image)
                                    for reference in element.references.all()))
            for element in job.elements.prefetch_related("references")),
    )


def callback_url(job):
    """Where ShortAPI should call back about this job, or None when no callback can arrive."""
    if not reachability.delivery().callbacks:
        return None
    return settings.PUBLIC_BASE_URL + reverse("shortapi-callback", args=[job.callback_token])


def refresh_job(job_id):
    """Ask ShortAPI where a job is and move it there. Returns the job as it now stands."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return None
    job.take_task()
    if job.status not in Job.Status.reported_by_shortapi() or not job.shortapi_job_id:
        return job
    if outage.paused():
        return job  # still due: asked once ShortAPI answers again
    try:
        state = shortapi.Client().query(job.shortapi_job_id)
    except shortapi.ShortAPIError as error:
        log.warning("Could not query job %s: %s", job.pk, error.message)
        job.schedule_poll(timezone.now())
        return job
    apply_state(job, state)
    job.schedule_poll(timezone.now())
    return job


def apply_state(job, state, correcting=False):
    """Move the job to where ShortAPI says it is. `correcting`: a reconciliation found that we
    had failed a job ShortAPI went on to finish."""
    if state.amount is not None:
        job.learn_amount(state.amount)
    if state.succeeded:
        if not state.video_url:
            log.warning("Job %s succeeded without a video URL; will ask again", job.pk)
        elif job.mark_succeeded(state.video_url, correcting=correcting):
            queue_video(job)
    elif state.finished:
        reason = state.error or "Kling could not make this video."
        if state.refunded:
            reason += " ShortAPI refunded it, so it costs nothing."
        else:
            reason += " ShortAPI did not refund it, so its charge stands."
        job.mark_failed(reason, refunded=state.refunded)
    elif state.status == shortapi.PROCESSING:
        job.mark_processing()


def queue_video(job):
    """Queue keeping the video now, unless a task for the job already waits."""
    if Job.queue_task_once(job.pk, timezone.now()):
        transaction.on_commit(lambda: async_task(keep_video, job.pk,
                                                 task_name=f"video-{job.pk}"))


def keep_video(job_id):
    """Stream the result into storage, since ShortAPI's URLs expire, with the job's recipe
    written into it (`jobs.recipes`). Each try is counted as it starts, so a download that never
    ends still uses up a try."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    job.take_task()
    if not job.start_video_attempt(timezone.now()):
        return
    read = []

    def amend(path):
        # the recipe goes in on the way, so every kept video can be traced and remixed; its
        # facts are read while the file is here, so no request has to fetch it for them
        recipes.carry(job, path)
        read.append(videofacts.read(path))

    try:
        stored = downloads.keep(job.video_url, job.video.field.generate_filename(job, "video.mp4"),
                                amend=amend)
    except downloads.DownloadError as error:
        job.note_video_error(f"The video could not be saved here yet: {error.message}.",
                             give_up=error.permanent)
        log.warning("Could not keep the video of job %s: %s", job.pk, error.message)
        if job.next_attempt_at is None:  # no try is left
            announce(video_settled, Job, pk=job.pk, kept=False)
        return
    job.store_video(stored, read[0] if read else None)
    announce(video_settled, Job, pk=job.pk, kept=True)


def resolve_unknown(job_id, hinted_job_id):
    """A callback reached a job whose create answer was lost: confirm ShortAPI's id by a query."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        return
    job.take_task()
    if not job.awaits_its_id:
        return
    try:
        confirm_shortapi_job(job, hinted_job_id)
    except shortapi.ShortAPIError as error:
        log.warning("Could not confirm ShortAPI job %s for job %s: %s", hinted_job_id, job.pk,
                    error.message)


def confirm_shortapi_job(job, shortapi_job_id):
    """ShortAPI says it has `shortapi_job_id` (raises ShortAPIError if not): the job is that one.
    Its create answer, with the real amount, never arrived, so it is charged from the table
    until the real amount is learned."""
    state = shortapi.Client().query(shortapi_job_id)
    if job.mark_submitted(shortapi_job_id):
        apply_state(job, state)
    else:
        job.record_creation(shortapi_job_id, None)


def sweep():
    """Every minute: move on jobs a dead worker left in "sending" and delete staged uploads
    nobody can use any more. Due work is the dispatcher's; a job past its time limit is only
    asked about less often (jobs/polling.py), never given up: ShortAPI may still finish it."""
    now = timezone.now()
    for job in Job.objects.filter(status=Job.Status.SUBMITTING,
                                  updated_at__lte=now - STUCK_SUBMITTING)[:BATCH]:
        job.mark_unknown("The worker stopped while sending this job, so whether ShortAPI started "
                         "it is unknown. An admin can check and resolve it.")
    staging.discard_expired(now)
