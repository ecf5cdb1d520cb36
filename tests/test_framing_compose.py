"""Fitting a frame in the composer: the page posts a crop, a pad or an upscale beside each frame,
the server makes it from the original upload and checks the result like any upload; parameters
that do not fit the image are refused beside the frame, and the original and its fit survive a
rejected form."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from jobs import catalogue, framing, tasks, uploads
from jobs.forms import FIT_RATIOS
from jobs.models import Job
from tests.composer import KLING_26, checked, selected, signed_in, stored, text_of, values

pytestmark = pytest.mark.django_db

BLUE, GREEN, RED, WHITE = (20, 60, 200), (0, 200, 0), (220, 0, 0), (255, 255, 255)
BLACK = framing.PAD_COLOUR
PROMPT = "The camera drifts along the shore"
# 1500 × 500 is 3:1, wider than Kling takes; its largest 16:9 box is 888 × 500
WIDE = (1500, 500)
CROP_16_9 = (888, 500)


def picture(width, height, colour=BLUE, marker=None, fmt="PNG"):
    """An upload of one colour with a green square at `marker` (left, top, right, bottom)."""
    image = Image.new("RGB", (width, height), colour)
    if marker:
        image.paste(GREEN, marker)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return SimpleUploadedFile(f"frame.{fmt.lower()}", buffer.getvalue(),
                              content_type=f"image/{fmt.lower()}")


def wide(marker=(1000, 200, 1100, 300)):
    """3:1, its left 600 px red and the rest blue with a green square."""
    image = Image.new("RGB", WIDE, BLUE)
    image.paste(RED, (0, 0, 600, 500))
    image.paste(GREEN, marker)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return SimpleUploadedFile("wide.png", buffer.getvalue(), content_type="image/png")


def crop(frame="start_frame", ratio="16:9", x=612, y=0):
    return {f"{frame}_fit": "crop", f"{frame}_fit_ratio": ratio, f"{frame}_fit_x": str(x),
            f"{frame}_fit_y": str(y), f"{frame}_upscale": "1"}


def form(**fields):
    data = {"model": KLING_26, "mode": "pro", "duration": "5", "prompt": PROMPT,
            "negative_prompt": "", "generate_audio": "on"}
    data.update(fields)
    return data


def near(pixel, colour):
    """Equal but for what scaling down rounds."""
    return all(abs(a - b) <= 2 for a, b in zip(pixel, colour))


def image_of(name):
    return Image.open(io.BytesIO(stored(name)))


def sent(client, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("compose"), data)
    assert response.status_code == 302, text_of(response.content.decode(), "compose")
    return Job.objects.get()


def refused(client, data):
    response = client.post(reverse("compose"), data)
    assert response.status_code == 200
    assert Job.objects.count() == 0
    return response.content.decode()


def test_it_crops_a_wide_upload_to_16_9_where_the_person_placed_the_box(
        owner, enqueued, django_capture_on_commit_callbacks):
    job = sent(signed_in(owner), form(start_frame=wide(), **crop(x=612)),
               django_capture_on_commit_callbacks)

    frame = image_of(job.start_frame.name)
    assert frame.size == CROP_16_9
    assert frame.getpixel((438, 250)) == GREEN  # the square, 612 px further left
    assert frame.getpixel((5, 5)) == BLUE  # nothing of the red left part
    assert frame.getpixel((887, 499)) == BLUE
    assert enqueued == [(tasks.submit_job, (job.pk,))]


def test_it_crops_the_left_part_when_the_box_is_there(owner, enqueued,
                                                     django_capture_on_commit_callbacks):
    job = sent(signed_in(owner), form(start_frame=wide(), **crop(x=0)),
               django_capture_on_commit_callbacks)

    frame = image_of(job.start_frame.name)
    assert frame.size == CROP_16_9
    assert frame.getpixel((5, 5)) == RED and frame.getpixel((599, 250)) == RED
    assert frame.getpixel((600, 250)) == BLUE


def test_it_pads_to_a_square_with_black_bars(owner, enqueued, django_capture_on_commit_callbacks):
    job = sent(signed_in(owner), form(start_frame=picture(900, 300, WHITE),
                                      start_frame_fit="pad", start_frame_fit_ratio="1:1"),
               django_capture_on_commit_callbacks)

    frame = image_of(job.start_frame.name)
    assert frame.size == (900, 900)
    assert frame.getpixel((450, 0)) == BLACK and frame.getpixel((450, 299)) == BLACK
    assert frame.getpixel((450, 300)) == WHITE and frame.getpixel((450, 599)) == WHITE
    assert frame.getpixel((450, 600)) == BLACK and frame.getpixel((450, 899)) == BLACK


def test_it_scales_a_small_image_up_to_the_minimum(owner, enqueued,
                                                  django_capture_on_commit_callbacks):
    job = sent(signed_in(owner), form(start_frame=picture(200, 150), start_frame_upscale="1"),
               django_capture_on_commit_callbacks)

    assert image_of(job.start_frame.name).size == (400, 300)
    assert catalogue.MIN_IMAGE_SIDE == 300


def test_it_scales_a_small_crop_up_after_cropping(owner, enqueued,
                                                 django_capture_on_commit_callbacks):
    job = sent(signed_in(owner), form(start_frame=picture(600, 200),
                                      **crop(ratio="1:1", x=400)),
               django_capture_on_commit_callbacks)

    assert image_of(job.start_frame.name).size == (300, 300)


def test_without_a_fit_a_wide_image_is_refused_as_before(owner, enqueued):
    page = refused(signed_in(owner), form(start_frame=wide()))

    assert "too wide for Kling" in text_of(page, "field-start_frame")
    assert values(page, "start_frame_staged") == []
    assert enqueued == []


def test_without_a_fit_a_small_image_is_refused_as_before(owner, enqueued):
    page = refused(signed_in(owner), form(start_frame=picture(200, 150)))

    assert "each side must be at least 300 pixels" in text_of(page, "field-start_frame")


@pytest.mark.parametrize("fit, error", [
    (crop(x=613), "A 888×500 crop at (613, 0) reaches outside the 1500×500 image"),
    (crop(x=5000, y=5000), "reaches outside the 1500×500 image"),
    (crop(y=1), "A 888×500 crop at (612, 1) reaches outside"),
    (crop(x=-5), "The crop box's left edge must be a whole number of pixels"),
    (crop(y="top"), "The crop box's top edge must be a whole number of pixels"),
    (crop(ratio="3:2"), "Choose one of the offered aspect ratios"),
    (crop(ratio="3:1"), "Choose one of the offered aspect ratios"),
    ({"start_frame_fit": "stretch", "start_frame_fit_ratio": "1:1"}, "choose crop or pad"),
])
def test_it_refuses_a_fit_that_does_not_suit_the_image_beside_the_frame(
        owner, enqueued, django_capture_on_commit_callbacks, fit, error):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = refused(signed_in(owner), form(start_frame=wide(), **fit))

    assert error in text_of(page, "field-start_frame").replace("&#x27;", "'")
    assert "Nothing was sent or charged" in page
    assert callbacks == [] and enqueued == []


def test_a_rejected_form_keeps_the_original_and_its_fit_so_the_fit_can_change(
        owner, enqueued, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    page = refused(client, form(start_frame=wide(), prompt="x" * 2501, **crop(x=612)))

    [token] = values(page, "start_frame_staged")
    kept = Image.open(io.BytesIO(b"".join(
        client.get(reverse("staged-frame", args=[token])).streaming_content)))
    assert kept.size == WIDE  # the original, not the crop
    assert checked(page, "start_frame_fit") == ["crop"]
    assert selected(page, "id_start_frame_fit_ratio") == "16:9"
    assert values(page, "start_frame_fit_x") == ["612"]
    assert values(page, "start_frame_fit_y") == ["0"]

    job = sent(client, form(start_frame_staged=token, **crop(x=0)),
               django_capture_on_commit_callbacks)
    frame = image_of(job.start_frame.name)
    assert frame.size == CROP_16_9 and frame.getpixel((5, 5)) == RED


def test_a_kept_original_is_refused_as_before_when_sent_without_its_fit(owner, enqueued):
    client = signed_in(owner)
    [token] = values(refused(client, form(start_frame=wide(), prompt="x" * 2501, **crop())),
                     "start_frame_staged")

    page = refused(client, form(start_frame_staged=token))

    assert "too wide for Kling" in text_of(page, "field-start_frame")
    assert enqueued == []


def test_a_refused_fit_keeps_the_original_for_the_next_try(owner, enqueued):
    page = refused(signed_in(owner), form(start_frame=wide(), **crop(x=900)))

    assert "reaches outside" in text_of(page, "field-start_frame")
    assert len(values(page, "start_frame_staged")) == 1
    assert values(page, "start_frame_fit_x") == ["900"]


def test_a_crop_of_an_upload_larger_than_we_keep_lands_on_the_same_part(
        owner, enqueued, django_capture_on_commit_callbacks):
    # 4500 × 1500 is kept as 2048 × 683: the box, placed in the upload's pixels, is moved there
    upload = picture(4500, 1500, marker=(3900, 600, 4200, 900))
    assert framing.crop_size(4500, 1500, "1:1") == (1500, 1500)
    client = signed_in(owner)
    page = refused(client, form(start_frame=upload, prompt="x" * 2501, **crop(ratio="1:1",
                                                                           x=3000)))
    [token] = values(page, "start_frame_staged")
    kept = Image.open(io.BytesIO(b"".join(
        client.get(reverse("staged-frame", args=[token])).streaming_content)))
    assert kept.size[0] == uploads.MAX_SIDE
    box = framing.crop_size(*kept.size, "1:1")
    # shown again in the pixels of the kept copy, which is what the page measures next time
    assert values(page, "start_frame_fit_x") == [str(kept.size[0] - box[0])]

    job = sent(client, form(start_frame=picture(4500, 1500, marker=(3900, 600, 4200, 900)),
                            **crop(ratio="1:1", x=3000)), django_capture_on_commit_callbacks)
    frame = image_of(job.start_frame.name)
    assert frame.size == box
    assert near(frame.getpixel((frame.width * 1050 // 1500, frame.height // 2)), GREEN)
    assert near(frame.getpixel((frame.width // 4, frame.height // 2)), BLUE)


def test_the_end_frame_can_take_the_start_frames_crop(owner, enqueued,
                                                     django_capture_on_commit_callbacks):
    job = sent(signed_in(owner), form(start_frame=wide(), end_frame=wide((700, 100, 800, 200)),
                                      end_frame_same_fit="1", **crop(x=612)),
               django_capture_on_commit_callbacks)

    start, end = image_of(job.start_frame.name), image_of(job.end_frame.name)
    assert start.size == end.size == CROP_16_9
    assert end.getpixel((138, 150)) == GREEN  # (750, 150) in the original, 612 px left
    assert end.getpixel((5, 5)) == BLUE


def test_the_start_frames_crop_is_refused_beside_an_end_frame_it_does_not_fit(owner, enqueued):
    page = refused(signed_in(owner), form(start_frame=wide(), end_frame=picture(1000, 400),
                                          end_frame_same_fit="1", **crop(x=612)))

    error = text_of(page, "field-end_frame").replace("&#x27;", "'")
    assert "The start frame's fit does not suit this one" in error
    assert "outside the 1000×400 image" in error
    assert "outside" not in text_of(page, "field-start_frame")
    assert checked(page, "end_frame_same_fit") == ["1"]
    assert enqueued == []


def test_the_end_frame_keeps_its_own_fit_without_the_same_fit_box(
        owner, enqueued, django_capture_on_commit_callbacks):
    job = sent(signed_in(owner), form(start_frame=wide(), end_frame=picture(300, 900, WHITE),
                                      end_frame_fit="pad", end_frame_fit_ratio="9:16",
                                      **crop(x=612)),
               django_capture_on_commit_callbacks)

    assert image_of(job.start_frame.name).size == CROP_16_9
    end = image_of(job.end_frame.name)
    assert end.size == (507, 900)  # 9:16 rounded toward square
    assert end.getpixel((0, 450)) == BLACK and end.getpixel((253, 450)) == WHITE


def test_a_draft_keeps_the_fitted_frame(owner):
    response = signed_in(owner).post(reverse("draft-save"),
                                     form(start_frame=wide(), **crop(x=612)))

    assert response.status_code == 302
    draft = Job.objects.get()
    assert draft.is_draft
    assert image_of(draft.start_frame.name).size == CROP_16_9


def test_the_page_offers_every_ratio_the_server_takes_with_nothing_posted_until_needed(owner):
    page = signed_in(owner).get(reverse("compose")).content.decode()

    assert list(FIT_RATIOS) == list(framing.RATIOS)
    for frame in ("start_frame", "end_frame"):
        assert text_of(page, f"id_{frame}_fit_ratio").count(":") == len(framing.RATIOS)
        assert f'data-min-side="{catalogue.MIN_IMAGE_SIDE}" hidden disabled' in page
    assert "js/framing.js" in page
