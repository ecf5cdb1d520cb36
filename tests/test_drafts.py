"""Drafts and remixes: a draft keeps what was entered, unsent and uncharged, apart from the
gallery; it is edited, submitted (through every rule and the budget) or deleted by its owner
only; a remix opens the composer filled in from any job, reusing its images."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from jobs import tasks
from jobs.models import Job
from spend import budgets
from spend.models import Budget
from tests.composer import (KLING_30, checked, composer_post, element, selected, signed_in,
                            storyboard_post, stored, text_of, textarea, values)
from tests.conftest import upload

pytestmark = pytest.mark.django_db


def save_draft(user, data):
    return signed_in(user).post(reverse("draft-save"), data)


def a_draft(owner, data=None):
    """A draft of a 3-shot storyboard with an element, as the composer saves it."""
    data = data or storyboard_post(("Wide shot", 2), ("Mia waves", 2), ("The kite", 1),
                                   elements=[element("Mia", references=2)])
    response = save_draft(owner, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return Job.objects.latest("pk")


def submit_from_list(user, draft):
    return signed_in(user).post(reverse("compose"), {"draft": draft.pk, "saved": "1"})


# Saving


def test_it_saves_an_incomplete_draft_without_sending_or_charging_it(
        owner, enqueued, django_capture_on_commit_callbacks):
    data = storyboard_post(("x" * 600, 9), ("", None), start_frame=False, duration=5)
    with django_capture_on_commit_callbacks(execute=True):
        response = save_draft(owner, data)

    draft = Job.objects.get()
    assert response.url == reverse("drafts")
    assert draft.status == Job.Status.DRAFT
    assert not draft.start_frame
    assert [(s.prompt, s.duration) for s in draft.shots.all()] == [("x" * 600, 9), ("", None)]
    assert draft.amount is None and draft.estimate == Decimal("0.950")
    assert enqueued == []
    assert budgets.standing(owner).held == 0


def test_a_draft_still_checks_its_images(owner):
    response = save_draft(owner, composer_post(start_frame=False, end_frame=upload(fmt="GIF")))
    assert response.status_code == 200
    assert "This is a GIF image" in text_of(response.content.decode(), "field-end_frame")
    assert Job.objects.count() == 0


def test_drafts_are_listed_apart_from_the_gallery(owner, other, make_job):
    sent = make_job()
    draft = a_draft(owner)
    client = signed_in(owner)

    gallery = client.get(reverse("gallery")).content.decode()
    drafts = client.get(reverse("drafts")).content.decode()

    assert f'data-job="{sent.pk}"' in gallery and f'data-job="{draft.pk}"' not in gallery
    assert f'data-draft="{draft.pk}"' in drafts and f'data-draft="{sent.pk}"' not in drafts
    assert "3 shots · 1 element" in drafts
    strangers = signed_in(other).get(reverse("drafts")).content.decode()
    assert f'data-draft="{draft.pk}"' not in strangers


def test_the_sweep_never_sends_a_draft(owner, enqueued):
    draft = a_draft(owner)
    Job.objects.filter(pk=draft.pk).update(created_at=timezone.now() - timedelta(hours=1))

    tasks.sweep()
    tasks.submit_job(draft.pk)

    assert enqueued == []
    assert Job.objects.get(pk=draft.pk).status == Job.Status.DRAFT


# Opening a draft again


def test_it_opens_a_draft_in_the_composer_with_everything_it_held(owner):
    draft = a_draft(owner, storyboard_post(("Wide shot", 2), ("Mia waves", 3), mode="std",
                                           end_frame=None, elements=[element("Mia", 2)]))

    page = signed_in(owner).get(reverse("draft-edit", args=[draft.pk])).content.decode()

    assert values(page, "draft") == [str(draft.pk)]
    assert [textarea(page, "shots-0-prompt"), textarea(page, "shots-1-prompt")] == [
        "Wide shot", "Mia waves"]
    assert values(page, "shots-1-duration") == ["3"]
    assert values(page, "elements-0-name") == ["Mia"]
    assert len(values(page, "elements-0-references_staged")) == 2
    client = signed_in(owner)
    token, = values(page, "start_frame_staged")
    served = b"".join(client.get(reverse("staged-frame", args=[token])).streaming_content)
    assert served == stored(draft.start_frame.name)
    assert selected(page, "id_mode") == "std"
    assert checked(page, "multi_shot") == ["1"] and checked(page, "shot_type") == ["customize"]
    assert "Some settings need a change" not in page


def edited(page, **changes):
    """Post back an opened draft as the page holds it, with some changes."""
    data = storyboard_post(("Wide shot", 2), ("Mia waves", 2), ("The kite", 1),
                           start_frame=False,
                           start_frame_staged=values(page, "start_frame_staged")[0],
                           draft=(values(page, "draft") or [None])[0])
    data.update({"elements-TOTAL_FORMS": "1", "elements-INITIAL_FORMS": "0",
                 "elements-0-name": "Mia",
                 "elements-0-frontal_image_staged": values(page,
                                                           "elements-0-frontal_image_staged")[0],
                 "elements-0-references_staged": values(page, "elements-0-references_staged")})
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_saving_an_opened_draft_changes_it_in_place_and_keeps_its_images(
        owner, django_capture_on_commit_callbacks):
    draft = a_draft(owner)
    before = draft.image_names()
    client = signed_in(owner)
    page = client.get(reverse("draft-edit", args=[draft.pk])).content.decode()
    new_start = upload(color=(9, 9, 9))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("draft-save"), edited(
            page, prompt="", **{"shots-0-prompt": "Wider shot", "start_frame": new_start,
                                "start_frame_staged": None}))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert Job.objects.count() == 1 and draft.status == Job.Status.DRAFT
    assert [s.prompt for s in draft.shots.all()] == ["Wider shot", "Mia waves", "The kite"]
    after = draft.image_names()
    replaced = before - after  # the old start frame and the poster made from it
    assert sorted(name.split("/")[0] for name in replaced) == ["frames", "posters"]
    assert not any(default_storage.exists(name) for name in replaced)
    assert all(default_storage.exists(name) for name in after)
    assert draft.elements.get().frontal_image.name in before  # reused, not copied


# Submitting a draft


def test_submitting_an_opened_draft_sends_that_draft(owner, enqueued,
                                                     django_capture_on_commit_callbacks):
    draft = a_draft(owner)
    Job.objects.filter(pk=draft.pk).update(created_at=timezone.now() - timedelta(days=2))
    client = signed_in(owner)
    page = client.get(reverse("draft-edit", args=[draft.pk])).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("compose"), edited(page))

    job = Job.objects.get()
    assert job.pk == draft.pk and response.url == job.get_absolute_url()
    assert job.status == Job.Status.QUEUED
    assert timezone.now() - job.created_at < timedelta(minutes=1)
    assert enqueued == [(tasks.submit_job, (job.pk,))]
    assert f'data-job="{job.pk}"' in client.get(reverse("gallery")).content.decode()


def test_a_draft_is_submitted_from_the_list_when_it_passes_every_rule(
        owner, enqueued, django_capture_on_commit_callbacks):
    draft = a_draft(owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = submit_from_list(owner, draft)

    draft.refresh_from_db()
    assert response.url == draft.get_absolute_url()
    assert draft.status == Job.Status.QUEUED
    assert enqueued == [(tasks.submit_job, (draft.pk,))]
    assert [(s.prompt, s.duration) for s in draft.shots.all()] == [
        ("Wide shot", 2), ("Mia waves", 2), ("The kite", 1)]
    assert draft.elements.get().references.count() == 2


def test_a_draft_that_breaks_a_rule_opens_in_the_composer_with_the_error(owner, enqueued):
    draft = a_draft(owner, storyboard_post(("Wide shot", 2), ("Mia waves", 9)))

    response = submit_from_list(owner, draft)

    page = response.content.decode()
    assert response.status_code == 200
    assert "Shot 2 lasts 9 s, longer than the whole video (5 s)." in text_of(
        page, "field-shots-1-duration")
    assert values(page, "draft") == [str(draft.pk)]
    assert textarea(page, "shots-1-prompt") == "Mia waves"
    assert Job.objects.get().status == Job.Status.DRAFT and enqueued == []


def test_a_draft_without_a_start_frame_cannot_be_submitted(owner, enqueued):
    draft = a_draft(owner, composer_post(start_frame=False))
    page = submit_from_list(owner, draft).content.decode()
    assert "Upload a start frame" in text_of(page, "field-start_frame")
    assert Job.objects.get().status == Job.Status.DRAFT


def test_a_draft_submitted_twice_is_sent_once(owner, enqueued, django_capture_on_commit_callbacks):
    draft = a_draft(owner)
    with django_capture_on_commit_callbacks(execute=True):
        submit_from_list(owner, draft)
        again = submit_from_list(owner, draft)

    assert again.status_code == 200
    assert "already submitted or deleted" in again.content.decode()
    assert Job.objects.count() == 1 and enqueued == [(tasks.submit_job, (draft.pk,))]


def test_a_submitted_draft_goes_through_the_budget(owner, enqueued):
    Budget.objects.create(user=owner, amount=Decimal("1.00"))
    draft = a_draft(owner)  # 5 s of Kling 3.0 pro: $0.95
    Budget.objects.filter(user=owner).update(amount=Decimal("0.50"))

    page = submit_from_list(owner, draft).content.decode()

    assert "budget is left" in page
    assert Job.objects.get().status == Job.Status.DRAFT and enqueued == []


# Deleting


def test_it_deletes_a_draft_and_its_images_by_post_only(owner, django_capture_on_commit_callbacks):
    draft = a_draft(owner)
    names = draft.image_names()
    client = signed_in(owner)
    assert client.get(reverse("draft-delete", args=[draft.pk])).status_code == 405

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("draft-delete", args=[draft.pk]))

    assert response.url == reverse("drafts")
    assert Job.objects.count() == 0
    assert names and not any(default_storage.exists(name) for name in names)


def test_a_sent_job_is_not_a_draft_to_edit_or_delete(owner, make_job):
    job = make_job()
    client = signed_in(owner)
    assert client.post(reverse("draft-delete", args=[job.pk])).status_code == 404
    assert client.get(reverse("draft-edit", args=[job.pk])).status_code == 404
    assert Job.objects.filter(pk=job.pk).exists()


# Remix


def test_a_remix_opens_the_composer_filled_in_from_the_job(owner, enqueued, make_job):
    assert signed_in(owner).post(reverse("compose"), storyboard_post(
        ("Wide shot", 3), ("Mia waves", 4), duration=7, mode="std", audio=True,
        negative_prompt="no text", elements=[element("Mia", 1)])).status_code == 302
    job = Job.objects.get()

    page = signed_in(owner).get(reverse("job-remix", args=[job.pk])).content.decode()

    assert values(page, "draft") == []
    assert checked(page, "model") == [KLING_30]
    assert selected(page, "id_mode") == "std" and selected(page, "id_duration") == "7"
    assert checked(page, "generate_audio") == [None]
    assert checked(page, "multi_shot") == ["1"] and checked(page, "shot_type") == ["customize"]
    assert textarea(page, "negative_prompt") == "no text"
    assert [textarea(page, "shots-0-prompt"), textarea(page, "shots-1-prompt")] == [
        "Wide shot", "Mia waves"]
    assert values(page, "elements-0-name") == ["Mia"]
    assert len(values(page, "start_frame_staged")) == 1
    assert len(values(page, "elements-0-frontal_image_staged")) == 1
    assert len(values(page, "elements-0-references_staged")) == 1


def test_a_remix_is_a_new_job_with_copies_of_the_images(owner, enqueued):
    original = a_draft(owner)
    submit_from_list(owner, original)
    original.refresh_from_db()
    client = signed_in(owner)
    page = client.get(reverse("job-remix", args=[original.pk])).content.decode()

    data = edited(page, draft=None, **{"shots-2-prompt": "The kite, closer"})
    response = client.post(reverse("compose"), data)

    remix = Job.objects.latest("pk")
    assert remix.pk != original.pk and response.url == remix.get_absolute_url()
    assert [s.prompt for s in remix.shots.all()] == ["Wide shot", "Mia waves", "The kite, closer"]
    assert [s.prompt for s in original.shots.all()] == ["Wide shot", "Mia waves", "The kite"]
    assert stored(remix.start_frame.name) == stored(original.start_frame.name)
    assert remix.start_frame.name != original.start_frame.name
    assert not remix.image_names() & original.image_names()
    assert remix.elements.get().references.count() == 2


def test_the_job_page_offers_remix_always_and_draft_actions_on_drafts(owner, make_job):
    draft = a_draft(owner)
    client = signed_in(owner)
    sent_page = client.get(make_job().get_absolute_url()).content.decode()
    draft_page = client.get(draft.get_absolute_url()).content.decode()

    assert reverse("job-remix", args=[draft.pk]) in draft_page
    assert reverse("draft-edit", args=[draft.pk]) in draft_page
    assert reverse("draft-delete", args=[draft.pk]) in draft_page
    assert reverse("draft-edit", args=[draft.pk]) not in sent_page
    assert 'data-finished="true"' in draft_page


# Who may reach what


@pytest.fixture
def pages(owner, make_job):
    draft = a_draft(owner)
    job = make_job()
    return {"draft": draft, "job": job}


OWNED = [
    pytest.param(lambda p: reverse("draft-edit", args=[p["draft"].pk]), id="draft-edit"),
    pytest.param(lambda p: reverse("job-remix", args=[p["job"].pk]), id="remix"),
    pytest.param(lambda p: reverse("job-remix", args=[p["draft"].pk]), id="remix-draft"),
    pytest.param(lambda p: reverse("job-element-image", args=[p["draft"].pk, 0]),
                 id="element-image"),
    pytest.param(lambda p: reverse("job-element-reference", args=[p["draft"].pk, 0, 1]),
                 id="element-reference"),
    pytest.param(lambda p: reverse("job-detail", args=[p["draft"].pk]), id="draft-page"),
]


@pytest.mark.parametrize("url", OWNED)
def test_the_owner_reaches_their_drafts_and_remixes(owner, pages, url):
    assert signed_in(owner).get(url(pages)).status_code == 200


@pytest.mark.parametrize("who", ["other", "staff"])
@pytest.mark.parametrize("url", OWNED)
def test_nobody_else_does(request, pages, url, who):
    assert signed_in(request.getfixturevalue(who)).get(url(pages)).status_code == 404


@pytest.mark.parametrize("who", ["other", "staff"])
def test_nobody_else_deletes_or_submits_a_draft(request, pages, who, enqueued):
    client = signed_in(request.getfixturevalue(who))
    draft = pages["draft"]
    assert client.post(reverse("draft-delete", args=[draft.pk])).status_code == 404
    client.post(reverse("compose"), {"draft": draft.pk, "saved": "1"})
    assert Job.objects.get(pk=draft.pk).status == Job.Status.DRAFT
    assert Job.objects.count() == 2 and enqueued == []


@pytest.mark.parametrize("url", [pytest.param(lambda p: reverse("drafts"), id="drafts")] + OWNED)
def test_anonymous_visitors_are_sent_to_sign_in(client, pages, url):
    path = url(pages)
    response = client.get(path)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.url).query)["next"] == [path]


def test_my_spend_lists_no_draft(owner, make_job):
    sent = make_job()
    draft = a_draft(owner)
    page = signed_in(owner).get(reverse("my-spend")).content.decode()
    assert f"Job {sent.pk}<" in page and f"Job {draft.pk}<" not in page
