"""The JSON API under /api/v1/: a job made from the composer's own fields refused with the
composer's own words, budgets and rate limits, the gallery's filters and pages, a video's byte
ranges, stars, projects, sequence takes and exports; every answer checked against the OpenAPI
document (tests/api_client.py)."""

import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from api.errors import form_errors
from jobs import search, tasks
from jobs.models import Job, Star
from spend.models import Budget
from teams.models import Project
from tests import hostile
from tests.api_client import api_as
from tests.conftest import upload
from tests.test_compose import KLING_26, KLING_30, LONG_PROMPT, form_data, signed_in
from tests.test_sequences import MP4, succeed

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(owner):
    return api_as(owner)


def create(api, **fields):
    return api.post("/api/v1/jobs", form_data(**fields))


def test_it_makes_a_job_from_the_composers_fields(api, owner, enqueued, settings,
                                                  django_capture_on_commit_callbacks):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    with django_capture_on_commit_callbacks(execute=True):
        response = create(api, start_frame=upload(), title="Kite at dusk")

    assert response.status_code == 201, response.json()
    job = Job.objects.get()
    assert (job.owner, job.model_id, job.duration, job.generate_audio) == (owner, KLING_26, 10,
                                                                           True)
    assert response.json() == {
        "id": job.pk, "title": "Kite at dusk", "status": "queued", "status_label": "Queued",
        "model": KLING_26, "mode": "pro", "duration": 10, "takes": 1, "take_number": 1,
        "prompt": job.prompt, "project": None, "estimate": "1.200", "cost": "0.000",
        "error": "", "created_at": response.json()["created_at"], "finished_at": None,
        "url": f"https://studio.example.com/jobs/{job.pk}/", "video_url": None}
    assert enqueued == [(tasks.submit_job, (job.pk,))]


def test_it_sends_takes_into_a_project_the_person_may_use(api, project, enqueued,
                                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = create(api, start_frame=upload(), takes="3", project=str(project.pk))

    assert response.status_code == 201
    assert (response.json()["takes"], response.json()["project"]) == (3, project.pk)
    assert Job.objects.filter(project=project, takes=3).count() == 3
    assert len(enqueued) == 3


def storyboard(**fields):
    return {"model": KLING_30, "mode": "pro", "duration": "10", "multi_shot": "1", **fields}


def png(make):
    def build():
        name, content, kind = hostile.REFUSED[make]
        from django.core.files.uploadedfile import SimpleUploadedFile
        return SimpleUploadedFile(name, content(), content_type=kind)
    return build


# Every refusal of the catalogue and the frame checks, with the field it is told beside
REFUSALS = [
    pytest.param({"model": "kwaivgi/kling-9"}, {}, "model", "valid choice", id="bad-model"),
    pytest.param({"mode": "std"}, {}, "mode", "Professional mode only", id="mode-for-model"),
    pytest.param({"duration": "7"}, {}, "duration", "5 or 10 seconds", id="duration"),
    pytest.param({"model": KLING_30, "duration": "16"}, {}, "duration", "valid choice",
                 id="duration-off-the-list"),
    pytest.param({"prompt": LONG_PROMPT}, {}, "prompt", "shorten it to 2,500", id="long-prompt"),
    pytest.param({"prompt": ""}, {}, "prompt", "Write a prompt", id="no-prompt"),
    pytest.param({"negative_prompt": "x" * 2501}, {}, "negative_prompt", "2,500",
                 id="long-negative-prompt"),
    pytest.param({"start_frame": None}, {}, "start_frame", "Upload a start frame",
                 id="no-start-frame"),
    pytest.param({}, {"start_frame": lambda: upload(fmt="GIF")}, "start_frame", "GIF",
                 id="gif"),
    pytest.param({}, {"start_frame": png("png-bomb")}, "start_frame", "", id="png-bomb"),
    pytest.param({}, {"start_frame": png("html-as-png")}, "start_frame", "", id="html-as-png"),
    pytest.param({}, {"start_frame": png("too-wide")}, "start_frame", "", id="too-wide"),
    pytest.param({}, {"end_frame": lambda: upload(200, 200)}, "end_frame", "300 pixels",
                 id="tiny-end-frame"),
    pytest.param(storyboard(), {"end_frame": upload}, "end_frame", "cannot be used with "
                 "multi-shot", id="end-frame-with-multi-shot"),
    pytest.param(storyboard(shot_type="customize", prompt=""), {}, "shots",
                 "1 to 6 shots", id="storyboard-without-shots"),
    pytest.param({"takes": "9"}, {}, "takes", "valid choice", id="too-many-takes"),
    pytest.param({"start_frame_staged": "staged/../../settings.py", "start_frame": None}, {},
                 "start_frame", "Upload it again", id="forged-reference"),
    pytest.param({"title": "t" * 121}, {}, "title", "at most 120", id="long-title"),
]


@pytest.mark.parametrize("fields, files, field, words", REFUSALS)
def test_it_refuses_what_the_composer_refuses_in_the_composers_words(
        api, owner, other, enqueued, fields, files, field, words):
    def post():
        data = form_data(**{"start_frame": upload(), **fields})
        data.update({name: make() for name, make in files.items()})
        return data

    response = api.post("/api/v1/jobs", post())
    page = signed_in(owner).post(reverse("compose"), post())

    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors == form_errors(page.context["form"])
    assert field in errors and words in " ".join(errors[field])
    assert "Nothing was sent or charged" in response.json()["message"]
    assert Job.objects.count() == 0 and enqueued == []


def test_it_refuses_a_project_the_person_may_not_use(api, other, enqueued):
    theirs = Project.objects.create(name="Oscar's own", owner=other)
    response = create(api, start_frame=upload(), project=str(theirs.pk))
    assert response.status_code == 400 and "project" in response.json()["errors"]


def test_it_refuses_over_budget_with_402_and_the_budgets_words(api, owner, enqueued):
    Budget.objects.create(user=owner, amount=Decimal("1"))
    response = create(api, start_frame=upload())
    assert response.status_code == 402
    assert "budget" in response.json()["message"].lower()
    assert Job.objects.count() == 0


def test_it_refuses_too_many_videos_with_429_and_retry_after(api, settings, enqueued):
    settings.KLING_COMPOSE_PER_PERSON = 1
    assert create(api, start_frame=upload()).status_code == 201

    response = create(api, start_frame=upload())

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 600
    assert re.search(r"Try again in \d+ minutes?: nothing was sent or charged\.$",
                     response.json()["message"])
    assert Job.objects.count() == 1


def test_it_stages_an_image_whose_reference_a_job_then_uses(api, owner, other, enqueued):
    response = api.post("/api/v1/uploads", {"image": upload(color=(1, 2, 3))})
    assert response.status_code == 201
    reference = response.json()["reference"]

    assert create(api_as(other), start_frame=None,
                  start_frame_staged=reference).status_code == 400
    made = create(api, start_frame=None, start_frame_staged=reference)
    assert made.status_code == 201
    assert Job.objects.get().start_frame


def test_it_refuses_an_upload_in_the_composers_words(api, owner):
    refused = api.post("/api/v1/uploads", {"image": upload(fmt="GIF")})
    page = signed_in(owner).post(reverse("compose"), form_data(start_frame=upload(fmt="GIF")))
    assert refused.status_code == 400
    assert refused.json()["errors"]["image"] == page.context["form"].errors["start_frame"]
    assert api.post("/api/v1/uploads", {}).status_code == 400


def test_uploads_are_bounded_per_person(api, settings):
    settings.KLING_COMPOSE_PER_PERSON = 1
    for _ in range(4):
        assert api.post("/api/v1/uploads", {"image": upload()}).status_code == 201
    response = api.post("/api/v1/uploads", {"image": upload()})
    assert response.status_code == 429 and response["Retry-After"]


def test_a_body_over_the_servers_bound_is_refused_in_json():
    from klingstudio.wsgi import limit_request_size

    answered = {}
    app = limit_request_size(lambda environ, start: [b"read"], 1024)
    body = app({"CONTENT_LENGTH": str(2 * 2**20), "PATH_INFO": "/api/v1/jobs"},
               lambda status, headers: answered.update(status=status, headers=dict(headers)))
    assert answered["status"].startswith("413")
    assert answered["headers"]["Content-Type"] == "application/json"
    assert b"Nothing was sent or charged" in body[0]


def test_a_body_with_too_many_fields_is_refused_in_json(api, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = api.post("/api/v1/jobs", {f"field{n}": "x" for n in range(20)})
    assert response.status_code == 413
    assert "too large" in response.json()["message"]


# Finding jobs: the gallery's filters and pages


def test_it_lists_the_persons_own_sent_jobs_with_the_gallerys_filters(api, owner, other,
                                                                      make_job):
    kite = succeed(make_job(prompt="A kite over the dunes"))
    harbour = make_job(prompt="The harbour at dawn", model_id=KLING_30)
    make_job(status=Job.Status.DRAFT)
    make_job(user=other)
    search.index_many([kite, harbour])
    Star.mark(owner, harbour)

    def ids(**query):
        response = api.get("/api/v1/jobs", query)
        assert response.status_code == 200, response.json()
        return [job["id"] for job in response.json()["jobs"]]

    assert ids() == [harbour.pk, kite.pk]
    assert ids(q="kite") == [kite.pk]
    assert ids(status="done") == [kite.pk]
    assert ids(model=KLING_30) == [harbour.pk]
    assert ids(starred="on") == [harbour.pk]
    assert ids(sort="oldest") == [kite.pk, harbour.pk]
    assert ids(since="2000-01-01", until="2999-01-01") == [harbour.pk, kite.pk]


def test_it_pages_by_keyset_with_next_and_previous_links(api, make_job):
    jobs = [make_job(prompt=f"Shot {n}") for n in range(5)]
    first = api.get("/api/v1/jobs", {"limit": 2, "status": "working"}).json()
    assert [job["id"] for job in first["jobs"]] == [jobs[4].pk, jobs[3].pk]
    assert first["previous"] is None and "status=working" in first["next"]

    second = api.get(first["next"]).json()
    assert [job["id"] for job in second["jobs"]] == [jobs[2].pk, jobs[1].pk]
    third = api.get(second["next"]).json()
    assert [job["id"] for job in third["jobs"]] == [jobs[0].pk] and third["next"] is None
    assert [job["id"] for job in api.get(third["previous"]).json()["jobs"]] == [jobs[2].pk,
                                                                               jobs[1].pk]


@pytest.mark.parametrize("query, field", [
    ({"limit": "51"}, "limit"), ({"limit": "0"}, "limit"), ({"limit": "NaN"}, "limit"),
    ({"since": "yesterday"}, "since"), ({"status": "lost"}, "status"),
    ({"since": "2020-02-02", "until": "2020-01-01"}, "until"), ({"q": "q" * 201}, "q"),
])
def test_it_refuses_filters_it_does_not_understand(api, query, field):
    response = api.get("/api/v1/jobs", query)
    assert response.status_code == 400 and field in response.json()["errors"]


# One job, its video and its star


def test_it_shows_a_job_to_whoever_may_see_it_and_404_to_anybody_else(
        owner, other, teammate, project, make_job, staff):
    job = make_job(project=project)
    assert api_as(owner).get(f"/api/v1/jobs/{job.pk}").json()["id"] == job.pk
    assert api_as(teammate).get(f"/api/v1/jobs/{job.pk}").status_code == 200
    for stranger in (other, staff):
        response = api_as(stranger).get(f"/api/v1/jobs/{job.pk}")
        assert response.status_code == 404 and "not yours" in response.json()["message"]
    client = Client(HTTP_AUTHORIZATION=api_as(owner).defaults["HTTP_AUTHORIZATION"])
    for odd in ("9" * 18, "0"):
        assert client.get(f"/api/v1/jobs/{odd}").status_code == 404
    assert client.get(f"/api/v1/jobs/{'9' * 19}").status_code == 404
    assert client.get("/api/v1/jobs/-1").status_code == 404


def test_it_serves_a_kept_video_with_byte_ranges(api, owner, other, make_job, settings):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    job = succeed(make_job(title="Harbour at dawn"))
    assert api.get(f"/api/v1/jobs/{job.pk}").json()["video_url"] == (
        f"https://studio.example.com/api/v1/jobs/{job.pk}/video")

    whole = api.get(f"/api/v1/jobs/{job.pk}/video")
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == MP4
    part = api.get(f"/api/v1/jobs/{job.pk}/video", HTTP_RANGE="bytes=4-11")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 4-11/{len(MP4)}"
    assert b"".join(part.streaming_content) == MP4[4:12]
    download = api.get(f"/api/v1/jobs/{job.pk}/video", {"download": "1"})
    assert 'attachment; filename="kling-studio-job-' in download["Content-Disposition"]
    assert api.get(f"/api/v1/jobs/{job.pk}/video",
                   HTTP_RANGE=f"bytes={len(MP4) + 5}-").status_code == 416
    assert api_as(other).get(f"/api/v1/jobs/{job.pk}/video").status_code == 404


def test_a_video_not_kept_yet_goes_to_shortapis_copy_and_none_is_404(api, make_job):
    waiting = succeed(make_job(), content=None)
    unfinished = make_job()
    # the link is the API's download either way: it leads to ShortAPI's copy until ours is kept
    assert api.get(f"/api/v1/jobs/{waiting.pk}").json()["video_url"].endswith(
        f"/api/v1/jobs/{waiting.pk}/video")
    assert api.get(f"/api/v1/jobs/{unfinished.pk}").json()["video_url"] is None
    response = api.get(f"/api/v1/jobs/{waiting.pk}/video")
    assert response.status_code == 302 and response.url == waiting.video_url
    refused = api.get(f"/api/v1/jobs/{unfinished.pk}/video")
    assert refused.status_code == 404 and "no video yet" in refused.json()["message"]


def test_it_stars_a_job_and_takes_the_star_away(api, owner, other, make_job):
    job = make_job()
    assert api.put(f"/api/v1/jobs/{job.pk}/star").json() == {"job": job.pk, "starred": True}
    assert api.put(f"/api/v1/jobs/{job.pk}/star").status_code == 200
    assert Star.objects.filter(person=owner, job=job).count() == 1
    assert api.delete(f"/api/v1/jobs/{job.pk}/star").json()["starred"] is False
    assert not Star.objects.exists()
    assert api_as(other).put(f"/api/v1/jobs/{job.pk}/star").status_code == 404
    assert not Star.objects.exists()


def test_it_lists_the_projects_open_to_the_person(api, owner, other, project):
    mine = Project.objects.create(name="A private reel", owner=owner)
    Project.objects.create(name="Oscar's own", owner=other)
    assert api.get("/api/v1/projects").json() == {"projects": [
        {"id": mine.pk, "name": "A private reel", "team": None},
        {"id": project.pk, "name": "Harbour film", "team": "Harbour crew"}], "more": False}
