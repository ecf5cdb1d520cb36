"""Several hosts, no shared disk: the web app and two `qcluster`s, each with its own empty
KLING_VAR_DIR, on PostgreSQL, the Redis broker and an S3-compatible bucket (moto's server,
really listening). A storyboard job with elements and a plain job end with playable videos in the
gallery, served to their owner through short-lived presigned links, and nothing is written to
any host's own disk."""

import io

import av
import pytest
import requests

from tests.conftest import image_bytes, require
from tests.stack import S3Server, Stack, postgres_available, redis_available, submit
from tests.stack import wait_until_finished

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    require(redis_available(), "Redis at 127.0.0.1:6379")
    require(S3Server.available(), "moto's S3 server (pip install 'moto[server]')")
    workdir = tmp_path_factory.mktemp("two-hosts")
    s3 = S3Server(workdir).start()
    stack = Stack(workdir / "web", "postgres-redis", callbacks=True, extra_env=s3.env())
    (workdir / "web").mkdir()
    stack.start()
    # the stack's own worker gives way to two on "other hosts", each with its own empty disk
    stack.stop_process("qcluster")
    for name in ("host-a", "host-b"):
        (workdir / name).mkdir()
        stack.spawn(name, "manage.py", "qcluster", env={"KLING_VAR_DIR": str(workdir / name)})
    stack.hosts = [workdir / "web", workdir / "host-a", workdir / "host-b"]
    stack.s3 = s3
    yield stack
    stack.stop()
    s3.stop()


def png(colour, size=(800, 450)):
    return ("frame.png", image_bytes(*size, colour), "image/png")


def playable_seconds(content):
    with av.open(io.BytesIO(content)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        return float(container.duration / av.time_base)


def test_two_worker_hosts_and_a_bucket_make_and_serve_the_videos(hosts):
    stack = hosts
    session = stack.session()
    plain = submit(stack, session, {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                                    "duration": "5", "prompt": "Two hosts, one harbour"},
                   {"start_frame": png((30, 120, 200))})
    storyboard = submit(stack, session, {
        "model": "kwaivgi/kling-3.0/image-to-video", "mode": "std", "duration": "3",
        "prompt": "", "multi_shot": "1", "shot_type": "customize",
        "shots-TOTAL_FORMS": "2", "shots-INITIAL_FORMS": "0",
        "shots-0-prompt": "The cat looks up", "shots-0-duration": "1",
        "shots-1-prompt": "The cat jumps", "shots-1-duration": "2",
        "elements-TOTAL_FORMS": "1", "elements-INITIAL_FORMS": "0", "elements-0-name": "Cat"},
        [("start_frame", png((90, 90, 90))),
         ("elements-0-frontal_image", png((200, 140, 60), (500, 500))),
         ("elements-0-references", png((180, 120, 50), (500, 500)))])

    for page, seconds in ((plain, 5), (storyboard, 3)):
        state, seen = wait_until_finished(session, page.url, timeout=90)
        assert state["status"] == "succeeded", (state, seen)
        link = session.get(page.url + "video/", allow_redirects=False)
        # a presigned link to the bucket, after the ownership check, cacheable only privately
        assert link.status_code == 302 and link.headers["Location"].startswith(stack.s3.url)
        assert "Signature=" in link.headers["Location"]
        assert "private" in link.headers["Cache-Control"]
        first = requests.get(link.headers["Location"], headers={"Range": "bytes=0-99"})
        assert first.status_code == 206 and len(first.content) == 100
        assert playable_seconds(requests.get(link.headers["Location"]).content) == pytest.approx(
            seconds, abs=0.2)
        job_path = page.url.removeprefix(stack.url)
        assert f'href="{job_path}"' in session.get(stack.url + "/").text

    # nobody else gets the link
    stranger = stack.session("noah")
    assert stranger.get(plain.url + "video/", allow_redirects=False).status_code == 404
    # everything lives in the bucket; no host wrote media of its own
    keys = stack.s3.keys()
    for folder in ("frames/", "posters/", "videos/"):
        assert any(key.startswith(folder) for key in keys), (folder, keys)
    assert sum(key.startswith("videos/") for key in keys) == 2
    for host in stack.hosts:
        assert not (host / "media").exists() or not any((host / "media").rglob("*.*")), host
    # the work was done on the worker hosts, which are both still up
    assert "jobs.tasks.submit_job" in stack.log("host-a") + stack.log("host-b")
    assert all(stack.processes[name].poll() is None for name in ("host-a", "host-b"))
