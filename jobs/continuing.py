"""Continuing a shot: the last frame of a finished job's kept video, made the start frame of the
next job.

The frame is taken on the server (`jobs.lastframe`, PyAV) from the video as kept here, never
from ShortAPI's copy, and goes through exactly the check an upload gets (`uploads.check_upload`)
before it is staged for the person, so the composer treats it as a frame they uploaded: a video
too small or too narrow for Kling is refused here, in words, not later by ShortAPI.
"""

import io

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs import catalogue, media, staging, uploads
from jobs.lastframe import LastFrameError, last_frame
from jobs.models import Job

NOT_KEPT = ("This video is not saved in Kling Studio yet, so its last frame cannot be taken. "
            "Try again once it is saved here (this page says so when it is).")
MISSING = ("The saved copy of this video cannot be found, so its last frame cannot be taken. "
           "Ask an admin to check the storage.")


class CannotContinue(Exception):
    """Why a job's last frame cannot start a new one, in words the person can act on."""


def can_continue(job):
    return job.status == Job.Status.SUCCEEDED and bool(job.video)


def start_frame_after(job, user):
    """A staging token, for `user`, of the last frame of `job`'s kept video. Raises
    CannotContinue."""
    if not can_continue(job):
        raise CannotContinue(NOT_KEPT)
    if not default_storage.exists(job.video.name):
        raise CannotContinue(MISSING)
    try:
        with media.local_path(job.video.name) as path:
            image = last_frame(path)
    except LastFrameError as error:
        raise CannotContinue(f"The last frame of this video could not be taken, so it cannot "
                             f"be continued. {error}") from None
    except OSError:
        raise CannotContinue(MISSING) from None
    try:
        checked = uploads.check_upload(SimpleUploadedFile("last-frame.png", _encoded(image)))
    except ValidationError as error:
        raise CannotContinue("The last frame of this video cannot start a new one: "
                             + " ".join(error.messages)) from None
    return staging.stage(staging.Picked(checked), user, job)


def _encoded(image):
    """The frame as PNG, lossless; as a fine JPEG if PNG would be more than Kling takes."""
    out = io.BytesIO()
    image.save(out, format="PNG")
    if out.tell() > catalogue.MAX_IMAGE_BYTES:
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=uploads.JPEG_QUALITY)
    return out.getvalue()
