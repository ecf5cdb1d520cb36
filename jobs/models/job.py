"""The Job: one submission to ShortAPI, its inputs, its money and its state machine.

Every state change is a method here that runs one conditional UPDATE (`... WHERE status IN
(expected)`); its row count says whether this process won the race, so a view or a task never
writes `status` by hand and two workers can never both act on one job. A change that causes a
ledger entry writes it in the same transaction, after the UPDATE has locked the row, by the rules
of `spend.policy`.
"""

import logging
import secrets
import uuid
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Case, F, Q, Value, When
from django.db.transaction import on_commit
from django.urls import reverse
from django.utils import timezone

from jobs import catalogue, images, polling
from jobs.models.keeping import KeepsVideo
from jobs.models.queries import TASK_LOST_AFTER, JobQuerySet
from jobs.signals import announce_finished
from spend import policy

log = logging.getLogger(__name__)

def _frame_path(job, filename):
    # Generated names only: the uploaded filename never reaches the disk or a URL.
    return f"frames/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{filename[filename.rfind('.'):]}"


def _video_path(job, filename):
    return f"videos/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.mp4"


def _poster_path(job, filename):
    return f"posters/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.jpg"


def _delete_files(names):
    for name in names:
        default_storage.delete(name)


def _new_token():
    return secrets.token_urlsafe(32)


TITLE_LENGTH = 120
TITLE_WORDS = 8


def title_from(text):
    """A job's default title: the first words of its prompt (or first shot), "…" when cut."""
    words = text.split()
    title = " ".join(words[:TITLE_WORDS])[:TITLE_LENGTH - 1]
    return title + "…" if title != " ".join(words) else title


class Job(KeepsVideo, models.Model):
    class Status(models.TextChoices):
        """Where a job is on its way from the form to a video.

        Allowed transitions (anything else is refused by the conditional update):
          draft       -> queued      its owner submitted it, after the composer's full checks
          draft       -> waiting     the same, when its spend needs an approver's word first
          waiting     -> queued      an approver released it (spend/approvals.py)
          waiting     -> draft       an approver declined it: its owner may edit and send again
          queued      -> submitting  a worker claimed it and is calling create
          queued      -> failed      an admin stopped it before it was sent
          submitting  -> submitted   ShortAPI accepted it: its job id is stored and charged
          submitting  -> queued      the create call provably never reached ShortAPI; try again
          submitting  -> failed      ShortAPI refused it, or it could not be sent (no charge)
          submitting  -> unknown     create may or may not have been accepted (timeout, 5xx)
          unknown     -> submitted   a callback or an admin confirmed ShortAPI's job id
          unknown     -> queued      an admin chose to resend, knowingly
          unknown     -> stopped     an admin gave it up (no money is written)
          submitted   -> processing, succeeded, failed  as ShortAPI reports
          submitted   -> stopped     an admin stopped following it (its charge stands)
          processing  -> succeeded, failed  as ShortAPI reports
          processing  -> stopped     an admin stopped following it (its charge stands)
          stopped     -> succeeded, failed  ShortAPI's late final answer still counts
          stopped     -> submitted   ShortAPI confirmed the id of a job whose outcome was unknown
        succeeded and failed are final; only a reconciliation may move a failed job ShortAPI did
        not refund to succeeded, when ShortAPI says it finished it. A job past
        KLING_JOB_TIME_LIMIT_MINUTES is *overdue*: still submitted or processing, asked about less
        often, its charge counting all along. A draft is never sent, charged or swept; its owner
        may edit or delete it only while it is still a draft.
        """

        DRAFT = "draft", "Draft"
        WAITING = "waiting", "Waiting for approval"
        QUEUED = "queued", "Queued"
        SUBMITTING = "submitting", "Sending"
        SUBMITTED = "submitted", "Submitted"
        PROCESSING = "processing", "Processing"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Outcome unknown"
        STOPPED = "stopped", "No longer followed"

        @classmethod
        def terminal(cls):
            return (cls.SUCCEEDED, cls.FAILED)

        @classmethod
        def watched(cls):
            return (cls.SUBMITTED, cls.PROCESSING)

        @classmethod
        def awaiting_id(cls, status, shortapi_job_id):
            """Whether ShortAPI may have made such a job without our learning its id."""
            return status in (cls.SUBMITTING, cls.UNKNOWN) or (
                status == cls.STOPPED and not shortapi_job_id)

        @classmethod
        def reported_by_shortapi(cls):
            """Where ShortAPI's final answer about the job still applies."""
            return (cls.SUBMITTED, cls.PROCESSING, cls.STOPPED)

    MODEL_CHOICES = [(m.id, m.label) for m in catalogue.MODELS.values()]
    # what the composer sets, and so what editing a draft may change
    DRAFT_FIELDS = ("model_id", "mode", "duration", "prompt", "negative_prompt", "generate_audio",
                    "multi_shot", "shot_type", "start_frame", "end_frame", "poster", "estimate",
                    "project", "title", "takes", "continues")
    MAX_VIDEO_ATTEMPTS = 10

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="jobs")
    project = models.ForeignKey("teams.Project", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="jobs")
    title = models.CharField(max_length=TITLE_LENGTH, blank=True,
                             help_text="By default the first words of the prompt.")
    # Takes: identical jobs sent together by one submission share a group, numbered from 1.
    take_group = models.UUIDField(null=True, blank=True, db_index=True)
    take_number = models.PositiveSmallIntegerField(default=1)
    takes = models.PositiveSmallIntegerField(default=1)
    # The job whose last frame this one starts from ("Continue"): the shot before it.
    continues = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="continued_by")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED,
                              db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    model_id = models.CharField("model", max_length=100, choices=MODEL_CHOICES)
    mode = models.CharField(max_length=8)
    duration = models.PositiveSmallIntegerField(help_text="seconds")
    prompt = models.TextField(blank=True)
    negative_prompt = models.TextField(blank=True)
    generate_audio = models.BooleanField(default=False)
    multi_shot = models.BooleanField(default=False)
    shot_type = models.CharField(max_length=16, choices=list(catalogue.SHOT_TYPES.items()),
                                 default="intelligence")
    # blank only for drafts: the composer requires it of every job it sends
    start_frame = models.ImageField(upload_to=_frame_path, blank=True)
    end_frame = models.ImageField(upload_to=_frame_path, blank=True)
    # a small JPEG of the start frame, made once, for the gallery and the player
    poster = models.ImageField(upload_to=_poster_path, blank=True)

    estimate = models.DecimalField(max_digits=10, decimal_places=3)
    shortapi_job_id = models.CharField(max_length=200, null=True, blank=True, unique=True)
    amount = models.DecimalField("charged", max_digits=10, decimal_places=3, null=True, blank=True)
    # What the job's ledger entries add up to (charges less refunds, with corrections), kept by
    # spend.policy in the transaction of each entry.
    cost = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("0"))
    refunded = models.BooleanField(default=False)

    callback_token = models.CharField(max_length=64, unique=True, default=_new_token,
                                      editable=False)
    error = models.TextField(blank=True, help_text="Why the job failed, in the user's words.")
    video_url = models.URLField(max_length=2000, blank=True)
    video = models.FileField(upload_to=_video_path, blank=True)
    video_error = models.TextField(blank=True)
    video_attempts = models.PositiveSmallIntegerField(default=0)
    # read from the kept video by the worker that kept it, so that no web request has to fetch
    # a whole video for them: its frame rate and length (for trims), its last frame (to continue)
    video_fps = models.FloatField(null=True, blank=True)
    video_seconds = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    last_frame = models.ImageField(upload_to=_frame_path, blank=True)
    last_frame_problem = models.TextField(blank=True)
    submit_attempts = models.PositiveSmallIntegerField(default=0)
    # When work is next due (jobs/polling.py): a create that never reached ShortAPI is tried
    # again (queued), the video is fetched again (succeeded); ShortAPI is asked again (watched).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    polls = models.PositiveIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    # A task for this job is waiting in the queue: nobody queues a second one (jobs/dispatch.py).
    task_queued_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # a person's jobs, page after page (lib/paging.py)
            models.Index(fields=["owner", "-created_at", "-id"], name="jobs_job_owner_newest"),
            models.Index(fields=["owner", "status"], name="jobs_job_owner_status"),
            models.Index(fields=["status", "finished_at"], name="jobs_job_status_finished"),
            models.Index(fields=["-cost", "-id"], name="jobs_job_costliest"),
            models.Index(fields=["owner", "-cost", "-id"], name="jobs_job_owner_costliest"),
            # a project's jobs, newest or costliest first, and its spend by status
            models.Index(fields=["project", "-created_at", "-id"], name="jobs_job_project_newest"),
            models.Index(fields=["project", "-cost", "-id"], name="jobs_job_project_costliest"),
            models.Index(fields=["project", "status"], name="jobs_job_project_status"),
            models.Index(fields=["next_poll_at"], condition=Q(next_poll_at__isnull=False),
                         name="jobs_job_due_polls"),
            models.Index(fields=["next_attempt_at"], condition=Q(next_attempt_at__isnull=False),
                         name="jobs_job_due_attempts"),
        ]

    def __str__(self):
        return f"Job {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("job-detail", args=[self.pk])

    @property
    def display_title(self):
        return self.title or f"Job {self.pk}"

    def is_owned_by(self, user):
        return self.owner_id == user.pk

    @property
    def model(self):
        return catalogue.get(self.model_id)

    @property
    def model_label(self):
        return self.model.label

    @property
    def mode_label(self):
        return catalogue.MODE_LABELS.get(self.mode, self.mode)

    @property
    def is_finished(self):
        return self.status in self.Status.terminal()

    @property
    def is_draft(self):
        return self.status == self.Status.DRAFT

    @property
    def is_overdue(self):
        """Unfinished past the time limit: still asked about, less often, until ShortAPI gives
        a final answer."""
        return (self.status in self.Status.watched()
                and polling.is_overdue(self.submitted_at, timezone.now()))

    @property
    def status_label(self):
        label = self.get_status_display()
        return f"{label} (overdue)" if self.is_overdue else label

    @property
    def awaits_its_id(self):
        """Whether ShortAPI may have made this job without our learning its id: a callback that
        names one is worth asking ShortAPI about."""
        return self.Status.awaiting_id(self.status, self.shortapi_job_id)

    @property
    def charged_though_failed(self):
        """ShortAPI failed the job and did not refund it: its charge stands."""
        return self.status == self.Status.FAILED and self.cost > 0

    @property
    def cost_note(self):
        """What a failed job's cost means, in a person's words."""
        if self.status != self.Status.FAILED or self.amount is None:
            return ""
        if self.charged_though_failed:
            return "failed, charged by ShortAPI: it did not refund this job"
        return "refunded by ShortAPI"

    def image_names(self):
        """The storage names of every image the job was given or made: frames, its poster and
        element images."""
        names = {image.name for image in (self.start_frame, self.end_frame, self.poster,
                                          self.last_frame) if image}
        for element in self.elements.prefetch_related("references"):
            names.add(element.frontal_image.name)
            names.update(reference.image.name for reference in element.references.all())
        names.discard("")
        return names

    def make_poster(self):
        """Make the poster of a job that has none yet (jobs from before posters existed)."""
        with self.start_frame.open("rb") as frame:
            self.poster.save("poster.jpg", images.poster_of(frame.read()), save=False)
        if not Job.objects.filter(pk=self.pk, poster="").update(poster=self.poster.name):
            default_storage.delete(self.poster.name)  # another request made it first
            self.refresh_from_db(fields=["poster"])

    # State changes. Each returns True when this call moved the job, False when another process
    # already had (or the job is somewhere the change does not apply).

    def _move(self, expected, **changes):
        """Move the job if its status is one of `expected` (or matches `expected`, a Q)."""
        changes["updated_at"] = timezone.now()
        condition = expected if isinstance(expected, Q) else Q(status__in=expected)
        won = Job.objects.filter(condition, pk=self.pk).update(**changes) == 1
        if won:
            computed = [name for name, value in changes.items()
                        if hasattr(value, "resolve_expression")]
            for name, value in changes.items():
                if name not in computed:
                    setattr(self, name, value)
            if computed:
                self.refresh_from_db(fields=computed)
            if changes.get("status") in self.Status.terminal():
                announce_finished(Job, self.pk, changes["status"])
        else:
            self.refresh_from_db()
        return won

    def submit_draft(self):
        """Its owner sent a draft: from now on it is a job like any other, created now."""
        S = self.Status
        return self._move([S.DRAFT], status=S.QUEUED, created_at=timezone.now())

    def wait_for_approval(self):
        """Its owner sent a draft whose spend needs an approver's word first (spend/approvals):
        it holds its estimate and waits, created now, and nothing is queued."""
        S = self.Status
        return self._move([S.DRAFT], status=S.WAITING, created_at=timezone.now())

    def _submission(self):
        """This job and the other takes sent with it."""
        return Q(take_group=self.take_group) if self.take_group else Q(pk=self.pk)

    @transaction.atomic
    def approve(self):
        """An approver released the submission: every take of it still waiting is queued, in
        one UPDATE, so its takes go all together (the caller queues their tasks)."""
        S = self.Status
        moved = Job.objects.filter(self._submission(), status=S.WAITING).update(
            status=S.QUEUED, updated_at=timezone.now())
        self.refresh_from_db()
        return moved > 0

    @transaction.atomic
    def decline(self):
        """An approver declined the submission: this job is its owner's draft again (one job,
        however many takes it asks for: submitting it makes the takes anew), and the other takes
        made for it are deleted (their images are this job's too, so they stay)."""
        S = self.Status
        group = self.take_group
        if not self._move([S.WAITING], status=S.DRAFT, take_group=None, take_number=1,
                          task_queued_at=None, next_attempt_at=None):
            return False
        if group:
            Job.objects.filter(take_group=group, status=S.WAITING).exclude(pk=self.pk).delete()
        return True

    def keep_draft_changes(self):
        """Write an edited draft's settings, unless it stopped being a draft meanwhile."""
        changes = {name: getattr(self, name) for name in self.DRAFT_FIELDS}
        return Job.objects.filter(pk=self.pk, status=self.Status.DRAFT).update(
            updated_at=timezone.now(), **changes) == 1

    def delete_draft(self):
        """Delete a draft, never a job that was sent, and its images once that is committed."""
        names = self.image_names()
        deleted, _ = Job.objects.filter(pk=self.pk, status=self.Status.DRAFT).delete()
        if deleted:
            on_commit(lambda: _delete_files(names))
        return bool(deleted)

    def claim_for_submission(self):
        S = self.Status
        return self._move([S.QUEUED], status=S.SUBMITTING,
                          submit_attempts=models.F("submit_attempts") + 1)

    @transaction.atomic
    def mark_submitted(self, shortapi_job_id, amount=None):
        """ShortAPI made the job: keep its id and charge what its answer named (None: ShortAPI
        named no amount, or only a callback or a query confirmed it; priced from the table)."""
        S = self.Status
        now = timezone.now()
        won = self._move(Q(status__in=[S.SUBMITTING, S.UNKNOWN])
                         | Q(status=S.STOPPED, shortapi_job_id=None),
                         status=S.SUBMITTED, shortapi_job_id=shortapi_job_id,
                         amount=policy.cost(self, amount), submitted_at=now,
                         error="", next_attempt_at=None, polls=0,
                         next_poll_at=now + polling.poll_delay(0, now, now))
        if won:
            policy.charge(self, shortapi_job_id, amount)
        return won

    def release_for_retry(self, reason, retry_at):
        S = self.Status
        return self._move([S.SUBMITTING], status=S.QUEUED, error=reason, next_attempt_at=retry_at)

    def mark_unknown(self, reason):
        S = self.Status
        return self._move([S.SUBMITTING], status=S.UNKNOWN, error=reason)

    def mark_processing(self):
        S = self.Status
        return self._move([S.SUBMITTED], status=S.PROCESSING)

    def mark_succeeded(self, video_url, correcting=False):
        """ShortAPI made the video: keeping our copy is due at once (jobs/dispatch.py).
        `correcting`: a reconciliation found ShortAPI finished a job we had failed ourselves."""
        S = self.Status
        now = timezone.now()
        expected = Q(status__in=S.reported_by_shortapi())
        if correcting:
            expected |= Q(status=S.FAILED, refunded=False)
        return self._move(expected, status=S.SUCCEEDED, video_url=video_url, finished_at=now,
                          error="", next_poll_at=None, next_attempt_at=now)

    @transaction.atomic
    def mark_failed(self, reason, refunded=False):
        """ShortAPI reports the job failed. Refunded only if ShortAPI says it refunded it;
        otherwise its charge stands (spend.policy)."""
        S = self.Status
        won = self._move(S.reported_by_shortapi(), status=S.FAILED, error=reason,
                         refunded=refunded, finished_at=timezone.now(), next_poll_at=None,
                         next_attempt_at=None)
        if won and refunded:
            policy.refund(self, self.shortapi_job_id)
        return won

    def mark_not_sent(self, reason):
        """ShortAPI refused the job or it could not be sent, before ShortAPI made anything: it
        fails, and nothing was charged."""
        S = self.Status
        return self._move([S.QUEUED, S.SUBMITTING], status=S.FAILED, error=reason,
                          finished_at=timezone.now(), next_poll_at=None, next_attempt_at=None)

    def give_up(self, reason):
        """An admin gives up on a job: one never sent fails; one whose outcome is unknown is no
        longer followed, and a late confirmation from ShortAPI still counts. No money moves."""
        S = self.Status
        stopped = {"error": reason, "next_attempt_at": None, "next_poll_at": None}
        # never a job being sent: its create may be accepted a moment later
        return (self._move([S.QUEUED], status=S.FAILED, finished_at=timezone.now(), **stopped)
                or self._move([S.UNKNOWN], status=S.STOPPED, **stopped))

    def stop_watching(self, reason):
        """An admin stops asking ShortAPI about an unfinished job. Its charge stands, and a late
        answer from ShortAPI (a callback, a reconciliation) still counts."""
        S = self.Status
        return self._move(S.watched(), status=S.STOPPED, error=reason, next_poll_at=None)

    def resend(self):
        """An admin's knowing choice to send a job whose first create may have gone through."""
        S = self.Status
        return self._move([S.UNKNOWN], status=S.QUEUED, next_attempt_at=None)

    def schedule_poll(self, now):
        """ShortAPI was just asked about this job: count it, and set when to ask next if the job
        is still unfinished."""
        due = now + polling.poll_delay(self.polls + 1, self.submitted_at, now)
        Job.objects.filter(pk=self.pk).update(
            last_polled_at=now, polls=F("polls") + 1,
            next_poll_at=Case(When(status__in=self.Status.watched(), then=Value(due)),
                              default=None))

    @staticmethod
    def task_waits(task_queued_at, now):
        """Whether a task marked queued at `task_queued_at` still waits in the queue: marked, and
        not so long ago that the broker must have lost it."""
        return task_queued_at is not None and task_queued_at >= now - TASK_LOST_AFTER

    def take_task(self):
        """The task queued for this job has started: another may be queued from now on."""
        Job.objects.filter(pk=self.pk).update(task_queued_at=None)

    @classmethod
    def queue_task_once(cls, pk, now):
        """Mark that a task for the job is queued, unless one already waits. True when marked:
        the caller then queues it."""
        return cls.objects.filter(pk=pk).without_waiting_task(now).mark_task_queued(now) == 1

    @transaction.atomic
    def learn_amount(self, amount):
        """ShortAPI named what the job cost: correct a charge priced from the table."""
        locked = Job.objects.select_for_update().get(pk=self.pk)
        if locked.shortapi_job_id:
            policy.learn_amount(locked, locked.shortapi_job_id, amount)

    @transaction.atomic
    def record_creation(self, shortapi_job_id, amount):
        """ShortAPI made a paid job for this one that the state machine did not take: a callback
        confirmed it first, or an admin's resend made a second one. Charge it whatever state the
        job is in, and keep its id if the job had none."""
        Job.objects.filter(pk=self.pk, shortapi_job_id=None).update(
            shortapi_job_id=shortapi_job_id, amount=policy.cost(self, amount))
        locked = Job.objects.select_for_update().get(pk=self.pk)
        if locked.shortapi_job_id != shortapi_job_id:
            log.warning("Job %s has a second ShortAPI job %s (an admin's resend); it is charged "
                        "and reconciled, but only %s is followed", self.pk, shortapi_job_id,
                        locked.shortapi_job_id)
        policy.charge(locked, shortapi_job_id, amount)
        self.refresh_from_db()
