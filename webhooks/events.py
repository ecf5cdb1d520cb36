"""From the app's signals to deliveries: who hears of an event, and what the message says.

The signals are sent once the change they announce is committed (jobs/signals.py,
sequences/signals.py), so a delivery never announces something that was rolled back. Making
them is cheap: one read of the job, at most KLING_WEBHOOKS_PER_OWNER endpoints of its owner and
as many of its project's team, one insert; the dispatcher sends them.

Who hears: the endpoints of the job's owner (of the person who asked for an export) and of the
team whose project it is in, that are switched on and subscribed to the event.
"""

import json

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils import timezone

from api import presenting
from jobs.models import Job
from webhooks.models import TEST_EVENT, Delivery, Endpoint

S = Job.Status


def body(event, data, now=None):
    """The message: {"type", "timestamp", "data"}, as Standard Webhooks suggests."""
    return json.dumps({"type": event, "timestamp": (now or timezone.now()).isoformat(),
                       "data": data}, separators=(",", ":"), cls=DjangoJSONEncoder)


def _link(path):
    return settings.PUBLIC_BASE_URL + path


def job_data(job):
    """The job as the API shows it (`GET /api/v1/jobs/<id>`): its video URL downloads with a
    token of the person's."""
    return presenting.job_json(None, job)


def endpoints_for(event, person_id, team_id):
    """The switched-on endpoints of the person and the team that want `event`."""
    whose = Q(owner_id=person_id)
    if team_id is not None:
        whose |= Q(team_id=team_id)
    # bounded: each person and team keeps at most KLING_WEBHOOKS_PER_OWNER endpoints
    return [endpoint for endpoint in Endpoint.objects.filter(whose, enabled=True)
            if endpoint.wants(event)]


def make_deliveries(event, data, endpoints):
    now = timezone.now()
    message = body(event, data, now)
    return Delivery.objects.bulk_create([
        Delivery(endpoint=endpoint, event=event, body=message, next_attempt_at=now)
        for endpoint in endpoints])


def _for_job(event, pk, **extra):
    job = Job.objects.select_related("project").filter(pk=pk).first()
    if job is None:
        return []
    team = job.project.team_id if job.project is not None else None
    endpoints = endpoints_for(event, job.owner_id, team)
    return make_deliveries(event, {**job_data(job), **extra}, endpoints) if endpoints else []


def on_job_finished(sender, pk, status, **kwargs):
    """A failure is told at once; a success once its video is settled (`on_video_settled`)."""
    return _for_job("job.failed", pk) if status == S.FAILED else []


def on_video_settled(sender, pk, kept, **kwargs):
    """`job.finished` once the worker kept the video here (or gave up: its `video_url` then
    leads to ShortAPI's copy), so the message's link downloads our copy."""
    return _for_job("job.finished", pk)


def on_approval_needed(sender, pk, **kwargs):
    return _for_job("approval.needed", pk)


def on_approval_decided(sender, pk, approved, note="", **kwargs):
    return _for_job("approval.decided", pk, approved=bool(approved), note=note or "")


def on_export_ready(sender, pk, **kwargs):
    from sequences.models import Export

    export = Export.objects.select_related("sequence__project").filter(pk=pk).first()
    if export is None or export.status != Export.Status.DONE:
        return []
    sequence = export.sequence
    project = sequence.project
    person = export.requested_by_id or sequence.owner_id
    endpoints = endpoints_for("export.ready", person,
                              project.team_id if project is not None else None)
    if not endpoints:
        return []
    return make_deliveries("export.ready", {
        "id": export.pk, "sequence": sequence.pk, "name": sequence.name,
        "project": sequence.project_id, "duration": str(export.duration), "jobs": export.jobs,
        "url": _link(sequence.get_absolute_url()),
    }, endpoints)


def send_test(endpoint, person):
    """A `webhook.test` message to one endpoint, whatever it subscribes to."""
    return make_deliveries(TEST_EVENT, {
        "endpoint": endpoint.pk, "sent_by": person.get_username(),
        "message": "A test from Kling Studio: this endpoint receives our webhooks."},
        [endpoint])[0]
