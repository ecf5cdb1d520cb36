"""The hostile corpus through the real stack (gunicorn, a qcluster, the simulator, which holds
every image to Kling's published limits as ShortAPI does): each refused file is refused next to
its field with nothing sent to ShortAPI, and each cleaned one reaches ShortAPI as a clean image
Kling accepts, and becomes a video."""

import pytest

from tests import hostile
from tests.stack import Stack, submit, wait_until_finished

pytestmark = pytest.mark.integration

FIELDS = {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro", "duration": "5"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("hostile-stack"), "embedded", callbacks=True).start()
    yield stack
    stack.stop()


def test_refused_files_are_explained_beside_the_frame_and_never_reach_shortapi(stack):
    session = stack.session()
    for case, (name, make, content_type) in hostile.REFUSED.items():
        page = submit(stack, session, {**FIELDS, "prompt": f"Refused: {case}"},
                      {"start_frame": (name, make(), content_type)})
        assert "/jobs/new/" in page.url, case
        field = page.text.split('id="field-start_frame"')[1].split('id="field-end_frame"')[0]
        assert 'class="error"' in field, (case, field)
        assert f"Refused: {case}" in page.text, case
    assert stack.simulator_stats()["created"] == 0
    assert stack.jobs() == []


def test_cleaned_files_reach_shortapi_clean_and_become_videos(stack):
    session = stack.session("noah")
    pages = {}
    for case, (name, make, content_type) in hostile.CLEANED.items():
        pages[case] = submit(stack, session, {**FIELDS, "prompt": f"Cleaned: {case}"},
                             {"start_frame": (name, make(), content_type)})
        assert "/jobs/" in pages[case].url and "/new/" not in pages[case].url, case
    for case, page in pages.items():
        state, seen = wait_until_finished(session, page.url, timeout=90)
        assert state["status"] == "succeeded", (case, state, seen)
    received = {job["prompt"].removeprefix("Cleaned: "): job["start_frame"]
                for job in stack.simulator_stats()["jobs"].values()}
    assert set(received) == set(hostile.CLEANED)
    for case, frame in received.items():
        assert frame["format"] in ("JPEG", "PNG") and not frame["exif"], (case, frame)
        assert frame["bytes"] <= hostile.TEN_MB and min(frame["width"], frame["height"]) >= 300
    assert (received["exif-rotated"]["width"], received["exif-rotated"]["height"]) == (800, 500)
    assert received["24-megapixels"]["width"] == 2048
