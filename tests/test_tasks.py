"""The tasks that move a job along, with a fake in place of the ShortAPI client (the one seam).

Videos are downloaded over real HTTP from a tiny local server.
"""

import base64
import os
import re
import threading
import time
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from jobs import shortapi, staging, tasks, uploads
from jobs.models import Job
from jobs.signals import video_settled
from jobs.shortapi import CreatedJob, JobState, ShortAPIError
from tests.conftest import upload

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x01" * 4000
PUBLIC = "https://studio.example"

pytestmark = pytest.mark.django_db


class FakeShortAPI:
    """Stands in for `jobs.shortapi.Client`: records every call, answers from a script."""

    def __init__(self):
        self.creates, self.queries = [], []
        self.create_answers, self.states = [], []
        self.counter = 0
        fake = self

        class Client:
            def __init__(self, *args, **kwargs):
                pass

            def create(self, model_id, args, callback_url=None):
                fake.creates.append({"model": model_id, "args": args,
                                     "callback_url": callback_url})
                answer = fake.create_answers.pop(0) if fake.create_answers else None
                if isinstance(answer, Exception):
                    raise answer
                fake.counter += 1
                return answer or CreatedJob(job_id=f"sa-{fake.counter}", amount=Decimal("0.3"))

            def query(self, job_id):
                fake.queries.append(job_id)
                answer = fake.states.pop(0)
                if isinstance(answer, Exception):
                    raise answer
                return answer

        self.Client = Client


@pytest.fixture
def fake(monkeypatch):
    shortapi_fake = FakeShortAPI()
    monkeypatch.setattr(tasks.shortapi, "Client", shortapi_fake.Client)
    return shortapi_fake


@pytest.fixture
def no_public_url(settings):
    settings.PUBLIC_BASE_URL = ""
    settings.KLING_IMAGE_TRANSPORT = "auto"


@pytest.fixture
def public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.KLING_IMAGE_TRANSPORT = "auto"


def stored(name):
    with default_storage.open(name, "rb") as handle:
        return handle.read()


def fresh(job):
    return Job.objects.get(pk=job.pk)


class Files:
    """A tiny HTTP server answering GETs from a dict of path -> (status, body)."""

    def __init__(self):
        self.routes, self.hits = {}, []
        files = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                files.hits.append(self.path)
                status, content = files.routes.get(self.path, (404, b""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def serve(self, path, content, status=200):
        self.routes[path] = (status, content)
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def files(settings):
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = ["127.0.0.1"]
    server = Files()
    yield server
    server.stop()


# submit_job


def test_it_sends_the_seed_page_args_with_an_inline_image_without_a_public_url(
        make_job, fake, enqueued, no_public_url):
    job = make_job(duration=5, prompt="A slow pan across the harbour")

    tasks.submit_job(job.pk)

    frame = base64.b64encode(stored(job.start_frame.name)).decode()
    assert fake.creates == [{
        "model": "kwaivgi/kling-2.6/image-to-video",
        "args": {"mode": "pro", "duration": "5", "prompt": "A slow pan across the harbour",
                 "image": f"data:image/png;base64,{frame}", "generate_audio": False},
        "callback_url": None,
    }]
    job = fresh(job)
    assert job.status == Job.Status.SUBMITTED
    assert (job.shortapi_job_id, job.amount) == ("sa-1", Decimal("0.300"))
    assert job.submitted_at is not None and job.submit_attempts == 1
    # no callback can arrive: the first question to ShortAPI is due in a few seconds
    assert job.next_poll_at == job.submitted_at + timedelta(seconds=2)
    assert enqueued == []


def test_it_sends_signed_image_urls_and_a_callback_under_the_public_url(
        client, make_job, fake, enqueued, public_url):
    job = make_job(negative_prompt="shaky camera")
    job.end_frame.save("end.png", upload(color=(0, 0, 255)), save=True)

    tasks.submit_job(job.pk)

    [sent] = fake.creates
    assert sent["callback_url"] == f"{PUBLIC}/shortapi/callback/{job.callback_token}/"
    assert sent["args"]["negative_prompt"] == "shaky camera"
    for arg, field in (("image", job.start_frame), ("image_tail", job.end_frame)):
        url = sent["args"][arg]
        assert url.startswith(f"{PUBLIC}/i/")
        response = client.get(urlsplit(url).path)
        assert b"".join(response.streaming_content) == stored(field.name)
    job = fresh(job)
    assert job.status == Job.Status.SUBMITTED
    # the callback will announce the result: polls are only a net under a lost one
    assert job.next_poll_at == job.submitted_at + timedelta(seconds=60)
    assert enqueued == []


def test_it_sends_a_job_only_once_when_the_task_runs_twice(make_job, fake, enqueued):
    job = make_job()

    tasks.submit_job(job.pk)
    tasks.submit_job(job.pk)

    assert len(fake.creates) == 1
    job = fresh(job)
    assert (job.status, job.shortapi_job_id, job.submit_attempts) == (Job.Status.SUBMITTED,
                                                                      "sa-1", 1)


def test_it_fails_a_job_shortapi_refuses_and_charges_nothing(make_job, fake, enqueued):
    job = make_job()
    fake.create_answers = [ShortAPIError("The prompt breaks the content policy.",
                                         permanent=True)]

    tasks.submit_job(job.pk)

    job = fresh(job)
    assert job.status == Job.Status.FAILED
    assert "The prompt breaks the content policy." in job.error
    assert "Nothing was charged" in job.error
    assert job.amount is None and job.cost == 0
    assert job.finished_at is not None
    assert enqueued == []


def test_it_never_resends_a_job_that_may_have_been_accepted(make_job, fake, enqueued):
    job = make_job(created_at=timezone.now() - timedelta(hours=1))
    fake.create_answers = [ShortAPIError("ShortAPI did not answer in time.", maybe_accepted=True)]

    tasks.submit_job(job.pk)
    assert fresh(job).status == Job.Status.UNKNOWN
    tasks.submit_job(job.pk)
    tasks.sweep()

    job = fresh(job)
    assert len(fake.creates) == 1
    assert job.status == Job.Status.UNKNOWN
    assert "ShortAPI did not answer in time." in job.error
    assert "may or may not" in job.error
    assert enqueued == []


def test_it_puts_a_job_back_in_the_queue_after_a_transient_refusal(make_job, fake, enqueued):
    job = make_job()
    fake.create_answers = [ShortAPIError("ShortAPI is busy and asked us to wait.",
                                         retry_after=120.0)]
    before = timezone.now()

    tasks.submit_job(job.pk)

    job = fresh(job)
    assert job.status == Job.Status.QUEUED
    assert job.next_attempt_at >= before + timedelta(seconds=120)
    assert "ShortAPI is busy" in job.error
    assert enqueued == []


def test_it_waits_a_little_after_a_transient_refusal_without_retry_after(make_job, fake,
                                                                          enqueued):
    job = make_job()
    fake.create_answers = [ShortAPIError("Could not connect to ShortAPI.")]
    before = timezone.now()

    tasks.submit_job(job.pk)

    job = fresh(job)
    assert job.status == Job.Status.QUEUED
    assert before <= job.next_attempt_at <= timezone.now() + timedelta(seconds=10)


def test_it_gives_up_after_the_maximum_number_of_tries(make_job, fake, enqueued):
    job = make_job()
    fake.create_answers = [ShortAPIError("Could not connect to ShortAPI.")
                           for _ in range(tasks.MAX_SUBMIT_ATTEMPTS)]

    for attempt in range(1, tasks.MAX_SUBMIT_ATTEMPTS):
        tasks.submit_job(job.pk)
        assert fresh(job).status == Job.Status.QUEUED, f"gave up after {attempt} tries"
    tasks.submit_job(job.pk)

    job = fresh(job)
    assert len(fake.creates) == tasks.MAX_SUBMIT_ATTEMPTS
    assert job.status == Job.Status.FAILED
    assert f"Gave up after {tasks.MAX_SUBMIT_ATTEMPTS} tries" in job.error
    assert job.amount is None


def test_it_does_nothing_for_a_job_that_is_gone(fake, enqueued):
    tasks.submit_job(987654)
    assert fake.creates == [] and enqueued == []


# refresh_job and apply_state


def submitted(make_job, status=Job.Status.SUBMITTED):
    """A job ShortAPI accepted as sa-77 for $0.30, moved there by the state machine."""
    job = make_job()
    assert job.claim_for_submission() and job.mark_submitted("sa-77", Decimal("0.300"))
    if status == Job.Status.PROCESSING:
        assert job.mark_processing()
    return job


def test_it_moves_a_job_to_processing(make_job, fake):
    job = submitted(make_job)
    fake.states = [JobState(status=shortapi.PROCESSING)]

    tasks.refresh_job(job.pk)

    job = fresh(job)
    assert fake.queries == ["sa-77"]
    assert job.status == Job.Status.PROCESSING
    assert job.last_polled_at is not None


def test_it_keeps_a_job_submitted_while_shortapi_says_pending(make_job, fake):
    job = submitted(make_job)
    fake.states = [JobState(status=shortapi.PENDING)]
    tasks.refresh_job(job.pk)
    assert fresh(job).status == Job.Status.SUBMITTED


def test_it_stores_the_video_of_a_job_that_succeeded(make_job, fake, files, enqueued,
                                                     django_capture_on_commit_callbacks):
    job = submitted(make_job, Job.Status.PROCESSING)
    url = files.serve("/result/77.mp4", MP4)
    fake.states = [JobState(status=shortapi.SUCCEEDED, video_url=url)]

    with django_capture_on_commit_callbacks(execute=True):
        tasks.refresh_job(job.pk)
    assert enqueued == [(tasks.keep_video, (job.pk,))]
    assert files.hits == []  # the download is a task of its own
    tasks.keep_video(job.pk)

    job = fresh(job)
    assert job.status == Job.Status.SUCCEEDED
    assert job.video_url == url
    assert job.finished_at is not None
    assert job.video.name.startswith("videos/") and job.video.name.endswith(".mp4")
    assert stored(job.video.name) == MP4
    assert job.video_error == ""
    assert job.cost == Decimal("0.300")


def test_it_fails_a_refunded_job_with_shortapis_reason(make_job, fake):
    job = submitted(make_job, Job.Status.PROCESSING)
    fake.states = [JobState(status=3, refunded=True, error="Kling could not animate this image.")]

    tasks.refresh_job(job.pk)

    job = fresh(job)
    assert job.status == Job.Status.FAILED
    assert job.refunded is True
    assert "Kling could not animate this image." in job.error
    assert "ShortAPI refunded it, so it costs nothing" in job.error
    assert job.amount == Decimal("0.300") and job.cost == 0


def test_it_explains_a_failure_shortapi_gave_no_reason_for(make_job, fake):
    job = submitted(make_job)
    fake.states = [JobState(status=4)]
    tasks.refresh_job(job.pk)
    assert "Kling could not make this video." in fresh(job).error


def test_a_repeated_success_downloads_the_video_once(make_job, fake, files, enqueued,
                                                     django_capture_on_commit_callbacks):
    job = submitted(make_job, Job.Status.PROCESSING)
    url = files.serve("/result/77.mp4", MP4)
    success = JobState(status=shortapi.SUCCEEDED, video_url=url)

    with django_capture_on_commit_callbacks(execute=True):
        tasks.apply_state(fresh(job), success)
        tasks.apply_state(fresh(job), success)
    assert enqueued == [(tasks.keep_video, (job.pk,))]
    tasks.keep_video(job.pk)
    kept = fresh(job).video.name
    tasks.keep_video(job.pk)

    assert files.hits == ["/result/77.mp4"]
    assert fresh(job).video.name == kept and fresh(job).video_attempts == 1


def test_a_late_processing_state_does_not_undo_a_success(make_job, fake, files):
    job = submitted(make_job, Job.Status.PROCESSING)
    url = files.serve("/result/77.mp4", MP4)
    tasks.apply_state(fresh(job), JobState(status=shortapi.SUCCEEDED, video_url=url))
    before = Job.objects.values().get(pk=job.pk)

    tasks.apply_state(fresh(job), JobState(status=shortapi.PROCESSING))
    tasks.apply_state(fresh(job), JobState(status=3, error="late failure"))

    after = Job.objects.values().get(pk=job.pk)
    assert after["status"] == Job.Status.SUCCEEDED
    assert {k: v for k, v in after.items() if k != "updated_at"} == (
        {k: v for k, v in before.items() if k != "updated_at"})


def test_it_does_not_ask_shortapi_about_a_finished_job(make_job, fake):
    job = make_job(status=Job.Status.FAILED, shortapi_job_id="sa-1")
    tasks.refresh_job(job.pk)
    assert fake.queries == []


def test_it_keeps_waiting_when_a_success_has_no_video_url(make_job, fake):
    job = submitted(make_job, Job.Status.PROCESSING)
    fake.states = [JobState(status=shortapi.SUCCEEDED, video_url="")]

    tasks.refresh_job(job.pk)

    job = fresh(job)
    assert job.status == Job.Status.PROCESSING
    assert job.video_url == "" and not job.video


def test_it_leaves_the_job_as_it_is_and_asks_later_when_the_query_fails(make_job, fake):
    job = submitted(make_job)
    fake.states = [ShortAPIError("Could not connect to ShortAPI.")]
    before = timezone.now()
    tasks.refresh_job(job.pk)
    job = fresh(job)
    assert job.status == Job.Status.SUBMITTED and job.polls == 1
    assert job.next_poll_at >= before + timedelta(seconds=2.5)


def test_each_poll_waits_longer_than_the_last_up_to_a_minute(make_job, fake, no_public_url):
    job = submitted(make_job)
    waits = []
    for _ in range(20):
        fake.states = [JobState(status=shortapi.PROCESSING)]
        before = timezone.now()
        tasks.refresh_job(job.pk)
        waits.append((fresh(job).next_poll_at - before).total_seconds())

    assert waits[:5] == pytest.approx([2.5, 3.125, 3.906, 4.883, 6.104], abs=0.3)  # 2 s × 1.25ⁿ
    assert all(later > earlier - 0.1 for earlier, later in zip(waits, waits[1:]))
    assert waits[-1] == pytest.approx(60, abs=0.5)
    assert fresh(job).polls == 20


def test_no_task_sleeps():
    import ast
    import inspect

    source = ast.parse(inspect.getsource(tasks))
    calls = [node.func for node in ast.walk(source) if isinstance(node, ast.Call)]
    named = {getattr(f, "attr", getattr(f, "id", "")) for f in calls}
    assert "sleep" not in named and "wait" not in named


# keep_video


def succeeded_at(make_job, url):
    job = make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-5", amount=Decimal("0.3"),
                   video_url=url, finished_at=timezone.now())
    return job


def test_it_refuses_a_video_that_is_not_an_mp4(make_job, files):
    job = succeeded_at(make_job, files.serve("/result/page.html", b"<html>Expired link</html>"))

    tasks.keep_video(job.pk)

    job = fresh(job)
    assert not job.video
    assert "not an MP4" in job.video_error
    assert job.status == Job.Status.SUCCEEDED


def test_it_refuses_a_video_larger_than_the_cap(make_job, files, settings):
    settings.KLING_VIDEO_MAX_BYTES = 1024
    job = succeeded_at(make_job, files.serve("/result/big.mp4", MP4[:2048]))

    tasks.keep_video(job.pk)

    job = fresh(job)
    assert not job.video
    assert re.search(r"larger than 1,?024 bytes", job.video_error)


def test_it_notes_a_failed_download_and_counts_the_try_when_it_starts(make_job, files):
    job = succeeded_at(make_job, files.serve("/result/busy.mp4", b"", status=503))
    before = timezone.now()
    tasks.keep_video(job.pk)
    job = fresh(job)
    assert "HTTP 503" in job.video_error
    assert not job.video
    assert job.video_attempts == 1
    assert job.next_attempt_at >= before + timedelta(seconds=30)


def test_a_try_that_never_ends_still_counts(make_job, files, monkeypatch):
    job = succeeded_at(make_job, files.serve("/result/5.mp4", MP4))

    def killed(url, name, **options):
        raise SystemExit("the worker was killed at its timeout")

    monkeypatch.setattr(tasks.downloads, "keep", killed)
    with pytest.raises(SystemExit):
        tasks.keep_video(job.pk)
    assert fresh(job).video_attempts == 1


def test_it_stops_trying_after_the_last_try(make_job, files):
    job = succeeded_at(make_job, files.serve("/result/5.mp4", MP4))
    Job.objects.filter(pk=job.pk).update(video_attempts=Job.MAX_VIDEO_ATTEMPTS)
    tasks.keep_video(job.pk)
    assert files.hits == [] and not fresh(job).video


@pytest.fixture
def settled():
    """What `video_settled` announced: (pk, kept) pairs."""
    heard = []

    def hear(sender, pk, kept, **kwargs):
        heard.append((pk, kept))

    video_settled.connect(hear, dispatch_uid="test-video-settled")
    yield heard
    video_settled.disconnect(dispatch_uid="test-video-settled")


def test_it_announces_a_kept_video_and_a_given_up_one_but_not_a_try_that_will_come_again(
        make_job, files, settled, django_capture_on_commit_callbacks):
    jobs = []
    for path, body, status in (("/result/5.mp4", MP4, 200), ("/result/busy.mp4", b"", 503),
                               ("/result/page.html", b"<html>Expired</html>", 200)):
        jobs.append(succeeded_at(make_job, files.serve(path, body, status=status)))
        Job.objects.filter(pk=jobs[-1].pk).update(shortapi_job_id=f"sa-{len(jobs)}0")
    kept, busy, expired = jobs

    with django_capture_on_commit_callbacks(execute=True):
        for job in (kept, busy, expired):
            tasks.keep_video(job.pk)

    assert settled == [(kept.pk, True), (expired.pk, False)]
    Job.objects.filter(pk=busy.pk).update(video_attempts=Job.MAX_VIDEO_ATTEMPTS - 1)
    with django_capture_on_commit_callbacks(execute=True):
        tasks.keep_video(busy.pk)  # the last try fails too: nothing more will come
    assert settled[-1] == (busy.pk, False)


# sweep


def test_the_sweep_marks_a_long_stuck_submission_unknown(make_job, enqueued):
    stuck = make_job(status=Job.Status.SUBMITTING)
    sending = make_job(status=Job.Status.SUBMITTING)
    Job.objects.filter(pk=stuck.pk).update(
        updated_at=timezone.now() - tasks.STUCK_SUBMITTING - timedelta(seconds=1))

    tasks.sweep()

    assert fresh(stuck).status == Job.Status.UNKNOWN
    assert "worker stopped" in fresh(stuck).error
    assert fresh(sending).status == Job.Status.SUBMITTING
    assert enqueued == []


def test_the_callback_url_leads_to_the_callback_view(make_job, public_url):
    job = make_job()
    assert tasks.callback_url(job) == PUBLIC + reverse("shortapi-callback",
                                                       args=[job.callback_token])


@pytest.mark.django_db
def test_the_sweep_deletes_staged_uploads_whose_tokens_have_expired(owner, enqueued):
    old_token = staging.stage(staging.Picked(uploads.check_upload(upload())), owner)
    fresh_token = staging.stage(staging.Picked(uploads.check_upload(upload())), owner)
    old_path = default_storage.path(staging.staged_name(old_token, owner))
    fresh_path = default_storage.path(staging.staged_name(fresh_token, owner))
    a_day_ago = time.time() - staging.MAX_AGE - 60
    os.utime(old_path, (a_day_ago, a_day_ago))

    tasks.sweep()

    assert not os.path.exists(old_path) and os.path.exists(fresh_path)
