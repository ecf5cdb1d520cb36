"""Storyboards and elements in the composer: every catalogue rule reaches the person next to the
shot or element that broke it, a rejected form keeps every shot and image, a valid one is saved
as asked, and the worker's request has the seed page's shape for every combination."""

import json
import re
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse

from jobs import catalogue, images, tasks
from jobs.models import Job
from tests.composer import (KLING_26, KLING_30, PROMPT, composer_post, element, rows,
                            signed_in, storyboard_post, stored, text_of, textarea, values)
from tests.conftest import cleaned, upload

pytestmark = pytest.mark.django_db


def post(user, data):
    return signed_in(user).post(reverse("compose"), data)


def rejected(owner, data):
    """Post the composer and return the page of a rejected form; fails if a job was made."""
    response = post(owner, data)
    assert response.status_code == 200, "the form was accepted"
    assert Job.objects.count() == 0
    return response.content.decode()


# Every storyboard and element rule, next to what broke it


@pytest.mark.parametrize("count", [0, 7])
def test_it_rejects_a_storyboard_of_0_or_7_shots_above_the_shots(owner, enqueued, count):
    shots = [(f"Shot {n}", 1) for n in range(count)]
    data = composer_post(prompt="", multi_shot=True, shot_type="customize", duration=count or 5,
                         **rows("shots", [{"prompt": p, "duration": str(d)} for p, d in shots]))
    page = rejected(owner, data)

    expected = ("A storyboard has 1 to 6 shots; this one has 0." if count == 0 else
                "A storyboard has at most 6 shots. Remove the extra ones and send it again.")
    assert expected in text_of(page, "shots-errors")
    assert enqueued == []


def test_it_accepts_6_shots(owner, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(owner, storyboard_post(*[(f"Shot {n}", 1) for n in range(6)],
                                               duration=6))
    assert response.status_code == 302
    assert Job.objects.get().shots.count() == 6


def test_it_shows_a_0_second_shot_beside_that_shots_seconds(owner):
    page = rejected(owner, storyboard_post(("The door opens", 5), ("A cat walks in", 0)))

    assert "Shot 2 must last at least 1 whole second." in text_of(page,
                                                                  "field-shots-1-duration")
    assert "whole second" not in text_of(page, "field-shots-0-duration")


def test_it_shows_a_shot_longer_than_the_video_beside_that_shot(owner):
    page = rejected(owner, storyboard_post(("The door opens", 6), ("A cat walks in", 1)))

    assert "Shot 1 lasts 6 s, longer than the whole video (5 s)." in text_of(
        page, "field-shots-0-duration")
    assert "longer" not in text_of(page, "field-shots-1-duration")


@pytest.mark.parametrize("durations, total", [((2, 4), 6), ((2, 2), 4)], ids=["above", "below"])
def test_it_shows_shots_that_do_not_add_up_above_the_shots(owner, durations, total):
    page = rejected(owner, storyboard_post(("The door opens", durations[0]),
                                           ("A cat walks in", durations[1])))

    assert (f"The shots add up to {total} s but the video is 5 s. Make them add up exactly."
            in text_of(page, "shots-errors"))


def test_it_shows_a_513_character_shot_prompt_beside_that_prompt(owner):
    page = rejected(owner, storyboard_post(("The door opens", 2), ("x" * 513, 3)))

    assert ("Shot 2's prompt is 513 characters long; shorten it to 512 or fewer."
            in text_of(page, "field-shots-1-prompt"))


def test_it_accepts_a_512_character_shot_prompt(owner, enqueued):
    response = post(owner, storyboard_post(("The door opens", 2), ("x" * 512, 3)))
    assert response.status_code == 302


def test_it_shows_a_shot_without_a_prompt_beside_that_prompt(owner):
    page = rejected(owner, storyboard_post(("The door opens", 2), ("  ", 3)))
    assert "Shot 2 needs a prompt." in text_of(page, "field-shots-1-prompt")


def test_it_treats_a_shot_left_blank_as_a_shot_that_needs_filling_in(owner):
    data = storyboard_post(("The door opens", 2), ("A cat walks in", 3))
    data.update({"shots-TOTAL_FORMS": "3"})
    page = rejected(owner, data)
    assert "Shot 3 needs a prompt." in text_of(page, "field-shots-2-prompt")
    assert "Shot 3 must last at least 1 whole second." in text_of(page, "field-shots-2-duration")


def test_it_requires_a_prompt_for_an_intelligent_split(owner):
    page = rejected(owner, composer_post(prompt="", multi_shot=True, shot_type="intelligence"))
    assert "Write a prompt that describes the motion you want." in text_of(page, "field-prompt")


@pytest.mark.parametrize("changes", [
    {"multi_shot": True, "shot_type": "intelligence"},
    {"multi_shot": True, "shot_type": "customize", "prompt": "",
     "shots": (("The door opens", 5),)},
], ids=["intelligence", "customize"])
def test_it_rejects_an_end_frame_with_multi_shot_beside_the_end_frame(owner, changes):
    page = rejected(owner, composer_post(end_frame=upload(color=(0, 0, 250)), **changes))
    assert "An end frame cannot be used with multi-shot." in text_of(page, "field-end_frame")


def test_it_takes_an_end_frame_with_a_single_shot(owner, enqueued):
    response = post(owner, composer_post(end_frame=upload(color=(0, 0, 250))))
    assert response.status_code == 302
    assert Job.objects.get().end_frame


def test_it_shows_a_4th_element_above_the_elements(owner):
    page = rejected(owner, composer_post(elements=[element(f"E{n}") for n in range(4)]))
    assert ("A job can have at most 3 elements. Remove the extra ones and send it again."
            in text_of(page, "elements-errors"))


def test_it_shows_an_element_with_4_references_beside_its_references(owner):
    page = rejected(owner, composer_post(elements=[element("Mia", references=2),
                                                   element("Kite", references=4)]))
    assert ("Choose at most 3 images here; you chose 4."
            in text_of(page, "field-elements-1-references"))
    assert "reference images" not in text_of(page, "field-elements-0-references")


def test_it_shows_an_element_without_a_frontal_image_beside_it(owner):
    page = rejected(owner, composer_post(elements=[element("Mia"), element("Kite",
                                                                           frontal=False)]))
    assert "Element 2 needs a frontal image." in text_of(page, "field-elements-1-frontal_image")


def test_it_checks_element_images_like_frames(owner):
    tiny = upload(200, 200, name="tiny.png")
    page = rejected(owner, composer_post(elements=[{
        "name": "Mia", "frontal": upload(fmt="GIF"), "references": [upload(), tiny]}]))

    assert "This is a GIF image" in text_of(page, "field-elements-0-frontal_image")
    references = text_of(page, "field-elements-0-references")
    assert "tiny.png: This image is 200×200 pixels" in references
    # the reference that passed is kept for the next try
    assert len(values(page, "elements-0-references_staged")) == 1


def test_it_accepts_3_elements_of_3_references(owner, enqueued):
    response = post(owner, composer_post(elements=[element(f"E{n}", references=3)
                                                   for n in range(3)]))
    assert response.status_code == 302
    job = Job.objects.get()
    assert [e.references.count() for e in job.elements.all()] == [3, 3, 3]


# A rejected form keeps everything


def test_a_rejected_storyboard_keeps_every_shot_and_image_for_the_next_try(
        owner, enqueued, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    frontal = upload(color=(1, 2, 3))
    frontal_bytes = frontal.read()
    frontal.seek(0)
    shots = (("Wide shot of the harbour", 2), ("Mia waves from the boat", 2),
             ("Close-up: the kite", 3))
    data = storyboard_post(*shots, elements=[{"name": "Mia", "frontal": frontal,
                                              "references": [upload(), upload()]}])

    page = client.post(reverse("compose"), data).content.decode()

    assert [textarea(page, f"shots-{n}-prompt") for n in range(3)] == [s[0] for s in shots]
    assert [values(page, f"shots-{n}-duration") for n in range(3)] == [["2"], ["2"], ["3"]]
    assert values(page, "elements-0-name") == ["Mia"]
    frontal_token, = values(page, "elements-0-frontal_image_staged")
    reference_tokens = values(page, "elements-0-references_staged")
    start_token, = values(page, "start_frame_staged")
    assert len(reference_tokens) == 2

    fixed = storyboard_post(*shots[:2], ("Close-up: the kite", 1), start_frame=False,
                            start_frame_staged=start_token)
    fixed.update({"elements-TOTAL_FORMS": "1", "elements-INITIAL_FORMS": "0",
                  "elements-0-name": "Mia", "elements-0-frontal_image_staged": frontal_token,
                  "elements-0-references_staged": reference_tokens})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("compose"), fixed)

    job = Job.objects.get()
    assert response.url == job.get_absolute_url()
    assert [(s.prompt, s.duration) for s in job.shots.all()] == [
        ("Wide shot of the harbour", 2), ("Mia waves from the boat", 2), ("Close-up: the kite", 1)]
    mia = job.elements.get()
    assert stored(mia.frontal_image.name) == cleaned(frontal_bytes)
    assert mia.references.count() == 2


def test_a_removed_staged_reference_is_left_out(owner, enqueued):
    client = signed_in(owner)
    page = client.post(reverse("compose"), storyboard_post(
        ("Only shot", 4), elements=[element("Mia", references=2)])).content.decode()
    tokens = values(page, "elements-0-references_staged")
    fixed = storyboard_post(("Only shot", 5), start_frame=False,
                            start_frame_staged=values(page, "start_frame_staged")[0])
    fixed.update({"elements-TOTAL_FORMS": "1", "elements-INITIAL_FORMS": "0",
                  "elements-0-name": "Mia",
                  "elements-0-frontal_image_staged":
                      values(page, "elements-0-frontal_image_staged")[0],
                  "elements-0-references_staged": tokens,
                  "elements-0-references_remove": tokens[0]})

    assert client.post(reverse("compose"), fixed).status_code == 302
    assert Job.objects.get().elements.get().references.count() == 1


def test_another_person_cannot_use_a_staged_element_image(owner, other):
    page = signed_in(owner).post(reverse("compose"), storyboard_post(
        ("Only shot", 4), elements=[element("Mia")])).content.decode()
    token, = values(page, "elements-0-frontal_image_staged")

    data = composer_post()
    data.update({"elements-TOTAL_FORMS": "1", "elements-INITIAL_FORMS": "0",
                 "elements-0-name": "Mia", "elements-0-frontal_image_staged": token})
    response = signed_in(other).post(reverse("compose"), data)

    assert "Upload it again" in text_of(response.content.decode(),
                                        "field-elements-0-frontal_image")


# What a valid form saves


def test_it_saves_a_custom_storyboard_with_its_elements_and_queues_it(
        owner, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(owner, storyboard_post(
            ("The door opens", 2), ("Mia walks in", 3), mode="std", audio=True,
            elements=[element("Mia", references=2), element("", references=0)]))

    job = Job.objects.get()
    assert response.url == job.get_absolute_url()
    assert (job.status, job.multi_shot, job.shot_type, job.prompt) == (
        Job.Status.QUEUED, True, "customize", "")
    assert job.estimate == Decimal("1.070")  # 0.214 per second with audio, 5 seconds
    assert [(s.position, s.prompt, s.duration) for s in job.shots.all()] == [
        (0, "The door opens", 2), (1, "Mia walks in", 3)]
    mia, unnamed = job.elements.all()
    assert (mia.name, unnamed.name) == ("Mia", "Element 2")
    assert mia.frontal_image.name.startswith("frames/")
    assert [r.position for r in mia.references.all()] == [0, 1]
    assert enqueued == [(tasks.submit_job, (job.pk,))]


def test_it_saves_no_shots_unless_the_storyboard_is_custom(owner, enqueued):
    data = composer_post(multi_shot=True, shot_type="intelligence",
                         shots=(("Typed, then switched away", 9),))
    assert post(owner, data).status_code == 302
    job = Job.objects.get()
    assert (job.multi_shot, job.shot_type, job.shots.count()) == (True, "intelligence", 0)


def test_it_ignores_storyboard_and_elements_sent_for_kling_26(owner, enqueued):
    data = composer_post(model=KLING_26, duration=5, audio=True, multi_shot=True,
                         shot_type="customize", shots=(("One", 5),), elements=[element()])
    assert post(owner, data).status_code == 302
    job = Job.objects.get()
    assert (job.multi_shot, job.shots.count(), job.elements.count()) == (False, 0, 0)
    assert "multi_shot" not in catalogue.build_args(tasks.job_spec(job))


# The request the worker sends


def build(job):
    return catalogue.build_args(tasks.job_spec(job))


def data_uri(field):
    return images.wire_reference(field)


COMBINATIONS = [
    pytest.param({}, id="single-shot"),
    pytest.param({"audio": True}, id="single-shot-audio"),
    pytest.param({"multi_shot": True, "shot_type": "intelligence"}, id="intelligence"),
    pytest.param({"multi_shot": True, "shot_type": "intelligence", "audio": True,
                  "elements": 1}, id="intelligence-audio-elements"),
    pytest.param({"multi_shot": True, "shot_type": "customize"}, id="customize"),
    pytest.param({"multi_shot": True, "shot_type": "customize", "audio": True, "elements": 2},
                 id="customize-audio-elements"),
    pytest.param({"elements": 3}, id="single-shot-elements"),
]


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_the_worker_sends_the_seed_shape_for_each_combination(owner, enqueued, combination):
    custom = combination.get("shot_type") == "customize"
    multi = combination.get("multi_shot", False)
    elements = [element(f"E{n}", references=n) for n in range(combination.get("elements", 0))]
    data = composer_post(prompt="" if custom else PROMPT, multi_shot=multi,
                         shot_type=combination.get("shot_type", "intelligence"),
                         audio=combination.get("audio", False), duration=7,
                         shots=(("The door opens", 3), ("A cat walks in", 4)) if custom else (),
                         elements=elements)
    assert post(owner, data).status_code == 302
    job = Job.objects.get()

    args = build(job)

    expected = {"mode": "pro", "duration": "7", "image": data_uri(job.start_frame),
                "generate_audio": combination.get("audio", False), "multi_shot": multi}
    if not custom:
        expected["prompt"] = PROMPT
    if multi:
        expected["shot_type"] = combination["shot_type"]
    if custom:
        expected["multi_prompt"] = [{"prompt": "The door opens", "duration": 3},
                                    {"prompt": "A cat walks in", "duration": 4}]
    if elements:
        expected["elements"] = [
            {"frontal_image_url": data_uri(e.frontal_image),
             "reference_image_urls": [data_uri(r.image) for r in e.references.all()]}
            for e in job.elements.all()]
    assert args == expected
    assert catalogue.check_args(job.model_id, args) == []
    if custom:
        assert all(type(shot["duration"]) is int for shot in args["multi_prompt"])
    assert args["image"].startswith("data:image/png;base64,")


def test_the_worker_sends_element_images_as_signed_urls_when_public(
        owner, enqueued, settings, client):
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    assert post(owner, composer_post(elements=[element("Mia", references=1)])).status_code == 302
    job = Job.objects.get()
    mia = job.elements.get()

    sent, = build(job)["elements"]

    assert sent["frontal_image_url"].startswith("https://studio.example.com/i/")
    path = sent["frontal_image_url"].removeprefix("https://studio.example.com")
    served = b"".join(client.get(path).streaming_content)
    assert served == stored(mia.frontal_image.name)
    reference_path = sent["reference_image_urls"][0].removeprefix("https://studio.example.com")
    assert b"".join(client.get(reference_path).streaming_content) == stored(
        mia.references.get().image.name)


def test_a_job_whose_element_image_is_gone_fails_without_being_sent(owner, enqueued,
                                                                    monkeypatch):
    assert post(owner, composer_post(elements=[element("Mia")])).status_code == 302
    job = Job.objects.get()
    default_storage.delete(job.elements.get().frontal_image.name)
    monkeypatch.setattr(tasks.shortapi, "Client", lambda: pytest.fail("create was called"))

    tasks.submit_job(job.pk)

    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "could not be read" in job.error


# The page


def test_the_composer_offers_storyboards_only_where_the_catalogue_says(owner):
    page = signed_in(owner).get(reverse("compose")).content.decode()
    data = json.loads(text_of(page, "catalogue"))
    models = {m["id"]: m for m in data["models"]}
    assert (models[KLING_30]["maxShots"], models[KLING_30]["maxElements"],
            models[KLING_30]["maxElementReferences"]) == (6, 3, 3)
    assert (models[KLING_26]["maxShots"], models[KLING_26]["maxElements"]) == (0, 0)
    assert data["maxShotPromptChars"] == 512
    assert values(page, "shots-TOTAL_FORMS") == ["1"]
    assert values(page, "elements-TOTAL_FORMS") == ["0"]
    assert 'formaction="/drafts/save/"' in page


def test_the_job_page_shows_the_storyboard_as_a_timeline_and_the_named_elements(
        owner, enqueued):
    post(owner, storyboard_post(("The door opens", 1), ("Mia walks in", 2), ("The kite", 2),
                                elements=[element("Mia", references=2)]))
    job = Job.objects.get()

    page = signed_in(owner).get(job.get_absolute_url()).content.decode()

    # each block grows by its seconds (the stylesheet's seconds-N), so is as wide as its share
    blocks = re.findall(r'class="timeline-shot seconds-(\d+)"[^>]*data-seconds="(\d+)"', page)
    assert blocks == [("1", "1"), ("2", "2"), ("2", "2")]
    blocks = re.findall(r"<span>Shot (\d)</span><span>(\d) s</span></div>\s*<p>([^<]*)</p>", page)
    assert blocks == [("1", "1", "The door opens"), ("2", "2", "Mia walks in"),
                      ("3", "2", "The kite")]
    assert "Mia" in text_of(page, "elements")
    mia = job.elements.get()
    for url in (reverse("job-element-image", args=[job.pk, 0]),
                reverse("job-element-reference", args=[job.pk, 0, 1])):
        assert url in page
    served = signed_in(owner).get(reverse("job-element-reference", args=[job.pk, 0, 1]))
    assert b"".join(served.streaming_content) == stored(mia.references.get(position=1).image.name)
    assert 'href="/jobs/%d/remix/"' % job.pk in page


def test_the_job_page_of_a_single_shot_has_no_timeline(owner, make_job):
    page = signed_in(owner).get(make_job().get_absolute_url()).content.decode()
    assert 'data-role="timeline"' not in page and 'id="elements"' not in page


@pytest.mark.parametrize("url", ["job-element-image", "job-element-reference"])
@pytest.mark.parametrize("who", ["other", "staff"])
def test_element_images_are_the_owners_alone(request, owner, enqueued, url, who):
    post(owner, composer_post(elements=[element("Mia", references=1)]))
    job = Job.objects.get()
    args = [job.pk, 0] + ([0] if url == "job-element-reference" else [])

    assert signed_in(owner).get(reverse(url, args=args)).status_code == 200
    assert signed_in(request.getfixturevalue(who)).get(reverse(url, args=args)).status_code == 404


def test_a_missing_element_image_is_a_404(owner, enqueued):
    post(owner, composer_post(elements=[element("Mia")]))
    job = Job.objects.get()
    client = signed_in(owner)
    assert client.get(reverse("job-element-image", args=[job.pk, 1])).status_code == 404
    assert client.get(reverse("job-element-reference", args=[job.pk, 0, 0])).status_code == 404
