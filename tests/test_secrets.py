"""The ShortAPI key never reaches a browser, a log line or an error page, and no per-job token
(callback, signed image link, staged upload) reaches any log line."""

import re

import pytest

from tests.conftest import image_bytes
from tests.stack import Stack, submit, wait_until_finished

pytestmark = pytest.mark.integration
KEY = "sk-live-k3y-that-must-never-leak-0123456789"


@pytest.fixture(scope="module")
def keyed_stack(tmp_path_factory):
    # The simulator and the app share the key, as ShortAPI and the app would.
    stack = Stack(tmp_path_factory.mktemp("keyed"), "embedded",
                  extra_env={"SHORTAPI_KEY": KEY, "LOG_LEVEL": "DEBUG",
                             "KLING_DOWNLOAD_ALLOWED_HOSTS": "127.0.0.1"}).start()
    yield stack
    stack.stop()


def test_the_key_appears_in_no_page_and_no_log(keyed_stack):
    stack = keyed_stack
    session = stack.session()
    pages = [session.get(stack.url + path).text
             for path in ("/", "/jobs/new/", "/spend/", "/accounts/login/")]
    job = submit(stack, session, {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                                  "duration": "5", "prompt": "Quiet harbour"},
                 {"start_frame": ("f.png", image_bytes(), "image/png")})
    state, _ = wait_until_finished(session, job.url)
    assert state["status"] == "succeeded", "the key works between app and ShortAPI"
    video = session.get(job.url + "video/", allow_redirects=False)
    assert (video.status_code, video.headers["Content-Type"]) == (200, "video/mp4")
    pages += [job.text, session.get(job.url + "status/").text,
              session.get(stack.url + "/jobs/999999/").text,  # a 404 page
              session.post(stack.url + "/shortapi/callback/wrong/").text]
    assert not [page for page in pages if KEY in page]
    for name in ("web", "qcluster", "simulator"):
        assert KEY not in stack.log(name), f"the key is in the {name} log"
    assert stack.simulator_stats(KEY)["created"] == 1


SECRET_IN_PATH = re.compile(r"/(?:i|uploads|shortapi/callback)/(?!\[redacted\])[^/\s\"']+")


@pytest.fixture(scope="module")
def linked_stack(tmp_path_factory):
    # the simulator beside the app: image links, callbacks, and every log at its most talkative
    stack = Stack(tmp_path_factory.mktemp("linked"), "embedded", callbacks=True,
                  extra_env={"LOG_LEVEL": "DEBUG"}).start()
    yield stack
    stack.stop()


def test_no_token_reaches_any_log_line(linked_stack):
    stack = linked_stack
    session = stack.session()
    job = submit(stack, session, {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                                  "duration": "5", "prompt": "Tokens stay secret"},
                 {"start_frame": ("f.png", image_bytes(), "image/png")})
    state, _ = wait_until_finished(session, job.url)
    assert state["status"] == "succeeded"
    # a rejected form stages its frame behind a token, which the page then shows
    rejected = submit(stack, session, {"model": "kwaivgi/kling-2.6/image-to-video",
                                       "mode": "pro", "duration": "7", "prompt": "x"},
                      {"start_frame": ("f.png", image_bytes(), "image/png")})
    staged = re.search(r'src="(/uploads/[^"]+)"', rejected.text).group(1)
    assert session.get(stack.url + staged).status_code == 200
    assert session.post(stack.url + "/shortapi/callback/not-a-real-token/").status_code == 404

    logs = {name: stack.log(name) for name in ("web", "qcluster", "simulator")}
    # the requests that carried tokens were logged, redacted
    assert "/i/[redacted]/" in logs["web"] and "/shortapi/callback/[redacted]/" in logs["web"]
    assert "/uploads/[redacted]/" in logs["web"]
    leaks = {name: SECRET_IN_PATH.findall(text) for name, text in logs.items()}
    assert leaks == {"web": [], "qcluster": [], "simulator": []}
