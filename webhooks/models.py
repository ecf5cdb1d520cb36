"""Webhook endpoints, the deliveries made to them and every try of each.

An endpoint belongs to one person or to one team (its approvers and staff manage it). A delivery
is one event for one endpoint: its body and `webhook-id` are fixed when it is made, so every try
sends the same message and a receiver can drop a repeat. Work due later is a column
(`next_attempt_at`), claimed by the dispatcher (webhooks/dispatch.py) with a queued mark, as the
jobs' dispatcher does.

A try is counted as it starts and `next_attempt_at` is moved past its deadline, so a worker that
dies mid-try leaves a delivery that falls due again; once the try ends, `next_attempt_at` is the
next step of the retry schedule, or nothing when it was delivered or out of tries.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from lib import standard_webhooks

EVENTS = {
    "job.finished": "A video finished",
    "job.failed": "A video failed",
    "approval.needed": "A video waits for approval",
    "approval.decided": "An approver released or declined a video",
    "export.ready": "A sequence export is ready",
}
TEST_EVENT = "webhook.test"
URL_LENGTH = 1000
# how much of a receiver's answer a try reads, and how much of that it keeps to show
ANSWER_READ = 64 * 1024
ANSWER_KEPT = 1024
# a task queued for a delivery that has not started after this long was lost by the broker
QUEUED_LOST_AFTER = timedelta(minutes=15)


def schedule():
    """Seconds to wait after each failed try; a delivery has one try more than this has steps."""
    return settings.KLING_WEBHOOK_RETRY_SECONDS


def in_flight():
    """How long a try may be under way before it counts as lost with its worker."""
    return timedelta(seconds=settings.KLING_WEBHOOK_TIMEOUT * 2 + 30)


class EndpointQuerySet(models.QuerySet):
    def managed_by(self, person):
        """The endpoints `person` may see and change: their own, and those of the teams they
        approve for (every team's, for staff)."""
        teams = Q(team__isnull=False) if person.is_staff else Q(team__approvers=person)
        return self.filter(Q(owner=person) | teams).distinct()


class Endpoint(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True,
                              blank=True, related_name="webhook_endpoints",
                              help_text="For a person's endpoint: whose it is.")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="webhook_endpoints")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    url = models.CharField("URL", max_length=URL_LENGTH)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=100, default=standard_webhooks.new_secret)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.TextField(blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.CheckConstraint(
            condition=Q(team__isnull=False, owner__isnull=True)
            | Q(team__isnull=True, owner__isnull=False),
            name="endpoint_is_a_teams_or_a_persons",
            violation_error_message="An endpoint belongs to a team or to one person.")]

    def __str__(self):
        return self.url

    def get_absolute_url(self):
        return reverse("webhook", args=[self.pk])

    @property
    def event_labels(self):
        return [EVENTS[event] for event in self.events if event in EVENTS]

    def wants(self, event):
        return self.enabled and event in self.events

    def rotate_secret(self):
        self.secret = standard_webhooks.new_secret()
        Endpoint.objects.filter(pk=self.pk).update(secret=self.secret)
        return self.secret

    def switch_off(self, reason):
        """Switch the endpoint off, saying why. False when it already was off."""
        now = timezone.now()
        won = Endpoint.objects.filter(pk=self.pk, enabled=True).update(
            enabled=False, disabled_reason=reason, disabled_at=now) == 1
        if won:
            self.enabled, self.disabled_reason, self.disabled_at = False, reason, now
        return won

    def switch_on(self):
        """Switch the endpoint on again: deliveries it still owes are tried at once."""
        Endpoint.objects.filter(pk=self.pk).update(enabled=True, disabled_reason="",
                                                   disabled_at=None)
        self.enabled, self.disabled_reason, self.disabled_at = True, "", None
        self.deliveries.filter(status=Delivery.Status.PENDING).update(
            next_attempt_at=timezone.now(), task_queued_at=None)


class DeliveryQuerySet(models.QuerySet):
    def due(self, now):
        """Pending deliveries to enabled endpoints whose next try is due and whose task is not
        waiting in the queue (or waited so long that the broker lost it)."""
        return self.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now,
                           endpoint__enabled=True).filter(
            Q(task_queued_at=None) | Q(task_queued_at__lt=now - QUEUED_LOST_AFTER))


class Delivery(models.Model):
    class Status(models.TextChoices):
        """Where a delivery is.

        Allowed transitions (anything else is refused by the conditional update):
          pending -> pending    a try started, or ended without a 2xx answer
          pending -> delivered  a try was answered 2xx
          pending -> failed     every try was used up (the endpoint is then switched off)
        """

        PENDING = "pending", "Being delivered"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    message_id = models.CharField(max_length=64, unique=True,
                                  default=standard_webhooks.new_message_id)
    body = models.TextField(help_text="The JSON sent, the same on every try.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    task_queued_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"],
                                name="webhooks_delivery_due"),
                   models.Index(fields=["endpoint", "-id"], name="webhooks_delivery_newest"),
                   models.Index(fields=["finished_at"], condition=Q(finished_at__isnull=False),
                                name="webhooks_delivery_settled")]

    def __str__(self):
        return f"{self.event} to {self.endpoint}"

    @property
    def max_tries(self):
        return len(schedule()) + 1

    def start_attempt(self, now):
        """Count a try as it starts and hold the delivery past the try's deadline, so no other
        worker starts one meanwhile and a worker that dies leaves it due again. False when this
        try is not ours to make (another started, it is not due, or it was settled)."""
        won = Delivery.objects.filter(
            pk=self.pk, status=self.Status.PENDING, attempts=self.attempts,
            next_attempt_at__lte=now).update(
            attempts=F("attempts") + 1, next_attempt_at=now + in_flight(),
            task_queued_at=None) == 1
        if won:
            self.attempts += 1
        return won

    def delivered(self, now):
        return self._settle(status=self.Status.DELIVERED, finished_at=now, next_attempt_at=None)

    def try_failed(self, now):
        """A try got no 2xx answer: set when the next is due. False when the tries are used up
        (the delivery has failed)."""
        steps = schedule()
        if self.attempts > len(steps):
            self._settle(status=self.Status.FAILED, finished_at=now, next_attempt_at=None)
            return False
        self._settle(next_attempt_at=now + timedelta(seconds=steps[self.attempts - 1]))
        return True

    def _settle(self, **changes):
        won = Delivery.objects.filter(pk=self.pk, status=self.Status.PENDING,
                                      attempts=self.attempts).update(**changes) == 1
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        return won


class Attempt(models.Model):
    """One try of a delivery, as the endpoint's page shows it."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    milliseconds = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="What went wrong, in words.")
    answer = models.TextField(blank=True, help_text="The start of the receiver's answer.")

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"],
                                               name="one_record_per_try")]

    @property
    def succeeded(self):
        return self.status_code is not None and 200 <= self.status_code < 300
