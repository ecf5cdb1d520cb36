"""Stored images on their way out: posters for the pages, and the form ShortAPI is given them
in: signed, expiring URLs to this app or inline, as jobs/reachability.py decides. (Uploads are
checked and rewritten on their way in by jobs/uploads.py.)
"""

import base64
import io

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image, ImageOps

from jobs import reachability

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
POSTER_SIDE = 640
_SIGNING_SALT = "jobs.images.frame-url"


def poster_of(content: bytes) -> ContentFile:
    """A small JPEG of an image, for galleries and players: the whole frame, at most
    POSTER_SIDE pixels on its long side."""
    with Image.open(io.BytesIO(content)) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail((POSTER_SIDE, POSTER_SIDE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG", quality=82, optimize=True)
    return ContentFile(out.getvalue(), name="poster.jpg")


def wire_reference(field_file) -> str:
    """What ShortAPI is given for a stored image: a signed URL or the image inline
    (jobs/reachability.py decides which)."""
    how = reachability.delivery().images
    if how == "url":
        token = signing.dumps(field_file.name, salt=_SIGNING_SALT, compress=True)
        return settings.PUBLIC_BASE_URL + reverse("signed-image", args=[token])
    with field_file.open("rb") as handle:
        encoded = base64.b64encode(handle.read()).decode("ascii")
    if how == "base64":
        return encoded
    return f"data:{content_type(field_file.name)};base64,{encoded}"


def unsign(token) -> str | None:
    """The storage name a signed image URL stands for, or None when forged or expired."""
    try:
        return signing.loads(token, salt=_SIGNING_SALT, max_age=settings.KLING_IMAGE_URL_MAX_AGE)
    except signing.BadSignature:
        return None


def content_type(name):
    return CONTENT_TYPES.get(name.rsplit(".", 1)[-1].lower(), "application/octet-stream")
