"""Sending what a person asked for: the one place a submission becomes jobs, holds and tasks.

The composer's form only checks input; it hands over a `Request` (the catalogue's `JobSpec` with
the images that passed their checks, the project, the title, the number of takes and the job it
continues). `send` then, in one transaction: holds the total of every take against the person's
budget (and their team's, for a team project), writes the jobs (or turns the draft being edited
into the first take), keeps their search words, and queues one task per job once that commits;
or, when a rule of `spend.approvals` says the submission needs an approver's word first, writes
them waiting (still held) and queues nothing.
`keep_draft` writes a draft the same way, without holding or sending anything.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.transaction import on_commit
from django.http import Http404

from jobs import catalogue, images, search, staging, tasks
from jobs.models import Element, ElementReference, Job, Shot
from jobs.models.job import title_from
from spend import approvals, budgets

MAX_TAKES = 4
DRAFT_GONE = ("This draft was already submitted or deleted, so it cannot be changed. Sending "
              "this form makes a new video.")


class DraftGone(Http404):
    """The draft being saved was submitted or deleted elsewhere between its check and its save."""


@dataclass(frozen=True)
class ElementRequest:
    name: str
    frontal: staging.Picked | None
    references: tuple[staging.Picked, ...] = ()


@dataclass(frozen=True)
class Request:
    """A job as asked for, checked: what `send` and `keep_draft` write."""

    spec: catalogue.JobSpec
    estimate: Decimal  # of one take
    start_frame: staging.Picked | None = None
    end_frame: staging.Picked | None = None
    elements: tuple[ElementRequest, ...] = ()
    project: object = None  # a teams.Project the person may use, or None
    title: str = ""
    takes: int = 1
    continues: object = None  # the Job whose next shot this is (one the person may see), or None

    @property
    def frames(self):
        return {"start_frame": self.start_frame, "end_frame": self.end_frame}

    @property
    def total(self):
        """What every take together is estimated at: what the budget holds."""
        return self.estimate * self.takes

    @property
    def default_title(self):
        spec = self.spec
        return title_from(spec.prompt or (spec.shots[0].prompt if spec.shots else ""))


def send(person, request, draft=None):
    """Hold the money, write the jobs and queue them (or let them wait for an approver: the
    first take's status says which); the first take is returned. Raises
    budgets.BudgetExceeded (nothing written) or DraftGone."""
    with transaction.atomic():
        budgets.hold(person, request.total, project=request.project, takes=request.takes)
        waits = approvals.reason_to_wait(person, request.project, request.total)
        first = _write(person, request, draft,
                       Job.Status.WAITING if waits else Job.Status.QUEUED)
        takes = [first] + _copies(first, request.takes)
        search.index_many(takes)
        if waits:
            approvals.announce_waiting(first)
        else:
            for job in takes:
                tasks.enqueue_submission(job)
    return first


def keep_draft(person, request, draft=None):
    """Write a draft (a new one, or `draft` edited): nothing is held or sent."""
    with transaction.atomic():
        return _write(person, request, draft, Job.Status.DRAFT)


def _write(person, request, draft, status):
    spec = request.spec
    job = draft or Job(owner=person)
    reusable = job.image_names() if draft else frozenset()
    job.model_id, job.mode, job.duration = spec.model_id, spec.mode, spec.duration
    job.prompt, job.negative_prompt = spec.prompt, spec.negative_prompt
    job.generate_audio, job.estimate = spec.generate_audio, request.estimate
    job.multi_shot, job.shot_type = spec.multi_shot, spec.shot_type
    job.project, job.takes = request.project, request.takes
    job.continues = request.continues
    job.title = request.title or request.default_title
    if request.takes > 1 and status != Job.Status.DRAFT:
        job.take_group, job.take_number = uuid.uuid4(), 1
    for name, picked in request.frames.items():
        if picked:
            staging.store(getattr(job, name), picked, reusable)
        else:
            setattr(job, name, "")
    start = request.start_frame
    if start is None:
        job.poster = ""
    elif not (start.stored_as in reusable and job.poster):
        job.poster.save("poster.jpg", images.poster_of(start.image.content), save=False)
    if draft is None:
        job.status = status
        job.save()
    elif not job.keep_draft_changes():
        raise DraftGone(DRAFT_GONE)
    _write_storyboard(job, spec.shots, request.elements, reusable)
    if draft is not None:
        if job.take_group:
            Job.objects.filter(pk=job.pk).update(take_group=job.take_group, take_number=1)
        unused = reusable - job.image_names()
        on_commit(lambda: [default_storage.delete(name) for name in unused])
        sent = {Job.Status.QUEUED: job.submit_draft, Job.Status.WAITING: job.wait_for_approval}
        if status in sent and not sent[status]():
            raise DraftGone(DRAFT_GONE)
    return job


def _write_storyboard(job, shots, elements, reusable):
    job.shots.all().delete()
    Shot.objects.bulk_create(Shot(job=job, position=position, prompt=shot.prompt,
                                  duration=shot.duration)
                             for position, shot in enumerate(shots))
    job.elements.all().delete()
    for position, asked in enumerate(elements):
        element = Element(job=job, position=position, name=asked.name)
        if asked.frontal:
            staging.store(element.frontal_image, asked.frontal, reusable)
        element.save()
        references = []
        for number, picked in enumerate(asked.references):
            reference = ElementReference(element=element, position=number)
            staging.store(reference.image, picked, reusable)
            references.append(reference)
        ElementReference.objects.bulk_create(references)


def _copies(first, takes):
    """Takes 2 to `takes` of `first`: the same job again, its stored images shared (a sent job's
    images are never deleted), each with its own callback token."""
    copies = []
    shots = list(first.shots.all())
    elements = list(first.elements.prefetch_related("references"))
    for number in range(2, takes + 1):
        copy = Job.objects.get(pk=first.pk)
        copy.pk = None
        copy.callback_token = Job._meta.get_field("callback_token").get_default()
        copy.take_number = number
        copy.task_queued_at = copy.next_attempt_at = None
        copy.save(force_insert=True)
        Shot.objects.bulk_create(Shot(job=copy, position=shot.position, prompt=shot.prompt,
                                      duration=shot.duration) for shot in shots)
        for element in elements:
            references = list(element.references.all())
            element.pk, element.job = None, copy
            element.save(force_insert=True)
            ElementReference.objects.bulk_create(
                ElementReference(element=element, position=reference.position,
                                 image=reference.image.name) for reference in references)
        copies.append(copy)
    return copies
