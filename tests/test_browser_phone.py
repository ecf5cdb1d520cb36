"""Every page on a phone, in real Chromium against the whole stack (web, qcluster, simulator):
at 390 and 320 px wide, with touch, a person signs in, makes a video from the composer by
tapping, follows it to finished on its page and visits every page they and staff reach. On each
page nothing scrolls sideways, its main button is the thing under a finger at its centre, every
control is at least 44 × 44 px, and axe-core finds nothing serious or critical. A few pages are
also checked in landscape, and the menu without JavaScript. Screenshots go to
test-artifacts/phone/.
"""

import re
import time

import pytest

from jobs import catalogue
from tests.browser import screenshot, sign_in, wide_file  # noqa: F401 (a fixture)
from tests.conftest import image_bytes
from tests.stack import Stack, csrf_token, submit, wait_until_finished

pytestmark = pytest.mark.browser

JOB_URL = re.compile(r"/jobs/(\d+)/$")
PROJECT = "Lighthouse film"
TEAM = "Harbour crew"
TALL = 844
# controls a finger must hit; a text link inside a sentence is exempt (WCAG 2.5.8)
CONTROLS = ("button, .button, select, summary, textarea, input:not([type=hidden]), "
            "nav[aria-label=Main] a, .pager a, .takes a, .shot-links a, td a")
# the box a finger hits for a control: a checkbox's or radio's is its label's
TARGETS = """selector => Array.from(document.querySelectorAll(selector)).flatMap(el => {
    const target = (el.type === 'checkbox' || el.type === 'radio' || el.type === 'file')
        && el.closest('label') || el;
    const box = target.getBoundingClientRect();
    const style = getComputedStyle(target);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden') return [];
    if (box.width >= 44 - 0.5 && box.height >= 44 - 0.5) return [];
    return [`${target.tagName.toLowerCase()} “${(target.textContent || target.name || '')
        .trim().slice(0, 40)}” ${Math.round(box.width)}×${Math.round(box.height)}`];
})"""


@pytest.fixture(scope="module")
def stack(browser, tmp_path_factory):
    """A team's project with two finished takes in it, a sequence of them and a draft, budgets
    for the person and the team, and an API token, so that every page has something to show."""
    stack = Stack(tmp_path_factory.mktemp("phone-stack"), "embedded", callbacks=True).start()
    stack.project = int(stack.manage("shell", "--no-imports", "-c", (
        "from django.contrib.auth.models import User; from teams.models import Project, Team;"
        "from spend.models import Budget;"
        f"team = Team.objects.create(name='{TEAM}');"
        "team.members.set(User.objects.filter(username__in=['maya', 'noah']));"
        "Budget.objects.create(team=team, amount='40');"
        "Budget.objects.create(user=User.objects.get(username='maya'), amount='25');"
        "from api import tokens; tokens.issue(User.objects.get(username='maya'), 'Render script');"
        f"print(Project.objects.create(name='{PROJECT}', team=team).pk)")).stdout)
    session = stack.session("maya")
    fields = {"model": catalogue.DEFAULT_MODEL, "mode": "pro", "duration": "5",
              "prompt": "Gulls over the harbour at noon, the lighthouse beyond",
              "project": str(stack.project), "takes": "2"}
    first = submit(stack, session, fields,
                   {"start_frame": ("gulls.png", image_bytes(640, 360), "image/png")})
    wait_until_finished(session, first.url)
    stack.job = int(JOB_URL.search(first.url).group(1))
    stack.takes = [job["id"] for job in stack.jobs()]
    for job in stack.takes:
        wait_until_finished(session, f"{stack.url}/jobs/{job}/")
        page = session.get(f"{stack.url}/jobs/{job}/")
        session.post(stack.url + "/sequences/add/", headers={"Referer": stack.url},
                     data={"csrfmiddlewaretoken": csrf_token(page.text), "job": job,
                           "sequence": "new" if job == stack.takes[0] else "1",
                           "name": "Harbour cut"})
    page = session.get(stack.url + "/jobs/new/")
    session.post(stack.url + "/drafts/save/", headers={"Referer": stack.url},
                 data={"csrfmiddlewaretoken": csrf_token(page.text), **fields,
                       "prompt": "A storm rolls in over the harbour", "takes": "1"})
    stack.draft = next(job["id"] for job in stack.jobs() if job["status"] == "draft")
    # a webhook endpoint with a failed try to show (made directly: nothing is sent to it)
    stack.endpoint = int(stack.manage("shell", "--no-imports", "-c", (
        "from datetime import timedelta; from django.contrib.auth.models import User;"
        "from django.utils import timezone;"
        "from webhooks.models import Attempt, Delivery, Endpoint;"
        "endpoint = Endpoint.objects.create(owner=User.objects.get(username='maya'),"
        " url='https://hooks.example.invalid/kling', events=['export.ready']);"
        "delivery = Delivery.objects.create(endpoint=endpoint, event='export.ready', body='{}',"
        " next_attempt_at=timezone.now() + timedelta(days=1), attempts=1);"
        "Attempt.objects.create(delivery=delivery, number=1, started_at=timezone.now(),"
        " status_code=500, error='The receiver answered HTTP 500, not a 2xx success.',"
        " answer='Internal Server Error');"
        "print(endpoint.pk)")).stdout)
    # a copy of the draft waiting for approval, for the approvers' queue
    stack.manage("shell", "-c", (
        f"from jobs.models import Job; job = Job.objects.get(pk={stack.draft}); job.pk = None;"
        "job.callback_token = Job._meta.get_field('callback_token').get_default();"
        "job.status = Job.Status.WAITING; job.save()"))
    yield stack
    stack.stop()


def phone(browser, stack, width, height=TALL, **options):
    context = browser.new_context(base_url=stack.url, viewport={"width": width, "height": height},
                                  has_touch=True, is_mobile=True, device_scale_factor=1,
                                  **options)
    context.set_default_timeout(15_000)
    return context.new_page()


def axe_problems(page):
    """The serious and critical violations axe-core finds on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            + "; ".join(" ".join(node["target"]) for node in v["nodes"][:4])
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def tappable(page, button, touch=True):
    """`button` is the element a tap (or a click) at its centre lands on: nothing lies over
    it."""
    button.scroll_into_view_if_needed()
    (button.tap if touch else button.click)(trial=True)
    return button.evaluate("""el => {
        const box = el.getBoundingClientRect();
        const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
        return hit === el || el.contains(hit);
    }""")


def check_page(page, name, primary, width, touch=True):
    """What is wrong with the page on a phone `width` wide: anything sideways, the main button
    out of reach, targets too small (both only for our pages: `primary` None for Django's admin),
    serious axe findings; a screenshot for people to look at."""
    page.wait_for_load_state("load")
    screenshot(page, f"phone/{width}-{name}.png")
    wrong = []
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > width:
        wrong.append(f"the page is {wide} px wide")
    if primary and not tappable(page, page.locator(primary).first, touch):
        wrong.append(f"something lies over {primary}")
    if primary and (small := page.evaluate(TARGETS, CONTROLS)):
        wrong.append(f"targets under 44 × 44 px: {small}")
    wrong += axe_problems(page)
    return [f"{name} at {width} px: {problem}" for problem in wrong]


def make_video_by_tapping(page, stack, frame):
    """From the menu to a finished video, by tapping, as on a phone."""
    page.get_by_text("Menu").tap()
    menu = page.get_by_role("navigation", name="Main")
    menu.get_by_role("link", name="New video").tap()
    page.wait_for_url(stack.url + "/jobs/new/")
    assert page.locator("#id_start_frame").get_attribute("accept") == "image/*"
    page.fill("#id_title", "Lighthouse from a phone")
    page.select_option("#id_project", str(stack.project))
    # the team's standing beside the person's once a team's project is picked
    team = page.locator("[data-role=team-budget][data-team]:not([hidden])")
    assert TEAM in team.text_content()
    page.fill("#id_prompt", "The lighthouse beam sweeps across the bay at dusk")
    page.set_input_files("#id_start_frame", str(frame))
    make = page.get_by_role("button", name="Make video")
    # the estimate and the button are in view together, without scrolling to the end
    page.locator("#id_prompt").scroll_into_view_if_needed()
    assert page.locator("[data-role=estimate]").is_visible()
    assert tappable(page, make)
    make.tap()
    page.wait_for_url(JOB_URL)
    page.wait_for_function("() => document.querySelector('[data-role=status]')"
                           ".textContent.trim() === 'Succeeded'", timeout=40_000)
    page.locator("[data-role=download]").wait_for()
    return int(JOB_URL.search(page.url).group(1))


def pages(stack):
    """Every page a signed-in person reaches, as (name, address, its main button)."""
    compare = "&".join(f"jobs={take}" for take in stack.takes)
    return [
        ("gallery", "/", "main .heading .button:not(.secondary)"),
        ("composer", "/jobs/new/", "button:text-is('Make video')"),
        ("drafts", "/drafts/", "[data-draft] button:text-is('Submit')"),
        ("draft", f"/drafts/{stack.draft}/", "button:text-is('Make video')"),
        ("projects", "/projects/", "[data-role=new-project] button"),
        ("project", f"/projects/{stack.project}/", "main .heading .button"),
        ("sequences", "/sequences/", "[data-role=new-sequence] button"),
        ("sequence", "/sequences/1/", "[data-role=export-button]"),
        ("compare", f"/compare/?{compare}", "[data-role=play]"),
        ("my-spend", "/spend/", "summary:text-is('Menu')"),
        ("settings", "/settings/", "main button:text-is('Save')"),
        ("webhooks", "/settings/webhooks/", "[data-role=new-endpoint] button"),
        ("webhook", f"/settings/webhooks/{stack.endpoint}/", "[data-role=events] button"),
        ("api-tokens", "/settings/tokens/", "[data-role=new-token-form] button"),
        ("remix-from-file", "/remix-from-file/", "main form button"),
        ("takes-job", f"/jobs/{stack.takes[0]}/", "[data-role=download]"),
    ]


@pytest.fixture
def frame(tmp_path):
    path = tmp_path / "lighthouse.png"
    path.write_bytes(image_bytes(800, 450, (40, 60, 110)))
    return path


@pytest.mark.parametrize("width", [390, 320])
def test_every_page_fits_a_phone_and_a_video_is_made_by_tapping(browser, stack, frame, width):
    page = phone(browser, stack, width)
    page.goto("/accounts/login/")
    wrong = check_page(page, "sign-in", "main button:text-is('Sign in')", width)
    sign_in(page, stack, "maya", tap=True)
    make_video_by_tapping(page, stack, frame)
    wrong += check_page(page, "job", "[data-role=download]", width)

    for name, url, primary in pages(stack):
        page.goto(url)
        wrong += check_page(page, name, primary, width)

    # the composer with a storyboard of three shots and an element, by tapping
    page.goto("/jobs/new/")
    for label in ("Kling 3.0", "Multi-shot", "Custom storyboard"):
        page.get_by_label(label).tap()
    page.get_by_role("button", name="Add shot").tap()
    page.get_by_role("button", name="Add shot").tap()
    page.get_by_role("button", name="Add element").tap()
    assert page.locator("#shots [data-role=row]").count() == 3
    wrong += check_page(page, "composer-storyboard", "button:text-is('Make video')", width)

    # the menu opens over the page, and its links are thumb-sized
    page.goto("/")
    page.get_by_text("Menu").tap()
    menu = page.get_by_role("navigation", name="Main")
    assert menu.is_visible()
    assert tappable(page, menu.get_by_role("link", name="Sequences"))
    screenshot(page, f"phone/{width}-menu-open.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.context.close()

    staff = phone(browser, stack, width)
    sign_in(staff, stack, "ada", tap=True)
    staff.goto("/admin/spend/")
    wrong += check_page(staff, "spend-review", "main form.range button", width)
    staff.goto("/approvals/")
    wrong += check_page(staff, "approvals", "[data-approval] button:text-is('Approve')", width)
    # Django's own admin: its layout and targets are Django's, but it must fit and pass axe
    staff.goto("/admin/")
    wrong += check_page(staff, "admin", None, width)
    staff.context.close()
    assert not wrong, "\n".join(wrong)


def test_pages_fit_a_phone_in_landscape(browser, stack):
    page = phone(browser, stack, TALL, 390)
    sign_in(page, stack, "maya", tap=True)
    compare = "&".join(f"jobs={take}" for take in stack.takes)
    wrong = []
    for name, url, primary in [("gallery", "/", "main .heading .button:not(.secondary)"),
                               ("composer", "/jobs/new/", "button:text-is('Make video')"),
                               ("compare", f"/compare/?{compare}", "[data-role=play]"),
                               ("sequence", "/sequences/1/", "[data-role=export-button]"),
                               ("my-spend", "/spend/", "summary:text-is('Menu')")]:
        page.goto(url)
        wrong += check_page(page, "landscape-" + name, primary, TALL)
    page.context.close()
    assert not wrong, "\n".join(wrong)


def test_the_same_pages_on_a_desktop_have_no_serious_accessibility_problems(browser, stack):
    page = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900}).new_page()
    wrong = []
    sign_in(page, stack, "maya")
    for name, url, primary in pages(stack):
        if primary.startswith("summary"):
            primary = "nav[aria-label=Main] a.button"  # no menu button: the links are shown
        page.goto(url)
        wrong += check_page(page, "desktop-" + name, primary, 1280, touch=False)
    page.context.close()
    assert not wrong, "\n".join(wrong)


def test_the_menu_works_without_javascript(browser, stack):
    page = phone(browser, stack, 390, java_script_enabled=False)
    sign_in(page, stack, "maya", tap=True)
    nav = page.get_by_role("navigation", name="Main")
    assert not nav.is_visible()
    page.get_by_text("Menu").tap()
    assert nav.is_visible()
    nav.get_by_role("link", name="My spend").tap()
    page.wait_for_url(stack.url + "/spend/")
    page.context.close()

    # on a wide screen the links are simply there, in a row
    desk = browser.new_context(base_url=stack.url, viewport={"width": 1280, "height": 900},
                               java_script_enabled=False).new_page()
    sign_in(desk, stack, "maya")
    nav = desk.get_by_role("navigation", name="Main")
    assert nav.is_visible() and desk.get_by_text("Menu").is_hidden()
    links = nav.get_by_role("link").evaluate_all("links => links.map(a => a.offsetTop)")
    assert len(set(links)) == 1, links  # one row
    desk.context.close()


def finger_drag(page, locator, dx):
    """A one-finger drag, as a touch screen sends it (touchstart, touchmove, touchend)."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    touch = page.context.new_cdp_session(page)
    touch.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 9):
        touch.send("Input.dispatchTouchEvent",
                   {"type": "touchMove", "touchPoints": [{"x": x + dx * step / 8, "y": y}]})
    touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    touch.detach()


def test_the_crop_box_follows_a_finger_on_a_phone(browser, stack, wide_file):
    page = phone(browser, stack, 390)
    sign_in(page, stack, "maya", tap=True)
    page.goto("/jobs/new/")
    field = page.locator("#field-start_frame")
    page.set_input_files("#id_start_frame", str(wide_file))
    page.wait_for_function("() => !document.querySelector('#field-start_frame [data-role=fit]')"
                           ".hidden")
    page.select_option("#id_start_frame_fit_ratio", "16:9")
    crop_box = field.locator("[data-role=crop-box]")
    assert crop_box.evaluate("box => getComputedStyle(box).touchAction") == "none"
    assert page.input_value("[name=start_frame_fit_x]") == "306"  # centred

    finger_drag(page, crop_box, -400)  # as far left as it goes, and the page does not scroll
    assert page.input_value("[name=start_frame_fit_x]") == "0"
    box, preview = crop_box.bounding_box(), field.locator("[data-role=preview]").bounding_box()
    assert box["x"] == pytest.approx(preview["x"], abs=2)
    wrong = check_page(page, "composer-crop", "button:text-is('Make video')", 390)
    assert not wrong, "\n".join(wrong)
    page.context.close()



def test_an_exported_sequence_is_remixed_from_a_phone(browser, stack, tmp_path):
    """Export the sequence, bring its file back on a phone, pick the second take by tapping."""
    session = stack.session("maya")
    page = session.get(stack.url + "/sequences/1/")
    session.post(stack.url + "/sequences/1/export/", headers={"Referer": stack.url},
                 data={"csrfmiddlewaretoken": csrf_token(page.text)})
    for _ in range(300):
        state = session.get(stack.url + "/sequences/1/export/status/").json()
        if not state["running"]:
            break
        time.sleep(0.2)
    assert state["status"] == "done", (state, stack.log("free")[-2000:])
    exported = tmp_path / "harbour-cut.mp4"
    exported.write_bytes(session.get(stack.url + "/sequences/1/export/video/?download=1").content)

    phone_page = phone(browser, stack, 390)
    sign_in(phone_page, stack, "maya", tap=True)
    phone_page.goto("/remix-from-file/")
    phone_page.set_input_files("#id_video", str(exported))
    phone_page.locator("main form button").tap()
    phone_page.locator("[data-role=remix-takes]").wait_for()
    assert check_page(phone_page, "remix-pick", "[data-role=remix-take] >> nth=1", 390) == []
    assert phone_page.locator("[data-role=remix-take]").count() == 2
    phone_page.locator("[data-role=remix-take]").nth(1).tap()
    phone_page.wait_for_url(stack.url + "/remix-from-file/")
    assert phone_page.locator("#id_prompt").input_value().startswith("Gulls over the harbour")
    phone_page.context.close()
