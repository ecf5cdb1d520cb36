"""A custom storyboard with an element over real HTTP: the form through gunicorn, a real qcluster
and the simulator (which checks it by the contract's rules and reads the element's images), to a
kept MP4 as long as the storyboard, in which each shot's stretch looks different."""

import io

import av
import pytest
from PIL import ImageStat

from tests.conftest import image_bytes
from tests.stack import Stack, submit, wait_until_finished

pytestmark = pytest.mark.integration

SHOTS = [("The door opens", 1), ("A cat walks in", 2), ("The cat sits down", 3)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("storyboard-stack"), "embedded", callbacks=True).start()
    yield stack
    stack.stop()


def storyboard_fields(duration):
    fields = {"model": "kwaivgi/kling-3.0/image-to-video", "mode": "std",
              "duration": str(duration), "prompt": "", "multi_shot": "1",
              "shot_type": "customize", "shots-TOTAL_FORMS": str(len(SHOTS)),
              "shots-INITIAL_FORMS": "0", "elements-TOTAL_FORMS": "1",
              "elements-INITIAL_FORMS": "0", "elements-0-name": "Cat"}
    for index, (prompt, seconds) in enumerate(SHOTS):
        fields[f"shots-{index}-prompt"] = prompt
        fields[f"shots-{index}-duration"] = str(seconds)
    return fields


def png(colour, size=(800, 450)):
    return image_bytes(*size, colour)


def frames_at(content, seconds):
    """The mean colour of the video's frame nearest each of `seconds`."""
    with av.open(io.BytesIO(content)) as container:
        decoded = [(float(frame.time), frame.to_image()) for frame in container.decode(video=0)]
    colours = []
    for second in seconds:
        _, image = min(decoded, key=lambda item: abs(item[0] - second))
        colours.append(tuple(ImageStat.Stat(image).mean))
    return colours


def test_a_custom_storyboard_becomes_a_video_as_long_as_its_shots(stack):
    session = stack.session()
    total = sum(seconds for _, seconds in SHOTS)
    files = [("start_frame", ("room.png", png((120, 120, 120)), "image/png")),
             ("elements-0-frontal_image", ("cat.png", png((200, 140, 60), (500, 500)),
                                           "image/png")),
             ("elements-0-references", ("cat-side.png", png((180, 120, 50), (500, 500)),
                                        "image/png")),
             ("elements-0-references", ("cat-back.png", png((160, 100, 40), (500, 500)),
                                        "image/png"))]
    job_page = submit(stack, session, storyboard_fields(total), files)
    assert "/jobs/" in job_page.url, job_page.text[:3000]

    state, seen = wait_until_finished(session, job_page.url)

    assert state["status"] == "succeeded", (state, seen)
    assert state["charged"] == "$0.858"  # 0.143 per second, 6 seconds
    video = session.get(job_page.url + "video/").content
    with av.open(io.BytesIO(video)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert float(container.duration / av.time_base) == pytest.approx(total, abs=0.2)
    # the middle of each shot's stretch: 0.5 s, 2 s and 4.5 s
    first, second, third = frames_at(video, [0.5, 2.0, 4.5])
    for a, b in [(first, second), (second, third), (first, third)]:
        assert max(abs(x - y) for x, y in zip(a, b)) > 20, (first, second, third)
    page = session.get(job_page.url).text
    assert page.count('data-role="timeline-shot"') == 3
    assert 'alt="Cat, from the front"' in page
