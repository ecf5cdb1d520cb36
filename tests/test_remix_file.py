"""Recipes in kept videos: keeping a finished video writes the job's recipe into the MP4 (without
re-encoding; a file that cannot carry one is kept as it is), and "Remix from a file" reads it
back into the composer, or says in words why a file cannot be read."""

import io
import logging
from decimal import Decimal

import av
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from jobs import tasks
from jobs.models import Element, Job, Shot
from jobs.recipes import read_recipe, recipe_of
from simulator import video
from tests.composer import (KLING_30, checked, selected, signed_in, text_of, textarea,
                            values)
from tests.conftest import image_bytes, upload
from tests.test_tasks import Files

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """What the simulator (standing in for Kling) makes: a real 5 s take with sound."""
    path = tmp_path_factory.mktemp("takes") / "take.mp4"
    video.render(path, Image.new("RGB", (640, 400), (200, 60, 40)), 5, shots=[2, 3], audio=True)
    return path.read_bytes()


@pytest.fixture
def files(settings):
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Files()
    yield server
    server.stop()


@pytest.fixture
def storyboard_job(make_job, files, rendered):
    """A Kling 3.0 storyboard with an element, finished at ShortAPI, its video not kept yet."""
    previous = make_job(title="The door")
    job = make_job(model_id=KLING_30, mode="std", duration=5, prompt="",
                   negative_prompt="no text, no logos", generate_audio=True, multi_shot=True,
                   shot_type="customize", title="Mia at the café", continues=previous,
                   status=Job.Status.SUCCEEDED, shortapi_job_id="sa-9", amount=Decimal("0.8"),
                   finished_at=timezone.now(),
                   video_url=files.serve("/result/9.mp4", rendered))
    job.end_frame.save("end.png", upload(color=(10, 20, 200)), save=True)
    Shot.objects.create(job=job, position=0, prompt="Mia at the door", duration=2)
    Shot.objects.create(job=job, position=1, prompt="Mia sits — and smiles", duration=3)
    mia = Element(job=job, position=0, name="Mia")
    mia.frontal_image.save("mia.png", upload(color=(250, 200, 160)), save=True)
    return job


def kept(job):
    tasks.keep_video(job.pk)
    job.refresh_from_db()
    assert job.video, job.video_error
    return job


def video_file(job, name="take.mp4"):
    with default_storage.open(job.video.name, "rb") as handle:
        return SimpleUploadedFile(name, handle.read(), content_type="video/mp4")


def remix_from(user, upload_):
    return signed_in(user).post(reverse("remix-from-file"), {"video": upload_})


def packets(source):
    """Every packet of a video (a path, or its bytes) as it is stored."""
    source = io.BytesIO(source) if isinstance(source, bytes) else str(source)
    with av.open(source) as container:
        return [bytes(packet) for packet in container.demux() if packet.size]


# Keeping


def test_keeping_a_video_writes_the_jobs_recipe_into_it(storyboard_job, rendered):
    job = kept(storyboard_job)

    recipe = read_recipe(default_storage.path(job.video.name))

    assert recipe == {
        "jobs": [job.pk], "model": KLING_30, "mode": "std", "duration": 5, "prompt": "",
        "negative_prompt": "no text, no logos", "generate_audio": True, "multi_shot": True,
        "shot_type": "customize",
        "shots": [{"prompt": "Mia at the door", "duration": 2},
                  {"prompt": "Mia sits — and smiles", "duration": 3}],
        "elements": ["Mia"], "title": "Mia at the café", "continues": job.continues_id,
    }
    assert recipe == recipe_of(job)
    # the streams are copied as they came, not encoded again
    assert packets(default_storage.path(job.video.name)) == packets(rendered)


def test_a_video_that_cannot_carry_a_recipe_is_kept_as_it_came(make_job, files, caplog):
    not_quite = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 4000
    job = make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-5", amount=Decimal("0.3"),
                   finished_at=timezone.now(), video_url=files.serve("/result/5.mp4", not_quite))

    with caplog.at_level(logging.WARNING, logger="jobs.recipes"):
        job = kept(job)

    with default_storage.open(job.video.name, "rb") as handle:
        assert handle.read() == not_quite
    assert job.video_error == ""
    assert f"The video of job {job.pk} is kept without its recipe" in caplog.text


def test_keeping_leaves_no_temporary_file_behind(storyboard_job, tmp_path, monkeypatch):
    import tempfile

    from jobs import recipes

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    written, carry = [], recipes.carry

    def noted(job, path):
        written.append(path)
        return carry(job, path)

    monkeypatch.setattr(recipes, "carry", noted)

    kept(storyboard_job)

    assert len(written) == 1 and written[0].startswith(str(scratch))
    assert list(scratch.iterdir()) == []


# Remixing from a file


def test_the_job_page_and_the_drafts_page_offer_remix_from_a_file(owner, make_job):
    client = signed_in(owner)
    for url in (make_job().get_absolute_url(), reverse("drafts")):
        page = client.get(url).content.decode()
        assert f'action="{reverse("remix-from-file")}"' in page
        assert 'name="video"' in page


def test_my_videos_links_to_remix_from_a_file(owner):
    page = signed_in(owner).get(reverse("gallery")).content.decode()
    assert f'href="{reverse("remix-from-file")}" data-role="remix-from-file"' in page
    assert signed_in(owner).get(reverse("remix-from-file")).status_code == 200


def test_it_fills_the_composer_from_a_kept_videos_recipe(owner, storyboard_job):
    job = kept(storyboard_job)

    response = remix_from(owner, video_file(job))

    page = response.content.decode()
    assert response.status_code == 200
    assert checked(page, "model") == [KLING_30]
    assert selected(page, "id_mode") == "std" and selected(page, "id_duration") == "5"
    assert checked(page, "generate_audio") == [None]
    assert checked(page, "multi_shot") == ["1"] and checked(page, "shot_type") == ["customize"]
    assert textarea(page, "negative_prompt") == "no text, no logos"
    assert [textarea(page, "shots-0-prompt"), textarea(page, "shots-1-prompt")] == [
        "Mia at the door", "Mia sits — and smiles"]
    assert values(page, "shots-1-duration") == ["3"]
    assert values(page, "elements-0-name") == ["Mia"]
    assert values(page, "draft") == [] and values(page, "continues") in ([None], [""])
    # the owner may still see the job it came from: its pictures come along
    assert len(values(page, "start_frame_staged")) == 1
    assert len(values(page, "end_frame_staged")) == 1
    assert len(values(page, "elements-0-frontal_image_staged")) == 1
    assert f"come from Mia at the café (job {job.pk})" in page


@pytest.mark.parametrize("who", ["other", "staff"])
def test_someone_who_cannot_see_the_job_gets_its_settings_without_its_pictures(
        request, who, storyboard_job):
    job = kept(storyboard_job)

    page = remix_from(request.getfixturevalue(who), video_file(job)).content.decode()

    assert checked(page, "model") == [KLING_30]
    assert textarea(page, "shots-0-prompt") == "Mia at the door"
    assert values(page, "elements-0-name") == ["Mia"]
    assert values(page, "start_frame_staged") == []
    assert values(page, "elements-0-frontal_image_staged") in ([], [""])
    assert ("A video file carries no pictures: upload a start frame, and the images of its "
            "elements (Mia).") in page
    assert "Mia at the café" not in page


def test_a_remix_from_a_file_is_sent_like_any_new_video(owner, storyboard_job, enqueued):
    job = kept(storyboard_job)
    client = signed_in(owner)
    page = remix_from(owner, video_file(job)).content.decode()

    response = client.post(reverse("compose"), {
        "model": KLING_30, "mode": "std", "duration": "5", "prompt": "",
        "negative_prompt": textarea(page, "negative_prompt"), "generate_audio": "on",
        "multi_shot": "1", "shot_type": "customize",
        "start_frame_staged": values(page, "start_frame_staged")[0],
        "shots-TOTAL_FORMS": "2", "shots-INITIAL_FORMS": "0",
        "shots-0-prompt": textarea(page, "shots-0-prompt"), "shots-0-duration": "2",
        "shots-1-prompt": textarea(page, "shots-1-prompt"), "shots-1-duration": "3",
        "elements-TOTAL_FORMS": "1", "elements-INITIAL_FORMS": "0", "elements-0-name": "Mia",
        "elements-0-frontal_image_staged": values(page, "elements-0-frontal_image_staged")[0]})

    assert response.status_code == 302, response.content.decode()[:3000]
    remix = Job.objects.latest("pk")
    assert remix.pk != job.pk and remix.continues is None
    assert [(s.prompt, s.duration) for s in remix.shots.all()] == [
        ("Mia at the door", 2), ("Mia sits — and smiles", 3)]


def test_a_recipe_that_names_what_the_app_does_not_offer_is_not_taken_on_trust(owner, tmp_path,
                                                                                rendered):
    from jobs.recipes import write_recipe

    (tmp_path / "in.mp4").write_bytes(rendered)
    write_recipe(tmp_path / "in.mp4", tmp_path / "odd.mp4", {
        "model": "someone/else", "mode": "ultra", "duration": "<b>5</b>", "prompt": 42,
        "shots": "many", "elements": [{"not": "a name"}], "jobs": ["1", None]})

    response = remix_from(owner, SimpleUploadedFile("odd.mp4", (tmp_path / "odd.mp4")
                                                    .read_bytes()))

    page = response.content.decode()
    assert response.status_code == 200
    assert "The file names a model Kling Studio does not offer; choose one." in page
    assert textarea(page, "prompt") == ""
    assert "<b>5</b>" not in page and "ultra" not in page


@pytest.mark.parametrize("content, message", [
    (None, "This video carries no Kling Studio recipe"),
    (image_bytes(), "This file is not an MP4 video."),
    (b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 4000, "This MP4 could not be read"),
])
def test_a_file_it_cannot_use_gets_the_reason_next_to_the_field(owner, rendered, content,
                                                               message):
    content = rendered if content is None else content

    response = remix_from(owner, SimpleUploadedFile("take.mp4", content))

    assert response.status_code == 400
    assert message in text_of(response.content.decode(), "field-video")
    assert Job.objects.count() == 0


def test_a_file_larger_than_the_limit_is_refused_next_to_the_field(owner, rendered, settings):
    settings.KLING_MAX_REQUEST_MB = 0
    response = remix_from(owner, SimpleUploadedFile("take.mp4", rendered))
    assert response.status_code == 400
    assert "at most 0 MB" in text_of(response.content.decode(), "field-video")


def test_no_file_at_all_is_asked_for(owner):
    response = signed_in(owner).post(reverse("remix-from-file"), {})
    assert response.status_code == 400
    assert "Choose the video file to remix." in text_of(response.content.decode(), "field-video")


def test_the_page_of_its_own_shows_the_form(owner):
    page = signed_in(owner).get(reverse("remix-from-file")).content.decode()
    assert 'name="video"' in page and " open>" in page


def test_anonymous_visitors_are_sent_to_sign_in(client, rendered):
    for response in (client.get(reverse("remix-from-file")),
                     client.post(reverse("remix-from-file"),
                                 {"video": SimpleUploadedFile("take.mp4", rendered)})):
        assert response.status_code == 302 and "/accounts/login/" in response.url


# An exported sequence


@pytest.fixture
def exported_cut(owner, make_job, project, tmp_path, monkeypatch,
                 django_capture_on_commit_callbacks):
    """A team sequence of three takes with their own prompts, exported for real."""
    from sequences.models import Sequence
    from tests.test_sequences import export_now, rendered as render_clip, succeed

    monkeypatch.setattr("sequences.tasks.async_task", lambda *args, **options: None)
    sequence = Sequence.objects.create(name="Harbour trailer", project=project, owner=owner)
    prompts = ["Boats leave the quay at dawn", "Gulls circle over the grey water and the "
               "fishermen wave from the pier as the sun comes up", "Night falls on the harbour"]
    for number, prompt in enumerate(prompts):
        job = succeed(make_job(project=project, title=f"Shot {number + 1}", prompt=prompt),
                      render_clip(tmp_path, (480, 270), colour=(40 * number, 90, 160)))
        take = sequence.add(job)
        take.set_trim(Decimal("0.5") if number == 1 else Decimal("0"), None)
    export = export_now(signed_in(owner), sequence, django_capture_on_commit_callbacks)
    assert export.status == "done", export.error
    with default_storage.open(export.file.name, "rb") as handle:
        return SimpleUploadedFile("kling-studio-sequence.mp4", handle.read(),
                                  content_type="video/mp4"), sequence


def test_an_exported_sequence_offers_its_takes_to_pick(owner, exported_cut):
    upload_, sequence = exported_cut
    response = remix_from(owner, upload_)
    page = response.content.decode()
    assert response.status_code == 200
    assert "The file names a model" not in page
    for title in ("Take 1: Shot 1", "Take 2: Shot 2", "Take 3: Shot 3"):
        assert title in page
    assert "<p>Gulls circle over the grey water and the fishermen wave from the…</p>" in page
    assert "Used from 0.5 s to its end." in page
    assert len(values(page, "take")) == 3


def test_picking_a_take_opens_the_composer_with_its_prompt_and_frames(owner, exported_cut):
    upload_, sequence = exported_cut
    client = signed_in(owner)
    picks = values(client.post(reverse("remix-from-file"), {"video": upload_}).content.decode(),
                   "take")

    page = client.post(reverse("remix-from-file"), {"take": picks[1]}).content.decode()

    assert textarea(page, "prompt").startswith("Gulls circle over the grey water")
    second = sequence.takes_in_order()[1].job
    assert f"Its frames and element images come from Shot 2 (job {second.pk})" in page
    assert values(page, "start_frame_staged") != [""]


def test_a_forged_or_stale_pick_is_refused_in_words(owner):
    response = signed_in(owner).post(reverse("remix-from-file"), {"take": "forged"}, follow=True)
    assert "That choice has expired. Choose the file again." in response.content.decode()
