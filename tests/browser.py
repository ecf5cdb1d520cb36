"""Headless Chromium for the browser tests: the launch every test shares, and signing in."""

import os
from pathlib import Path

import pytest

from tests.conftest import require
from tests.stack import PASSWORD

CHROMIUM = os.environ.get("KLING_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    require(sync_playwright is not None and Path(CHROMIUM).is_file(),
            "Chromium for browser tests (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, stack):
    """A fresh browser context on the requesting module's `stack`."""
    page = new_page(browser, stack)
    yield page
    page.context.close()


def new_page(browser, stack):
    context = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    context.set_default_timeout(15_000)
    return context.new_page()


def sign_in(page, stack, username, tap=False):
    """Sign in on the sign-in page, with a click (or a tap, on a touch screen)."""
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    button = page.get_by_role("button", name="Sign in")
    button.tap() if tap else button.click()
    page.wait_for_url(stack.url + "/")


RED, BLUE = (220, 0, 0), (20, 60, 200)


@pytest.fixture
def wide_file(tmp_path):
    """1500 × 500 (3:1, wider than Kling takes): its left half red, its right half blue."""
    from PIL import Image

    image = Image.new("RGB", (1500, 500), BLUE)
    image.paste(RED, (0, 0, 750, 500))
    path = tmp_path / "panorama.png"
    image.save(path)
    return path


def drag(page, locator, dx, dy=0):
    """Drag `locator` by (dx, dy) pixels with the mouse, in a few steps as a hand would."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx / 2, y + dy / 2, steps=4)
    page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=True)
    return path
