"""Continuing a shot: the last frame of a finished job's kept video, made the start frame of the
next job.

The frame is taken on the server (`jobs.videofacts`, PyAV) from the video as kept here, never
from ShortAPI's copy, once, by the worker that kept it, and goes through exactly the check an
upload gets (`uploads.check_upload`), so the composer treats it as a frame they uploaded: a video
too small or too narrow for Kling is refused here, in words, not later by ShortAPI. Continuing
writes nothing: the person gets a token for the job's own last frame.
"""

from django.core.files.storage import default_storage

from jobs import staging, videofacts
from jobs.models import Job

NOT_KEPT = ("This video is not saved in Kling Studio yet, so its last frame cannot be taken. "
            "Try again once it is saved here (this page says so when it is).")
MISSING = ("The saved copy of this video cannot be found, so its last frame cannot be taken. "
           "Ask an admin to check the storage.")
PREPARING = ("The last frame of this video is being taken from the saved copy. Try Continue again "
             "in a minute.")


class CannotContinue(Exception):
    """Why a job's last frame cannot start a new one, in words the person can act on."""


def can_continue(job):
    return job.status == Job.Status.SUCCEEDED and bool(job.video)


def start_frame_after(job, user):
    """A staging token, for `user`, of the last frame of `job`'s kept video (read once, by the
    worker that kept it: `jobs.videofacts`). Raises CannotContinue."""
    if not can_continue(job):
        raise CannotContinue(NOT_KEPT)
    if not job.described:
        if not default_storage.exists(job.video.name):
            raise CannotContinue(MISSING)
        if not videofacts.describe_here(job):
            raise CannotContinue(PREPARING)
    if not job.last_frame:
        raise CannotContinue(job.last_frame_problem or MISSING)
    return staging.token_for(job.last_frame.name, user, job)
