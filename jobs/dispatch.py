"""The dispatcher: work due later is a column on the job (`next_poll_at`, `next_attempt_at`);
this claims what is due and queues one short task for each, so no task sleeps while it waits.

A claim is a row lock skipped by other dispatchers (`select_for_update(skip_locked=True)`; on
SQLite the IMMEDIATE transaction serialises them) plus the job's `task_queued_at` mark, which
also keeps callbacks from queueing a second task while one waits. Any number of dispatchers may
run: each `qcluster` runs one (jobs/management/commands/qcluster.py). Apps above jobs with
due work of their own (webhooks' deliveries) add their dispatch to `ALSO` from their `ready`, so
the one loop queues it too without jobs importing them.
"""

import logging
import threading

from django.db import close_old_connections, transaction
from django.utils import timezone
from django_q.tasks import async_task

from jobs import outage, tasks
from jobs.models import Job

log = logging.getLogger(__name__)

# Most tasks of one kind queued per tick, so a backlog drains over a few ticks, never all at once.
BATCH = 100
# more dispatchers run on each tick: functions of `now`, added with `also`
ALSO = []


def also(dispatcher):
    """Run `dispatcher(now)` on every tick too (once, however often it is added)."""
    if dispatcher not in ALSO:
        ALSO.append(dispatcher)


def dispatch(now=None):
    """Queue the tasks that are due now. Returns how many of each kind were queued.

    While ShortAPI is out (jobs/outage.py) nothing that calls it is queued, and once its pause
    is over only one probe; videos, fetched from elsewhere, are kept as usual."""
    now = now or timezone.now()
    S = Job.Status
    down = outage.current()
    calls = BATCH if down is None else 0 if down.paused(now) or down.probing(now) else 1
    queued = {}
    for kind, jobs, order, task in (
            ("refresh", Job.objects.filter(status__in=S.watched(), next_poll_at__lte=now),
             "next_poll_at", tasks.refresh_job),
            ("submit", Job.objects.filter(status=S.QUEUED, next_attempt_at__lte=now),
             "next_attempt_at", tasks.submit_job)):
        queued[kind] = _claim_and_queue(jobs, order, task, kind, now, min(calls, BATCH))
        if down is not None:
            calls -= queued[kind]
    if down is not None and queued["refresh"] + queued["submit"]:
        outage.probe_sent()
    queued["video"] = _claim_and_queue(
        Job.objects.filter(status=S.SUCCEEDED, video="", next_attempt_at__lte=now,
                           video_attempts__lt=Job.MAX_VIDEO_ATTEMPTS),
        "next_attempt_at", tasks.keep_video, "video", now, BATCH)
    return queued


def _claim_and_queue(jobs, order, task, kind, now, limit):
    if limit <= 0:
        return 0
    with transaction.atomic():
        claimed = list(jobs.without_waiting_task(now).order_by(order)
                       .select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        Job.objects.filter(pk__in=claimed).mark_task_queued(now)
    for pk in claimed:
        async_task(task, pk, task_name=f"{kind}-{pk}")
    return len(claimed)


def run(stop: threading.Event, interval):
    """Dispatch every `interval` seconds until `stop` is set."""
    while not stop.is_set():
        for each in (dispatch, *ALSO):
            try:
                each(timezone.now())
            except Exception:
                # a broken tick (database restarting, broker away) must not end the loop, nor
                # one kind of work keep the others waiting
                log.exception("The dispatcher could not queue due work; trying again shortly")
        close_old_connections()
        stop.wait(interval)
