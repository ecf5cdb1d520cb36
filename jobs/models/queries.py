"""How jobs are looked up: a person's, their team's, the unfinished, and the two lookups the
hot paths make (a callback's token, a task that may be queued). `Job.objects` is this queryset."""

from datetime import timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import connections, models
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

# A queued task that has not started after this long was lost (a killed worker on Redis): the
# broker redelivers unacknowledged tasks after `retry`, and a task runs for at most `timeout`.
TASK_LOST_AFTER = timedelta(seconds=settings.Q_CLUSTER["retry"] + settings.Q_CLUSTER["timeout"])


CALLBACK_LOOKUP = ("SELECT id, status, shortapi_job_id, task_queued_at, callback_token "
                   "FROM jobs_job WHERE callback_token = %s")


class JobQuerySet(models.QuerySet):
    def owned_by(self, user):
        return self.filter(owner=user)

    def unfinished(self):
        return self.filter(status__in=self.model.Status.watched())

    def drafts(self):
        return self.filter(status=self.model.Status.DRAFT)

    def visible_to(self, user):
        """The jobs a person may see, play and remix: their own, and their teammates' sent jobs
        in their teams' projects."""
        from teams.models import Team
        shared = Q(project__team__in=Team.objects.filter(members=user).values("pk"))
        return self.filter(Q(owner=user) | (shared & ~Q(status=self.model.Status.DRAFT)))

    def sent(self):
        """Every job but drafts: what the gallery shows."""
        return self.exclude(status=self.model.Status.DRAFT)

    def callback_target(self, token):
        """(pk, status, shortapi_job_id, task_queued_at, callback_token) of the job a callback
        token names, or None: the callback endpoint's one indexed lookup, in plain SQL since it
        is the hottest path there is (a storm of duplicate callbacks)."""
        with connections[self.db].cursor() as cursor:
            cursor.execute(CALLBACK_LOOKUP, [token])
            row = cursor.fetchone()
        if row is None:
            return None
        queued = parse_datetime(row[3]) if isinstance(row[3], str) else row[3]
        if queued is not None and timezone.is_naive(queued):  # SQLite keeps UTC, unmarked
            queued = timezone.make_aware(queued, dt_timezone.utc)
        return row[0], row[1], row[2], queued, row[4]

    def without_waiting_task(self, now):
        """Jobs with no task of theirs waiting in the queue (or one waiting so long that the
        broker must have lost it): `task_waits` in SQL."""
        return self.filter(Q(task_queued_at=None) | Q(task_queued_at__lt=now - TASK_LOST_AFTER))

    def mark_task_queued(self, now, **changes):
        """Mark that a task for each of these jobs is queued as of `now` (the caller queues it).
        The number of jobs marked."""
        return self.update(task_queued_at=now, **changes)
