"""The field: ShortAPI on the internet, the app on a laptop. The simulator's remote mode behaves
as the real API does from outside: it fetches images only from public addresses and calls back
only to public addresses. `runstudio` with a key must still get every job to a playable video,
by sending images inline and polling, even when PUBLIC_BASE_URL names a loopback address."""

import io
import subprocess
import sys
import time

import av
import pytest
import requests

from tests.conftest import image_bytes
from tests.stack import ROOT, RunStudio, free_port, submit, wait_until_finished

pytestmark = pytest.mark.integration

KEY = "sk-live-remote-3c9d8e7f6a5b"


@pytest.fixture
def remote_shortapi(tmp_path):
    port = free_port()
    log = open(tmp_path / "remote-simulator.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runsimulator", "--remote", "--port", str(port)], cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "SHORTAPI_KEY": KEY, "KLING_VAR_DIR": str(tmp_path / "sim"),
             "SIMULATOR_PENDING_SECONDS": "0.5", "SIMULATOR_PROCESSING_SECONDS": "1"},
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(url + "/files/none.mp4", timeout=1)
            break
        except requests.ConnectionError:
            assert process.poll() is None, (tmp_path / "remote-simulator.log").read_text()
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=20)


def stats(url):
    return requests.get(url + "/_simulator/stats", headers={"Authorization": f"Bearer {KEY}"},
                        timeout=5).json()


def png(colour, size=(800, 450)):
    return ("frame.png", image_bytes(*size, colour), "image/png")


def playable_seconds(content):
    with av.open(io.BytesIO(content)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return float(container.duration / av.time_base)


def test_runstudio_with_a_key_gets_videos_from_a_shortapi_that_cannot_reach_it(
        tmp_path, remote_shortapi):
    # a loopback PUBLIC_BASE_URL, as a person might set on a laptop: the real API could use
    # neither its image links nor its callbacks, so the app must not send them
    port_hint = "http://127.0.0.1:8000"
    studio = RunStudio(tmp_path / "studio", SHORTAPI_KEY=KEY, SHORTAPI_BASE_URL=remote_shortapi,
                       PUBLIC_BASE_URL=port_hint).start()
    try:
        printed = studio.output()
        assert f"ShortAPI at {remote_shortapi} accepted the key." in printed
        assert "Jobs are checked on (polled)" in printed
        assert "Images are sent inside each request" in printed
        assert KEY not in printed
        session = studio.session()

        with_end_frame = submit(studio, session, {
            "model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro", "duration": "5",
            "prompt": "The tide comes in"},
            {"start_frame": png((30, 120, 200)), "end_frame": png((200, 120, 30))})
        storyboard = submit(studio, session, {
            "model": "kwaivgi/kling-3.0/image-to-video", "mode": "std", "duration": "4",
            "prompt": "", "multi_shot": "1", "shot_type": "customize",
            "shots-TOTAL_FORMS": "2", "shots-INITIAL_FORMS": "0",
            "shots-0-prompt": "The cat looks up", "shots-0-duration": "1",
            "shots-1-prompt": "The cat jumps", "shots-1-duration": "3",
            "elements-TOTAL_FORMS": "1", "elements-INITIAL_FORMS": "0", "elements-0-name": "Cat"},
            [("start_frame", png((90, 90, 90))),
             ("elements-0-frontal_image", png((200, 140, 60), (500, 500))),
             ("elements-0-references", png((180, 120, 50), (500, 500)))])

        for page, seconds in ((with_end_frame, 5), (storyboard, 4)):
            assert "/jobs/" in page.url, page.text[:2000]
            state, seen = wait_until_finished(session, page.url, timeout=90)
            assert state["status"] == "succeeded", (state, seen)
            video = session.get(page.url + "video/")
            assert playable_seconds(video.content) == pytest.approx(seconds, abs=0.2)
    finally:
        studio.stop()

    made = stats(remote_shortapi)["jobs"].values()
    assert len(made) == 2
    assert all(job["inline_images"] for job in made)
    assert not any(job["callback_url_given"] for job in made)
