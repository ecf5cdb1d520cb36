"""A sequence exported over real HTTP: two videos made through the composer, the simulator and a
real qcluster, put in a sequence and trimmed on its page, exported by a worker while the page's
status address reports progress, then played and downloaded by its maker and nobody else."""

import io
import re
import time

import av
import pytest

from jobs.recipes import read_recipe
from tests.conftest import image_bytes
from tests.stack import Stack, csrf_token, submit, wait_until_finished

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack = Stack(tmp_path_factory.mktemp("sequence-stack"), "embedded", callbacks=True).start()
    yield stack
    stack.stop()


def post(stack, session, path, data, page=None):
    """Post a form of ours as a browser would, with the CSRF token of the page it is on."""
    page = page or session.get(stack.url + "/sequences/")
    return session.post(stack.url + path, data={"csrfmiddlewaretoken": csrf_token(page.text),
                                                **data}, headers={"Referer": stack.url})


def make_video(stack, session, size, audio, duration):
    fields = {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
              "duration": str(duration), "prompt": f"A {size[0]}x{size[1]} harbour"}
    if audio:
        fields["generate_audio"] = "on"
    frame = ("frame.png", image_bytes(*size, (40, 90, 160)), "image/png")
    job_page = submit(stack, session, fields, {"start_frame": frame})
    state, seen = wait_until_finished(session, job_page.url)
    assert state["status"] == "succeeded" and state["kept"], (state, seen)
    return int(re.search(r"/jobs/(\d+)/", job_page.url).group(1))


def test_a_sequence_is_exported_by_a_worker_and_followed_to_a_playable_video(stack):
    maya = stack.session("maya")
    wide = make_video(stack, maya, (800, 450), audio=True, duration=5)
    tall = make_video(stack, maya, (450, 800), audio=False, duration=5)

    made = post(stack, maya, "/sequences/", {"name": "Harbour reel", "project": ""})
    sequence_url = made.url
    assert re.fullmatch(rf"{stack.url}/sequences/\d+/", sequence_url), made.text[:2000]
    for job in (wide, tall):
        sequence_id = sequence_url.rstrip("/").rsplit("/", 1)[1]
        added = post(stack, maya, "/sequences/add/", {"job": job, "sequence": sequence_id})
        assert added.status_code == 200 and added.url == sequence_url
    page = maya.get(sequence_url)
    takes = re.findall(r'data-take="(\d+)"', page.text)
    assert len(takes) == 2
    trimmed = post(stack, maya, f"{sequence_url.removeprefix(stack.url)}takes/{takes[1]}/trim/",
                   {f"take-{takes[1]}-trim_start": "1", f"take-{takes[1]}-trim_end": "3"},
                   page)
    assert trimmed.status_code == 200, trimmed.text[:3000]

    exported = post(stack, maya, f"{sequence_url.removeprefix(stack.url)}export/", {}, page)
    assert exported.status_code == 200
    assert "Exports cost nothing: nothing is sent to ShortAPI." in exported.text

    seen, deadline = [], time.monotonic() + 120
    while time.monotonic() < deadline:
        state = maya.get(sequence_url + "export/status/").json()
        seen.append((state["status"], state["progress"]))
        if not state["running"]:
            break
        time.sleep(0.2)
    assert state["status"] == "done", (state, seen, stack.log("free")[-3000:])
    assert state["progress"] == 100 and state["error"] == ""
    assert [progress for _, progress in seen] == sorted(progress for _, progress in seen)

    video = maya.get(sequence_url + "export/video/?download=1")
    assert video.status_code == 200
    assert re.fullmatch(r'attachment; filename="kling-studio-sequence-\d+-harbour-reel\.mp4"',
                        video.headers["Content-Disposition"])
    with av.open(io.BytesIO(video.content)) as container:
        picture, sound = container.streams.video[0], container.streams.audio[0]
        assert (picture.width, picture.height) == (640, 360)
        length = picture.duration * picture.time_base
        assert abs(length - 7) <= 1 / picture.average_rate  # 5 s, then 1 to 3 s of the tall one
        assert abs(sound.duration * sound.time_base - length) <= 1024 / sound.sample_rate
    assert read_recipe(io.BytesIO(video.content))["jobs"] == [wide, tall]
    assert 'data-role="download"' in maya.get(sequence_url).text

    noah = stack.session("noah")
    for suffix in ("", "export/status/", "export/video/"):
        assert noah.get(sequence_url + suffix).status_code == 404, suffix


@pytest.mark.browser
def test_in_a_browser_a_take_previews_its_trim_and_the_export_is_followed_to_its_video(
        browser, stack):
    from tests.browser import new_page, screenshot, sign_in

    maya = stack.session("maya")
    first = make_video(stack, maya, (800, 450), audio=True, duration=5)
    second = make_video(stack, maya, (600, 600), audio=False, duration=5)
    page = new_page(browser, stack)
    try:
        sign_in(page, stack, "maya")
        # add from My videos: "New sequence…" shows the field for its name
        tile = page.locator(f'li.tile[data-job="{first}"]')
        name = tile.locator("input[name=name]")
        tile.locator("select[name=sequence]").select_option("new")
        assert name.is_visible()
        name.fill("Browser reel")
        tile.get_by_role("button", name="Add to sequence").click()
        page.wait_for_load_state()
        tile = page.locator(f'li.tile[data-job="{second}"]')
        screenshot(page, "sequence-add.png")
        tile.locator("select[name=sequence]").select_option(label="Browser reel")
        assert not tile.locator("input[name=name]").is_visible()
        tile.get_by_role("button", name="Add to sequence").click()
        page.wait_for_load_state()
        page.goto("/sequences/")
        page.get_by_role("link", name="Browser reel").click()
        takes = page.locator("[data-take]")
        assert takes.count() == 2
        take = takes.nth(1)
        take.locator("[data-role=trim-start]").fill("1")
        take.locator("[data-role=trim-end]").fill("2")
        take.get_by_role("button", name="Save trim").click()
        page.wait_for_load_state()

        preview = page.locator("[data-take]").nth(1).locator("[data-role=take-preview]")
        played = preview.evaluate("""video => new Promise(resolve => {
            let latest = 0;
            video.muted = true;
            video.addEventListener("timeupdate", () => {
                latest = Math.max(latest, video.currentTime);
            });
            video.addEventListener("pause", () => setTimeout(
                () => resolve({latest, now: video.currentTime}), 100));
            video.play();
        })""")
        # it stops at the trim's end (within a few frames) and goes back to its start
        assert 1.7 <= played["latest"] <= 2.2 and abs(played["now"] - 1) < 0.05, played
        page.locator("[data-take]").nth(1).locator("[data-role=trim-start]").fill("1.5")
        assert abs(preview.evaluate("video => video.currentTime") - 1.5) < 0.05

        page.get_by_role("button", name="Export").click()
        page.wait_for_load_state()
        assert page.locator("[data-role=export-progress]").is_visible() or \
            page.locator("[data-role=download]").is_visible()
        page.locator("[data-role=download]").wait_for(timeout=120_000)
        assert page.locator("[data-role=export-status]").inner_text() == "Done"
        assert not page.locator("[data-role=export-progress]").is_visible()
        exported = page.locator("[data-role=export-player] video")
        length = exported.evaluate("""video => new Promise(resolve => {
            if (video.readyState >= 1) resolve(video.duration);
            video.addEventListener("loadedmetadata", () => resolve(video.duration));
        })""")
        assert abs(length - 6) < 0.2  # 5 s, then 1 to 2 s of the second take
        screenshot(page, "sequence.png")
    finally:
        page.context.close()


def test_an_export_waits_on_its_own_queue_and_never_holds_up_a_paid_job(stack):
    """With the workers of free work stopped, an export waits while a paid job is still sent,
    made and kept; once they run again, the export is made."""
    maya = stack.session("maya")
    first = make_video(stack, maya, (640, 360), audio=False, duration=5)
    made = post(stack, maya, "/sequences/", {"name": "Queue apart", "project": ""})
    sequence = made.url.removeprefix(stack.url)
    sequence_id = sequence.rstrip("/").rsplit("/", 1)[1]
    post(stack, maya, "/sequences/add/", {"job": first, "sequence": sequence_id})
    stack.stop_process("free")
    try:
        assert post(stack, maya, f"{sequence}export/", {}).status_code == 200
        assert maya.get(stack.url + sequence + "export/status/").json()["status"] == "queued"

        make_video(stack, maya, (640, 360), audio=False, duration=5)  # sent, made and kept

        assert maya.get(stack.url + sequence + "export/status/").json()["status"] == "queued"
    finally:
        stack.spawn("free", "manage.py", "qcluster",
                    env={"Q_CLUSTER_NAME": f"{stack.env['KLING_QUEUE_NAME']}-free"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = maya.get(stack.url + sequence + "export/status/").json()
        if not state["running"]:
            break
        time.sleep(0.3)
    assert state["status"] == "done", (state, stack.log("free")[-3000:])
