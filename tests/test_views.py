"""The pages and endpoints: who may reach what, and what each page shows."""

import html
import re
from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from jobs import catalogue, images, tasks
from jobs.forms import ComposeForm
from jobs.models import Element, ElementReference, Job
from tests.conftest import upload

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200 + b"fake video body"
KLING_26 = "kwaivgi/kling-2.6/image-to-video"

pytestmark = pytest.mark.django_db


def body(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


def stored(field):
    with default_storage.open(field.name, "rb") as handle:
        return handle.read()


def submit(job, shortapi_job_id="sa-1", amount=Decimal("0.300")):
    """Move a queued job through the state machine as the submit task would."""
    assert job.claim_for_submission()
    assert job.mark_submitted(shortapi_job_id, amount)
    return job


def succeed(job, video=MP4, video_url="https://cdn.shortapi.example/result.mp4"):
    """Put a job where a finished task would have left it."""
    assert submit(job).mark_succeeded(video_url)
    if video is not None:
        job.video.save("video.mp4", ContentFile(video), save=True)
    job.refresh_from_db()
    return job


@pytest.fixture
def site(owner, make_job):
    """The owner's finished job (with end frame and kept video) and a frame staged by the owner."""
    job = make_job()
    job.end_frame.save("end.png", upload(color=(10, 20, 200)), save=True)
    element = Element(job=job, position=0, name="Mia")
    element.frontal_image.save("front.png", upload(color=(200, 150, 120)), save=True)
    reference = ElementReference(element=element, position=0)
    reference.image.save("side.png", upload(color=(180, 130, 100)), save=True)
    succeed(job)
    form = ComposeForm({"model": KLING_26, "mode": "pro", "duration": "5", "prompt": ""},
                       {"start_frame": upload(color=(0, 200, 0))}, user=owner)
    assert not form.is_valid()
    form.stage_frames()
    return {"job": job, "staged": form.staged["start_frame"]}


# Pages every signed-in person has: their own gallery, composer, drafts and spend.
PERSONAL_PAGES = [
    pytest.param(lambda site: reverse("gallery"), id="gallery"),
    pytest.param(lambda site: reverse("compose"), id="compose"),
    pytest.param(lambda site: reverse("drafts"), id="drafts"),
    pytest.param(lambda site: reverse("my-spend"), id="my-spend"),
]
# Pages about one job or one upload: only its owner reaches them.
OWNED_PAGES = [
    pytest.param(lambda site: reverse("job-detail", args=[site["job"].pk]), id="detail"),
    pytest.param(lambda site: reverse("job-status", args=[site["job"].pk]), id="status"),
    pytest.param(lambda site: reverse("job-frame", args=[site["job"].pk, "start"]),
                 id="start-frame"),
    pytest.param(lambda site: reverse("job-frame", args=[site["job"].pk, "end"]), id="end-frame"),
    pytest.param(lambda site: reverse("job-video", args=[site["job"].pk]), id="video"),
    pytest.param(lambda site: reverse("job-element-image", args=[site["job"].pk, 0]),
                 id="element-image"),
    pytest.param(lambda site: reverse("job-element-reference", args=[site["job"].pk, 0, 0]),
                 id="element-reference"),
    pytest.param(lambda site: reverse("job-remix", args=[site["job"].pk]), id="remix"),
    pytest.param(lambda site: reverse("staged-frame", args=[site["staged"]]), id="staged-upload"),
]


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("url", PERSONAL_PAGES + OWNED_PAGES)
def test_it_sends_anonymous_visitors_to_the_login_page(client, site, url):
    path = url(site)
    response = client.get(path)
    assert response.status_code == 302
    location = urlsplit(response.url)
    assert location.path == reverse("login")
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize("url", PERSONAL_PAGES + OWNED_PAGES)
def test_it_answers_the_owner(owner, site, url):
    assert signed_in(owner).get(url(site)).status_code == 200


@pytest.mark.parametrize("who", ["other", "staff"])
@pytest.mark.parametrize("url", PERSONAL_PAGES)
def test_it_gives_other_people_their_own_personal_pages(request, site, url, who):
    response = signed_in(request.getfixturevalue(who)).get(url(site))
    assert response.status_code == 200
    page = response.content.decode()
    assert f'data-job="{site["job"].pk}"' not in page
    assert reverse("job-detail", args=[site["job"].pk]) not in page


@pytest.mark.parametrize("who", ["other", "staff"])
@pytest.mark.parametrize("url", OWNED_PAGES)
def test_it_hides_a_job_and_an_upload_from_everyone_but_the_owner(request, site, url, who):
    assert signed_in(request.getfixturevalue(who)).get(url(site)).status_code == 404


def test_it_shows_only_the_owners_jobs_newest_first_twelve_a_page(owner, other, make_job):
    now = timezone.now()
    jobs = [make_job(created_at=now - timedelta(minutes=age)) for age in range(25)]
    # two at the very same moment: the id orders them, and neither is skipped or repeated
    jobs.append(make_job(created_at=jobs[-1].created_at))
    jobs[-2:] = sorted(jobs[-2:], key=lambda job: -job.pk)
    strangers = make_job(user=other, created_at=now)
    client = signed_in(owner)

    pages, response = [], client.get(reverse("gallery"))
    while True:
        pages.append([job.pk for job in response.context["page"]])
        assert f'data-job="{strangers.pk}"' not in response.content.decode()
        older = re.search(r'href="\?([^"]+)" rel="next"', response.content.decode())
        if not older:
            break
        response = client.get(reverse("gallery") + "?" + html.unescape(older.group(1)))

    assert [len(page) for page in pages] == [12, 12, 2]
    assert sum(pages, []) == [job.pk for job in jobs]
    # and back again
    newer = re.search(r'href="\?([^"]+)" rel="prev"', response.content.decode()).group(1)
    back = client.get(reverse("gallery") + "?" + html.unescape(newer))
    assert [job.pk for job in back.context["page"]] == pages[1]


def test_a_cursor_that_does_not_parse_shows_the_newest_page(owner, make_job):
    job = make_job()
    response = signed_in(owner).get(reverse("gallery"), {"before": "not-a-cursor"})
    assert [j.pk for j in response.context["page"]] == [job.pk]


def test_it_shows_every_parameter_the_estimate_and_the_charge(owner, make_job):
    job = make_job(model_id=KLING_26, mode="pro", duration=10, generate_audio=True,
                   prompt="A heron lifts off the misty lake",
                   negative_prompt="blurry faces, text overlays",
                   estimate=Decimal("1.200"), amount=Decimal("1.150"),
                   status=Job.Status.SUBMITTED, shortapi_job_id="sa-42")

    page = signed_in(owner).get(job.get_absolute_url()).content.decode()

    for shown in ("Kling 2.6", "Professional", "10 seconds", "<dd>On</dd>",
                  "A heron lifts off the misty lake", "blurry faces, text overlays",
                  "<dt>Estimate</dt><dd>$1.20</dd>", '<dd data-role="charged">$1.15</dd>'):
        assert shown in page
    assert reverse("job-frame", args=[job.pk, "start"]) in page


def test_it_shows_why_a_job_failed_and_that_it_cost_nothing(owner, make_job):
    job = submit(make_job(), amount=Decimal("0.300"))
    assert job.mark_failed("Kling could not read the start frame. You were not charged for it.",
                           refunded=True)

    page = signed_in(owner).get(job.get_absolute_url()).content.decode()

    assert escape("Kling could not read the start frame. You were not charged for it.") in page
    assert '<dd data-role="charged">$0.30</dd>' in page
    assert "$0.00 (refunded" in page


@pytest.mark.parametrize("status", [Job.Status.QUEUED, Job.Status.SUBMITTED,
                                    Job.Status.PROCESSING, Job.Status.FAILED])
def test_it_has_no_video_before_the_job_succeeds(owner, make_job, status):
    job = make_job(status=status, video_url="https://cdn.shortapi.example/early.mp4")
    assert signed_in(owner).get(reverse("job-video", args=[job.pk])).status_code == 404


def test_it_serves_the_kept_video(owner, make_job):
    job = succeed(make_job())

    response = signed_in(owner).get(reverse("job-video", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "video/mp4"
    assert body(response) == MP4
    assert not response.get("Content-Disposition", "").startswith("attachment")


def test_it_offers_the_video_as_a_download(owner, make_job):
    job = succeed(make_job())

    response = signed_in(owner).get(reverse("job-video", args=[job.pk]), {"download": "1"})

    assert response["Content-Disposition"] == (
        f'attachment; filename="kling-studio-job-{job.pk}.mp4"')
    assert body(response) == MP4


def test_it_sends_the_viewer_to_shortapis_copy_until_the_video_is_kept(owner, make_job):
    job = succeed(make_job(), video=None, video_url="https://cdn.shortapi.example/r/7.mp4")

    response = signed_in(owner).get(reverse("job-video", args=[job.pk]))

    assert response.status_code == 302
    assert response.url == "https://cdn.shortapi.example/r/7.mp4"


def test_it_serves_the_frames_the_job_was_made_from(owner, site):
    job = site["job"]
    client = signed_in(owner)

    start = client.get(reverse("job-frame", args=[job.pk, "start"]))
    end = client.get(reverse("job-frame", args=[job.pk, "end"]))

    assert start["Content-Type"] == "image/png"
    start_bytes, end_bytes = body(start), body(end)
    assert start_bytes == stored(job.start_frame)
    assert end_bytes == stored(job.end_frame)
    assert start_bytes != end_bytes


def test_it_answers_404_for_a_frame_that_does_not_exist(owner, make_job):
    job = make_job()
    client = signed_in(owner)
    assert client.get(reverse("job-frame", args=[job.pk, "end"])).status_code == 404
    assert client.get(reverse("job-frame", args=[job.pk, "middle"])).status_code == 404


def test_it_reports_a_running_jobs_status_as_json(owner, make_job):
    job = submit(make_job(), "sa-9", Decimal("0.300"))
    assert job.mark_processing()

    response = signed_in(owner).get(reverse("job-status", args=[job.pk]))

    assert response.json() == {"status": "processing", "label": "Processing", "finished": False,
                               "error": "", "charged": "$0.30", "cost": "$0.30", "video": False,
                               "kept": False, "cost_note": ""}
    assert "no-cache" in response["Cache-Control"]


def test_it_reports_a_failed_jobs_reason_and_zero_cost_as_json(owner, make_job):
    job = submit(make_job(), amount=Decimal("0.300"))
    assert job.mark_failed("Kling said no.", refunded=True)

    data = signed_in(owner).get(reverse("job-status", args=[job.pk])).json()

    assert data["finished"] is True
    assert data["error"] == "Kling said no."
    assert (data["charged"], data["cost"]) == ("$0.30", "$0.00")
    assert data["cost_note"] == "refunded by ShortAPI"
    assert data["video"] is False


def test_it_reports_a_finished_video_as_json(owner, make_job):
    job = succeed(make_job())
    data = signed_in(owner).get(reverse("job-status", args=[job.pk])).json()
    assert (data["status"], data["finished"], data["video"]) == ("succeeded", True, True)


def test_it_shows_the_sign_in_page_to_anonymous_visitors(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


def test_it_signs_a_person_in_with_their_password(client, owner):
    response = client.post(reverse("login"), {"username": "olivia",
                                              "password": "owner-pass-123"})
    assert response.status_code == 302
    assert response.url == reverse("gallery")
    assert client.get(reverse("gallery")).status_code == 200


def test_it_signs_out_by_post_only(owner):
    client = signed_in(owner)

    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("gallery")).status_code == 200
    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert client.get(reverse("gallery")).status_code == 302


@pytest.fixture
def public_urls(settings):
    settings.PUBLIC_BASE_URL = "https://studio.example"
    settings.KLING_IMAGE_TRANSPORT = "auto"


def test_it_serves_a_signed_image_url_without_login(client, make_job, public_urls):
    job = make_job()
    url = images.wire_reference(job.start_frame)
    assert url.startswith("https://studio.example/i/")

    response = client.get(urlsplit(url).path)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert body(response) == stored(job.start_frame)


def test_it_refuses_a_tampered_image_url(client, make_job, public_urls):
    job = make_job()
    token = urlsplit(images.wire_reference(job.start_frame)).path.split("/")[2]
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert client.get(reverse("signed-image", args=[token])).status_code == 200
    assert client.get(reverse("signed-image", args=[tampered])).status_code == 404


def test_it_does_not_serve_a_staged_upload_token_as_an_image_url(client, site):
    assert client.get(reverse("signed-image", args=[site["staged"]])).status_code == 404


def callback_client():
    return Client(enforce_csrf_checks=True)


def test_it_ignores_a_callback_with_a_wrong_token(make_job, enqueued):
    job = make_job(status=Job.Status.SUBMITTED, shortapi_job_id="sa-1")
    before = Job.objects.values().get(pk=job.pk)

    response = callback_client().post(reverse("shortapi-callback", args=["not-" + "x" * 40]),
                                      {"status": 2}, content_type="application/json")

    assert response.status_code == 404
    assert enqueued == []
    assert Job.objects.values().get(pk=job.pk) == before


def test_it_asks_for_a_refresh_on_a_callback_with_the_right_token(make_job, enqueued):
    job = make_job(status=Job.Status.SUBMITTED, shortapi_job_id="sa-1")
    before = Job.objects.values().get(pk=job.pk)

    # anonymous, without a CSRF token, as ShortAPI calls it; the body claims success
    response = callback_client().post(
        reverse("shortapi-callback", args=[job.callback_token]),
        {"job_id": "sa-1", "status": 2, "result": {"videos": [{"url": "https://evil.example"}]}},
        content_type="application/json")

    assert response.status_code == 200
    assert enqueued == [(tasks.refresh_job, (job.pk,))]
    # the unsigned body is only a hint: nothing changes until the task asks ShortAPI, but the
    # job notes that a task is waiting
    after = Job.objects.values().get(pk=job.pk)
    assert after.pop("task_queued_at") is not None and before.pop("task_queued_at") is None
    assert after == before


def test_duplicate_callbacks_queue_one_refresh_and_one_during_it_queues_one_more(
        make_job, enqueued, django_assert_num_queries):
    job = make_job(status=Job.Status.SUBMITTED, shortapi_job_id="sa-1")
    url = reverse("shortapi-callback", args=[job.callback_token])

    with django_assert_num_queries(2):  # one lookup, one conditional update
        callback_client().post(url, {"job_id": "sa-1"}, content_type="application/json")
    for _ in range(20):
        assert callback_client().post(url, {}, content_type="application/json").status_code == 200
    assert enqueued == [(tasks.refresh_job, (job.pk,))]

    job.take_task()  # the refresh starts
    for _ in range(20):
        callback_client().post(url, {}, content_type="application/json")
    assert enqueued == [(tasks.refresh_job, (job.pk,))] * 2


def test_a_callback_queues_again_when_the_waiting_task_was_lost(make_job, enqueued):
    from jobs.models import TASK_LOST_AFTER

    job = make_job(status=Job.Status.PROCESSING, shortapi_job_id="sa-1",
                   task_queued_at=timezone.now() - TASK_LOST_AFTER - timedelta(seconds=1))
    callback_client().post(reverse("shortapi-callback", args=[job.callback_token]), {},
                           content_type="application/json")
    assert enqueued == [(tasks.refresh_job, (job.pk,))]


def test_a_callback_about_a_finished_job_queues_nothing(make_job, enqueued):
    job = make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-1")
    callback_client().post(reverse("shortapi-callback", args=[job.callback_token]), {},
                           content_type="application/json")
    assert enqueued == []


def test_it_refuses_a_callback_by_get(make_job, enqueued):
    job = make_job(status=Job.Status.SUBMITTED)
    response = callback_client().get(reverse("shortapi-callback", args=[job.callback_token]))
    assert response.status_code == 405
    assert enqueued == []


def test_the_catalogue_json_on_the_composer_names_both_models(owner):
    response = signed_in(owner).get(reverse("compose"))
    assert '<script id="catalogue" type="application/json">' in response.content.decode()
    assert {m["id"] for m in response.context["catalogue"]["models"]} == set(catalogue.MODELS)
