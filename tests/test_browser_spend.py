"""The admins' spend review in a real browser: reached from the Django admin, figures that
match the ledger, a chart drawn offline, and the CSV export downloaded."""

import csv
import io
from decimal import Decimal

import pytest

from tests.browser import new_page, screenshot, sign_in
from tests.conftest import image_bytes
from tests.stack import Stack, submit, wait_until_finished

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("spend-stack"), "embedded").start()
    stack.manage("shell", "--no-imports", "-c", (
        "from django.contrib.auth.models import User; from spend.models import Budget;"
        "Budget.objects.create(user=User.objects.get(username='maya'), amount='1.00')"))
    session = stack.session("maya")
    frame = {"start_frame": ("f.png", image_bytes(640, 360), "image/png")}
    for prompt, duration in (("Dawn", "5"), ("Dusk [simulate-failure]", "10")):
        job = submit(stack, session, {"model": "kwaivgi/kling-2.6/image-to-video",
                                      "mode": "pro", "duration": duration, "prompt": prompt},
                     frame)
        wait_until_finished(session, job.url)
    yield stack
    stack.stop()


def test_an_admin_reviews_spend_and_downloads_the_ledger(browser, stack):
    page = new_page(browser, stack)
    sign_in(page, stack, "ada")
    page.goto("/admin/")
    page.get_by_role("link", name="Spend review").first.click()
    page.wait_for_url("**/admin/spend/")

    assert page.locator("[data-role=total]").text_content() == "$0.30"
    assert page.locator("[data-role=charged]").text_content() == "$0.90"
    assert page.locator("[data-role=refunded]").text_content() == "-$0.60"
    assert "maya" in page.locator("[data-role=budget-use]").text_content()
    assert "[simulate-failure]" in page.locator("[data-role=failed]").text_content()
    heights = page.locator("svg rect.bar").evaluate_all(
        "bars => bars.map(b => b.getBBox().height)")
    assert max(heights) > 0, "the chart draws today's spend"

    with page.expect_download() as download:
        page.locator("[data-role=csv]").click()
    rows = list(csv.DictReader(io.StringIO(
        download.value.path().read_text(encoding="utf-8-sig"))))
    assert sum(Decimal(row["amount (USD)"]) for row in rows) == Decimal("0.300")
    assert screenshot(page, "spend-review.png").stat().st_size > 10_000
    page.context.close()


def test_a_person_sees_their_budget_on_my_spend(browser, stack):
    page = new_page(browser, stack)
    sign_in(page, stack, "maya")
    page.get_by_role("navigation").get_by_role("link", name="My spend").click()
    assert page.locator("[data-role=spent]").text_content() == "$0.30"
    assert page.locator("[data-role=left]").text_content() == "$0.70"
    assert screenshot(page, "my-spend.png").stat().st_size > 10_000
    page.context.close()
