"""Checked images carried from one request to the next in signed tokens tied to one person.

A rejected composer form keeps the images that passed their checks: they are written under
`staged/` and the page carries a token for each in a hidden field. A remix, or a draft opened
again, carries the job's own stored images the same way, so nothing is uploaded twice. A token
names a storage path, is signed, expires after a day and only works for the person it was made
for.

A frame its owner is fitting to Kling's shape (`jobs.framing`) is staged as it was sent, so the
fit can still be changed; every image read back from a token is therefore checked for Kling's
side and ratio limits again unless a fit is about to be made from it.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from jobs import uploads

_SALT = "jobs.staging"
STAGING_DIR = "staged"
MAX_AGE = 24 * 3600
EXPIRED = "The image uploaded earlier has expired. Upload it again."


@dataclass(frozen=True)
class Picked:
    """An image a form accepted: a fresh upload, or one carried in a token."""

    image: uploads.CheckedImage
    token: str = ""
    # where the image is stored when it came in a token ("" for a fresh upload)
    stored_as: str = ""


def token_for(name, user, job=None):
    """A token for the stored image `name`, for `user`. `job`: the job it was taken from (a
    remix's frames, a continued video's last frame), which the person must still be able to see
    whenever the token is used."""
    value = {"user": user.pk, "name": name}
    if job is not None:
        value["job"] = job.pk
    return signing.dumps(value, salt=_SALT)


def staged_name(token, user):
    """The storage name a token stands for, or None when forged, expired, someone else's, taken
    from a job the person may no longer see (they left its team), or gone from storage."""
    try:
        value = signing.loads(token, salt=_SALT, max_age=MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(value, dict) or value.get("user") != user.pk:
        return None
    name = value.get("name", "")
    if not name or not isinstance(name, str):
        return None
    if "job" in value and not _still_visible(value["job"], user):
        return None
    if not default_storage.exists(name):
        return None
    return name


def _still_visible(job_id, user):
    from jobs.models import Job

    return Job.objects.visible_to(user).filter(pk=job_id).exists()


def load(token, user, shape=True):
    """The token's image, or None. Raises ValidationError for one of a shape Kling refuses,
    unless `shape=False` (a fit is about to be made from it)."""
    name = staged_name(token, user)
    if name is None:
        return None
    with default_storage.open(name, "rb") as handle:
        content = handle.read()
    image = uploads.stored(content, name.rsplit(".", 1)[-1], shape=shape)
    return Picked(image, token=token, stored_as=name)


def pick(upload, token, user, shape=True):
    """The image a field ends up with: a new upload (checked), else the token's image, else
    None. Raises ValidationError for an upload Kling would refuse or a token that expired;
    with `shape=False` an image of any shape is accepted, for a fit to be made from it."""
    if upload:
        return Picked(uploads.check_upload(upload, shape=shape))
    if token:
        picked = load(token, user, shape=shape)
        if picked is None:
            raise ValidationError(EXPIRED, code="expired")
        return picked
    return None


def stage(picked, user, job=None):
    """A token for the image, writing it under `staged/` if it was a fresh upload (or one made
    from `job`, such as its last frame)."""
    if picked.token:
        return picked.token
    path = default_storage.save(f"{STAGING_DIR}/{uuid.uuid4().hex}.{picked.image.extension}",
                                ContentFile(picked.image.content))
    return token_for(path, user, job)


def store(field_file, picked, reusable=frozenset()):
    """Put the image in a model's image field: the stored file itself when it is one of
    `reusable` (the draft being edited already owns it), else a new copy."""
    if picked.stored_as and picked.stored_as in reusable:
        setattr(field_file.instance, field_file.field.attname, picked.stored_as)
    else:
        field_file.save(f"image.{picked.image.extension}", picked.image.as_file(), save=False)


def discard_expired(now=None):
    """Delete staged images whose tokens have expired. Jobs keep copies, never these files."""
    if not default_storage.exists(STAGING_DIR):
        return 0
    cutoff = (now or timezone.now()) - timedelta(seconds=MAX_AGE)
    _, names = default_storage.listdir(STAGING_DIR)
    expired = [f"{STAGING_DIR}/{name}" for name in names
               if default_storage.get_modified_time(f"{STAGING_DIR}/{name}") < cutoff]
    for name in expired:
        default_storage.delete(name)
    return len(expired)
