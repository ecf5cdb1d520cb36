"""Fitting an image into Kling's frame: the crop, pad and upscale arithmetic, the images made
from it, and the form parameters that ask for it."""

import io
from fractions import Fraction

import pytest
from PIL import Image

from jobs import catalogue, framing
from jobs.framing import Fit, FitError

RED = (255, 0, 0)


def within_a_pixel(size, ratio):
    width, height = size
    ratio = framing.ratio_of(ratio)
    return abs(width - height * ratio) <= 1 or abs(height - width / ratio) <= 1


def test_it_offers_the_common_ratios_and_the_models_extremes():
    assert set(framing.RATIOS) == {"16:9", "9:16", "1:1", "4:3", "5:2", "2:5"}
    assert framing.ratio_of("5:2") == framing.WIDEST == Fraction(5, 2)
    assert framing.ratio_of("2:5") == framing.TALLEST == Fraction(2, 5)


@pytest.mark.parametrize("text", ["51:20", "20:51", "3:1", "1:3"])
def test_it_refuses_a_ratio_beyond_the_models_extremes(text):
    with pytest.raises(ValueError, match="beyond what Kling accepts"):
        framing.ratio_of(text)
    with pytest.raises(FitError):
        Fit("pad", text)


@pytest.mark.parametrize("text", ["", "16", "16:", ":9", "16:0", "0:9", "a:b", "-16:-9", "1.5:1"])
def test_it_refuses_text_that_is_not_a_ratio(text):
    with pytest.raises(FitError, match="not an aspect ratio"):
        framing.ratio_of(text)


def test_it_refuses_a_fit_that_is_neither_crop_nor_pad():
    with pytest.raises(FitError, match="crop or pad"):
        Fit("stretch", "16:9")


def test_it_accepts_exactly_two_and_a_half_to_one_and_nothing_wider():
    assert catalogue.shape_problem(750, 300) is None
    assert catalogue.shape_problem(300, 750) is None
    assert catalogue.shape_problem(753, 300)
    assert catalogue.shape_problem(300, 753)


def test_it_needs_a_fit_for_a_side_under_the_minimum():
    assert catalogue.shape_problem(299, 400)
    assert catalogue.shape_problem(400, 299)
    assert catalogue.shape_problem(300, 300) is None


def test_it_crops_a_wide_image_to_the_full_height():
    assert framing.crop_size(1920, 1080, "1:1") == (1080, 1080)
    assert framing.crop_box(1920, 1080, "1:1", 840, 0) == (840, 0, 1920, 1080)
    assert framing.crop_box(1920, 1080, "9:16", 0, 0) == (0, 0, 608, 1080)


def test_it_crops_a_tall_image_to_the_full_width():
    assert framing.crop_box(1080, 1920, "16:9", 0, 1312) == (0, 1312, 1080, 1920)
    assert framing.crop_size(1000, 1000, "4:3") == (1000, 750)


def test_it_crops_a_very_wide_panorama_to_the_widest_ratio():
    width, height = framing.crop_size(4000, 300, "5:2")
    assert (width, height) == (750, 300)
    assert catalogue.shape_problem(width, height) is None


def test_it_crops_a_very_tall_strip_to_the_tallest_ratio():
    width, height = framing.crop_size(300, 4000, "2:5")
    assert (width, height) == (300, 750)
    assert catalogue.shape_problem(width, height) is None


@pytest.mark.parametrize("width, height", [(101, 1000), (1000, 41), (333, 777), (777, 333)])
@pytest.mark.parametrize("ratio", ["5:2", "2:5", "16:9", "9:16", "4:3"])
def test_it_rounds_a_box_toward_square_so_it_never_crosses_the_ratio(width, height, ratio):
    for size in (framing.crop_size(width, height, ratio), framing.pad_size(width, height, ratio)):
        assert within_a_pixel(size, ratio)
        exact = framing.ratio_of(ratio)
        assert Fraction(*size) <= exact if exact > 1 else Fraction(*size) >= exact
    crop_width, crop_height = framing.crop_size(width, height, ratio)
    assert crop_width <= width and crop_height <= height
    pad_width, pad_height = framing.pad_size(width, height, ratio)
    assert pad_width >= width and pad_height >= height


def test_it_places_a_crop_against_the_far_edges():
    assert framing.crop_box(1000, 400, "1:1", 600, 0) == (600, 0, 1000, 400)
    assert framing.crop_box(400, 1000, "1:1", 0, 600) == (0, 600, 400, 1000)


@pytest.mark.parametrize("x, y", [(601, 0), (0, 1), (-1, 0), (0, -1), (5000, 5000)])
def test_it_refuses_a_crop_that_reaches_outside_the_image(x, y):
    with pytest.raises(FitError, match="outside the 1000×400 image"):
        framing.crop_box(1000, 400, "1:1", x, y)


def test_it_pads_to_the_smallest_canvas_that_holds_the_image():
    assert framing.pad_size(1000, 400, "1:1") == (1000, 1000)
    assert framing.pad_size(400, 1000, "1:1") == (1000, 1000)
    assert framing.pad_size(3000, 300, "5:2") == (3000, 1200)
    assert framing.pad_size(300, 3000, "2:5") == (1200, 3000)
    assert framing.pad_size(1600, 900, "16:9") == (1600, 900)


def test_it_upscales_a_side_of_299_pixels_to_300():
    assert framing.upscale_size(299, 598) == (300, 600)
    assert framing.upscale_size(598, 299) == (600, 300)
    assert framing.upscale_size(299, 299) == (300, 300)


def test_it_leaves_a_large_enough_image_its_size():
    assert framing.upscale_size(300, 750) == (300, 750)
    assert framing.upscale_size(4000, 3000) == (4000, 3000)


def test_it_upscales_without_crossing_the_widest_ratio():
    width, height = framing.upscale_size(101, 41)
    assert height == 300 and catalogue.shape_problem(width, height) is None


def red_square_image(size, box):
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(RED, box)
    return image


def test_it_crops_the_chosen_region_of_the_original():
    original = red_square_image((2000, 500), (1300, 100, 1400, 200))
    fitted = framing.apply(original, Fit("crop", "1:1", x=1200, y=0))
    assert fitted.size == (500, 500)
    assert fitted.getpixel((150, 150)) == RED
    assert fitted.getpixel((99, 150)) == (255, 255, 255)
    assert fitted.getpixel((200, 150)) == (255, 255, 255)


def test_it_refuses_to_apply_a_crop_outside_the_original():
    with pytest.raises(FitError):
        framing.apply(Image.new("RGB", (2000, 500)), Fit("crop", "1:1", x=1501, y=0))


def test_it_pads_with_black_around_the_centred_original():
    original = red_square_image((1500, 400), (700, 150, 800, 250))
    fitted = framing.apply(original, Fit("pad", "5:2"))
    assert fitted.size == (1500, 600)
    assert fitted.getpixel((0, 0)) == framing.PAD_COLOUR
    assert fitted.getpixel((750, 599)) == framing.PAD_COLOUR
    assert fitted.getpixel((750, 300)) == RED
    assert fitted.getpixel((750, 101)) == (255, 255, 255)


def test_it_pads_a_transparent_image_with_opaque_black():
    fitted = framing.apply(Image.new("RGBA", (400, 1000), (0, 0, 255, 128)), Fit("pad", "1:1"))
    assert fitted.getpixel((0, 0)) == (0, 0, 0, 255)


def test_it_upscales_a_small_crop_so_kling_takes_it():
    original = red_square_image((900, 200), (0, 0, 100, 100))
    fitted = framing.apply(original, Fit("crop", "16:9", x=0, y=0))
    assert fitted.size == (532, 300)
    assert catalogue.shape_problem(*fitted.size) is None
    assert fitted.getpixel((50, 50)) == RED


def test_it_only_upscales_without_a_fit_and_returns_a_new_image():
    original = Image.new("RGB", (400, 400))
    assert framing.apply(Image.new("RGB", (299, 350)), None).size == (300, 351)
    unchanged = framing.apply(original, None)
    assert unchanged.size == (400, 400) and unchanged is not original


def test_it_works_on_the_upright_image_as_a_browser_shows_it():
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 1000 × 400, shown turned: 400 wide and 1000 tall
    buffer = io.BytesIO()
    Image.new("RGB", (1000, 400)).save(buffer, format="JPEG", exif=exif)
    sideways = Image.open(buffer)
    assert framing.apply(sideways, Fit("crop", "1:1", x=0, y=600)).size == (400, 400)


def test_it_reads_no_fit_from_a_form_that_asks_for_none():
    assert framing.parse({}) is None
    assert framing.parse({"fit": "", "fit_ratio": "16:9"}) is None


def test_it_reads_a_crop_and_a_pad_from_a_form():
    assert framing.parse({"fit": "crop", "fit_ratio": "5:2", "fit_x": "12", "fit_y": "0"}) == \
        Fit("crop", "5:2", 12, 0)
    assert framing.parse({"fit": "pad", "fit_ratio": "9:16"}) == Fit("pad", "9:16")


@pytest.mark.parametrize("data, message", [
    ({"fit": "zoom", "fit_ratio": "1:1"}, "crop or pad"),
    ({"fit": "pad", "fit_ratio": "3:2"}, "offered aspect ratios"),
    ({"fit": "pad"}, "offered aspect ratios"),
    ({"fit": "crop", "fit_ratio": "1:1", "fit_x": "-3", "fit_y": "0"}, "left edge"),
    ({"fit": "crop", "fit_ratio": "1:1", "fit_x": "2.5", "fit_y": "0"}, "left edge"),
    ({"fit": "crop", "fit_ratio": "1:1", "fit_x": "0", "fit_y": "top"}, "top edge"),
    ({"fit": "crop", "fit_ratio": "1:1", "fit_x": "0"}, "top edge"),
    ({"fit": "crop", "fit_ratio": "1:1", "fit_x": "²", "fit_y": "0"}, "left edge"),
])
def test_it_refuses_nonsense_from_a_form(data, message):
    with pytest.raises(FitError, match=message):
        framing.parse(data)
