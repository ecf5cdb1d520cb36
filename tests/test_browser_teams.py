"""Two people of one team in real browsers against the whole stack (web, qcluster, simulator):
one submits two takes into the team's project, the other finds them by search, plays them side
by side in sync, stars one and chooses one; a screenshot of the comparison is kept.
"""

import re
import time

import pytest

from jobs import catalogue
from tests.browser import ARTIFACTS, new_page, screenshot, sign_in
from tests.conftest import image_bytes
from tests.stack import Stack, submit, wait_until_finished

pytestmark = pytest.mark.browser

JOB_URL = re.compile(r"/jobs/(\d+)/$")
KLING_3 = "kwaivgi/kling-3.0/image-to-video"
PROJECT = "Lighthouse film"
# the simulator renders a video as long as the job asks for
SECONDS = 5
# how far apart two takes' clocks may be and still count as in sync
IN_SYNC = 0.3
VIDEOS = "document.querySelectorAll('[data-role=take-video]')"


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("teams-stack"), "embedded", callbacks=True).start()
    stack.project = int(stack.manage("shell", "--no-imports", "-c", (
        "from django.contrib.auth.models import User; from teams.models import Project, Team;"
        "team = Team.objects.create(name='Harbour crew');"
        "team.members.set(User.objects.filter(username__in=['maya', 'noah']));"
        f"print(Project.objects.create(name='{PROJECT}', team=team).pk)")).stdout)
    # a teammate's video in the same project that the search must leave out
    session = stack.session("noah")
    other = submit(stack, session, {"model": catalogue.DEFAULT_MODEL, "mode": "pro",
                                    "duration": "5", "prompt": "Gulls over the harbour at noon",
                                    "project": str(stack.project)},
                   {"start_frame": ("gulls.png", image_bytes(640, 360), "image/png")})
    wait_until_finished(session, other.url)
    stack.other_job = int(JOB_URL.search(other.url).group(1))
    yield stack
    stack.stop()


@pytest.fixture
def frame_file(tmp_path):
    path = tmp_path / "lighthouse.png"
    path.write_bytes(image_bytes(800, 450, (40, 60, 110)))
    return path


def wait_until_kept(page, job, timeout=40):
    """Until the job has succeeded and its video is kept here, so that it plays from this host."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = page.request.get(f"/jobs/{job}/status/").json()
        if state["finished"]:
            assert state["status"] == "succeeded", state
            if state["kept"]:
                return
        page.wait_for_timeout(200)
    raise AssertionError(f"job {job} did not finish with its video kept in {timeout} s")


def clocks(page):
    return page.evaluate(f"Array.from({VIDEOS}, v => v.currentTime)")


def wait_for_videos(page, condition, what, timeout=5_000):
    """Until `condition` (JS, given the takes' videos as `videos`) holds; else say where each
    video stood."""
    from playwright.sync_api import TimeoutError

    try:
        page.wait_for_function(f"() => {{ const videos = Array.from({VIDEOS}); "
                               f"return {condition}; }}", timeout=timeout)
    except TimeoutError:
        states = page.evaluate(f"Array.from({VIDEOS}, v => ({{time: v.currentTime, "
                               "seeking: v.seeking, paused: v.paused, ended: v.ended, "
                               "ready: v.readyState}))")
        raise AssertionError(f"{what}: not within {timeout} ms; the videos: {states}") from None


def star_button(page, job):
    return page.locator(f'.tile[data-job="{job}"] form[data-role=star] button')


def submit_two_takes(page, stack, frame_file):
    """Person A's part, from the composer: two takes into the project; returns their ids."""
    page.get_by_role("link", name="New video").first.click()
    page.wait_for_url(stack.url + "/jobs/new/")
    page.fill("#id_title", "Lighthouse at dusk")
    page.select_option("#id_project", str(stack.project))
    page.get_by_label("Kling 3.0").check()
    page.select_option("#id_mode", "pro")
    page.select_option("#id_duration", str(SECONDS))
    page.get_by_label("Generate audio").uncheck()
    page.fill("#id_prompt", "The lighthouse beam sweeps across a stormy bay")
    page.select_option("#id_takes", "2")

    each = catalogue.get(KLING_3).estimate("pro", SECONDS, False)
    assert page.locator("[data-role=estimate]").text_content() == catalogue.format_money(each * 2)
    assert page.locator("[data-role=takes-note]").text_content() == (
        f"for 2 takes at {catalogue.format_money(each)} each")

    page.set_input_files("#id_start_frame", frame_file)
    page.get_by_role("button", name="Make video").click()
    page.wait_for_url(JOB_URL)
    first = int(JOB_URL.search(page.url).group(1))
    takes = page.locator("nav[data-role=takes]")
    assert re.fullmatch(r"Takes:\s*1\s*2", takes.inner_text().strip()), takes.inner_text()
    second = int(JOB_URL.search(takes.get_by_role("link", name="2").get_attribute("href"))
                 .group(1))
    assert "take 1 of 2" in page.locator("[data-role=context]").text_content()
    assert PROJECT in page.locator("[data-role=context]").text_content()
    # the job page follows its take by itself
    page.wait_for_function("() => document.querySelector('[data-role=status]')"
                           ".textContent.trim() === 'Succeeded'", timeout=40_000)
    for job in (first, second):
        wait_until_kept(page, job)
    return first, second


def find_and_compare(page, stack, takes):
    """Person B's part: the takes found by a search on the project's page, then compared."""
    page.goto(f"/projects/{stack.project}/")
    assert page.locator(f'.tile[data-job="{stack.other_job}"]').count() == 1
    page.locator("[data-role=finder]").get_by_label("Search").fill("lighthouse")
    page.locator("[data-role=finder]").get_by_role("button", name="Find").click()
    page.wait_for_url(re.compile(r"[?&]q=lighthouse"))

    group = page.locator("[data-role=take-group]")
    assert group.count() == 1
    assert sorted(int(job) for job in group.locator(".tile").evaluate_all(
        "tiles => tiles.map(t => t.dataset.job)")) == sorted(takes)
    assert page.locator(".tile").count() == 2  # the gulls are not about a lighthouse
    assert "by maya" in group.locator(".tile").first.text_content()

    compare = page.locator("[data-role=compare-bar] [data-role=compare]")
    assert compare.is_disabled()
    for job in takes:
        page.locator(f'.tile[data-job="{job}"]').get_by_label("Compare").check()
    assert page.locator("[data-role=compare-count]").text_content() == "2 ticked."
    compare.click()
    page.wait_for_url(re.compile(r"/compare/\?"))
    assert page.locator("h1").text_content() == "Compare 2 takes"
    return page.url


def test_two_teammates_make_find_compare_star_and_choose_takes(browser, stack, frame_file):
    maya = new_page(browser, stack)
    sign_in(maya, stack, "maya")
    takes = submit_two_takes(maya, stack, frame_file)

    noah = new_page(browser, stack)
    sign_in(noah, stack, "noah")
    compare_url = find_and_compare(noah, stack, takes)

    section = noah.locator("section#compare")
    wait_for_videos(noah, "videos.every(v => v.readyState >= 2)", "both takes loaded",
                    timeout=10_000)
    durations = noah.evaluate(f"Array.from({VIDEOS}, v => v.duration)")
    assert durations == [pytest.approx(SECONDS, abs=0.2)] * 2

    noah.get_by_role("button", name="Play all").click()
    noah.wait_for_function("() => document.getElementById('compare').dataset.playing "
                           "=== 'true'")
    noah.wait_for_timeout(1000)
    playing = clocks(noah)
    assert all(t > 0.5 for t in playing), playing
    assert abs(playing[0] - playing[1]) < IN_SYNC, playing
    assert section.get_attribute("data-playing") == "true"
    assert noah.evaluate(f"Array.from({VIDEOS}).every(v => !v.paused)")

    # a take that strays (a stall, a slow decoder) is put back on the leading take's clock
    strayed = noah.evaluate("() => { const [lead, other] = " + VIDEOS + ";"
                            " other.currentTime = lead.currentTime + 1.5;"
                            " return other.currentTime - lead.currentTime; }")
    assert strayed > 1
    # soon, well before either take ends (where two clocks would meet anyway)
    wait_for_videos(noah, f"!videos[1].seeking && Math.abs(videos[1].currentTime - "
                          f"videos[0].currentTime) < {IN_SYNC}", "the straying take put back",
                    timeout=2_000)
    assert max(clocks(noah)) < SECONDS - 1

    # the scrub bar to its middle, as a drag would leave it
    noah.locator("[data-role=scrub]").evaluate(
        "bar => { bar.value = '500'; bar.dispatchEvent(new Event('input')); }")
    middle = SECONDS / 2
    wait_for_videos(noah, f"videos.every(v => !v.seeking && v.currentTime >= {middle - 0.1})",
                    "both takes at the middle")
    scrubbed = clocks(noah)
    assert all(middle - 0.1 <= t < middle + 1 for t in scrubbed), scrubbed
    assert abs(scrubbed[0] - scrubbed[1]) < IN_SYNC, scrubbed

    noah.get_by_role("button", name="Pause all").click()
    assert section.get_attribute("data-playing") == "false"
    assert noah.evaluate(f"Array.from({VIDEOS}).every(v => v.paused)")
    paused = clocks(noah)
    assert all(t >= middle - 0.1 for t in paused) and abs(paused[0] - paused[1]) < IN_SYNC, paused
    noah.wait_for_timeout(300)
    assert clocks(noah) == paused, "a take kept playing after Pause all"

    (ARTIFACTS / "compare-takes.png").unlink(missing_ok=True)
    assert screenshot(noah, "compare-takes.png").stat().st_size > 10_000

    # back on the project's page: a star, posted without reloading, kept for noah alone
    starred, chosen = takes
    noah.get_by_role("link", name=f"Back to {PROJECT}").click()
    noah.wait_for_url(f"**/projects/{stack.project}/")
    noah.evaluate("window.__marker = 1")
    assert star_button(noah, starred).text_content() == "☆ Star"
    star_button(noah, starred).click()
    noah.wait_for_function(
        "job => document.querySelector(`.tile[data-job='${job}'] form[data-role=star] button`)"
        ".textContent === '★ Starred'", arg=starred)
    assert noah.evaluate("window.__marker") == 1, "the page reloaded to star"
    noah.reload()
    assert star_button(noah, starred).text_content() == "★ Starred"
    assert star_button(noah, starred).get_attribute("aria-pressed") == "true"
    assert star_button(noah, chosen).text_content() == "☆ Star"

    maya.goto(f"/jobs/{starred}/")
    mine = maya.locator("[data-role=job-actions] form[data-role=star] button")
    assert mine.text_content() == "☆ Star" and mine.get_attribute("aria-pressed") == "false"
    maya.goto(f"/projects/{stack.project}/")
    assert star_button(maya, starred).text_content() == "☆ Star"

    # noah settles on the other take
    noah.goto(compare_url)
    noah.locator(f'figure[data-job="{chosen}"]').get_by_role(
        "button", name="Choose this take").click()
    noah.wait_for_url(f"**/projects/{stack.project}/")
    link = noah.locator("p.context [data-role=chosen]")
    assert link.text_content() == f"Job {chosen}"
    assert link.get_attribute("href") == f"/jobs/{chosen}/"
    assert "is now the chosen take of" in noah.get_by_role("main").text_content()
    maya.reload()
    assert maya.locator("p.context [data-role=chosen]").get_attribute("href") == f"/jobs/{chosen}/"
    maya.context.close()
    noah.context.close()
