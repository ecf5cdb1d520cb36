"""The pages as a person uses them, in headless Chromium against a real stack (gunicorn, the
simulator, a qcluster): signing in, the composer's live choices and estimate, a job page that
follows its job without reloading, in-place playback in the gallery, and errors that keep the
person's input.
"""

import re
import time

import pytest

from tests.browser import ARTIFACTS, new_page, screenshot, sign_in
from tests.conftest import image_bytes
from tests.stack import Stack

pytestmark = pytest.mark.browser

FINAL = {"Succeeded", "Failed"}
JOB_URL = re.compile(r"/jobs/(\d+)/$")


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    # a small request limit, so that the composer's own size check can be seen at work
    stack = Stack(tmp_path_factory.mktemp("browser-stack"), "embedded", callbacks=True,
                  extra_env={"KLING_MAX_REQUEST_MB": "11"}).start()
    yield stack
    stack.stop()


@pytest.fixture
def frame_file(tmp_path):
    path = tmp_path / "harbour.png"
    path.write_bytes(image_bytes(800, 450, (30, 120, 200)))
    return path


def options(page, select):
    return page.locator(f"{select} option").all_text_contents()


def estimate(page):
    return page.locator("[data-role=estimate]").text_content()


def submit_job(page, frame_file, prompt):
    """From the composer: a start frame and a prompt on the defaults; returns the job's id."""
    page.set_input_files("#id_start_frame", frame_file)
    page.fill("#id_prompt", prompt)
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    return JOB_URL.search(page.url).group(1)


def watch_status(page, timeout=30):
    """The status badge's texts, in the order seen, until it shows a final one."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = page.locator("[data-role=status]").text_content().strip()
        if not seen or seen[-1] != text:
            seen.append(text)
        if text in FINAL:
            return seen
        page.wait_for_timeout(100)
    raise AssertionError(f"the badge never showed a final status; it went through {seen}")


def mark_page(page):
    # Survives only as long as this document does: still there later means no reload happened.
    page.evaluate("window.__marker = 1")


def still_same_page(page):
    return page.evaluate("window.__marker") == 1


def test_a_person_makes_a_video_watches_it_finish_and_plays_it_in_the_gallery(
        page, stack, frame_file):
    sign_in(page, stack, "maya")
    assert page.get_by_role("heading", name="My videos").is_visible()

    page.get_by_role("link", name="New video").first.click()
    page.wait_for_url(stack.url + "/jobs/new/")
    page.get_by_label("Kling 3.0").check()
    assert options(page, "#id_mode") == ["Professional", "Standard"]
    assert options(page, "#id_duration") == [f"{s} seconds" for s in range(3, 16)]
    page.get_by_label("Kling 2.6").check()
    assert options(page, "#id_mode") == ["Professional"]
    assert options(page, "#id_duration") == ["5 seconds", "10 seconds"]

    assert estimate(page) == "$0.30"
    page.select_option("#id_duration", "10")
    assert estimate(page) == "$0.60"
    page.get_by_label("Generate audio").check()
    assert estimate(page) == "$1.20"
    page.select_option("#id_duration", "5")
    assert estimate(page) == "$0.60"

    job = submit_job(page, frame_file, "Boats drift out of the harbour at dawn")
    mark_page(page)
    seen = watch_status(page)

    assert seen[0] not in FINAL and seen[-1] == "Succeeded", seen
    assert still_same_page(page), "the job page reloaded instead of updating itself"
    assert page.locator("[data-role=player] video").get_attribute("src") == f"/jobs/{job}/video/"
    assert page.locator("[data-role=download]").is_visible()
    assert page.locator("[data-role=progress]").is_hidden()

    page.get_by_role("link", name="My videos").click()
    page.wait_for_url(stack.url + "/")
    video = page.locator(f'.tile[data-job="{job}"] video')
    # Muted, so that no autoplay policy can refuse a play() that is not a user gesture:
    # decoding the H.264 picture is what this proves, and that needs no sound.
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0.3 && v.readyState >= 2",
                           arg=video.element_handle(), timeout=10_000)
    assert video.evaluate("v => v.videoWidth") > 0

    (ARTIFACTS / "gallery.png").unlink(missing_ok=True)
    assert screenshot(page, "gallery.png").stat().st_size > 10_000


def test_a_kept_video_is_served_in_byte_ranges_and_seeks(page, browser, stack, frame_file):
    sign_in(page, stack, "ada")
    page.goto("/jobs/new/")
    job = submit_job(page, frame_file, "A lighthouse beam sweeps the bay")
    assert watch_status(page)[-1] == "Succeeded"
    deadline = time.monotonic() + 30
    while not page.request.get(f"/jobs/{job}/status/").json()["kept"]:
        assert time.monotonic() < deadline, "the video was never kept"
        page.wait_for_timeout(200)

    # a browser that has never seen the video, so that no cached copy answers for the server
    viewer = new_page(browser, stack)
    answers = []
    viewer.on("response", lambda r: answers.append((r.status, r.headers.get("content-range")))
              if r.url.endswith(f"/jobs/{job}/video/") else None)
    sign_in(viewer, stack, "ada")
    viewer.goto(f"/jobs/{job}/")
    video = viewer.locator("[data-role=player] video")
    assert video.get_attribute("preload") == "metadata"
    viewer.wait_for_function("v => v.readyState >= 1", arg=video.element_handle())
    video.evaluate("v => { v.muted = true; v.currentTime = 3.5; }")
    viewer.wait_for_function("v => !v.seeking && Math.abs(v.currentTime - 3.5) < 0.2 "
                             "&& v.readyState >= 2", arg=video.element_handle(), timeout=10_000)
    seekable = video.evaluate("v => v.seekable.end(0)")
    viewer.context.close()

    assert answers and all(status == 206 for status, _ in answers), answers
    assert all(re.fullmatch(r"bytes \d+-\d+/\d+", span) for _, span in answers), answers
    # the whole video is seekable, not just what happens to be downloaded
    assert seekable == pytest.approx(5, abs=0.2)


def test_bad_input_is_shown_next_to_its_field_and_nothing_is_lost(page, stack, frame_file):
    sign_in(page, stack, "noah")
    page.goto("/jobs/new/")
    too_long = "A slow pan across the harbour. " * 80 + "x" * 21
    assert len(too_long) == 2501
    page.set_input_files("#id_start_frame", frame_file)
    page.fill("#id_prompt", too_long)
    assert page.locator("[data-role=prompt-count]").text_content() == "2501 / 2500 characters"

    page.get_by_role("button", name="Make video").click()
    page.wait_for_load_state()

    assert page.url == stack.url + "/jobs/new/"
    assert page.locator("#field-prompt .error").text_content() == (
        "The prompt is 2,501 characters long; shorten it to 2,500 or fewer.")
    assert page.input_value("#id_prompt") == too_long
    staged = page.locator("#field-start_frame [data-role=staged]")
    assert staged.is_visible() and "Uploaded earlier and kept" in staged.text_content()
    assert staged.locator("img").evaluate("img => img.complete && img.naturalWidth") == 800
    page.goto("/")
    assert page.locator(".tile").count() == 0
    assert page.locator(".empty").is_visible()


def test_a_failing_job_shows_its_reason_and_a_refund_without_reloading(page, stack, frame_file):
    sign_in(page, stack, "maya")
    page.goto("/jobs/new/")

    submit_job(page, frame_file, "Rain on glass [simulate-failure]")
    mark_page(page)
    seen = watch_status(page)

    assert seen[0] not in FINAL and seen[-1] == "Failed", seen
    assert still_same_page(page), "the job page reloaded instead of updating itself"
    error = page.locator("[data-role=error]")
    assert error.is_visible() and "prompt contains [simulate-failure]" in error.text_content()
    assert page.locator("[data-role=charged]").text_content() == "$0.30"
    assert page.locator("[data-role=cost]").text_content() == (
        "$0.00 (refunded by ShortAPI)")
    assert page.locator("[data-role=player] video").count() == 0


def test_no_page_breaks_its_content_security_policy(page, stack, frame_file):
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in(page, stack, "ada")
    page.goto("/jobs/new/")
    job = submit_job(page, frame_file, "A policy-abiding harbour")
    watch_status(page)
    page.goto("/jobs/new/")
    page.get_by_label("Kling 3.0").check()
    page.locator("#field-multi_shot").get_by_label("Multi-shot").check()
    page.get_by_label("Custom storyboard").check()
    page.locator("#shots [data-action=add]").click()
    for path in ("/", f"/jobs/{job}/", "/spend/", "/drafts/", "/admin/spend/", "/admin/",
                 "/admin/jobs/job/", f"/admin/jobs/job/{job}/change/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
    assert violations == []


def test_the_composer_says_an_image_or_a_submission_is_too_large_before_sending(
        page, stack, tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(image_bytes(640, 400) + b"\0" * (10 * 1024 * 1024))
    half = tmp_path / "half.png"
    half.write_bytes(image_bytes(640, 400) + b"\0" * (6 * 1024 * 1024))
    sign_in(page, stack, "ada")
    page.goto("/jobs/new/")
    page.set_input_files("#id_start_frame", big)
    note = page.locator("#field-start_frame [data-role=size-error]")
    assert "big.png is 10.0 MB; Kling takes images up to 10.0 MB" in note.text_content()
    page.set_input_files("#id_start_frame", half)
    assert note.is_hidden()
    page.set_input_files("#id_end_frame", half)
    page.fill("#id_prompt", "Two halves make too much")
    page.get_by_role("button", name="Make video").click()
    alert = page.locator("[data-role=too-large]")
    assert "add up to 12.0 MB; one submission can carry at most 11.0 MB" in alert.text_content()
    assert page.url == stack.url + "/jobs/new/"  # not sent
    assert page.input_value("#id_prompt") == "Two halves make too much"
