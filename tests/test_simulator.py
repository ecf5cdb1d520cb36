"""The ShortAPI simulator, spoken to over real HTTP the way the app speaks to ShortAPI."""

import base64
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import av
import pytest
import requests
from PIL import Image, ImageStat

from jobs import catalogue
from simulator.server import start_in_thread

KEY = "test-key"
KLING_26 = "kwaivgi/kling-2.6/image-to-video"
KLING_30 = "kwaivgi/kling-3.0/image-to-video"
RED, BLUE = (220, 20, 20), (20, 20, 220)
FRAME = 1 / 12


def image_bytes(colour=RED, size=(640, 360), fmt="PNG"):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


def data_uri(colour=RED, fmt="PNG"):
    encoded = base64.b64encode(image_bytes(colour, fmt=fmt)).decode()
    return f"data:image/{fmt.lower()};base64,{encoded}"


def kling_26_args(**overrides):
    return {"mode": "pro", "prompt": "A slow pan", "duration": "5", "image": data_uri(),
            "generate_audio": False, **overrides}


def kling_30_args(**overrides):
    return {"mode": "std", "prompt": "A slow pan", "duration": "3", "multi_shot": False,
            "image": data_uri(), **overrides}


@pytest.fixture
def sim(tmp_path):
    running = start_in_thread(key=KEY, media_dir=tmp_path / "media", pending_seconds=0.2,
                              processing_seconds=0.3)
    yield running
    running.stop()


class Receiver:
    """A tiny HTTP server that records POSTs (callbacks) and serves files (image URLs)."""

    def __init__(self):
        self.posts = []
        self.files = {}
        self.answers = []
        self.posted = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.posts.append(json.loads(body))
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.posted.set()

            def do_GET(self):
                content = receiver.files.get(self.path)
                self.send_response(200 if content else 404)
                self.send_header("Content-Length", str(len(content or b"")))
                self.end_headers()
                self.wfile.write(content or b"")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def create(sim, model, args, key=KEY, **extra):
    body = {"model": model, "args": args, **extra}
    return requests.post(f"{sim.url}/api/v1/job/create", json=body,
                         headers={"Authorization": f"Bearer {key}"}, timeout=10)


def query(sim, job_id):
    response = requests.get(f"{sim.url}/api/v1/job/query", params={"id": job_id},
                            headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
    return response


def created_job(sim, model=KLING_30, args=None, **extra):
    response = create(sim, model, args or kling_30_args(), **extra)
    assert response.status_code == 200, response.text
    return response.json()["data"]["job_id"]


def wait_until_finished(sim, job_id, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = query(sim, job_id).json()["data"]
        if data["status"] >= 2:
            return data
        time.sleep(0.03)
    raise AssertionError(f"job {job_id} did not finish within {timeout} s")


def stats(sim):
    return requests.get(f"{sim.url}/_simulator/stats", headers={"Authorization": f"Bearer {KEY}"},
                        timeout=10).json()


def downloaded_video(url):
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "video/mp4"
    return av.open(io.BytesIO(response.content))


def mean_colour(frame):
    return ImageStat.Stat(frame.to_image()).mean


@pytest.mark.parametrize("key", ["wrong-key", ""])
def test_it_rejects_a_wrong_or_missing_key(sim, key):
    response = create(sim, KLING_30, kling_30_args(), key=key)

    assert response.status_code == 401
    assert response.json()["code"] == 401
    assert stats(sim)["created"] == 0


def test_it_rejects_a_query_with_a_wrong_key(sim):
    job_id = created_job(sim)

    response = requests.get(f"{sim.url}/api/v1/job/query", params={"id": job_id},
                            headers={"Authorization": "Bearer nope"}, timeout=10)

    assert response.status_code == 401


def test_it_rejects_a_body_that_is_not_json(sim):
    response = requests.post(f"{sim.url}/api/v1/job/create", data=b"{not json",
                             headers={"Authorization": f"Bearer {KEY}"}, timeout=10)

    assert response.status_code == 400
    assert response.json()["code"] == 400
    assert response.json()["message"]


def test_it_rejects_what_the_catalogue_rejects_and_says_why(sim):
    args = kling_26_args(duration="7")

    response = create(sim, KLING_26, args)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 400 and body["data"] is None
    expected = catalogue.check_args(KLING_26, args)
    assert expected and body["message"] == " ".join(problem.message for problem in expected)
    assert stats(sim)["created"] == 0


@pytest.mark.parametrize("arg, named", [("image", "start frame"), ("image_tail", "end frame")])
def test_it_rejects_an_image_it_cannot_read_and_names_it(sim, arg, named):
    not_an_image = base64.b64encode(b"this is not an image at all").decode()

    response = create(sim, KLING_30, kling_30_args(**{arg: not_an_image}))

    assert response.status_code == 400
    assert named in response.json()["message"]
    assert stats(sim)["created"] == 0


def test_it_rejects_an_image_url_that_does_not_answer_with_an_image(sim, receiver):
    response = create(sim, KLING_30, kling_30_args(image=f"{receiver.url}/missing.png"))

    assert response.status_code == 400
    assert "start frame" in response.json()["message"]


@pytest.mark.parametrize("model, args, amount", [
    (KLING_30, kling_30_args(mode="std", duration="5", generate_audio=True), "1.070"),
    (KLING_30, kling_30_args(mode="pro", duration="15"), "2.850"),
    (KLING_26, kling_26_args(duration="10", generate_audio=False), "0.600"),
    (KLING_26, kling_26_args(duration="5", generate_audio=True), "0.600"),
])
def test_it_charges_what_the_price_table_says(sim, model, args, amount):
    response = create(sim, model, args)

    assert response.status_code == 200
    assert response.json()["code"] == 0
    assert response.json()["data"]["amount"] == amount


def test_job_ids_are_unguessable_and_distinct(sim):
    first, second = created_job(sim), created_job(sim)

    assert first != second
    assert len(first) >= 32


def test_a_job_goes_from_pending_to_processing_to_succeeded(sim):
    job_id = created_job(sim)
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not seen or seen[-1] != 2):
        data = query(sim, job_id).json()["data"]
        if not seen or seen[-1] != data["status"]:
            seen.append(data["status"])
        time.sleep(0.02)

    assert seen == [0, 1, 2]
    assert data["result"]["images"][0]["url"] == f"{sim.url}/files/{job_id}.mp4"


def test_it_answers_404_for_an_unknown_job(sim):
    response = query(sim, "0" * 32)

    assert response.status_code == 404
    assert response.json() == {"code": 404, "message": "job not found", "data": None}


def test_the_result_is_an_h264_mp4_of_the_requested_length(sim):
    job_id = created_job(sim, args=kling_30_args(duration="4"))

    video = downloaded_video(wait_until_finished(sim, job_id)["result"]["images"][0]["url"])

    assert video.streams.video[0].codec_context.name == "h264"
    assert abs(video.duration / av.time_base - 4) <= FRAME
    width, height = video.streams.video[0].width, video.streams.video[0].height
    assert (width, height) == (640, 360)


def test_audio_adds_an_aac_track_of_the_same_length(sim):
    job_id = created_job(sim, args=kling_30_args(generate_audio=True))

    video = downloaded_video(wait_until_finished(sim, job_id)["result"]["images"][0]["url"])

    audio = video.streams.audio[0]
    assert audio.codec_context.name == "aac"
    assert abs(float(audio.duration * audio.time_base) - 3) <= FRAME


def test_the_end_frame_becomes_the_last_frame(sim):
    args = kling_30_args(image=data_uri(RED), image_tail=data_uri(BLUE))
    job_id = created_job(sim, args=args)

    video = downloaded_video(wait_until_finished(sim, job_id)["result"]["images"][0]["url"])
    frames = list(video.decode(video=0))

    first, last = mean_colour(frames[0]), mean_colour(frames[-1])
    assert first[0] > 150 and first[2] < 80
    assert last[2] > 150 and last[0] < 80


def test_each_storyboard_shot_looks_different(sim):
    args = kling_30_args(multi_shot=True, shot_type="customize", prompt="",
                         multi_prompt=[{"prompt": "one", "duration": 2},
                                       {"prompt": "two", "duration": 1}])
    job_id = created_job(sim, args=args)

    video = downloaded_video(wait_until_finished(sim, job_id)["result"]["images"][0]["url"])
    frames = list(video.decode(video=0))

    assert len(frames) == 36
    shot_one, shot_two = mean_colour(frames[12]), mean_colour(frames[30])
    assert max(abs(a - b) for a, b in zip(shot_one, shot_two)) > 30


@pytest.mark.parametrize("args", [
    kling_30_args(prompt="A pan [simulate-failure]"),
    kling_30_args(multi_shot=True, shot_type="customize", prompt="",
                  multi_prompt=[{"prompt": "fine", "duration": 1},
                                {"prompt": "[simulate-failure]", "duration": 2}]),
])
def test_the_fail_marker_fails_the_job_and_refunds_it(sim, args):
    job_id = created_job(sim, args=args)

    data = wait_until_finished(sim, job_id)

    assert data["status"] == 3
    assert data["refunded"] is True
    assert data["error"] == ("The simulator failed this job because its prompt contains "
                             "[simulate-failure].")
    assert "result" not in data


def callbacks_counted(sim, job_id, expected, timeout=5):
    """The simulator's count of a job's delivered callbacks, once it reaches `expected` or the
    time runs out: it counts a callback only after the receiver has answered it."""
    deadline = time.monotonic() + timeout
    while (count := stats(sim)["jobs"][job_id]["callbacks_sent"]) < expected \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    return count


def test_it_posts_a_callback_when_the_job_finishes(sim, receiver):
    job_id = created_job(sim, callback_url=f"{receiver.url}/callback/secret-token")

    assert receiver.posted.wait(10)

    [payload] = receiver.posts
    assert payload["job_id"] == job_id
    assert payload["status"] == 2
    assert payload["result"]["images"][0]["url"] == f"{sim.url}/files/{job_id}.mp4"
    assert callbacks_counted(sim, job_id, 1) == 1


def test_it_retries_a_callback_that_failed_with_a_server_error(sim, receiver):
    receiver.answers = [503]
    job_id = created_job(sim, callback_url=f"{receiver.url}/callback")

    deadline = time.monotonic() + 10
    while len(receiver.posts) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)

    assert [post["job_id"] for post in receiver.posts] == [job_id, job_id]
    assert callbacks_counted(sim, job_id, 1) == 1


def test_stats_count_what_was_created_and_charged(sim):
    created_job(sim, KLING_30, kling_30_args(mode="std", duration="5", generate_audio=True))
    job_id = created_job(sim, KLING_26, kling_26_args(duration="10"))
    create(sim, KLING_26, kling_26_args(duration="7"))

    body = stats(sim)

    assert body["created"] == 2
    assert body["charged"] == "1.670"
    assert body["jobs"][job_id]["amount"] == "0.600"
    assert body["jobs"][job_id]["model"] == KLING_26


def test_stats_need_the_key(sim):
    response = requests.get(f"{sim.url}/_simulator/stats", timeout=10)

    assert response.status_code == 401


@pytest.mark.parametrize("transport", ["url", "data-uri", "base64", "jpeg-data-uri"])
def test_it_reads_a_start_frame_however_it_travels(sim, receiver, transport):
    receiver.files["/start.png"] = image_bytes(RED)
    image = {
        "url": f"{receiver.url}/start.png",
        "data-uri": data_uri(RED),
        "base64": base64.b64encode(image_bytes(RED)).decode(),
        "jpeg-data-uri": data_uri(RED, fmt="JPEG"),
    }[transport]
    job_id = created_job(sim, args=kling_30_args(image=image))

    video = downloaded_video(wait_until_finished(sim, job_id)["result"]["images"][0]["url"])

    first = mean_colour(next(video.decode(video=0)))
    assert first[0] > 150 and first[2] < 80


def test_it_reads_element_images_and_rejects_a_bad_one(sim):
    good = {"frontal_image_url": data_uri(BLUE), "reference_image_urls": [data_uri(RED)]}
    bad = {"frontal_image_url": data_uri(BLUE), "reference_image_urls": ["bm9wZQ=="]}

    assert create(sim, KLING_30, kling_30_args(elements=[good])).status_code == 200
    response = create(sim, KLING_30, kling_30_args(elements=[good, bad]))

    assert response.status_code == 400
    assert "reference image 1 of element 2" in response.json()["message"]


def test_the_video_file_serves_byte_ranges_so_browsers_can_seek(sim):
    job_id = created_job(sim)
    url = wait_until_finished(sim, job_id)["result"]["images"][0]["url"]
    whole = requests.get(url, timeout=10).content

    part = requests.get(url, headers={"Range": "bytes=100-199"}, timeout=10)
    tail = requests.get(url, headers={"Range": "bytes=-50"}, timeout=10)
    beyond = requests.get(url, headers={"Range": f"bytes={len(whole)}-"}, timeout=10)

    assert part.status_code == 206
    assert part.content == whole[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(whole)}"
    assert tail.status_code == 206 and tail.content == whole[-50:]
    assert beyond.status_code == 416


def test_an_unknown_video_file_is_404(sim):
    response = requests.get(f"{sim.url}/files/{'a' * 32}.mp4", timeout=10)

    assert response.status_code == 404
