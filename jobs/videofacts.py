"""What is read from a kept video, once, by a worker: its frame rate and length (a take's trim
is checked against them) and its last frame (the start frame of a shot that continues it).

The worker that keeps a video reads them from the file it just downloaded. A video kept before
that, or one whose facts are missing, is described by a task on the queue of free work, since in
a bucket that means fetching the whole file; on this machine's disk a request may read them
itself, as that reads the header and the last second only.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.tasks import async_task

from jobs import catalogue, uploads
from lib import media
from lib.lastframe import LastFrameError, last_frame
from jobs.models import Job
from lib import video

log = logging.getLogger(__name__)

QUEUE_AGAIN_AFTER = 300  # seconds


@dataclass(frozen=True)
class Facts:
    fps: float | None = None
    seconds: Decimal | None = None
    last_frame: uploads.CheckedImage | None = None
    # why the last frame cannot start a new job, in words ("" when it can)
    problem: str = ""


def read(path) -> Facts:
    """The facts of the video at `path`, as far as they can be read."""
    try:
        fps, seconds = video.measure(path)
    except video.UnreadableVideo as error:
        log.warning("Could not measure the video at %s: %s", path, error)
        fps = seconds = None
    try:
        frame = last_frame(path)
    except LastFrameError as error:
        return Facts(fps, seconds, None, "The last frame of this video could not be taken, so "
                                         f"it cannot be continued. {error}")
    try:
        checked = uploads.check_upload(SimpleUploadedFile("last-frame.png", _encoded(frame)))
    except ValidationError as error:
        return Facts(fps, seconds, None, "The last frame of this video cannot start a new one: "
                                         + " ".join(error.messages))
    return Facts(fps, seconds, checked)


def describe_here(job) -> bool:
    """Read and keep the facts of `job`'s kept video in this request when it is on this
    machine's disk (True); else queue that for a worker (False)."""
    path = media.local_file(job.video.name)
    if path is None:
        # once in a while, however often pages ask: the task does it once anyway
        if cache.add(f"describe:{job.pk}", True, QUEUE_AGAIN_AFTER):
            async_task(describe, job.pk, task_name=f"describe-{job.pk}",
                       cluster=settings.KLING_FREE_QUEUE)
        return False
    job.store_facts(read(path))
    return True


def describe(job_id):
    """Task: read and keep the facts of a job's kept video (fetched from a bucket if need be)."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not job.video or job.described:
        return
    with media.local_path(job.video.name) as path:
        job.store_facts(read(path))


def _encoded(image):
    """The frame as PNG, lossless; as a fine JPEG if PNG would be more than Kling takes."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    if out.tell() > catalogue.MAX_IMAGE_BYTES:
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=uploads.JPEG_QUALITY)
    return out.getvalue()
