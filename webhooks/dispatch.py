"""Queueing due deliveries: run by the jobs' dispatcher on each tick (jobs/dispatch.py's `run`,
which every `qcluster` starts; this app hooks itself in from its `ready`).

A claim is a row lock skipped by other dispatchers plus the delivery's `task_queued_at` mark, as
jobs/dispatch.py claims jobs. Deliveries are free work: their tasks go to the queue of free work
(settings.KLING_FREE_QUEUE), so a slow receiver never holds up a paid ShortAPI task.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from webhooks import delivery
from webhooks.models import Delivery

# Most deliveries queued per tick, so a backlog drains over a few ticks.
BATCH = 100


def dispatch(now=None):
    """Queue one task for each due delivery; the number queued."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = list(Delivery.objects.due(now).order_by("next_attempt_at")
                       .select_for_update(skip_locked=True, of=("self",))
                       .values_list("pk", flat=True)[:BATCH])
        Delivery.objects.filter(pk__in=claimed).update(task_queued_at=now)
    for pk in claimed:
        async_task(delivery.deliver, pk, task_name=f"webhook-{pk}",
                   cluster=settings.KLING_FREE_QUEUE)
    return len(claimed)
