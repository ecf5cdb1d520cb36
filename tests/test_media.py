"""Kept videos and images answer byte ranges and revalidation, and galleries show small posters
made once per job."""

import io
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from lib import media
from lib import ranges
from jobs.models import Job
from tests.composer import composer_post, signed_in

pytestmark = pytest.mark.django_db

VIDEO = bytes(range(256)) * 40  # 10,240 bytes whose every slice is recognisable


@pytest.fixture
def kept(make_job):
    job = make_job(status=Job.Status.SUCCEEDED, shortapi_job_id="sa-1", amount=Decimal("0.3"))
    job.video.save("v.mp4", ContentFile(VIDEO), save=True)
    return job


def get(client, url, **headers):
    response = client.get(url, **{f"HTTP_{k.upper().replace('-', '_')}": v
                                   for k, v in headers.items()})
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def test_a_whole_video_says_it_takes_ranges_and_how_to_revalidate(owner, kept):
    response, body = get(signed_in(owner), reverse("job-video", args=[kept.pk]))
    assert response.status_code == 200 and body == VIDEO
    assert response["Accept-Ranges"] == "bytes"
    assert response["Content-Length"] == str(len(VIDEO))
    assert response["ETag"].startswith('"') and response["Last-Modified"].endswith("GMT")
    assert "private" in response["Cache-Control"]


@pytest.mark.parametrize("header, first, last", [
    ("bytes=0-99", 0, 99), ("bytes=1000-", 1000, len(VIDEO) - 1),
    ("bytes=-256", len(VIDEO) - 256, len(VIDEO) - 1), ("bytes=10000-20000", 10000, len(VIDEO) - 1),
])
def test_a_range_gets_exactly_those_bytes(owner, kept, header, first, last):
    response, body = get(signed_in(owner), reverse("job-video", args=[kept.pk]), range=header)
    assert response.status_code == 206
    assert body == VIDEO[first:last + 1]
    assert response["Content-Range"] == f"bytes {first}-{last}/{len(VIDEO)}"
    assert response["Content-Length"] == str(last - first + 1)


@pytest.mark.parametrize("header", [f"bytes={len(VIDEO)}-", "bytes=-0", "bytes=500-100"])
def test_a_range_outside_the_file_is_refused_with_416(owner, kept, header):
    response, body = get(signed_in(owner), reverse("job-video", args=[kept.pk]), range=header)
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(VIDEO)}"
    assert body == b""


@pytest.mark.parametrize("header", ["bytes=0-1,5-9", "items=0-4", "bytes=x-y"])
def test_a_range_it_does_not_serve_gets_the_whole_file(owner, kept, header):
    response, body = get(signed_in(owner), reverse("job-video", args=[kept.pk]), range=header)
    assert response.status_code == 200 and body == VIDEO


def test_a_revisit_with_the_etag_or_date_costs_a_304_and_no_bytes(owner, kept):
    client = signed_in(owner)
    url = reverse("job-video", args=[kept.pk])
    first, _ = get(client, url)
    by_etag, body = get(client, url, if_none_match=first["ETag"])
    by_date, _ = get(client, url, if_modified_since=first["Last-Modified"])
    assert (by_etag.status_code, by_date.status_code, body) == (304, 304, b"")
    assert by_etag["ETag"] == first["ETag"]


def test_a_range_for_another_copy_than_the_browsers_gets_the_whole_file(owner, kept):
    client = signed_in(owner)
    url = reverse("job-video", args=[kept.pk])
    etag = get(client, url)[0]["ETag"]
    same, _ = get(client, url, range="bytes=0-9", if_range=etag)
    other, body = get(client, url, range="bytes=0-9", if_range='"an-older-copy"')
    assert same.status_code == 206
    assert other.status_code == 200 and body == VIDEO


def test_nobody_else_gets_a_byte_of_it(other, kept):
    response, _ = get(signed_in(other), reverse("job-video", args=[kept.pk]), range="bytes=0-9")
    assert response.status_code == 404


def test_the_byte_range_reader_on_its_own():
    assert ranges.byte_range("bytes=0-0", 10) == (0, 0)
    assert ranges.byte_range("bytes=-20", 10) == (0, 9)
    assert ranges.byte_range("bytes=9-", 10) == (9, 9)
    assert ranges.byte_range("bytes=10-", 10) is False
    assert ranges.byte_range("bytes=0-", 0) is False
    assert ranges.byte_range("", 10) is None


# Posters


def poster_size(name):
    with default_storage.open(name, "rb") as handle:
        with Image.open(handle) as image:
            return image.format, image.size


def test_a_submitted_job_gets_a_small_poster_once(owner, enqueued):
    from tests.conftest import upload

    data = composer_post(start_frame=False)
    data["start_frame"] = upload(3000, 2000)
    signed_in(owner).post(reverse("compose"), data)

    job = Job.objects.get()
    assert job.poster.name.startswith("posters/")
    assert poster_size(job.poster.name) == ("JPEG", (640, 427))


def test_the_gallery_shows_posters_and_loads_only_video_metadata(owner, kept):
    kept.make_poster()
    page = signed_in(owner).get(reverse("gallery")).content.decode()
    assert f'poster="{reverse("job-poster", args=[kept.pk])}"' in page
    assert 'preload="metadata"' in page
    assert reverse("job-frame", args=[kept.pk, "start"]) not in page


def test_a_job_from_before_posters_gets_one_on_first_sight_and_keeps_it(owner, kept):
    assert not kept.poster
    client = signed_in(owner)
    url = reverse("job-poster", args=[kept.pk])

    first, body = get(client, url)
    name = Job.objects.get(pk=kept.pk).poster.name
    again, _ = get(client, url)

    assert first.status_code == 200 and first["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(body)).format == "JPEG"
    assert Job.objects.get(pk=kept.pk).poster.name == name
    assert sorted(default_storage.listdir(name.rsplit("/", 1)[0])[1]) == [name.rsplit("/", 1)[1]]
    assert again["ETag"] == first["ETag"]


def test_a_drafts_images_are_revalidated_each_time_a_sent_jobs_are_cached(owner, make_job):
    draft = make_job(status=Job.Status.DRAFT)
    sent = make_job()
    client = signed_in(owner)
    for job, max_age in ((draft, "max-age=0"), (sent, "max-age=3600")):
        response, _ = get(client, reverse("job-frame", args=[job.pk, "start"]))
        assert max_age in response["Cache-Control"] and "private" in response["Cache-Control"]
