"""Uploads are checked and rewritten: every stored image is one we wrote. Each case of the hostile
corpus (tests/hostile.py) is refused with a field error or stored cleaned."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image, ImageChops, ImageStat

from jobs import uploads
from jobs.models import Job
from tests import hostile
from tests.composer import composer_post, signed_in, text_of
from tests.conftest import image_bytes, opened, rejection, upload

TEN_MB = 10 * 1024 * 1024


def as_upload(case):
    name, make, content_type = case
    return SimpleUploadedFile(name, make(), content_type=content_type)


def ends_cleanly(content, fmt):
    """Nothing follows the image data: a JPEG ends at its EOI marker, a PNG at its IEND chunk."""
    if fmt == "JPEG":
        return content.endswith(b"\xff\xd9")
    return content.endswith(b"IEND\xaeB`\x82")


# Refused, each with the reason a person can act on


@pytest.mark.parametrize("case, code, words", [
    ("png-bomb", "too_many_pixels", "too many pixels"),
    ("gif-bomb", "too_many_pixels", "too many pixels"),
    ("webp-bomb", "too_many_pixels", "at most 24 megapixels"),
    ("svg-as-png", "not_image", "not an image we can read"),
    ("html-as-png", "not_image", "not an image we can read"),
    ("truncated", "broken", "damaged or incomplete"),
    ("animated-gif", "format", "upload a JPG or PNG"),
    ("animated-webp", "animated", "animated"),
    ("too-wide", "aspect", "too wide"),
    ("too-tall", "aspect", "too tall"),
    ("299-px", "too_small", "at least 300 pixels"),
    ("10-mb-and-a-byte", "too_big", "up to 10 MB"),
])
def test_a_hostile_upload_is_refused_saying_what_to_change(case, code, words):
    error = rejection(as_upload(hostile.REFUSED[case]))
    assert error.code == code
    assert words in error.message


def test_a_pixel_bomb_is_refused_from_its_header_before_any_decoding(monkeypatch):
    decoded = []
    monkeypatch.setattr(Image.Image, "load", lambda self: decoded.append(self) or None)
    # 36 megapixels: over our limit, under Pillow's own alarm
    error = rejection(SimpleUploadedFile("bomb.png", hostile.png_bomb(6000)))
    assert error.code == "too_many_pixels" and "(6000×6000)" in error.message
    assert decoded == []


def test_a_file_over_10_mb_is_refused_before_it_is_read():
    big = as_upload(hostile.REFUSED["10-mb-and-a-byte"])
    rejection(big)
    assert big.file.tell() == 0


def test_zero_bytes_are_refused_next_to_the_field(owner, enqueued):
    data = composer_post(start_frame=False)
    data["start_frame"] = SimpleUploadedFile("empty.png", b"", content_type="image/png")
    page = signed_in(owner).post(reverse("compose"), data).content.decode()
    assert "The submitted file is empty." in text_of(page, "field-start_frame")
    assert Job.objects.count() == 0


@pytest.mark.parametrize("case", sorted(hostile.REFUSED))
def test_the_composer_shows_each_refusal_next_to_the_frame_and_sends_nothing(case, owner,
                                                                            enqueued):
    data = composer_post(prompt="Kept as typed")
    data["start_frame"] = as_upload(hostile.REFUSED[case])
    response = signed_in(owner).post(reverse("compose"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert text_of(page, "field-start_frame").strip()
    assert "Kept as typed" in page
    assert Job.objects.count() == 0 and enqueued == []


# Stored cleaned: the bytes kept are ones we wrote


@pytest.mark.parametrize("case", sorted(hostile.CLEANED))
def test_a_cleaned_image_is_one_we_wrote_and_within_klings_limits(case):
    name, make, _ = hostile.CLEANED[case]
    original = make()
    checked = uploads.check_upload(SimpleUploadedFile(name, original))
    image = opened(checked.content)
    assert checked.content != original
    assert image.format in ("JPEG", "PNG") and image.mode in ("RGB", "L", "RGBA", "LA", "P")
    assert ends_cleanly(checked.content, image.format)
    assert not image.getexif()
    assert len(checked.content) <= TEN_MB
    assert min(image.size) >= 300 and max(image.size) <= uploads.MAX_SIDE


@pytest.mark.parametrize("case", ["jpeg-html-polyglot", "jpeg-zip-polyglot", "png-trailing-data"])
def test_nothing_after_the_image_data_survives(case):
    name, make, _ = hostile.CLEANED[case]
    content = uploads.check_upload(SimpleUploadedFile(name, make())).content
    for marker in (b"<html", b"<script", b"PK\x03\x04", b"payload", b"TRAILING"):
        assert marker not in content


def test_gps_and_camera_details_are_dropped():
    original = hostile.gps_tagged()
    assert b"PhoneMaker" in original and opened(original).getexif().get_ifd(0x8825)
    content = uploads.check_upload(SimpleUploadedFile("holiday.jpg", original)).content
    assert b"PhoneMaker" not in content and b"Exif" not in content
    assert not opened(content).getexif()


def test_an_exif_rotated_photo_is_stored_upright():
    sideways = hostile.exif_rotated()
    checked = uploads.check_upload(SimpleUploadedFile("r.jpg", sideways))
    image = opened(checked.content).convert("L")
    assert image.size == (800, 500) == (checked.width, checked.height)
    # as a viewer that follows EXIF shows it: turned a quarter clockwise
    upright = opened(sideways).convert("L").transpose(Image.Transpose.ROTATE_270)
    difference = ImageStat.Stat(ImageChops.difference(image, upright)).mean[0]
    as_stored = ImageStat.Stat(ImageChops.difference(
        image, opened(sideways).convert("L").resize((800, 500)))).mean[0]
    assert difference < 3 < as_stored


def test_the_colour_profile_is_kept():
    content, profile = hostile.with_icc_profile()
    checked = uploads.check_upload(SimpleUploadedFile("p.jpg", content))
    assert opened(checked.content).info.get("icc_profile") == profile


def test_cmyk_becomes_rgb_and_sixteen_bits_become_eight_without_clipping():
    cmyk = opened(uploads.check_upload(SimpleUploadedFile(
        "c.jpg", hostile.photo(mode="CMYK"))).content)
    assert (cmyk.format, cmyk.mode) == ("JPEG", "RGB")
    grey = opened(uploads.check_upload(SimpleUploadedFile(
        "g.png", hostile.sixteen_bit_png())).content)
    assert (grey.format, grey.mode) == ("PNG", "L")
    assert grey.getextrema() == (0, 255)  # the full range, scaled, not clipped at 255


def test_a_large_image_is_scaled_down_to_the_documented_side():
    checked = uploads.check_upload(SimpleUploadedFile("cam.jpg", hostile.huge_photo()))
    assert (checked.width, checked.height) == (2048, 1365)


def test_jpeg_stays_jpeg_png_stays_png_and_webp_is_converted():
    for fmt, expected in (("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "jpg")):
        checked = uploads.check_upload(upload(640, 400, fmt=fmt))
        assert checked.extension == expected
        assert opened(checked.content).size == (640, 400)
    transparent = uploads.check_upload(upload(640, 400, fmt="WEBP", alpha=True, lossless=True,
                                              color=(10, 200, 30, 128)))
    image = opened(transparent.content)
    assert (transparent.extension, image.mode, image.getpixel((5, 5))[3]) == ("png", "RGBA", 128)


def test_an_image_that_would_not_fit_the_limit_is_scaled_down_until_it_does():
    noisy = Image.effect_noise((1200, 900), 100)
    content, extension = uploads.write(noisy, "PNG", limit=200_000)
    assert extension == "png" and len(content) <= 200_000
    assert 300 <= opened(content).width < 1200


def test_pixels_survive_the_rewrite():
    checked = uploads.check_upload(upload(640, 400, fmt="PNG", color=(200, 60, 40)))
    assert opened(checked.content).getpixel((10, 10)) == (200, 60, 40)
    assert checked.content != image_bytes(640, 400, fmt="PNG")  # written anew, not kept as is
