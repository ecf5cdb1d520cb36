"""Uploaded images, checked and rewritten: every image stored, served or sent is one we wrote.

An upload is refused, with a message for the field it came in, when it is larger than Kling's
10 MB, not a JPEG, PNG or WebP whatever its name says, animated, damaged, or declares more than
MAX_UPLOAD_PIXELS: that last one is read from the header, before any pixel is decoded, so a
small file that would decode to gigabytes (a decompression bomb) costs nothing. Kling's side and
ratio limits are checked on the upright image, also before decoding.

Everything else is decoded and written again: its EXIF orientation applied first, every metadata
field dropped but the colour profile, and whatever followed the image data (an HTML page, a ZIP)
gone with the old bytes. JPEG stays JPEG and PNG stays PNG (8-bit; CMYK becomes RGB); WebP
becomes PNG with transparency or JPEG without. An image larger than Kling needs is scaled down to
MAX_SIDE pixels on its long side, and further if that is what it takes to stay within 10 MB. A
large JPEG is decoded at a reduced scale straight away. One check of an image at the pixel limit
stays within 240 MB of memory: the worst case is a 24 MP PNG with transparency (about 230 MB); a
24 MP JPEG takes about 50 MB (the benchmark prints both).

An image its owner asked to fit (`jobs.framing`) is rewritten the same way but kept whatever its
shape; `fit_image` crops or pads it from the parameters the page posted and checks the result
like any upload.
"""

import io
import warnings
from dataclasses import dataclass, replace

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

from jobs import catalogue, framing

ACCEPTED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": None}
# More than a 24-megapixel camera makes; refused from the header, before decoding.
MAX_UPLOAD_PIXELS = 24_000_000
# Kling makes at most 1080p video: a longer side than this only costs bytes and time.
MAX_SIDE = 2048
SHRINK_STEP = 0.8
JPEG_QUALITY = 92
# EXIF orientations that turn the picture a quarter: width and height swap when upright.
QUARTER_TURNS = {5, 6, 7, 8}
ORIENTATION_TAG = 0x0112


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    extension: str
    width: int
    height: int
    # the upright size of the upload as sent, before it was scaled down (None: width × height)
    source: tuple[int, int] | None = None

    def as_file(self):
        return ContentFile(self.content, name=f"frame.{self.extension}")


def check_upload(upload, shape=True) -> CheckedImage:
    """The upload, rewritten clean, or a ValidationError that says what to change. With
    `shape=False`, Kling's side and ratio limits are left for a fit to meet."""
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
            with Image.open(io.BytesIO(data)) as image:
                source_format, source = _check_header(image, shape)
                image = _decode_upright(image)
                content, extension = write(image, source_format)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels() from None
    except UnidentifiedImageError:
        raise ValidationError("This file is not an image we can read. Upload a JPG or PNG.",
                              code="not_image") from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError("This image is damaged or incomplete and cannot be opened. "
                              "Export it again and upload the new file.", code="broken") from None
    if not shape:
        return replace(stored(content, extension, shape=False), source=source)
    return _within_limits(content, extension)


def stored(content, extension, shape=True) -> CheckedImage:
    """An image we wrote earlier, read back from its header. One kept for a fit may have any
    shape, so Kling's side and ratio limits are checked unless `shape=False`."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            width, height = image.size
    except OSError:
        raise ValidationError("The image uploaded earlier can no longer be read. Upload it "
                              "again.", code="broken") from None
    if shape:
        check_geometry(width, height)
    return CheckedImage(content, extension, width, height)


def fit_image(original: CheckedImage, fit: framing.Fit | None) -> CheckedImage:
    """`original` (from `check_upload(shape=False)` or `stored`) cropped or padded as `fit` asks,
    in its own pixels (see `placed`), and scaled up to Kling's minimum (`framing.apply`), then
    checked like any upload. Raises FitError for a crop outside it."""
    with Image.open(io.BytesIO(original.content)) as image:
        image.load()
        source_format, icc = image.format, image.info.get("icc_profile")
        fitted = framing.apply(image, fit)
    if icc:
        fitted.info["icc_profile"] = icc
    if max(fitted.size) > MAX_SIDE:  # a pad can widen the kept image past it
        fitted.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return _within_limits(*write(fitted, source_format))


def placed(fit, original):
    """A crop asked for in the pixels of the upload as sent (what the page measured), placed on
    the copy we kept, which is smaller when the upload was larger than MAX_SIDE. Raises
    FitError for a crop outside the upload."""
    size = (original.width, original.height)
    source = original.source or size
    if fit is None or fit.kind != "crop" or source == size:
        return fit
    framing.crop_box(*source, fit.fraction, fit.x, fit.y)  # refused as the person placed it
    width, height = framing.crop_size(*size, fit.fraction)
    return framing.Fit(fit.kind, fit.ratio,
                       min(round(fit.x * size[0] / source[0]), size[0] - width),
                       min(round(fit.y * size[1] / source[1]), size[1] - height))


def _within_limits(content, extension):
    with Image.open(io.BytesIO(content)) as written:
        width, height = written.size
        problem = catalogue.image_problem(written.format, len(content), width, height)
    if problem:  # never sent on: ShortAPI would refuse it
        raise ValidationError(f"This image cannot be used: {problem}.", code="limits")
    return CheckedImage(content, extension, width, height)


def _check_header(image, shape=True):
    """Everything that can be refused without decoding a pixel. Returns the format and the
    upright size."""
    if image.format not in ACCEPTED_FORMATS:
        raise ValidationError(f"This is a {image.format or 'file'} image; upload a JPG or PNG "
                              "(WebP is converted for you).", code="format")
    if getattr(image, "n_frames", 1) > 1:
        raise ValidationError("This image is animated. Upload one still frame as a JPG or PNG.",
                              code="animated")
    width, height = image.size
    if width * height > MAX_UPLOAD_PIXELS:
        raise _too_many_pixels(width, height)
    if image.getexif().get(ORIENTATION_TAG) in QUARTER_TURNS:
        width, height = height, width
    if shape:
        check_geometry(width, height)
    return image.format, (width, height)


def _decode_upright(image):
    if image.format == "JPEG" and max(image.size) > 2 * MAX_SIDE:
        # decode at 1/2, 1/4 or 1/8 scale, never below what MAX_SIDE needs
        scale = MAX_SIDE / max(image.size)
        image.draft(image.mode, (int(image.width * scale) + 1, int(image.height * scale) + 1))
    image.load()
    upright = ImageOps.exif_transpose(image, in_place=True) or image
    if max(upright.size) > MAX_SIDE:
        upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS, reducing_gap=3.0)
    return upright


def write(image, source_format, limit=None):
    """The image written anew: JPEG stays JPEG, PNG stays PNG, WebP becomes either, scaled
    down until it fits `limit` bytes (Kling's 10 MB)."""
    limit = limit or catalogue.MAX_IMAGE_BYTES
    icc = image.info.get("icc_profile")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    as_png = source_format == "PNG" or (source_format == "WEBP" and has_alpha)
    image = _pngable(image) if as_png else _jpegable(image)
    if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        icc = None  # a profile for the old colour space would now mislead
    while True:
        out = io.BytesIO()
        if as_png:
            image.save(out, format="PNG", optimize=True, icc_profile=icc)
        else:
            image.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True, icc_profile=icc)
        if out.tell() <= limit:
            return out.getvalue(), "png" if as_png else "jpg"
        width, height = (round(side * SHRINK_STEP) for side in image.size)
        if min(width, height) < catalogue.MIN_IMAGE_SIDE:
            raise ValidationError("This image is too detailed to fit Kling's 10 MB limit even "
                                  "when scaled down. Save it as a JPG and upload that.",
                                  code="too_big")
        image = image.resize((width, height), Image.Resampling.LANCZOS)


def _jpegable(image):
    if image.mode == "L":
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _eight_bit(image)
    return image.convert("RGB")


def _pngable(image):
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _eight_bit(image)
    if image.mode == "P" and "transparency" not in image.info:
        return image
    has_alpha = image.mode in ("PA", "P", "RGBa", "La") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def _eight_bit(image):
    """16-bit (or wider) greyscale scaled to 8 bits, not clipped."""
    top = 65535 if image.mode.startswith("I;16") else max(image.getextrema()[1], 1)
    return image.convert("F").point(lambda value: value * 255 / top).convert("L")


def check_geometry(width, height):
    problem = catalogue.shape_problem(width, height)
    side = catalogue.MIN_IMAGE_SIDE
    if problem == "too_small":
        raise ValidationError(
            f"This image is {width}×{height} pixels; each side must be at least {side} pixels. "
            "Use a larger image.", code="too_small")
    if problem == "aspect":
        raise ValidationError(
            f"This image is {width}×{height}, too {'wide' if width > height else 'tall'} for "
            f"Kling: the long side can be at most {catalogue.MAX_ASPECT} times the short side. "
            "Crop it closer to square.", code="aspect")


def _too_many_pixels(width=None, height=None):
    size = f" ({width}×{height})" if width else ""
    return ValidationError(
        f"This image has too many pixels to process{size}: at most "
        f"{MAX_UPLOAD_PIXELS // 1_000_000} megapixels. Scale it down and upload it again.",
        code="too_many_pixels")
