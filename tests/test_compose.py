"""The composer: a valid form becomes a queued job; a bad one comes back with its errors, what the
person typed, and the frames they already uploaded."""

import json
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from jobs import catalogue, tasks
from jobs.models import Job
from tests.conftest import cleaned, upload

KLING_26 = "kwaivgi/kling-2.6/image-to-video"
KLING_30 = "kwaivgi/kling-3.0/image-to-video"
PROMPT = "A red kite climbs over the dunes at dusk"

pytestmark = pytest.mark.django_db


class _Finder(HTMLParser):
    """Collects the text inside the element with a given id, and every input's attributes."""

    def __init__(self, element_id):
        super().__init__(convert_charrefs=True)
        self.element_id, self.tag, self.depth = element_id, None, 0
        self.text, self.inputs = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input":
            self.inputs.append(attrs)
        if self.tag is None and attrs.get("id") == self.element_id:
            self.tag, self.depth = tag, 1
        elif self.depth and tag == self.tag:
            self.depth += 1

    def handle_endtag(self, tag):
        if self.depth and tag == self.tag:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)


def text_of(html, element_id):
    finder = _Finder(element_id)
    finder.feed(html)
    assert finder.tag, f"no element with id={element_id!r} on the page"
    return "".join(finder.text)


def hidden_value(html, name):
    finder = _Finder("")
    finder.feed(html)
    values = [i.get("value") for i in finder.inputs if i.get("name") == name]
    return values[0] if values else None


def stored(name):
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def form_data(**overrides):
    data = {"model": KLING_26, "mode": "pro", "duration": "10", "prompt": PROMPT,
            "negative_prompt": "", "generate_audio": "on"}
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_it_queues_a_valid_kling_26_job_and_sends_it_after_commit(
        owner, enqueued, django_capture_on_commit_callbacks):
    frame = upload(name="secret-holiday-name.png")
    frame_bytes = frame.read()
    frame.seek(0)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signed_in(owner).post(reverse("compose"),
                                         form_data(start_frame=frame))
        assert enqueued == [], "submit_job was queued before the job was committed"

    job = Job.objects.get()
    assert response.status_code == 302
    assert response.url == job.get_absolute_url()
    assert (job.owner, job.model_id, job.mode, job.duration, job.prompt, job.generate_audio) == (
        owner, KLING_26, "pro", 10, PROMPT, True)
    assert job.status == Job.Status.QUEUED
    assert job.estimate == Decimal("1.200")
    assert job.amount is None
    assert not job.end_frame
    assert "secret-holiday-name" not in job.start_frame.name
    assert job.start_frame.name.endswith(".png")
    assert stored(job.start_frame.name) == cleaned(frame_bytes)
    assert len(callbacks) == 1
    assert enqueued == [(tasks.submit_job, (job.pk,))]


def test_it_queues_a_kling_30_standard_job_with_its_own_price(owner, enqueued,
                                                              django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(owner).post(reverse("compose"), form_data(
            model=KLING_30, mode="std", duration="7", generate_audio=None, start_frame=upload()))

    job = Job.objects.get()
    assert (job.model_id, job.mode, job.duration, job.generate_audio) == (KLING_30, "std", 7,
                                                                          False)
    assert job.estimate == Decimal("1.001")
    assert enqueued == [(tasks.submit_job, (job.pk,))]


LONG_PROMPT = (PROMPT + " ") * 70
LONG_PROMPT = LONG_PROMPT[:2501]

BAD_INPUTS = [
    pytest.param({}, {}, "start_frame", "Upload a start frame", id="no-start-frame"),
    pytest.param({"prompt": LONG_PROMPT}, {"start_frame": upload}, "prompt",
                 "2,501 characters long; shorten it to 2,500", id="prompt-too-long"),
    pytest.param({"duration": "7"}, {"start_frame": upload}, "duration",
                 "Kling 2.6 makes videos of 5 or 10 seconds", id="duration-7-on-2.6"),
    pytest.param({"mode": "std"}, {"start_frame": upload}, "mode",
                 "Kling 2.6 offers the Professional mode only", id="std-on-2.6"),
    pytest.param({}, {"start_frame": lambda: upload(fmt="GIF")}, "start_frame",
                 "This is a GIF image", id="gif-start-frame"),
    pytest.param({}, {"start_frame": upload, "end_frame": lambda: upload(200, 200)}, "end_frame",
                 "each side must be at least 300 pixels", id="tiny-end-frame"),
]


@pytest.mark.parametrize("data, files, field, error", BAD_INPUTS)
def test_it_shows_the_error_beside_the_field_and_keeps_the_input(
        owner, enqueued, django_capture_on_commit_callbacks, data, files, field, error):
    post = form_data(**data)
    post.update({name: make() for name, make in files.items()})

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = signed_in(owner).post(reverse("compose"), post)

    assert response.status_code == 200
    page = response.content.decode()
    assert escape(error) in escape(text_of(page, f"field-{field}"))
    other_fields = {"mode", "duration", "prompt", "start_frame", "end_frame"} - {field}
    for name in other_fields:
        assert error not in text_of(page, f"field-{name}")
    assert text_of(page, "id_prompt").lstrip("\n") == post["prompt"]
    assert Job.objects.count() == 0
    assert callbacks == [] and enqueued == []


def test_it_keeps_the_chosen_settings_of_a_rejected_form(owner):
    response = signed_in(owner).post(reverse("compose"), form_data(
        model=KLING_30, mode="std", duration="12", negative_prompt="no text on screen"))
    form = response.context["form"]
    assert (form["model"].value(), form["mode"].value(), form["duration"].value()) == (
        KLING_30, "std", "12")
    assert "no text on screen" in text_of(response.content.decode(), "id_negative_prompt")


def reject_with_frames(client, **files):
    """Post a form whose prompt is too long, so its good frames are staged."""
    response = client.post(reverse("compose"), form_data(prompt=LONG_PROMPT, **files))
    assert response.status_code == 200
    return response.content.decode()


def test_it_stages_a_good_frame_of_a_rejected_form_for_the_next_try(
        owner, enqueued, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    frame = upload(color=(12, 34, 56))
    frame_bytes = frame.read()
    frame.seek(0)
    token = hidden_value(reject_with_frames(client, start_frame=frame), "start_frame_staged")
    assert token

    assert b"".join(client.get(reverse("staged-frame", args=[token])).streaming_content) == (
        cleaned(frame_bytes))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("compose"), form_data(start_frame_staged=token))

    job = Job.objects.get()
    assert response.url == job.get_absolute_url()
    assert stored(job.start_frame.name) == cleaned(frame_bytes)
    assert job.prompt == PROMPT
    assert enqueued == [(tasks.submit_job, (job.pk,))]


def test_it_does_not_let_another_person_use_a_staged_frame(owner, other, enqueued):
    token = hidden_value(reject_with_frames(signed_in(owner), start_frame=upload()),
                         "start_frame_staged")
    thief = signed_in(other)

    response = thief.post(reverse("compose"), form_data(start_frame_staged=token))

    assert response.status_code == 200
    assert "Upload it again" in text_of(response.content.decode(), "field-start_frame")
    assert Job.objects.count() == 0 and enqueued == []
    assert thief.get(reverse("staged-frame", args=[token])).status_code == 404


def test_it_refuses_a_forged_staging_token(owner, enqueued):
    response = signed_in(owner).post(reverse("compose"),
                                     form_data(start_frame_staged="staged/../../settings.py"))
    assert "Upload it again" in text_of(response.content.decode(), "field-start_frame")
    assert Job.objects.count() == 0


def test_it_uses_a_staged_end_frame_unless_it_is_removed(owner, enqueued,
                                                          django_capture_on_commit_callbacks):
    client = signed_in(owner)
    end = upload(color=(250, 250, 0))
    end_bytes = end.read()
    end.seek(0)
    page = reject_with_frames(client, start_frame=upload(), end_frame=end)
    start_token = hidden_value(page, "start_frame_staged")
    end_token = hidden_value(page, "end_frame_staged")
    assert start_token and end_token
    assert 'name="end_frame_remove"' in page

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("compose"), form_data(start_frame_staged=start_token,
                                                  end_frame_staged=end_token))
        client.post(reverse("compose"), form_data(start_frame_staged=start_token,
                                                  end_frame_staged=end_token,
                                                  end_frame_remove="1"))

    kept, removed = Job.objects.order_by("pk")
    assert stored(kept.end_frame.name) == cleaned(end_bytes)
    assert not removed.end_frame
    assert removed.start_frame


def test_it_puts_the_catalogue_with_both_models_on_the_page(owner):
    page = signed_in(owner).get(reverse("compose")).content.decode()
    data = json.loads(text_of(page, "catalogue"))
    assert {model["id"] for model in data["models"]} == {KLING_26, KLING_30}
    assert set(catalogue.MODELS) == {KLING_26, KLING_30}
    prices = {model["id"]: model["prices"] for model in data["models"]}
    assert prices[KLING_26]["pro:1"] == "0.12"
