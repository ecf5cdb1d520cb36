"""Fitting an image into the frames Kling accepts: a crop or a pad to a chosen aspect ratio,
then an upscale when a side is still under the minimum.

Kling takes images from 1:2.5 to 2.5:1 whose sides are at least 300 px (jobs/catalogue.py).
The person chooses the fit in the browser; the browser only ever sends the parameters (a kind,
a ratio and, for a crop, where the box sits), and `apply` redoes the work on the original image,
so no browser-made pixels are ever trusted.

Every size here is rounded toward square, never away from it: a 5:2 box is at most 5:2, so a
result at the model's extremes never crosses them by a pixel. A browser drawing the crop box
must size it with the same rule (`crop_size`) for its `x`, `y` to be accepted.

Padding is black, as a letterbox is: the same for every image, and plainly no part of the
picture, where a colour taken from the edges would vary and could pass for scenery.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from PIL import Image, ImageOps

from jobs import catalogue
from jobs.catalogue import MAX_ASPECT, MIN_IMAGE_SIDE
from lib.numbers import whole

KINDS = ("crop", "pad")
RATIOS = ("16:9", "9:16", "1:1", "4:3", "5:2", "2:5")
WIDEST = Fraction(MAX_ASPECT)
TALLEST = 1 / WIDEST
PAD_COLOUR = (0, 0, 0)
# farther than any image an upload may be (uploads take at most 24 megapixels)
MAX_POSITION = 100_000


class FitError(ValueError):
    """A fit that cannot be made, said so that the person who asked for it understands."""


def ratio_of(text: str | Fraction) -> Fraction:
    """The aspect ratio "W:H" as a fraction, refused beyond what Kling accepts."""
    if isinstance(text, Fraction):
        ratio = text
    else:
        width, colon, height = str(text).partition(":")
        parts = (width.strip(), height.strip())
        if colon and all(part.isascii() and part.isdigit() and int(part) for part in parts):
            ratio = Fraction(int(parts[0]), int(parts[1]))
        else:
            raise FitError(f"“{text}” is not an aspect ratio such as 16:9.")
    if not catalogue.takes_aspect(ratio.numerator, ratio.denominator):
        raise FitError(f"An aspect ratio of {ratio.numerator}:{ratio.denominator} is beyond "
                       f"what Kling accepts (from 1:{MAX_ASPECT} to {MAX_ASPECT}:1).")
    return ratio


@dataclass(frozen=True)
class Fit:
    """How to fit an image, as chosen in the browser: crop a box of `ratio` whose top-left
    corner is at `x`, `y` (pixels of the upright original), or pad to `ratio`."""

    kind: str
    ratio: str
    x: int = 0
    y: int = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise FitError(f"“{self.kind}” is not a way to fit an image; choose crop or pad.")
        ratio_of(self.ratio)

    @property
    def fraction(self) -> Fraction:
        return ratio_of(self.ratio)


def crop_size(width: int, height: int, ratio) -> tuple[int, int]:
    """The largest box of `ratio` (within a pixel) that fits inside a width × height image."""
    ratio = ratio_of(ratio)
    if Fraction(width, height) > ratio:
        return _width_for(height, ratio), height
    return width, _height_for(width, ratio)


def crop_box(width: int, height: int, ratio, x: int, y: int) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) of the largest `ratio` box placed at `x`, `y`."""
    box_width, box_height = crop_size(width, height, ratio)
    if x < 0 or y < 0 or x + box_width > width or y + box_height > height:
        raise FitError(
            f"A {box_width}×{box_height} crop at ({x}, {y}) reaches outside the "
            f"{width}×{height} image. Move the crop box back inside the picture.")
    return x, y, x + box_width, y + box_height


def pad_size(width: int, height: int, ratio) -> tuple[int, int]:
    """The smallest canvas of `ratio` (within a pixel) that holds a width × height image."""
    ratio = ratio_of(ratio)
    if Fraction(width, height) < ratio:
        return _width_for(height, ratio), height
    return width, _height_for(width, ratio)


def upscale_size(width: int, height: int) -> tuple[int, int]:
    """The size with the shorter side raised to the minimum, or the size itself if it is met.
    The longer side is capped at what Kling's widest shape allows at the minimum, so no shape
    can make a huge image."""
    short, long = sorted((width, height))
    if short >= MIN_IMAGE_SIDE:
        return width, height
    long = min(max(MIN_IMAGE_SIDE, long * MIN_IMAGE_SIDE // short),
               math.floor(MIN_IMAGE_SIDE * WIDEST))
    return (long, MIN_IMAGE_SIDE) if width >= height else (MIN_IMAGE_SIDE, long)


def apply(image: Image.Image, fit: Fit | None) -> Image.Image:
    """A new image: `image` turned upright (as a browser shows it), cropped or padded as `fit`
    says, then upscaled if a side is under the minimum. Without a fit, only the upscale."""
    image = ImageOps.exif_transpose(image)
    if image.mode not in ("RGB", "RGBA", "L"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if fit is not None and fit.kind == "crop":
        image = image.crop(crop_box(*image.size, fit.fraction, fit.x, fit.y))
    elif fit is not None:
        image = _pad(image, pad_size(*image.size, fit.fraction))
    # refused before any resize: scaling a 2048×1 strip up to Kling's minimum would make a
    # 614,400×300 image that Kling refuses anyway
    if not catalogue.takes_aspect(*image.size):
        raise FitError(
            f"This image is {image.width}×{image.height}: scaling it up keeps that shape, which "
            f"Kling refuses (from 1:{MAX_ASPECT} to {MAX_ASPECT}:1). Crop or pad it to a shape "
            "first.")
    size = upscale_size(*image.size)
    if size != image.size:
        return image.resize(size, Image.Resampling.LANCZOS)
    return image.copy()


def parse(data) -> Fit | None:
    """The fit a form posted (`fit`, `fit_ratio`, `fit_x`, `fit_y`), or None for no fit."""
    kind = (data.get("fit") or "").strip()
    if not kind:
        return None
    if kind not in KINDS:
        raise FitError(f"“{kind}” is not a way to fit an image; choose crop or pad.")
    ratio = (data.get("fit_ratio") or "").strip()
    if ratio not in RATIOS:
        raise FitError(f"Choose one of the offered aspect ratios ({', '.join(RATIOS)}), "
                       f"not “{ratio}”.")
    if kind == "pad":
        return Fit(kind, ratio)
    return Fit(kind, ratio, _position(data, "fit_x", "left"), _position(data, "fit_y", "top"))


def _position(data, key, side) -> int:
    text = str(data.get(key) or "").strip()
    position = whole(text, maximum=MAX_POSITION)
    if position is None:
        raise FitError(f"The crop box's {side} edge must be a whole number of pixels from 0 "
                       f"to {MAX_POSITION}, not “{text[:20]}”.")
    return position


def _width_for(height: int, ratio: Fraction) -> int:
    exact = height * ratio
    return math.floor(exact) if ratio > 1 else math.ceil(exact)


def _height_for(width: int, ratio: Fraction) -> int:
    exact = width / ratio
    return math.ceil(exact) if ratio > 1 else math.floor(exact)


def _pad(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    colour = {"RGBA": PAD_COLOUR + (255,), "L": 0}.get(image.mode, PAD_COLOUR)
    canvas = Image.new(image.mode, size, colour)
    canvas.paste(image, ((size[0] - image.width) // 2, (size[1] - image.height) // 2))
    return canvas
