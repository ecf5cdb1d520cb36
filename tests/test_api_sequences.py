"""Sequences through the API: a finished job added as a take and an export started, by the
sequence page's own rules and per-person limits; answers checked against the OpenAPI
document."""

import pytest

from sequences.models import Export, Sequence
from tests.api_client import api_as
from tests.test_sequences import clip, queued, sequence, succeed, team_job  # noqa: F401

pytestmark = pytest.mark.django_db


def test_it_adds_a_finished_job_to_a_sequence(owner, teammate, project, make_job, sequence):
    job = succeed(make_job(project=project))

    response = api_as(teammate).post(f"/api/v1/sequences/{sequence.pk}/takes", {"job": job.pk},
                                     content_type="application/json")

    assert response.status_code == 201
    assert response.json() == {"id": response.json()["id"], "sequence": sequence.pk,
                               "job": job.pk, "position": 2}
    assert sequence.takes.count() == 2


def test_it_refuses_a_take_as_the_sequence_page_does(owner, other, project, make_job, sequence,
                                                     settings):
    api = api_as(owner)
    url = f"/api/v1/sequences/{sequence.pk}/takes"
    unfinished = make_job(project=project)
    private = succeed(make_job())

    refused = api.post(url, {"job": unfinished.pk}, content_type="application/json")
    assert refused.status_code == 409 and "no video yet" in refused.json()["message"]
    outside = api.post(url, {"job": private.pk}, content_type="application/json")
    assert outside.status_code == 409 and "Harbour crew" in outside.json()["errors"]["job"][0]
    settings.KLING_TAKES_PER_SEQUENCE = 1
    full = api.post(url, {"job": succeed(make_job(project=project)).pk},
                    content_type="application/json")
    assert full.status_code == 409 and "as many as a sequence may hold" in full.json()["message"]
    assert api.post(url, {"job": 0}, content_type="application/json").status_code == 400
    assert api.post(url, {"job": 2**63}, content_type="application/json").status_code == 400
    assert api.post(url, {}, content_type="application/json").status_code == 400
    assert api.post(url, "{", content_type="application/json").status_code == 400
    assert api_as(other).post(url, {"job": private.pk},
                              content_type="application/json").status_code == 404
    assert sequence.takes.count() == 1


def test_it_starts_an_export_once_and_within_the_persons_limit(owner, sequence, queued,
                                                               settings,
                                                               django_capture_on_commit_callbacks):
    api = api_as(owner)
    with django_capture_on_commit_callbacks(execute=True):
        started = api.post(f"/api/v1/sequences/{sequence.pk}/export")
    assert started.status_code == 202
    assert started.json() == {"sequence": sequence.pk, "status": "queued",
                              "status_label": "Waiting for a worker", "progress": 0,
                              "queued": True}
    assert len(queued) == 1

    again = api.post(f"/api/v1/sequences/{sequence.pk}/export")
    assert again.status_code == 202 and again.json()["queued"] is False

    settings.KLING_EXPORTS_PER_HOUR = 2
    limited = api.post(f"/api/v1/sequences/{sequence.pk}/export")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert "exports in the last hour" in limited.json()["message"]
    assert len(queued) == 1 and Export.objects.count() == 1


def test_it_refuses_to_export_an_empty_sequence_or_one_it_may_not_see(owner, other, sequence):
    empty = Sequence.objects.create(name="Nothing yet", owner=owner)
    refused = api_as(owner).post(f"/api/v1/sequences/{empty.pk}/export")
    assert refused.status_code == 409 and "no takes" in refused.json()["message"]
    assert api_as(other).post(f"/api/v1/sequences/{sequence.pk}/export").status_code == 404
    assert not Export.objects.exists()
