"""The API's OpenAPI document against the API's real answers: every operation it lists is called
here for a success and a refusal, and each answer is validated against the document with
openapi-core (tests/api_client.py); an answer that drifts from the document fails."""

import pytest
from django.test import Client
from django.http import HttpResponse
from openapi_core.exceptions import OpenAPIError

from api.errors import ApiError
from sequences.models import Sequence
from tests.api_client import ApiClient, api_as, openapi
from tests.conftest import upload
from tests.test_compose import form_data
from tests.test_sequences import clip, queued, sequence, succeed, team_job  # noqa: F401

pytestmark = pytest.mark.django_db
METHODS = {"get", "put", "post", "delete", "patch"}


def operations():
    document = Client().get("/api/v1/openapi.json").json()
    return {(method.upper(), path): operation for path, item in document["paths"].items()
            for method, operation in item.items() if method in METHODS}


def test_the_document_is_served_without_a_token_and_without_a_docs_page():
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.1")
    assert openapi() is not None  # openapi-core checked the document itself when loading it
    assert Client().get("/api/v1/docs").status_code == 404
    assert b"cdn" not in response.content.lower()


def test_every_operation_needs_a_token_and_says_how_it_refuses():
    for (method, path), operation in operations().items():
        assert operation["security"] == [{"TokenAuth": []}], (method, path)
        refusals = {status: answer for status, answer in operation["responses"].items()
                    if status.startswith(("4", "5"))}
        assert "401" in refusals, (method, path)
        for status, answer in refusals.items():
            if "content" in answer:
                assert answer["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, (method, path, status)


def test_every_operation_answers_as_its_document_says(owner, other, staff, project, make_job,
                                                      sequence, queued, enqueued):
    api, stranger = api_as(owner), api_as(other)
    job = succeed(make_job(project=project))
    empty = Sequence.objects.create(name="Empty", owner=owner)
    reference = api.post("/api/v1/uploads", {"image": upload()}).json()["reference"]
    api.post("/api/v1/uploads", {"image": upload(fmt="GIF")})
    api.post("/api/v1/jobs", form_data(start_frame_staged=reference))
    api.post("/api/v1/jobs", form_data(prompt=""))
    api.get("/api/v1/jobs")
    api.get("/api/v1/jobs", {"limit": "0"})
    api.get(f"/api/v1/jobs/{job.pk}")
    stranger.get(f"/api/v1/jobs/{job.pk}")
    api.get(f"/api/v1/jobs/{job.pk}/video", HTTP_RANGE="bytes=0-9")
    stranger.get(f"/api/v1/jobs/{job.pk}/video")
    for method in (api.put, api.delete, stranger.put, stranger.delete):
        method(f"/api/v1/jobs/{job.pk}/star")
    api.get("/api/v1/projects")
    api.post(f"/api/v1/sequences/{sequence.pk}/takes", {"job": job.pk},
             content_type="application/json")
    api.post(f"/api/v1/sequences/{sequence.pk}/takes", {"job": make_job().pk},
             content_type="application/json")
    api.post(f"/api/v1/sequences/{sequence.pk}/export")
    api.post(f"/api/v1/sequences/{empty.pk}/export")
    unknown = ApiClient("kst_unknown")
    unknown.get("/api/v1/projects")
    # approvals: staff decide on any waiting submission
    waiting = make_job(status="waiting")
    boss = api_as(staff)
    boss.get("/api/v1/approvals")
    api.get("/api/v1/approvals")
    boss.post(f"/api/v1/approvals/{waiting.pk}", {"decision": "decline", "note": "Not now"},
              content_type="application/json")
    boss.post(f"/api/v1/approvals/{waiting.pk}", {"decision": "approve"},
              content_type="application/json")

    answered = {}
    for client in (api, stranger, unknown, boss):
        for method, path, status in client.checked:
            answered.setdefault((method, path), set()).add(status)
    assert set(answered) == set(operations())
    for operation, statuses in answered.items():
        assert any(status < 400 for status in statuses), operation
        assert any(status >= 400 for status in statuses), operation


def test_an_answer_that_drifts_from_the_document_fails_the_check(owner, make_job, monkeypatch):
    """ninja itself holds a body to its schema; what it cannot hold is a status the document
    does not list, or bytes of another type: those are what the check is for."""
    job = succeed(make_job())
    api = api_as(owner)

    def conflict(request, pk):
        raise ApiError(409, "A status the document does not list for this operation.")

    with monkeypatch.context() as patch:
        patch.setattr("api.jobs.visible", conflict)
        with pytest.raises(OpenAPIError):
            api.get(f"/api/v1/jobs/{job.pk}")
    with monkeypatch.context() as patch:
        patch.setattr("api.jobs.media.serve", lambda *args, **kwargs: HttpResponse(
            b"bytes", content_type="application/octet-stream"))
        with pytest.raises(OpenAPIError):
            api.get(f"/api/v1/jobs/{job.pk}/video")
    assert api.get(f"/api/v1/jobs/{job.pk}/video").status_code == 200
