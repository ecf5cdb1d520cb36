"""Input images: checking uploads against Kling's limits, and handing them to ShortAPI.

Uploads are fully decoded with Pillow before anything is queued, so no money is spent on a frame
ShortAPI would refuse. Images reach ShortAPI either as signed, expiring URLs to this app (when
PUBLIC_BASE_URL is set) or inline, as the KLING_IMAGE_TRANSPORT setting says.
"""

import base64
import io
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from PIL import Image, ImageOps, UnidentifiedImageError

from jobs import catalogue, reachability

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": None}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png"}
POSTER_SIDE = 640
MAX_PIXELS = 80_000_000
_SIGNING_SALT = "jobs.images.frame-url"


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    extension: str
    width: int
    height: int

    def as_file(self):
        return ContentFile(self.content, name=f"frame.{self.extension}")


def check_upload(upload) -> CheckedImage:
    """The upload as bytes Kling accepts, or a ValidationError that says what to change."""
    limit_mb = catalogue.MAX_IMAGE_BYTES // (1024 * 1024)
    if upload.size > catalogue.MAX_IMAGE_BYTES:
        raise ValidationError(
            f"This image is {upload.size / (1024 * 1024):.1f} MB; Kling takes images up to "
            f"{limit_mb} MB. Save it smaller (for example as a JPG) and upload it again.",
            code="too_big")
    data = upload.read()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image_format = image.format
            if image_format not in ACCEPTED_FORMATS:
                raise ValidationError(
                    f"This is a {image_format or 'file'} image; upload a JPG or PNG "
                    "(WebP is converted for you).", code="format")
            if image.width * image.height > MAX_PIXELS:
                raise Image.DecompressionBombError
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError("This image has too many pixels to process. Scale it down and "
                              "upload it again.", code="too_many_pixels") from None
    except UnidentifiedImageError:
        raise ValidationError("This file is not an image we can read. Upload a JPG or PNG.",
                              code="not_image") from None
    except (OSError, SyntaxError, ValueError):
        raise ValidationError("This image is damaged or incomplete and cannot be opened. "
                              "Export it again and upload the new file.", code="broken") from None
    _check_geometry(image.width, image.height)
    extension = ACCEPTED_FORMATS[image_format]
    if extension is None:
        data, extension = _convert_webp(image)
        if len(data) > catalogue.MAX_IMAGE_BYTES:
            raise ValidationError(f"Converted to JPG or PNG, this image is over {limit_mb} MB. "
                                  "Upload a smaller image.", code="too_big")
    return CheckedImage(data, extension, image.width, image.height)


def _check_geometry(width, height):
    side = catalogue.MIN_IMAGE_SIDE
    if width < side or height < side:
        raise ValidationError(
            f"This image is {width}×{height} pixels; each side must be at least {side} pixels. "
            "Use a larger image.", code="too_small")
    ratio = max(width, height) / min(width, height)
    if ratio > catalogue.MAX_ASPECT:
        raise ValidationError(
            f"This image is {width}×{height}, too {'wide' if width > height else 'tall'} for "
            f"Kling: the long side can be at most {catalogue.MAX_ASPECT} times the short side. "
            "Crop it closer to square.", code="aspect")


def _convert_webp(image):
    out = io.BytesIO()
    if image.mode in ("RGBA", "LA") or "transparency" in image.info:
        image.save(out, format="PNG", optimize=True)
        return out.getvalue(), "png"
    image.convert("RGB").save(out, format="JPEG", quality=95)
    return out.getvalue(), "jpg"


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
