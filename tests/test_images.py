"""Input images: the limits uploads are held to, and how a stored frame reaches ShortAPI."""

import base64
import io
import os
import time
import types
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from jobs import images, uploads
from tests.conftest import image_bytes, rejection, upload

TEN_MB = 10 * 1024 * 1024
PUBLIC = "https://studio.example.com"


# Rejected uploads


def test_it_rejects_a_gif():
    error = rejection(upload(640, 400, fmt="GIF"))
    assert error.code == "format"
    assert "upload a JPG or PNG" in error.message


def padded_png(size):
    content = image_bytes(640, 400, fmt="PNG")
    return content + b"\0" * (size - len(content))


def test_it_rejects_an_image_over_10_mb_before_decoding_it():
    big = SimpleUploadedFile("big.png", padded_png(TEN_MB + 1), content_type="image/png")
    error = rejection(big)
    assert error.code == "too_big"
    assert "up to 10 MB" in error.message and "Save it smaller" in error.message
    assert big.file.tell() == 0  # never read, let alone decoded


def test_it_accepts_an_image_of_exactly_10_mb():
    exact = SimpleUploadedFile("exact.png", padded_png(TEN_MB), content_type="image/png")
    assert uploads.check_upload(exact).extension == "png"


@pytest.mark.parametrize("width, height", [(299, 400), (400, 299), (299, 299)])
def test_it_rejects_a_side_under_300_pixels(width, height):
    error = rejection(upload(width, height))
    assert error.code == "too_small"
    assert f"{width}×{height}" in error.message
    assert "at least 300 pixels" in error.message


def test_it_accepts_sides_of_300_pixels():
    checked = uploads.check_upload(upload(300, 300))
    assert (checked.width, checked.height) == (300, 300)


@pytest.mark.parametrize("width, height", [(750, 300), (300, 750)], ids=["wide", "tall"])
def test_it_accepts_an_aspect_ratio_of_2_5(width, height):
    assert uploads.check_upload(upload(width, height)).width == width


@pytest.mark.parametrize("width, height, shape", [(753, 300, "wide"), (300, 753, "tall")],
                         ids=["wide", "tall"])
def test_it_rejects_an_aspect_ratio_over_2_5(width, height, shape):
    error = rejection(upload(width, height))
    assert error.code == "aspect"
    assert f"too {shape}" in error.message
    assert "Crop it closer to square" in error.message


def test_it_rejects_a_truncated_png_as_broken():
    noise = Image.frombytes("RGB", (640, 400), os.urandom(640 * 400 * 3))
    buffer = io.BytesIO()
    noise.save(buffer, format="PNG")
    content = buffer.getvalue()
    cut = SimpleUploadedFile("cut.png", content[: len(content) // 2], content_type="image/png")
    error = rejection(cut)
    assert error.code == "broken"
    assert "Export it again" in error.message


def test_it_rejects_bytes_that_are_not_an_image():
    junk = SimpleUploadedFile("photo.png", b"these are not the pixels you are looking for" * 50,
                              content_type="image/png")
    error = rejection(junk)
    assert error.code == "not_image"
    assert "Upload a JPG or PNG" in error.message


# Transport


def stored_bytes(field_file):
    with field_file.open("rb") as handle:
        return handle.read()


def token_of(url):
    path = urlsplit(url).path
    prefix = reverse("signed-image", args=["TOKEN"]).removesuffix("TOKEN/")
    assert path.startswith(prefix) and path.endswith("/")
    return path[len(prefix):-1]


@pytest.fixture
def public(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.KLING_IMAGE_TRANSPORT = "auto"
    return settings


@pytest.mark.django_db
def test_it_sends_a_signed_url_when_the_app_is_public(public, make_job):
    job = make_job()
    url = images.wire_reference(job.start_frame)
    assert url.startswith(PUBLIC + "/")
    assert job.start_frame.name not in url
    assert images.unsign(token_of(url)) == job.start_frame.name


@pytest.mark.django_db
def test_it_refuses_a_tampered_token(public, make_job):
    token = token_of(images.wire_reference(make_job().start_frame))
    value, _, signature = token.rpartition(":")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    assert images.unsign(f"{value}:{flipped}") is None
    assert images.unsign("frames/2024/01/forged.png") is None


@pytest.mark.django_db
def test_it_refuses_a_token_signed_for_something_else(public, make_job):
    name = make_job().start_frame.name
    assert images.unsign(signing.dumps(name, compress=True)) is None


@pytest.mark.django_db
def test_it_refuses_an_expired_token(public, make_job, monkeypatch):
    public.KLING_IMAGE_URL_MAX_AGE = 60
    job = make_job()
    token = token_of(images.wire_reference(job.start_frame))
    now = time.time()
    monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: now + 50))
    assert images.unsign(token) == job.start_frame.name
    monkeypatch.setattr(signing, "time", types.SimpleNamespace(time=lambda: now + 62))
    assert images.unsign(token) is None


@pytest.mark.django_db
def test_it_sends_a_data_uri_without_a_public_address(settings, make_job):
    settings.PUBLIC_BASE_URL = ""
    settings.KLING_IMAGE_TRANSPORT = "auto"
    job = make_job()
    reference = images.wire_reference(job.start_frame)
    prefix = "data:image/png;base64,"
    assert reference.startswith(prefix)
    assert base64.b64decode(reference[len(prefix):]) == stored_bytes(job.start_frame)


@pytest.mark.django_db
def test_it_sends_raw_base64_when_told_to(public, make_job):
    public.KLING_IMAGE_TRANSPORT = "base64"
    job = make_job()
    reference = images.wire_reference(job.start_frame)
    assert not reference.startswith("data:")
    assert base64.b64decode(reference, validate=True) == stored_bytes(job.start_frame)


@pytest.mark.django_db
def test_it_sends_a_jpeg_frame_as_a_jpeg_data_uri(settings, make_job):
    settings.PUBLIC_BASE_URL = ""
    settings.KLING_IMAGE_TRANSPORT = "auto"
    job = make_job()
    job.start_frame.save("frame.jpg", upload(fmt="JPEG"), save=True)
    assert images.wire_reference(job.start_frame).startswith("data:image/jpeg;base64,")
