"""Hearing that a job finished, in a real browser against the whole stack (web, qcluster,
simulator): the tab title counts running jobs, a notification says when each finishes or fails,
and the e-mail a person asked for on the settings page is sent by a worker."""

import re

import pytest

from tests.browser import new_page, screenshot, sign_in
from tests.conftest import image_bytes
from tests.stack import Stack, submit, wait_until_finished

pytestmark = pytest.mark.browser

# Records each notification shown; the real one still runs.
RECORD_NOTIFICATIONS = """
window.shown = [];
const Real = window.Notification;
window.Notification = class extends Real {
  constructor(title, options) {
    window.shown.push({ title: title, body: options.body });
    super(title, options);
  }
};
"""
# A browser that has not been asked yet, and records being asked.
NOT_ASKED_YET = """
window.asked = 0;
window.Notification = class { static requestPermission() { window.asked += 1; } };
window.Notification.permission = "default";
"""


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    # slow enough that a poll finds the job running
    stack = Stack(tmp_path_factory.mktemp("notify-stack"), "embedded",
                  extra_env={"SIMULATOR_PROCESSING_SECONDS": "4"}).start()
    yield stack
    stack.stop()


def poll_now(page):
    """Ask for the activity at once, as the page does when its tab is shown again."""
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")


def test_a_person_follows_their_jobs_from_any_page_and_is_emailed(browser, stack):
    page = new_page(browser, stack)
    page.context.grant_permissions(["notifications"], origin=stack.url)
    page.context.add_init_script(RECORD_NOTIFICATIONS)
    sign_in(page, stack, "maya")
    page.goto("/settings/")
    page.get_by_label("E-mail me when a video finishes or fails").check()
    page.get_by_label("E-mail address").fill("maya@example.com")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("follow the link we just sent there").wait_for()
    link = None
    for _ in range(50):
        link = re.search(r"/settings/confirm/[A-Za-z0-9_:.-]+/", stack.log("qcluster"))
        if link:
            break
        page.wait_for_timeout(200)
    assert link, "no confirmation e-mail in the worker's log"
    page.goto(link.group(0))
    page.get_by_text("maya@example.com is confirmed").wait_for()
    assert screenshot(page, "settings.png").stat().st_size > 10_000
    assert page.locator("[data-role=notify-me]").is_hidden()  # already allowed
    with page.expect_response(lambda response: "/activity/" in response.url):
        page.goto("/")
    title = page.title()
    assert title == "My videos · Kling Studio"

    session = stack.session("maya")
    frame = {"start_frame": ("f.png", image_bytes(640, 360), "image/png")}
    fields = {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro", "duration": "5"}
    ready = submit(stack, session, {**fields, "prompt": "Harbour at dawn"}, frame)
    failed = submit(stack, session, {**fields, "prompt": "Dusk [simulate-failure]"}, frame)
    poll_now(page)
    page.wait_for_function("() => document.title.startsWith('(2 running) ')")
    assert page.title() == "(2 running) " + title
    for job in (ready, failed):
        wait_until_finished(session, job.url)
    poll_now(page)
    page.wait_for_function("() => window.shown.length === 2")
    shown = sorted(page.evaluate("window.shown"), key=lambda note: note["title"])
    assert shown[0]["title"].startswith("Dusk") and shown[0]["body"].startswith("failed: ")
    assert shown[1] == {"title": "Harbour at dawn", "body": "finished"}
    page.wait_for_function("title => document.title === title", arg=title)
    poll_now(page)
    page.wait_for_timeout(1000)
    assert len(page.evaluate("window.shown")) == 2  # each announced once

    log = ""
    for _ in range(50):
        log = stack.log("qcluster")
        if log.count("To: maya@example.com") == 3:  # the confirmation, then two finishes
            break
        page.wait_for_timeout(200)
    assert 'Subject: Your video "Harbour at dawn" is ready' in log
    assert 'Subject: Your video "Dusk [simulate-failure]" failed' in log
    assert log.count("To: maya@example.com") == 3
    page.context.close()


def test_the_page_offers_notifications_once_and_asks_on_a_click(browser, stack):
    page = new_page(browser, stack)
    page.context.add_init_script(NOT_ASKED_YET)
    sign_in(page, stack, "noah")
    offer = page.get_by_role("button", name="Notify me when videos finish")
    offer.click()
    assert offer.is_hidden()
    assert page.evaluate("window.asked") == 1
    page.context.close()
