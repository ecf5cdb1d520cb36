"""One person's whole journey in real Chromium against the real stack (web, qcluster,
simulator): a 3:1 picture dropped on the composer is cropped to 16:9 where they drag the box and
made into a video; that video is continued from its last frame; both go into one sequence, one
is trimmed, the sequence is exported, and the export plays in the page at the trimmed length.
"""

import base64
import json
import re
import time

import pytest

from tests.browser import ARTIFACTS, BLUE, RED, drag, screenshot, sign_in
from tests.stack import Stack

pytestmark = pytest.mark.browser

JOB_URL = re.compile(r"/jobs/(\d+)/$")
SEQUENCE = "Tide reel"
TRIM_START = 0.5
# a loaded machine: every wait is generous, none is endless
JOB_SECONDS = 180
EXPORT_SECONDS = 240


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("journey-stack"), "embedded", callbacks=True).start()
    yield stack
    stack.stop()


def in_stack(stack, script):
    """What `script` prints as JSON, run with the stack's own settings and database."""
    return json.loads(stack.manage("shell", "--no-imports", "-c", script).stdout)


def stored_start_frame(stack, job):
    """The size of a job's start frame as stored, and the colour of its middle row."""
    return in_stack(stack, (
        "import json; from PIL import Image; from jobs.models import Job;"
        f"job = Job.objects.get(pk={job});"
        "handle = job.start_frame.open('rb'); image = Image.open(handle).convert('RGB');"
        "print(json.dumps({'size': image.size, 'row': [image.getpixel((x, image.height // 2))"
        " for x in range(image.width)], 'continues': job.continues_id}))"))


def drop(page, selector, path):
    """Drop a file on an element as a file dragged from the desktop would land."""
    transfer = page.evaluate_handle("""([data, name]) => {
        const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], name, { type: "image/png" }));
        return transfer;
    }""", [base64.b64encode(path.read_bytes()).decode(), path.name])
    for event in ("dragenter", "dragover", "drop"):
        page.dispatch_event(selector, event, {"dataTransfer": transfer})


def make_video(page):
    """Send the composer; the new job's id once its page is open."""
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    return int(JOB_URL.search(page.url).group(1))


def wait_until_kept(page, job):
    """The job's page says Succeeded by itself; then it is reloaded until its video is kept here,
    which is when it offers Continue."""
    page.wait_for_function("() => document.querySelector('[data-role=status]')"
                           ".textContent.trim() === 'Succeeded'", timeout=JOB_SECONDS * 1000)
    deadline = time.monotonic() + JOB_SECONDS
    while not page.locator("[data-role=continue]").count():
        assert time.monotonic() < deadline, f"job {job}'s video was not kept in {JOB_SECONDS} s"
        page.wait_for_timeout(500)
        page.reload()


def add_to_sequence(page, job, sequence):
    """Add the job on whose page we are to `sequence`, or to a new one of that name."""
    form = page.locator("[data-role=job-actions] [data-role=add-to-sequence]")
    if sequence == "new":
        form.locator("select[name=sequence]").select_option("new")
        form.locator("input[name=name]").fill(SEQUENCE)
    else:
        form.locator("select[name=sequence]").select_option(label=sequence)
    form.get_by_role("button", name="Add to sequence").click()
    page.wait_for_url(f"**/jobs/{job}/")


def play(page, video):
    """Play the export muted in the page; its clock before, and after playing a while."""
    page.wait_for_function("video => video.readyState >= 1", arg=video.element_handle(),
                           timeout=30_000)
    before = video.evaluate("video => { video.muted = true; video.play(); "
                            "return video.currentTime; }")
    page.wait_for_function("video => !video.paused && video.currentTime > 1",
                           arg=video.element_handle(), timeout=30_000)
    return before, video.evaluate("video => video.currentTime")


def test_a_wide_picture_becomes_a_cropped_video_a_continuation_and_an_exported_sequence(
        page, stack, wide_file):
    sign_in(page, stack, "maya")

    # 1. the picture dropped on the composer, cropped to 16:9 where the box is dragged
    page.goto("/jobs/new/")
    field = page.locator("#field-start_frame")
    drop(page, "#field-start_frame", wide_file)
    page.wait_for_function("() => !document.querySelector('#field-start_frame [data-role=fit]')"
                           ".hidden")
    assert "1500×500" in field.locator("[data-role=fit-why]").text_content()
    field.get_by_role("radio", name="Crop").check()
    page.select_option("#id_start_frame_fit_ratio", "16:9")
    crop_box = field.locator("[data-role=crop-box]")
    assert crop_box.is_visible()
    assert page.input_value("[name=start_frame_fit_x]") == "306"  # centred: (1500 - 888) / 2
    drag(page, crop_box, -60)
    left = int(page.input_value("[name=start_frame_fit_x]"))
    assert 0 < left < 306, left
    assert field.locator("[data-role=fit-result]").text_content() == (
        "Kling gets a 888×500 px image.")
    page.fill("#id_prompt", "The tide comes in over the red rocks")
    first = make_video(page)
    wait_until_kept(page, first)

    # 2. the stored start frame is 16:9 and shows the part of the picture under the box
    frame = stored_start_frame(stack, first)
    width, height = frame["size"]
    assert [width, height] == [888, 500] and abs(width / height - 16 / 9) < 0.01
    edge = 750 - left  # where red turns blue in the cropped frame
    assert all(tuple(pixel) == RED for pixel in frame["row"][:edge - 1])
    assert all(tuple(pixel) == BLUE for pixel in frame["row"][edge + 1:])

    # 3. Continue: the composer starts from the video's last frame
    page.locator("[data-role=continue]").click()
    page.wait_for_url(f"**/jobs/{first}/continue/")
    staged = field.locator("[data-role=staged] img")
    assert staged.is_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=staged.element_handle())
    # the simulator renders within 640 px: the last frame keeps the crop's 16:9
    width, height = staged.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert abs(width / height - 16 / 9) < 0.01, (width, height)
    continues = page.locator("#compose input[name=continues]")
    assert continues.get_attribute("type") == "hidden"
    assert continues.input_value() == str(first)
    assert page.locator("[data-role=continues] a").get_attribute("href") == f"/jobs/{first}/"
    page.fill("#id_prompt", "The water settles over the blue sand")
    second = make_video(page)
    assert second != first
    shot_links = page.locator("[data-role=shot-links] [data-role=continues]")
    assert shot_links.text_content().startswith("Continues:")
    assert shot_links.locator("a").get_attribute("href") == f"/jobs/{first}/"
    wait_until_kept(page, second)
    continuation = stored_start_frame(stack, second)
    assert continuation["continues"] == first
    assert continuation["size"] == [width, height]  # the frame shown is the frame sent

    # 4. both in one sequence, the second trimmed, the whole exported
    page.goto(f"/jobs/{first}/")
    add_to_sequence(page, first, "new")
    page.goto(f"/jobs/{second}/")
    add_to_sequence(page, second, SEQUENCE)
    page.goto("/sequences/")
    page.get_by_role("link", name=SEQUENCE).click()
    takes = page.locator("[data-take]")
    assert takes.count() == 2
    assert [f"/jobs/{job}/" for job in (first, second)] == [
        takes.nth(i).locator(".take-head a").get_attribute("href") for i in (0, 1)]
    takes.nth(1).locator("[data-role=trim-start]").fill(str(TRIM_START))
    takes.nth(1).get_by_role("button", name="Save trim").click()
    page.wait_for_url(re.compile(r"/sequences/\d+/#take-\d+$"))
    assert float(takes.nth(1).locator("[data-role=trim-start]").input_value()) == TRIM_START
    kept = [float(takes.nth(i).locator("[data-role=kept]").text_content()) for i in (0, 1)]
    sequence = int(re.search(r"/sequences/(\d+)/", page.url).group(1))
    lengths = in_stack(stack, (
        "import json; from sequences.models import Sequence;"
        f"print(json.dumps([[float(t.length), float(t.trim_start)] for t in "
        f"Sequence.objects.get(pk={sequence}).takes_in_order()]))"))
    assert [length - trim for length, trim in lengths] == pytest.approx(kept, abs=0.01)
    assert lengths[1][1] == TRIM_START and kept[1] == pytest.approx(lengths[1][0] - TRIM_START)

    page.get_by_role("button", name="Export", exact=True).click()
    page.wait_for_url(re.compile(r"/sequences/\d+/#export$"))
    page.locator("[data-role=export-player] video").wait_for(timeout=EXPORT_SECONDS * 1000)
    assert page.locator("[data-role=export-status]").inner_text() == "Done"
    assert page.locator("[data-role=export-progress]").is_hidden()

    exported = page.locator("[data-role=export-player] video")
    before, after = play(page, exported)
    assert after > before
    duration = exported.evaluate("video => video.duration")
    assert abs(duration - sum(kept)) <= 0.1, (duration, kept)

    # 5. the page with its export, kept for people to look at
    (ARTIFACTS / "journey-sequence.png").unlink(missing_ok=True)
    shot = screenshot(page, "journey-sequence.png")
    assert shot.is_file() and shot.stat().st_size > 10_000
