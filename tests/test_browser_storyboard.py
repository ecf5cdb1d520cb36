"""The storyboard editor as a person uses it, in headless Chromium against a real stack: build a
3-shot storyboard, fix a duration mismatch with one click, add an element, save a draft, reopen
and submit it, see the timeline on the job page, then remix it and submit a changed copy.
"""

import re
import time

import pytest

from tests.browser import screenshot, sign_in
from tests.conftest import image_bytes
from tests.stack import Stack

pytestmark = pytest.mark.browser

JOB_URL = re.compile(r"/jobs/(\d+)/$")


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("storyboard-stack"), "embedded", callbacks=True).start()
    yield stack
    stack.stop()


@pytest.fixture
def pictures(tmp_path):
    made = {}
    for name, size, colour in [("harbour", (800, 450), (30, 120, 200)),
                               ("mia-front", (500, 600), (230, 180, 150)),
                               ("mia-left", (500, 600), (200, 150, 120)),
                               ("mia-right", (500, 600), (180, 130, 110))]:
        path = tmp_path / f"{name}.png"
        path.write_bytes(image_bytes(*size, colour))
        made[name] = path
    return made


def shot_row(page, number):
    return page.locator("#shots [data-role=row]").nth(number - 1)


def shot_values(page):
    rows = page.locator("#shots [data-role=row]")
    return [(rows.nth(i).locator("textarea").input_value(),
             rows.nth(i).locator("input.seconds").input_value()) for i in range(rows.count())]


def shot_names(page):
    return page.locator("#shots [data-role=row] textarea").evaluate_all(
        "nodes => nodes.map(n => n.name)")


def fill_shot(page, number, prompt, seconds):
    row = shot_row(page, number)
    row.locator("textarea").fill(prompt)
    row.locator("input.seconds").fill(str(seconds))


def wait_for_status(page, wanted, timeout=40):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if page.locator("[data-role=status]").text_content().strip() == wanted:
            return
        page.wait_for_timeout(150)
    raise AssertionError(f"the job never showed {wanted}")


def timeline(page):
    """(number, seconds, prompt, width in px) of each block of the job page's timeline."""
    blocks = page.locator("[data-role=timeline-shot]")
    return [(blocks.nth(i).locator(".shot-head span").first.text_content(),
             blocks.nth(i).get_attribute("data-seconds"),
             blocks.nth(i).locator("p").text_content(),
             blocks.nth(i).bounding_box()["width"]) for i in range(blocks.count())]


def test_a_storyboard_goes_from_draft_to_video_and_is_remixed(page, stack, pictures):
    sign_in(page, stack, "maya")
    page.goto("/jobs/new/")
    assert page.locator("#storyboard").is_hidden()  # Kling 2.6 is the default model
    page.get_by_label("Kling 3.0").check()
    assert page.locator("#storyboard").is_visible()
    assert page.locator("#field-shot_type").is_hidden()
    page.get_by_label("Multi-shot").check()
    assert page.locator("#field-end_frame").is_hidden()
    page.get_by_label("Custom storyboard").check()
    page.select_option("#id_duration", "5")

    # Three shots: two added, one moved, one added and removed again.
    fill_shot(page, 1, "Wide shot of the harbour at dawn", 2)
    page.get_by_role("button", name="Add shot").click()
    fill_shot(page, 2, "Close-up: the red kite", 3)
    page.get_by_role("button", name="Add shot").click()
    fill_shot(page, 3, "Mia waves from the boat", 2)
    shot_row(page, 3).get_by_role("button", name="Move up").click()
    page.get_by_role("button", name="Add shot").click()
    shot_row(page, 4).get_by_role("button", name="Remove").click()
    assert shot_values(page) == [("Wide shot of the harbour at dawn", "2"),
                                 ("Mia waves from the boat", "2"),
                                 ("Close-up: the red kite", "3")]
    assert shot_names(page) == ["shots-0-prompt", "shots-1-prompt", "shots-2-prompt"]
    assert page.locator("input[name=shots-TOTAL_FORMS]").input_value() == "3"

    # 7 seconds of shots in a 5-second video: shown before submitting, fixed in one click.
    assert page.locator("[data-role=shot-total]").text_content() == "Shots: 7 s of 5 s"
    mismatch = page.locator("[data-role=shot-mismatch]")
    assert mismatch.is_visible()
    assert "add up to 7 s, but the video is 5 s long" in mismatch.text_content()
    page.get_by_role("button", name="Make durations add up").click()
    assert [seconds for _, seconds in shot_values(page)] == ["2", "2", "1"]
    assert mismatch.is_hidden()
    assert page.locator("[data-role=shot-total]").text_content() == "Shots: 5 s of 5 s"

    # An element: named, a frontal image and two more angles.
    page.get_by_role("button", name="Add element").click()
    page.fill("#id_elements-0-name", "Mia")
    page.set_input_files("#id_elements-0-frontal_image", pictures["mia-front"])
    page.set_input_files("#id_elements-0-references", [pictures["mia-left"],
                                                        pictures["mia-right"]])
    page.set_input_files("#id_start_frame", pictures["harbour"])

    page.get_by_role("button", name="Save as draft").click()
    page.wait_for_url(stack.url + "/drafts/")
    draft = page.locator("[data-draft]")
    assert draft.count() == 1 and "3 shots · 1 element" in draft.text_content()
    page.goto("/")
    assert page.locator(".tile").count() == 0  # drafts stay out of the gallery

    # Reopen it: everything is there, images kept without uploading them again.
    page.goto("/drafts/")
    page.get_by_role("link", name="Edit").click()
    assert page.locator("#shots").is_visible()
    assert shot_values(page) == [("Wide shot of the harbour at dawn", "2"),
                                 ("Mia waves from the boat", "2"),
                                 ("Close-up: the red kite", "1")]
    assert page.input_value("#id_elements-0-name") == "Mia"
    kept = page.locator("#element-editor [data-role=staged] img")
    assert kept.count() == 3
    assert all(kept.nth(i).evaluate("img => img.complete && img.naturalWidth") == 500
               for i in range(3))
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    job = JOB_URL.search(page.url).group(1)
    wait_for_status(page, "Succeeded")

    # The job page: a timeline of blocks as wide as each shot's share, and the element.
    blocks = timeline(page)
    assert [b[:3] for b in blocks] == [("Shot 1", "2", "Wide shot of the harbour at dawn"),
                                       ("Shot 2", "2", "Mia waves from the boat"),
                                       ("Shot 3", "1", "Close-up: the red kite")]
    widths = [b[3] for b in blocks]
    assert widths[0] == pytest.approx(widths[1], abs=1)
    assert widths[0] == pytest.approx(2 * widths[2], abs=2)
    element = page.locator("[data-role=elements] figure")
    assert element.locator("figcaption").text_content() == "Mia"
    assert element.locator("img.frontal").evaluate("img => img.naturalWidth") == 500
    assert element.locator(".angles img").count() == 2
    shot = screenshot(page, "storyboard.png")
    assert shot.stat().st_size > 10_000
    assert page.locator("[data-role=player] video").count() == 1

    # Remix: the composer filled in from the job; change a shot, lengthen, send a copy.
    page.get_by_role("link", name="Remix").click()
    page.wait_for_url(re.compile(r"/jobs/\d+/remix/$"))
    assert page.input_value("#id_elements-0-name") == "Mia"
    fill_shot(page, 3, "Close-up: the kite climbs", 1)
    page.select_option("#id_duration", "6")
    assert page.locator("[data-role=shot-mismatch]").is_visible()
    page.get_by_role("button", name="Make durations add up").click()
    assert [seconds for _, seconds in shot_values(page)] == ["2", "2", "2"]
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    remix = JOB_URL.search(page.url).group(1)
    assert remix != job
    wait_for_status(page, "Succeeded")
    assert [b[:3] for b in timeline(page)] == [("Shot 1", "2", "Wide shot of the harbour at dawn"),
                                               ("Shot 2", "2", "Mia waves from the boat"),
                                               ("Shot 3", "2", "Close-up: the kite climbs")]

    page.goto("/")
    assert sorted(page.locator(".tile").evaluate_all("t => t.map(n => n.dataset.job)")) == sorted(
        [job, remix])
    page.goto("/drafts/")
    assert page.locator("[data-draft]").count() == 0


def test_a_new_custom_storyboard_starts_as_one_shot_lasting_the_whole_video(page, stack):
    sign_in(page, stack, "noah")
    page.goto("/jobs/new/")
    page.check("input[value='kwaivgi/kling-3.0/image-to-video']")
    page.select_option("select[name=duration]", "7")
    page.get_by_label("Multi-shot").check()
    page.get_by_label("Custom storyboard").check()
    assert shot_values(page) == [("", "7")]
    assert page.locator("[data-role=shot-mismatch]").is_hidden()
