"""The whole path over real HTTP: a form submission through gunicorn, a real qcluster process and
the simulator, to a playable video in the gallery; on the embedded default and on PostgreSQL +
Redis, once with callbacks and once with callbacks impossible (polling only).
"""

import io

import av
import pytest

from tests.conftest import image_bytes, require
from tests.stack import Stack, postgres_available, redis_available, submit, wait_until_finished

pytestmark = pytest.mark.integration

BACKENDS = ["embedded", "postgres-redis"]


def start_stack(tmp_path_factory, backend, callbacks):
    if backend == "postgres-redis":
        require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
        require(redis_available(), "Redis at 127.0.0.1:6379")
    return Stack(tmp_path_factory.mktemp(f"{backend}-stack"), backend, callbacks).start()


@pytest.fixture(scope="module", params=BACKENDS)
def stack(request, tmp_path_factory):
    stack = start_stack(tmp_path_factory, request.param, callbacks=True)
    yield stack
    stack.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def polling_stack(request, tmp_path_factory):
    stack = start_stack(tmp_path_factory, request.param, callbacks=False)
    yield stack
    stack.stop()


def frame(color=(30, 120, 200)):
    return {"start_frame": ("harbour.png", image_bytes(800, 450, color), "image/png")}


def assert_playable_mp4(content, seconds):
    with av.open(io.BytesIO(content)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert float(container.duration / av.time_base) == pytest.approx(seconds, abs=0.2)


def test_a_submitted_job_ends_with_a_playable_video_in_the_gallery(stack):
    session = stack.session()
    job_page = submit(stack, session, {"model": "kwaivgi/kling-3.0/image-to-video", "mode": "std",
                                       "duration": "4", "prompt": "Boats drift at dawn",
                                       "generate_audio": "on"}, frame())
    assert "/jobs/" in job_page.url and "Boats drift at dawn" in job_page.text

    state, seen = wait_until_finished(session, job_page.url)

    assert state["status"] == "succeeded", (state, seen)
    assert state["charged"] == "$0.856"  # 0.214 per second with audio, 4 seconds
    gallery = session.get(stack.url + "/").text
    video_url = job_page.url + "video/"
    assert f'src="{video_url.removeprefix(stack.url)}"' in gallery
    assert_playable_mp4(session.get(video_url).content, 4)
    assert "POST /shortapi/callback/" in stack.log("web"), "the job should finish by callback"


def test_a_job_finishes_by_polling_when_no_callback_can_arrive(polling_stack):
    session = polling_stack.session()
    job_page = submit(polling_stack, session,
                      {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                       "duration": "5", "prompt": "A lantern flickers"}, frame((220, 180, 40)))

    state, seen = wait_until_finished(session, job_page.url)

    assert state["status"] == "succeeded", (state, seen)
    assert_playable_mp4(session.get(job_page.url + "video/").content, 5)
    stats = polling_stack.simulator_stats()
    assert [job["callbacks_sent"] for job in stats["jobs"].values()] == [0]
    assert "/shortapi/callback/" not in polling_stack.log("web")


def test_a_failing_job_shows_its_reason_and_its_charge_is_not_counted(stack):
    session = stack.session()
    job_page = submit(stack, session, {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                                       "duration": "10", "generate_audio": "on",
                                       "prompt": "Rain on glass [simulate-failure]"}, frame())

    state, _ = wait_until_finished(session, job_page.url)

    assert state["status"] == "failed"
    assert state["charged"] == "$1.20" and state["cost"] == "$0.00"
    page = session.get(job_page.url).text
    assert "prompt contains [simulate-failure]" in page
    assert session.get(job_page.url + "video/").status_code == 404


def test_another_person_cannot_see_a_job_its_frames_or_its_video(stack):
    maya = stack.session("maya")
    job_page = submit(stack, maya, {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                                    "duration": "5", "prompt": "Private"}, frame())
    wait_until_finished(maya, job_page.url)
    noah = stack.session("noah")
    for suffix in ("", "status/", "frames/start/", "video/", "video/?download=1"):
        assert noah.get(job_page.url + suffix).status_code == 404, suffix
    assert job_page.url.removeprefix(stack.url) not in noah.get(stack.url + "/").text
