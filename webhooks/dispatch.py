"""Queueing due deliveries: run by the jobs' dispatcher on each tick (jobs/dispatch.py's `run`,
which every `qcluster` starts; this app hooks itself in from its `ready`).

A claim is a row lock skipped by other dispatchers plus the delivery's `task_queued_at` mark, as
jobs/dispatch.py claims jobs. Deliveries are free work: their tasks go to the queue of free work
(settings.KLING_FREE_QUEUE), so a slow receiver never holds up a paid ShortAPI task.
"""

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from webhooks import delivery
from webhooks.models import Delivery

# Most deliveries queued per tick, so a backlog drains over a few ticks.
BATCH = 100
# Old deliveries are forgotten at most once an hour (whichever dispatcher gets there first), at
# most this many at a time.
PRUNE_EVERY = 3600
PRUNE_BATCH = 1000


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


def prune(now=None):
    """Forget deliveries settled more than KLING_WEBHOOK_KEEP_DAYS ago, with their tries; the
    number forgotten. Runs at most once an hour across every dispatcher (the shared cache)."""
    if not cache.add("webhooks-prune", True, PRUNE_EVERY):
        return 0
    now = now or timezone.now()
    before = now - timedelta(days=settings.KLING_WEBHOOK_KEEP_DAYS)
    old = list(Delivery.objects.filter(finished_at__lt=before)
               .values_list("pk", flat=True)[:PRUNE_BATCH])
    Delivery.objects.filter(pk__in=old).delete()
    return len(old)
