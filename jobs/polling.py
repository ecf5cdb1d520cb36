"""When work on a job is next due: the next question to ShortAPI, the next try of a create that
never reached it, the next try at keeping a video.

Without callbacks a job is asked about after KLING_POLL_FIRST_SECONDS, then a quarter longer
each time, up to every KLING_POLL_MAX_SECONDS. With callbacks ShortAPI says when to look, so the
polls are only a net under a lost callback: every KLING_POLL_MAX_SECONDS from the start. A job
past KLING_JOB_TIME_LIMIT_MINUTES is overdue and asked every KLING_POLL_OVERDUE_SECONDS until
ShortAPI gives a final answer.
"""

import random
from datetime import timedelta

from django.conf import settings

from jobs import reachability

GROWTH = 1.25
VIDEO_RETRY_BASE = 30
VIDEO_RETRY_CAP = 30 * 60


def overdue_after():
    return timedelta(minutes=settings.KLING_JOB_TIME_LIMIT_MINUTES)


def is_overdue(submitted_at, now):
    return submitted_at is not None and now - submitted_at > overdue_after()


def poll_delay(polls, submitted_at, now):
    """How long to wait before asking about a job that has been asked about `polls` times."""
    if is_overdue(submitted_at, now):
        seconds = settings.KLING_POLL_OVERDUE_SECONDS
    elif reachability.delivery().callbacks:
        seconds = settings.KLING_POLL_MAX_SECONDS
    else:
        seconds = min(settings.KLING_POLL_MAX_SECONDS,
                      settings.KLING_POLL_FIRST_SECONDS * GROWTH ** polls)
    return timedelta(seconds=seconds)


def retry_delay(attempt, retry_after=None):
    """Exponential backoff with full jitter, never sooner than ShortAPI's Retry-After."""
    delay = random.uniform(0, min(600, 5 * 2 ** attempt))
    return timedelta(seconds=max(delay, retry_after or 0))


def video_retry_delay(attempt):
    """The next try at keeping a video: 30 s, 1 min, 2 min... up to 30 minutes."""
    return timedelta(seconds=min(VIDEO_RETRY_CAP, VIDEO_RETRY_BASE * 2 ** max(attempt - 1, 0)))
