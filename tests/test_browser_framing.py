"""Fitting a frame in real Chromium against a real stack: a 3:1 image chosen in the composer gets
the fit panel at once, is cropped to 16:9 where the person drags the box, and the job's stored
start frame is that part of the picture."""

import io
import re

import pytest
from PIL import Image

from tests.browser import BLUE, RED, drag, screenshot, sign_in
from tests.stack import Stack

pytestmark = pytest.mark.browser

JOB_URL = re.compile(r"/jobs/(\d+)/$")


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("framing-stack"), "embedded", callbacks=True).start()
    yield stack
    stack.stop()


def test_a_wide_image_is_cropped_to_16_9_where_the_box_is_dragged(page, stack, wide_file):
    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in(page, stack, "maya")
    page.goto("/jobs/new/")
    field = page.locator("#field-start_frame")
    panel = field.locator("[data-role=fit]")
    assert panel.is_hidden()

    page.set_input_files("#id_start_frame", wide_file)
    page.wait_for_function("() => !document.querySelector('#field-start_frame [data-role=fit]')"
                           ".hidden")
    assert field.locator("[data-role=preview]").is_visible()
    assert "1500×500" in field.locator("[data-role=fit-why]").text_content()
    assert field.get_by_role("radio", name="Crop").is_checked()
    assert page.input_value("#id_start_frame_fit_ratio") == "5:2"  # the nearest Kling takes
    assert field.get_by_role("radio", name="Keep its shape").is_hidden()

    page.select_option("#id_start_frame_fit_ratio", "16:9")
    crop_box = field.locator("[data-role=crop-box]")
    assert crop_box.is_visible()
    assert page.input_value("[name=start_frame_fit_x]") == "306"  # centred: (1500 - 888) / 2
    preview = field.locator("[data-role=preview]").bounding_box()
    assert crop_box.bounding_box()["width"] == pytest.approx(preview["width"] * 888 / 1500, abs=2)
    assert field.locator("[data-role=fit-result]").text_content() == (
        "Kling gets a 888×500 px image.")

    drag(page, crop_box, 2000, 300)  # as far right as it goes; it cannot leave the picture
    assert page.input_value("[name=start_frame_fit_x]") == "612"
    assert page.input_value("[name=start_frame_fit_y]") == "0"
    box, preview = crop_box.bounding_box(), field.locator("[data-role=preview]").bounding_box()
    assert box["x"] + box["width"] == pytest.approx(preview["x"] + preview["width"], abs=2)
    screenshot(page, "framing-crop.png")

    page.fill("#id_prompt", "The tide comes in over the red rocks")
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    job = JOB_URL.search(page.url).group(1)

    answer = page.request.get(f"/jobs/{job}/frames/start/")
    assert answer.ok
    frame = Image.open(io.BytesIO(answer.body())).convert("RGB")
    assert frame.size == (888, 500)
    # the box spans 612 to 1500 of the original: 138 px of the red half, then blue
    assert frame.getpixel((5, 250)) == RED and frame.getpixel((136, 250)) == RED
    assert frame.getpixel((140, 250)) == BLUE and frame.getpixel((887, 499)) == BLUE
    assert violations == []


def test_a_small_image_is_offered_the_upscale_and_the_fit_survives_a_rejected_form(
        page, stack, tmp_path):
    small = tmp_path / "small.png"
    Image.new("RGB", (200, 150), BLUE).save(small)
    wide = tmp_path / "wide.png"
    Image.new("RGB", (1500, 500), RED).save(wide)
    sign_in(page, stack, "noah")
    page.goto("/jobs/new/")
    field = page.locator("#field-start_frame")

    page.set_input_files("#id_start_frame", small)
    result = field.locator("[data-role=fit-result]")
    result.wait_for()
    assert field.get_by_role("radio", name="Keep its shape").is_checked()
    assert result.text_content() == (
        "Kling gets a 400×300 px image (200×150 scaled up to 300 px on its short side).")

    page.set_input_files("#id_start_frame", wide)
    page.wait_for_function("() => document.querySelector('[name=start_frame_fit_ratio]')"
                           ".value === '5:2'")
    field.get_by_role("radio", name="Pad with black").check()
    page.select_option("#id_start_frame_fit_ratio", "1:1")
    assert result.text_content() == "Kling gets a 1500×1500 px image. Black bars fill the rest."
    page.fill("#id_prompt", "x" * 2501)
    page.get_by_role("button", name="Make video").click()
    page.wait_for_load_state()

    assert page.locator("#field-prompt .error").is_visible()
    assert field.locator("[data-role=staged]").is_visible()
    page.wait_for_function("() => !document.querySelector('#field-start_frame [data-role=fit]')"
                           ".hidden")
    assert field.get_by_role("radio", name="Pad with black").is_checked()
    assert page.input_value("#id_start_frame_fit_ratio") == "1:1"
    page.fill("#id_prompt", "A red wall, framed square")
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    job = JOB_URL.search(page.url).group(1)
    frame = Image.open(io.BytesIO(page.request.get(f"/jobs/{job}/frames/start/").body()))
    assert frame.size == (1500, 1500)
    assert frame.convert("RGB").getpixel((750, 0)) == (0, 0, 0)
    assert frame.convert("RGB").getpixel((750, 750)) == RED


def test_the_end_frame_takes_the_start_frames_crop_and_moves_with_it(page, stack, wide_file):
    sign_in(page, stack, "maya")
    page.goto("/jobs/new/")
    start, end = page.locator("#field-start_frame"), page.locator("#field-end_frame")
    page.set_input_files("#id_start_frame", wide_file)
    page.set_input_files("#id_end_frame", wide_file)
    page.select_option("#id_start_frame_fit_ratio", "16:9")
    same = end.get_by_label("Same fit as the start frame")
    same.check()

    assert end.locator("[data-role=fit]").is_hidden()
    assert end.locator("[data-role=fit-result]").text_content() == (
        "With the start frame's fit, Kling gets a 888×500 px image.")
    drag(page, end.locator("[data-role=crop-box]"), -2000)  # the end frame's box moves both
    assert page.input_value("[name=start_frame_fit_x]") == "0"
    assert (start.locator("[data-role=crop-box]").bounding_box()["x"]
            == pytest.approx(start.locator("[data-role=preview]").bounding_box()["x"], abs=2))

    page.fill("#id_prompt", "x" * 2501)
    page.get_by_role("button", name="Make video").click()
    page.wait_for_load_state()
    assert page.locator("#field-prompt .error").is_visible()
    end.locator("[data-role=fit-result]").wait_for()
    assert same.is_checked() and end.locator("[data-role=fit]").is_hidden()
    assert page.input_value("[name=start_frame_fit_x]") == "0"

    page.fill("#id_prompt", "From the red rocks to the red rocks")
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    job = JOB_URL.search(page.url).group(1)
    for which in ("start", "end"):
        frame = Image.open(io.BytesIO(page.request.get(f"/jobs/{job}/frames/{which}/").body()))
        frame = frame.convert("RGB")
        assert frame.size == (888, 500)
        assert frame.getpixel((749, 250)) == RED and frame.getpixel((751, 250)) == BLUE
