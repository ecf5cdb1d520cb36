"""Fixtures shared by every test: the three people whose permissions differ, images made on the
spot, a private media directory, and the rule for optional services.

Tests that need PostgreSQL, Redis or Chromium skip, saying so, where those are missing; with
KLING_REQUIRE_ALL=1 (set by .ci/run) such a skip is a failure instead.
"""

import io
import os

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

# The `browser` fixture lives with the other browser helpers.
pytest_plugins = ["tests.browser"]


def require(condition, what):
    """Skip (or, under KLING_REQUIRE_ALL=1, fail) when something a test needs is missing."""
    if condition:
        return
    if os.environ.get("KLING_REQUIRE_ALL") == "1":
        pytest.fail(f"{what} is required (KLING_REQUIRE_ALL=1) but is not available.")
    pytest.skip(f"{what} is not available on this machine")


def image_bytes(width=640, height=400, color=(200, 60, 40), fmt="PNG", **save_args):
    buffer = io.BytesIO()
    mode = "RGBA" if fmt == "WEBP" and save_args.pop("alpha", False) else "RGB"
    Image.new(mode, (width, height), color).save(buffer, format=fmt, **save_args)
    return buffer.getvalue()


def cleaned(content):
    """What the upload check stores for these bytes: the image written anew."""
    from jobs import uploads

    return uploads.check_upload(SimpleUploadedFile("image", content)).content


def upload(width=640, height=400, fmt="PNG", name=None, color=(200, 60, 40), **save_args):
    content = image_bytes(width, height, color, fmt, **save_args)
    extension = {"JPEG": "jpg"}.get(fmt, fmt.lower())
    return SimpleUploadedFile(name or f"photo.{extension}", content,
                              content_type=f"image/{extension}")


def rejection(uploaded):
    """The ValidationError that checking `uploaded` raises."""
    from jobs import uploads

    with pytest.raises(ValidationError) as caught:
        uploads.check_upload(uploaded)
    return caught.value


def opened(content):
    """The image in `content`, decoded."""
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def private_cache(settings):
    """Each test counts rate limits from zero, in memory."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "tests"}}
    from django.core.cache import cache

    from lib import ratelimit

    cache.clear()
    ratelimit._local_counts.clear()


@pytest.fixture
def at(monkeypatch):
    """`with at(moment):` runs the block as if it were `moment` (django.utils.timezone.now):
    how a test writes history that counts in an earlier period."""
    from contextlib import contextmanager

    from django.utils import timezone

    @contextmanager
    def travel(moment):
        with monkeypatch.context() as patch:
            patch.setattr(timezone, "now", lambda: moment)
            yield

    return travel


@pytest.fixture
def enqueued(monkeypatch):
    """What would have been queued for the workers, as (function, args), instead of queueing."""
    calls = []

    def record(func, *args, **kwargs):
        calls.append((func, args))

    for where in ("jobs.tasks.async_task", "jobs.views.async_task", "jobs.dispatch.async_task",
                  "jobs.notify.async_task"):
        monkeypatch.setattr(where, record)
    return calls


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("olivia", password="owner-pass-123")


@pytest.fixture
def other(django_user_model):
    return django_user_model.objects.create_user("oscar", password="other-pass-123")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_user("stella", password="staff-pass-123",
                                                 is_staff=True, is_superuser=True)


@pytest.fixture
def teammate(django_user_model):
    """The owner's teammate in `team`."""
    return django_user_model.objects.create_user("tara", password="teammate-pass-123")


def team_of(name, *members):
    """A team called `name` of `members`."""
    from teams.models import Team

    team = Team.objects.create(name=name)
    team.members.add(*members)
    return team


@pytest.fixture
def team(owner, teammate):
    return team_of("Harbour crew", owner, teammate)


@pytest.fixture
def project(team):
    """A project `team` shares."""
    from teams.models import Project

    return Project.objects.create(name="Harbour film", team=team)


@pytest.fixture
def harbour(owner, other):
    """Another team, of the owner and the other person, where money is counted per team."""
    return team_of("Harbour", owner, other)


@pytest.fixture
def make_job(owner):
    """A job as the composer would have saved it, with a real start frame."""
    from jobs import catalogue
    from jobs.models import Job

    def make(user=None, **fields):
        values = {"owner": user or owner, "model_id": catalogue.DEFAULT_MODEL, "mode": "pro",
                  "duration": 5, "prompt": "A slow pan across the harbour",
                  "estimate": catalogue.get(catalogue.DEFAULT_MODEL).estimate("pro", 5, False)}
        values.update(fields)
        job = Job(**values)
        job.start_frame.save("frame.png", upload(), save=False)
        job.save()
        return job

    return make
