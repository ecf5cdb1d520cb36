"""Free heavy work is bounded and kept apart from paid work: sequences per person, takes per
sequence, an export's length and exports per hour are limited with a word on when to try again;
exports go to their own queue; a kept video's facts are read once, by the worker that kept it."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from jobs import tasks
from sequences import tasks as sequence_tasks
from sequences.models import Export, Sequence
from simulator import video
from tests.composer import signed_in, text_of
from tests.test_remix_file import files, kept, rendered, storyboard_job  # noqa: F401 (fixtures)
from tests.test_sequences import succeed
from tests.test_views import MP4

pytestmark = pytest.mark.django_db


def test_a_person_keeps_a_bounded_number_of_sequences(owner, settings):
    settings.KLING_SEQUENCES_PER_PERSON = 2
    client = signed_in(owner)
    for name in ("One", "Two"):
        assert client.post(reverse("sequences"), {"name": name}).status_code == 302
    refused = client.post(reverse("sequences"), {"name": "Three"})
    assert refused.status_code == 400
    assert "You have 2 sequences, as many as one person may keep" in refused.content.decode()
    assert 'value="Three"' in refused.content.decode()  # kept to send again
    assert Sequence.objects.filter(owner=owner).count() == 2


def test_adding_to_a_new_sequence_counts_too(owner, make_job, settings):
    settings.KLING_SEQUENCES_PER_PERSON = 1
    job = succeed(make_job())
    client = signed_in(owner)
    client.post(reverse("sequence-add"), {"job": job.pk, "sequence": "new"})
    response = client.post(reverse("sequence-add"), {"job": job.pk, "sequence": "new"},
                           follow=True)
    assert "as many as one person may keep" in response.content.decode()
    assert Sequence.objects.count() == 1


def test_a_sequence_holds_a_bounded_number_of_takes(owner, make_job, settings):
    settings.KLING_TAKES_PER_SEQUENCE = 3
    job = succeed(make_job())
    sequence = Sequence.objects.create(name="Loop", owner=owner)
    client = signed_in(owner)
    for _ in range(5):  # the same video again and again
        client.post(reverse("sequence-add"), {"job": job.pk, "sequence": sequence.pk})
    assert sequence.takes.count() == 3
    response = client.post(reverse("sequence-add"), {"job": job.pk, "sequence": sequence.pk},
                           follow=True)
    assert "“Loop” has 3 takes, as many as a sequence may hold" in response.content.decode()


def test_an_export_longer_than_the_limit_is_refused_before_it_is_queued(owner, make_job,
                                                                       settings, monkeypatch):
    settings.KLING_EXPORT_MAX_MINUTES = 1
    queued = []
    monkeypatch.setattr(sequence_tasks, "async_task", lambda *a, **k: queued.append(a))
    sequence = Sequence.objects.create(name="Long", owner=owner)
    for _ in range(13):  # 13 × 5 s = 65 s
        job = succeed(make_job())
        job.video_fps, job.video_seconds = 24.0, Decimal("5")
        job.save()
        sequence.add(job)
    response = signed_in(owner).post(reverse("sequence-export", args=[sequence.pk]))
    assert response.status_code == 400
    assert "An export can be at most 1 minutes long" in text_of(response.content.decode(),
                                                                "problems")
    assert queued == [] and not Export.objects.exists()


def test_exports_per_hour_are_limited_with_when_to_try_again(owner, make_job, settings,
                                                             monkeypatch,
                                                             django_capture_on_commit_callbacks):
    settings.KLING_EXPORTS_PER_HOUR = 2
    queued = []
    monkeypatch.setattr(sequence_tasks, "async_task",
                        lambda func, *args, **options: queued.append(options))
    sequence = Sequence.objects.create(name="Reel", owner=owner)
    sequence.add(succeed(make_job()))
    client = signed_in(owner)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("sequence-export", args=[sequence.pk]))
        Export.objects.update(status=Export.Status.DONE)
    response = client.post(reverse("sequence-export", args=[sequence.pk]), follow=True)
    assert "You have asked for 2 exports in the last hour" in response.content.decode()
    assert "Export again in" in response.content.decode()
    assert len(queued) == 2
    # and they go to the queue of free work, never the one ShortAPI's tasks wait in
    assert {options["cluster"] for options in queued} == {settings.KLING_FREE_QUEUE}
    assert settings.KLING_FREE_QUEUE != settings.Q_CLUSTER["name"]


def test_the_free_queue_retries_only_after_an_export_could_have_ended():
    free = settings.Q_CLUSTER["ALT_CLUSTERS"][settings.KLING_FREE_QUEUE]
    assert free["timeout"] == settings.KLING_EXPORT_TIMEOUT
    assert free["retry"] > free["timeout"]


def test_keeping_a_video_reads_its_rate_length_and_last_frame_once(storyboard_job,  # noqa: F811
                                                                  monkeypatch):
    job = kept(storyboard_job)
    assert job.video_fps == video.FPS
    assert job.video_seconds == Decimal("5")
    assert job.last_frame and default_storage.exists(job.last_frame.name)
    with default_storage.open(job.last_frame.name) as handle:
        assert Image.open(handle).size == (640, 400)

    # adding it to a sequence and continuing it read nothing more from the video
    def refuse(*args, **kwargs):
        raise AssertionError("a request read the video")

    monkeypatch.setattr("jobs.videofacts.read", refuse)
    monkeypatch.setattr("lib.video.measure", refuse)
    sequence = Sequence.objects.create(name="Cut", owner=job.owner)
    take = sequence.add(job)
    assert (take.fps, take.length) == (video.FPS, Decimal("5"))
    page = signed_in(job.owner).get(reverse("job-continue", args=[job.pk]))
    assert page.status_code == 200


def test_a_continue_page_writes_nothing(storyboard_job):  # noqa: F811
    job = kept(storyboard_job)
    before = set(default_storage.listdir("staged")[1]) if default_storage.exists("staged") else set()
    for _ in range(3):
        assert signed_in(job.owner).get(reverse("job-continue", args=[job.pk])).status_code == 200
    after = set(default_storage.listdir("staged")[1]) if default_storage.exists("staged") else set()
    assert after == before


def test_keep_video_still_works_when_its_facts_cannot_be_read(make_job, files, monkeypatch):  # noqa: F811
    job = make_job(status="succeeded", shortapi_job_id="sa-3",
                   video_url=files.serve("/result/3.mp4", MP4))
    tasks.keep_video(job.pk)
    job.refresh_from_db()
    assert job.video and job.described and not job.last_frame
    assert job.last_frame_problem.startswith("The last frame of this video")
