"""Continuing a shot: "Continue" on a finished job opens the composer with the last frame of its
kept video as the start frame (taken on the server, checked like an upload), the same model, mode
and project and an empty prompt; the new job records the job it continues, and both job pages
link each other, for whoever may see them."""

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image, ImageChops

from jobs import videofacts
from jobs.forms import CONTINUES_GONE
from lib.lastframe import last_frame
from jobs.models import Job
from jobs.staging import staged_name
from simulator import video
from tests.composer import (KLING_30, checked, composer_post, selected, signed_in, textarea,
                            values)
from tests.test_views import MP4, submit

pytestmark = pytest.mark.django_db

RED, BLUE = (220, 30, 30), (30, 40, 220)


def close_to(pixel, colour, tolerance=24):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour))


@pytest.fixture(scope="module")
def red_to_blue(tmp_path_factory):
    """A simulator take that fades from red to blue: its last frame is blue."""
    path = tmp_path_factory.mktemp("takes") / "take.mp4"
    video.render(path, Image.new("RGB", (640, 400), RED), 2,
                 end=Image.new("RGB", (640, 400), BLUE))
    return path.read_bytes()


def finished(job, content):
    """The job succeeded and its video (`content`) is kept."""
    submit(job, f"sa-{job.pk}")
    assert job.mark_succeeded(f"https://cdn.shortapi.example/{job.pk}.mp4")
    job.video.save("video.mp4", ContentFile(content), save=True)
    return job


@pytest.fixture
def take(make_job, project, red_to_blue):
    """The owner's finished Kling 3.0 take in the team's project, its video kept."""
    return finished(make_job(model_id=KLING_30, mode="std", duration=10, project=project,
                             title="Harbour at dawn"), red_to_blue)


def continue_page(user, job):
    return signed_in(user).get(reverse("job-continue", args=[job.pk]))


def staged_image(page, user):
    token, = values(page, "start_frame_staged")
    name = staged_name(token, user)
    assert name is not None, "the start frame is not staged for this person"
    with default_storage.open(name, "rb") as handle:
        return token, Image.open(handle).convert("RGB")


def section(html, role, end="\n"):
    """The markup of the element marked `data-role=role`, as far as `end`."""
    start = html.index(f'data-role="{role}"')
    return html[start:html.index(end, start)]


def the_message(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


# Opening the composer


def test_it_opens_the_composer_with_the_videos_last_frame_as_the_start_frame(owner, take):
    response = continue_page(owner, take)
    page = response.content.decode()

    assert response.status_code == 200
    _, frame = staged_image(page, owner)
    expected = last_frame(default_storage.path(take.video.name))
    assert frame.size == expected.size == (640, 400)
    assert ImageChops.difference(frame, expected).getbbox() is None  # the same pixels
    assert close_to(frame.getpixel((320, 200)), BLUE)
    assert not close_to(frame.getpixel((320, 200)), RED)


def test_a_video_in_a_bucket_is_read_by_a_worker_never_by_a_request(owner, take, monkeypatch,
                                                                    tmp_path):
    import tempfile

    from lib import media

    class Bucket:
        """The storage as object storage looks to a reader: files to open, no local paths."""

        def path(self, name):
            raise NotImplementedError("This backend doesn't support absolute paths.")

        def open(self, name, mode="rb"):
            opened.append(name)
            return default_storage.open(name, mode)

    opened = []
    expected = last_frame(default_storage.path(take.video.name))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(media, "default_storage", Bucket())
    queued = []
    monkeypatch.setattr("jobs.videofacts.async_task",
                        lambda func, *args, **options: queued.append((func, args, options)))

    # the request never fetches the video: a worker on the queue of free work reads it
    client = signed_in(owner)
    response = client.get(reverse("job-continue", args=[take.pk]), follow=True)
    assert response.redirect_chain == [(take.get_absolute_url(), 302)]
    assert opened == []
    assert [(func.__name__, args, options["cluster"]) for func, args, options in queued] == [
        ("describe", (take.pk,), settings.KLING_FREE_QUEUE)]
    assert "being taken from the saved copy" in response.content.decode()
    continue_page(owner, take)
    assert len(queued) == 1  # asked again: queued once

    videofacts.describe(take.pk)
    assert opened == [take.video.name]
    assert list(scratch.iterdir()) == []
    page = continue_page(owner, take).content.decode()
    _, frame = staged_image(page, owner)
    assert ImageChops.difference(frame, expected).getbbox() is None
    assert opened == [take.video.name]  # the frame kept, not taken again


def test_it_keeps_the_model_mode_duration_and_project_and_starts_a_new_prompt(owner, take):
    page = continue_page(owner, take).content.decode()

    assert checked(page, "model") == [KLING_30]
    assert selected(page, "id_mode") == "std" and selected(page, "id_duration") == "10"
    assert selected(page, "id_project") == str(take.project_id)
    assert textarea(page, "prompt") == ""
    assert values(page, "title") in ([None], [""])
    assert selected(page, "id_takes") == "1"
    assert values(page, "continues") == [str(take.pk)]
    assert values(page, "draft") == []
    assert f'href="{take.get_absolute_url()}"' in section(page, "continues")


def test_sending_it_records_the_job_it_continues_on_every_take(owner, take, enqueued):
    client = signed_in(owner)
    page = client.get(reverse("job-continue", args=[take.pk])).content.decode()
    token, frame = staged_image(page, owner)

    response = client.post(reverse("compose"), composer_post(
        mode="std", duration=10, prompt="She turns to the sea", start_frame=False,
        start_frame_staged=token, continues=str(take.pk), project=str(take.project_id),
        takes="2"))

    assert response.status_code == 302
    first, second = Job.objects.exclude(pk=take.pk).order_by("take_number")
    assert first.continues == second.continues == take
    assert first.project == take.project and first.prompt == "She turns to the sea"
    with first.start_frame.open("rb") as handle:
        sent = Image.open(handle).convert("RGB")
    assert ImageChops.difference(sent, frame).getbbox() is None
    assert list(take.continued_by.order_by("take_number")) == [first, second]


def test_a_rejected_form_keeps_the_job_it_continues(owner, take, enqueued):
    client = signed_in(owner)
    page = client.get(reverse("job-continue", args=[take.pk])).content.decode()
    token, _ = staged_image(page, owner)

    response = client.post(reverse("compose"), composer_post(
        mode="std", duration=10, prompt="x" * 3000, start_frame=False, start_frame_staged=token,
        continues=str(take.pk)))

    page = response.content.decode()
    assert "Some settings need a change" in page
    assert values(page, "continues") == [str(take.pk)]
    assert values(page, "start_frame_staged") == [token]
    assert Job.objects.count() == 1


def test_a_draft_keeps_the_job_it_continues_and_sends_it(owner, take, enqueued):
    client = signed_in(owner)
    page = client.get(reverse("job-continue", args=[take.pk])).content.decode()
    token, _ = staged_image(page, owner)
    client.post(reverse("draft-save"), composer_post(
        mode="std", duration=10, prompt="", start_frame=False, start_frame_staged=token,
        continues=str(take.pk)))
    draft = Job.objects.drafts().get()
    assert draft.continues == take

    opened = client.get(reverse("draft-edit", args=[draft.pk])).content.decode()
    assert values(opened, "continues") == [str(take.pk)]
    remixed = client.get(reverse("job-remix", args=[draft.pk])).content.decode()
    assert values(remixed, "continues") in ([None], [""])

    Job.objects.filter(pk=draft.pk).update(prompt="She turns to the sea")
    response = client.post(reverse("compose"), {"draft": draft.pk, "saved": "1"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == Job.Status.QUEUED and draft.continues == take


def test_it_refuses_to_continue_a_job_the_person_may_not_see(owner, other, make_job, enqueued,
                                                              red_to_blue):
    strangers = finished(make_job(user=other), red_to_blue)

    for data in ({"continues": str(strangers.pk)}, {"continues": "999999"}):
        response = signed_in(owner).post(reverse("compose"), composer_post(**data))
        page = response.content.decode()
        assert CONTINUES_GONE in page
        assert values(page, "continues") == []
    assert not Job.objects.filter(owner=owner).exists()


# The job pages


def test_the_job_pages_link_the_previous_and_next_shots(owner, take, make_job):
    next_shot = make_job(title="She turns to the sea", continues=take)
    client = signed_in(owner)

    before = client.get(take.get_absolute_url()).content.decode()
    after = client.get(next_shot.get_absolute_url()).content.decode()

    assert "Continued by:" in before and "She turns to the sea" in before
    assert f'href="{next_shot.get_absolute_url()}"' in section(before, "shot-links", "</nav>")
    assert "Continues:" in after and "Harbour at dawn" in section(after, "shot-links", "</nav>")
    assert f'href="{take.get_absolute_url()}"' in section(after, "shot-links", "</nav>")
    lone = client.get(make_job().get_absolute_url()).content.decode()
    assert 'data-role="shot-links"' not in lone


def test_a_job_page_links_only_the_shots_the_viewer_may_see(owner, teammate, take, make_job):
    private = make_job(user=teammate, title="A private idea", continues=take)
    shared = make_job(user=teammate, title="A team shot", continues=take,
                      project=take.project)

    owners_view = signed_in(owner).get(take.get_absolute_url()).content.decode()
    teammates_view = signed_in(teammate).get(take.get_absolute_url()).content.decode()

    assert "A team shot" in owners_view and "A private idea" not in owners_view
    assert f'href="{private.get_absolute_url()}"' in section(teammates_view, "shot-links", "</nav>")
    assert f'href="{shared.get_absolute_url()}"' in section(teammates_view, "shot-links", "</nav>")


def test_a_deleted_previous_shot_leaves_the_next_one_standing(owner, make_job):
    never_sent = make_job()
    next_shot = make_job(continues=never_sent)
    Job.objects.filter(pk=never_sent.pk).delete()
    next_shot.refresh_from_db()
    assert next_shot.continues is None
    page = signed_in(owner).get(next_shot.get_absolute_url()).content.decode()
    assert "Continues:" not in page


def test_the_continue_button_shows_only_for_a_kept_video(owner, take, make_job):
    client = signed_in(owner)
    url = reverse("job-continue", args=[take.pk])
    assert url in section(client.get(take.get_absolute_url()).content.decode(), "continue")
    waiting = make_job()
    submit(waiting, "sa-waiting")
    assert waiting.mark_succeeded("https://cdn.shortapi.example/waiting.mp4")
    page = client.get(waiting.get_absolute_url()).content.decode()
    assert reverse("job-continue", args=[waiting.pk]) not in page




# When it cannot be continued


@pytest.mark.parametrize("state", ["queued", "succeeded without a kept video"])
def test_a_job_without_a_kept_video_says_so_on_its_page(owner, make_job, state):
    job = make_job()
    if state != "queued":
        submit(job)
        assert job.mark_succeeded("https://cdn.shortapi.example/later.mp4")

    response = continue_page(owner, job)

    assert response.status_code == 302 and response.url == job.get_absolute_url()
    assert the_message(response) == [
        "This video is not saved in Kling Studio yet, so its last frame cannot be taken. Try "
        "again once it is saved here (this page says so when it is)."]
    assert not default_storage.exists("staged")


def test_a_video_whose_last_frame_cannot_be_read_says_so_in_words(owner, make_job):
    job = finished(make_job(), MP4)

    response = continue_page(owner, job)

    assert response.status_code == 302 and response.url == job.get_absolute_url()
    message, = the_message(response)
    assert message.startswith("The last frame of this video could not be taken, so it cannot be "
                              "continued. This file could not be read as a video")
    page = signed_in(owner).get(job.get_absolute_url())
    assert response.status_code == 302 and page.status_code == 200


def test_a_video_too_small_for_kling_cannot_be_continued(owner, make_job, tmp_path):
    small = video.render(tmp_path / "small.mp4", Image.new("RGB", (640, 160), BLUE), 1)
    job = finished(make_job(), small.read_bytes())

    message, = the_message(continue_page(owner, job))

    assert message.startswith("The last frame of this video cannot start a new one: This image "
                              "is 640×160 pixels; each side must be at least 300 pixels.")


def test_a_kept_video_gone_from_storage_says_so(owner, take):
    default_storage.delete(take.video.name)
    message, = the_message(continue_page(owner, take))
    assert message.startswith("The saved copy of this video cannot be found")


# Who may continue what


@pytest.mark.parametrize("who, expected", [("owner", 200), ("teammate", 200), ("other", 404),
                                           ("staff", 404)])
def test_a_team_projects_take_is_continued_by_the_team_and_nobody_else(request, take, who,
                                                                      expected):
    person = request.getfixturevalue(who)
    response = continue_page(person, take)
    assert response.status_code == expected
    if expected == 200:
        page = response.content.decode()
        staged_image(page, person)  # staged for this person
        assert selected(page, "id_project") == str(take.project_id)


def test_a_teammates_continuation_is_theirs_and_records_the_owners_take(teammate, take,
                                                                         enqueued):
    client = signed_in(teammate)
    token, _ = staged_image(client.get(reverse("job-continue", args=[take.pk]))
                            .content.decode(), teammate)
    assert client.post(reverse("compose"), composer_post(
        mode="std", duration=10, start_frame=False, start_frame_staged=token,
        continues=str(take.pk), project=str(take.project_id))).status_code == 302
    shot = Job.objects.exclude(pk=take.pk).get()
    assert shot.owner == teammate and shot.continues == take


def test_someone_who_left_the_team_continues_their_take_into_no_project(owner, take):
    take.project.team.members.remove(owner)

    page = continue_page(owner, take).content.decode()

    assert values(page, "continues") == [str(take.pk)]
    assert selected(page, "id_project") == ""


def test_anonymous_visitors_are_sent_to_sign_in(client, take):
    response = client.get(reverse("job-continue", args=[take.pk]))
    assert response.status_code == 302 and "/accounts/login/" in response.url
