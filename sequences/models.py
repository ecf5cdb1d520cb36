"""A sequence: finished takes in order, each trimmed, and the one export made of them.

Who reaches a sequence: in a team's project, the team's members (its maker too, while in the
team, as with the team's jobs); anywhere else, only the person who made it. A take is a
succeeded job the person adding it may see; in a team project's sequence it must also be one of
that team's jobs (in one of the team's projects), so everyone who sees the sequence and its
export may see every take in it, and nobody's private video reaches a team by way of a sequence.

The export's state changes are conditional updates, as a job's are (`Export.Status`): a sequence
never has two exports running, and a task delivered twice does its work once.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from jobs import videofacts
from jobs.models import Job
from sequences import signals
from teams.models import Team

# An export re-encodes every frame: far longer than a ShortAPI call, so it runs on the queue of
# free work (settings.KLING_FREE_QUEUE), whose workers have their own time limit and a `retry`
# above it, so a long export is not delivered twice (and if it were, the claim below returns).
# One queued or running for longer than the limit plus the broker's redelivery time was lost with
# its worker, and another may be asked for.
EXPORT_TIMEOUT = settings.KLING_EXPORT_TIMEOUT
EXPORT_LOST_AFTER = timedelta(
    seconds=settings.Q_CLUSTER["ALT_CLUSTERS"][settings.KLING_FREE_QUEUE]["retry"] + EXPORT_TIMEOUT)
# Trim points are kept to the microsecond: a frame's start at any common rate is then within a
# millisecond of what is stored, which the export counts as on the frame.
SECONDS = Decimal("0.000001")
# how far past a take's measured length an end may fall and still be its end
LENGTH_SLACK = Decimal("0.001")


def _export_path(export, filename):
    return f"exports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.mp4"


def seconds_text(value):
    """0.5 for Decimal("0.500000"), 2 for 2.000: seconds as a person would type them."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


class SequenceQuerySet(models.QuerySet):
    def open_to(self, person):
        """The sequences a person may see, change and export: their own outside team projects,
        and every sequence in their teams' projects."""
        teams = Team.objects.filter(members=person).values("pk")
        return self.filter(Q(owner=person, project__team=None) | Q(project__team__in=teams))


class Sequence(models.Model):
    name = models.CharField(max_length=80)
    # a team's project (the team shares it), a person's own, or none (the maker's alone).
    # PROTECT: a project goes only in the admin, after its sequences, so that none of a team's
    # sequences falls to one person.
    project = models.ForeignKey("teams.Project", on_delete=models.PROTECT, null=True, blank=True,
                                related_name="sequences")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="sequences", help_text="Who made it.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SequenceQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="sequences_owner_newest")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("sequence", args=[self.pk])

    @property
    def shared(self):
        return self.project is not None and self.project.team_id is not None

    def download_name(self):
        """kling-studio-sequence-7-harbour-trailer.mp4, in plain ASCII."""
        words = slugify(self.name)[:60].strip("-")
        return f"kling-studio-sequence-{self.pk}{'-' + words if words else ''}.mp4"

    @staticmethod
    def refusal_of_another(person):
        """Why `person` may not make another sequence, or "": each keeps a bounded number."""
        limit = settings.KLING_SEQUENCES_PER_PERSON
        if Sequence.objects.filter(owner=person).count() >= limit:
            return (f"You have {limit} sequences, as many as one person may keep. Delete one you "
                    "no longer need, then make the new one.")
        return ""

    def refusal_to_add(self, job, person):
        """Why `job` (one `person` may see) cannot be added here, or "": a take it may not be,
        a sequence already full, or (for a new sequence) one sequence too many."""
        if self.pk is None:
            if refusal := self.refusal_of_another(person):
                return refusal
        elif self.takes.count() >= (limit := settings.KLING_TAKES_PER_SEQUENCE):
            return (f"“{self.name}” has {limit} takes, as many as a sequence may hold. Remove one, "
                    "or start another sequence.")
        return self.refusal(job)

    def refusal(self, job):
        """Why `job` (one the person adding it may see) cannot be a take here, or ""."""
        if job.status != Job.Status.SUCCEEDED:
            return (f"“{job.display_title}” has no video yet: only finished videos go into a "
                    "sequence.")
        if self.shared and (job.project is None or job.project.team_id != self.project.team_id):
            return (f"“{job.display_title}” is not in one of {self.project.team.name}'s projects, "
                    "so the team could not see it in this sequence. Put it in a sequence of your "
                    "own, or pick a video from the team's projects.")
        return ""

    def takes_in_order(self):
        return list(self.takes.select_related("job__project").order_by("position", "pk"))

    def add(self, job):
        """Put `job` (which `refusal` allows) at the end; its frame rate and length are read from
        its kept video now, if it is kept, since trims are checked against them."""
        measured = _measured(job)
        with transaction.atomic():
            self._lock()
            last = self.takes.aggregate(last=Max("position"))["last"]
            take = SequenceTake.objects.create(
                sequence=self, job=job, position=0 if last is None else last + 1, **measured)
            self.touch()
        return take

    def move(self, take, offset):
        """Move `take` `offset` places later (earlier when negative), as far as the ends."""
        with transaction.atomic():
            self._lock()
            order = self.takes_in_order()
            found = [each.pk for each in order]
            if take.pk not in found:  # removed meanwhile
                return
            index = found.index(take.pk)
            other = min(max(index + offset, 0), len(order) - 1)
            order.insert(other, order.pop(index))
            self._renumber(order)
            self.touch()

    def remove(self, take):
        with transaction.atomic():
            self._lock()
            SequenceTake.objects.filter(pk=take.pk, sequence=self).delete()
            self._renumber(self.takes_in_order())
            self.touch()

    def delete_with_export(self):
        """Delete the sequence, and its export's file once that is committed."""
        name = getattr(Export.objects.filter(sequence=self).first(), "file", None)
        self.delete()
        if name:
            transaction.on_commit(lambda: default_storage.delete(name.name))

    def touch(self):
        self.updated_at = timezone.now()
        Sequence.objects.filter(pk=self.pk).update(updated_at=self.updated_at)

    def export_problems(self, takes, person):
        """What stops `takes` (this sequence's, in order) from being exported by `person`:
        ([errors about the whole], {take pk: error about that take}), in words."""
        if not takes:
            return (["There are no takes in this sequence yet: add finished videos from My "
                     "videos, a job's page or a comparison, then export."], {})
        visible = set(Job.objects.visible_to(person).filter(pk__in=[take.job_id for take in takes])
                      .values_list("pk", flat=True))
        problems = {}
        minutes = settings.KLING_EXPORT_MAX_MINUTES
        if sum(take.kept_seconds or 0 for take in takes) > minutes * 60:
            return ([f"An export can be at most {minutes} minutes long, and these takes last "
                     "longer: trim or remove some, or split them into two sequences."], {})
        for take in takes:
            if take.job_id not in visible or self.refusal(take.job):
                problems[take.pk] = ("This video is no longer open to everyone who sees this "
                                     "sequence (it left the team's projects, or you left the "
                                     "team): remove it to export.")
            elif not take.job.video:
                problems[take.pk] = ("This take's video is not kept here yet (it is still being "
                                     "saved from ShortAPI): export again in a minute, or remove "
                                     "it.")
            else:
                take.measure()  # one added before its video was kept: its trim is checked now
                if trim := take.trim_problems(take.trim_start, take.trim_end):
                    problems[take.pk] = " ".join(trim.values())
        return [], problems

    def _lock(self):
        """Hold the sequence's row while its takes are renumbered, so that two people changing
        the order at once do it one after the other."""
        Sequence.objects.select_for_update().filter(pk=self.pk).first()

    @staticmethod
    def _renumber(order):
        for position, take in enumerate(order):
            if take.position != position:
                SequenceTake.objects.filter(pk=take.pk).update(position=position)
                take.position = position


def _measured(job):
    """The frame rate and length of `job`'s kept video, as read when it was kept (or now, from
    this machine's disk, for one kept before); {} while unknown: in a bucket, a worker reads
    them (`jobs.videofacts`), never the request."""
    if job.video and not job.described:
        videofacts.describe_here(job)
    if job.video_fps is None or job.video_seconds is None:
        return {}
    return {"fps": job.video_fps, "length": job.video_seconds}


class SequenceTake(models.Model):
    """A job's video in a sequence, trimmed: from `trim_start` to `trim_end` seconds (None: to
    its end), both on frames of its own rate."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="takes")
    # PROTECT: only a succeeded job is a take, and its ledger entries already keep it from being
    # deleted; should that ever change, a team's sequence must not lose a take unseen.
    job = models.ForeignKey(Job, on_delete=models.PROTECT, related_name="sequence_takes")
    position = models.PositiveIntegerField()
    trim_start = models.DecimalField(max_digits=12, decimal_places=6, default=Decimal("0"),
                                     help_text="seconds")
    trim_end = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True,
                                   help_text="seconds; empty: to the take's end")
    # read from the kept video once it is (frames per second, seconds), for the trim's checks
    fps = models.FloatField(null=True, blank=True)
    length = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self):
        return f"Take {self.position + 1} of {self.sequence}"

    def measure(self):
        """Read the frame rate and length of a take added before its video was kept."""
        if self.fps is None and (measured := _measured(self.job)):
            SequenceTake.objects.filter(pk=self.pk).update(**measured)
            self.fps, self.length = measured["fps"], measured["length"]

    def set_trim(self, start, end):
        """Keep a trim that `trim_problems` allows."""
        SequenceTake.objects.filter(pk=self.pk).update(trim_start=start, trim_end=end)
        self.trim_start, self.trim_end = start, end
        self.sequence.touch()

    def on_frame(self, seconds):
        """`seconds` moved to the nearest frame's start."""
        if seconds is None:
            return None
        if not self.fps:
            return seconds.quantize(SECONDS)
        return Decimal(round(float(seconds) * self.fps) / self.fps).quantize(SECONDS)

    def trim_problems(self, start, end):
        """{field: what is wrong} with a trim from `start` to `end` (None: to the end)."""
        problems = {}
        if start < 0:
            problems["trim_start"] = "A take cannot start before its beginning (0 s)."
        elif self.length is not None and start >= self.length:
            problems["trim_start"] = (f"This take lasts {seconds_text(self.length)} s: start it "
                                      "before its end.")
        if end is not None and end <= start:
            problems["trim_end"] = "This trim leaves nothing: end it after its start."
        elif end is not None and self.length is not None and end > self.length + LENGTH_SLACK:
            problems["trim_end"] = (f"This take lasts {seconds_text(self.length)} s: end it there "
                                    "at the latest, or leave the end empty to keep it to the end.")
        return problems

    @property
    def frame_step(self):
        """One frame in seconds, for a number input's step."""
        return f"{1 / self.fps:.6f}" if self.fps else "0.001"

    @property
    def kept_seconds(self):
        """How long the trimmed take lasts, when its length is known."""
        end = self.trim_end if self.trim_end is not None else self.length
        return None if end is None else max(end - self.trim_start, Decimal("0"))

    @property
    def start_text(self):
        return seconds_text(self.trim_start)

    @property
    def end_text(self):
        return "" if self.trim_end is None else seconds_text(self.trim_end)


class Export(models.Model):
    """The one export of a sequence, made again on request: its file replaces the last one."""

    class Status(models.TextChoices):
        """Where the export is.

        Allowed transitions (anything else is refused by the conditional update):
          (none)       -> queued    someone asked for the first export
          done, failed -> queued    someone asked for another export
          queued       -> queued    asked again after the queued task was lost
          running      -> queued    asked again after a worker died mid-export
          queued       -> running   a worker claimed it
          running      -> done      the new file is stored (the old one is then deleted)
          running      -> failed    it could not be made; the reason is in `error`
        """

        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Exporting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    sequence = models.OneToOneField(Sequence, on_delete=models.CASCADE, related_name="export")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="percent")
    file = models.FileField(upload_to=_export_path, blank=True)
    error = models.TextField(blank=True, help_text="Why the last export failed, in words.")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL,
                                     null=True, blank=True, related_name="+")
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True,
                                   help_text="seconds")
    # the jobs whose videos (and recipes) the file holds: whoever plays or downloads it must
    # still be able to see every one of them
    jobs = models.JSONField(default=list, blank=True)

    def __str__(self):
        return f"Export of {self.sequence} ({self.get_status_display()})"

    def hidden_from(self, person):
        """Whether the file holds a video `person` may no longer see (they left the team whose
        take it is), so it is not theirs to play or download."""
        ids = {pk for pk in self.jobs if isinstance(pk, int)}
        return Job.objects.visible_to(person).filter(pk__in=ids).count() != len(ids)

    @property
    def running(self):
        """Queued or running, and not lost with its worker: no other export may start."""
        S = self.Status
        since = self.queued_at if self.status == S.QUEUED else self.started_at
        return self.status in (S.QUEUED, S.RUNNING) and not (
            since and since < timezone.now() - EXPORT_LOST_AFTER)

    @property
    def lost(self):
        return self.status in (self.Status.QUEUED, self.Status.RUNNING) and not self.running

    @property
    def outdated(self):
        """The sequence changed after this export was asked for."""
        return self.status == self.Status.DONE and self.sequence.updated_at > self.queued_at

    @classmethod
    def request(cls, sequence, person):
        """Ask for an export of `sequence`: (its export, whether this call queued it). False
        when one is already queued or running."""
        S, now = cls.Status, timezone.now()
        export, created = cls.objects.get_or_create(
            sequence=sequence, defaults={"queued_at": now, "requested_by": person})
        if created:
            return export, True
        lost = now - EXPORT_LOST_AFTER
        won = export._move(Q(status__in=[S.DONE, S.FAILED]) | Q(status=S.QUEUED, queued_at__lt=lost)
                           | Q(status=S.RUNNING, started_at__lt=lost),
                           status=S.QUEUED, progress=0, error="", requested_by=person,
                           queued_at=now, started_at=None, finished_at=None)
        return export, won

    def start(self):
        S = self.Status
        return self._move([S.QUEUED], status=S.RUNNING, progress=0, started_at=timezone.now())

    def note_progress(self, done):
        """The export is `done` (0..1) of the way: written when it moved 2 points or finished,
        so a long export costs about fifty small writes."""
        percent = min(100, int(done * 100))
        if percent >= self.progress + 2 or (percent == 100 and self.progress < 100):
            Export.objects.filter(pk=self.pk, status=self.Status.RUNNING).update(progress=percent)
            self.progress = percent

    def finish(self, name, duration, jobs):
        """The new file, made of the videos of `jobs` (ids), is stored under `name`: the export
        is done, and the file it replaces is deleted. False (and nothing changed) if the export
        was no longer running."""
        S, replaced = self.Status, self.file.name
        won = self._move([S.RUNNING], status=S.DONE, file=name, progress=100, error="",
                         jobs=sorted(set(jobs)),
                         duration=Decimal(duration).quantize(Decimal("0.001")),
                         finished_at=timezone.now())
        if won and replaced and replaced != name:
            default_storage.delete(replaced)
        if won:
            signals.announce_export_ready(Export, self.pk)
        return won

    def fail(self, reason):
        S = self.Status
        return self._move([S.RUNNING], status=S.FAILED, error=reason, finished_at=timezone.now())

    def _move(self, expected, **changes):
        """Change the export if its status is one of `expected` (or matches `expected`, a Q)."""
        condition = expected if isinstance(expected, Q) else Q(status__in=expected)
        won = Export.objects.filter(condition, pk=self.pk).update(**changes) == 1
        if won:
            for name, value in changes.items():
                setattr(self, name, value)
        else:
            self.refresh_from_db()
        return won
