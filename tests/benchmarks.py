"""Benchmarks: measure and print figures, each as a ratio taken within one run, so machines of
different speeds can be compared. Not a test: nothing here passes or fails.

    .venv/bin/python -m tests.benchmarks

- keeping a video: peak Python memory while keeping a 256 MB video, as a share of its size,
  streamed into local storage and into an S3 bucket, against reading it into memory;
- upload checks: time to check (decode and rewrite) a 24-megapixel JPEG, per megapixel, and the
  peak memory of one check of the largest images allowed, against the bound uploads.py states;
- simulator rendering: seconds of work per second of video made;
- polling against callbacks: 100 queued jobs through a real stack (gunicorn, qcluster with its
  dispatcher, the simulator finishing each job in 4 s), end to end with the video kept, without
  callbacks against with them;
- pages: gallery, My spend, the spend review and the admin's job and ledger lists for 10,000 and
  100,000 jobs against 24, on SQLite and PostgreSQL (tests/bench_pages.py);
- callbacks: requests per second and p99 of the callback endpoint against a trivial view, with
  wrk, on the embedded default and PostgreSQL + Redis, and tasks queued per job;
- creates: 200 queued jobs reaching ShortAPI through the app against a plain loop;
- exports: peak memory of exporting a 15-take sequence against a 3-take one of the same takes;
- hostile input: memory of repeated staged references and of an upscale bomb against plain
  input, and the time to refuse a file built to reach FFmpeg's probe;
- the JSON API: one job and a page of jobs through a token against the pages beside them
  (tests/bench_api.py).
"""

import io
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

WORKDIR = Path(tempfile.mkdtemp(prefix="kling-bench-"))
os.environ.update({"KLING_VAR_DIR": str(WORKDIR), "DJANGO_SETTINGS_MODULE": "klingstudio.settings",
                   "LOG_LEVEL": "WARNING"})
for name in ("DATABASE_URL", "REDIS_URL", "SHORTAPI_KEY", "PUBLIC_BASE_URL"):
    os.environ.pop(name, None)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402
from PIL import Image  # noqa: E402

from jobs import uploads  # noqa: E402
from lib import downloads  # noqa: E402


def peak_memory(action):
    tracemalloc.start()
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, elapsed, result


def bench_download_memory():
    """Keeping a 256 MB video: peak Python memory as a share of its size, streamed into local
    storage and into an S3 bucket (moto's server), against reading it into memory."""
    from storages.backends.s3 import S3Storage

    from klingstudio.settings import s3_transfer_config

    from tests.stack import S3Server

    size = 256 * 1024 * 1024
    body = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * (size - 12)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for start in range(0, len(body), 1 << 20):
                self.wfile.write(body[start:start + (1 << 20)])

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/v.mp4"
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = ["127.0.0.1"]
    s3 = S3Server(WORKDIR).start()
    bucket = S3Storage(bucket_name=s3.BUCKET, endpoint_url=s3.url, region_name="us-east-1",
                       access_key=s3.CREDENTIALS["AWS_ACCESS_KEY_ID"],
                       secret_key=s3.CREDENTIALS["AWS_SECRET_ACCESS_KEY"], addressing_style="path",
                       transfer_config=s3_transfer_config())

    def in_memory():
        import requests

        return len(requests.get(url, timeout=60).content)

    figures = {}
    try:
        for name, keep in (("local storage", lambda: downloads.keep(url, "videos/b.mp4",
                                                                    max_bytes=size * 2)),
                           ("an S3 bucket", lambda: downloads.keep(url, "videos/b.mp4",
                                                                   max_bytes=size * 2,
                                                                   storage=bucket)),
                           ("memory", in_memory)):
            figures[name] = peak_memory(keep)
        assert bucket.size("videos/b.mp4") == size
    finally:
        s3.stop()
        server.shutdown()
    whole = figures["memory"][0]
    return [(f"keeping a 256 MB video: peak memory / size, streamed into {name}", peak / size)
            for name, (peak, _, _) in figures.items() if name != "memory"] + [
        ("keeping a 256 MB video: peak memory / size, read into memory", whole / size),
        ("keeping a 256 MB video: peak streamed into the bucket / read into memory",
         figures["an S3 bucket"][0] / whole),
        ("keeping a 256 MB video: peak MB streamed into the bucket (8 MB parts, a bounded "
         "buffer)", figures["an S3 bucket"][0] / 2**20),
    ]


def bench_upload_check():
    """Time per megapixel, and peak memory of one check of the largest allowed images, each in a
    fresh process (Pillow's pixels live outside Python's allocator, so they are measured as the
    process's peak resident size above what it used before the check)."""
    import subprocess

    rows = []
    data = _jpeg(6000, 4000)
    started = time.perf_counter()
    checked = uploads.check_upload(SimpleUploadedFile("big.jpg", data))
    elapsed = time.perf_counter() - started
    rows.append(("upload check: milliseconds per megapixel (24 MP JPEG, decoded and rewritten)",
                 elapsed * 1000 / 24))
    bound = 240
    # Linux: reset the peak (VmHWM) just before the check, read it just after
    child = """
import sys, django
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from jobs import uploads
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
data = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS:")
uploads.check_upload(SimpleUploadedFile("f", data))
print(status("VmHWM:") - before)
"""
    side = int((uploads.MAX_UPLOAD_PIXELS / 1.5) ** 0.5)
    for label, content in (("24 MP JPEG", data),
                           ("24 MP RGBA PNG", _png_rgba(int(side * 1.5), side))):
        path = WORKDIR / "upload-check-input"
        path.write_bytes(content)
        result = subprocess.run([sys.executable, "-c", child, str(path)], capture_output=True,
                                text=True, check=True, env={**os.environ})
        peak = float(result.stdout.strip().splitlines()[-1])
        rows.append((f"upload check: peak MB above baseline, {label}", peak))
        rows.append((f"upload check: peak / stated bound of {bound} MB, {label}", peak / bound))
    assert checked.width == uploads.MAX_SIDE
    return rows


def bench_simulator_render():
    from simulator import video

    start, end = Image.new("RGB", (1920, 1080), (200, 60, 40)), Image.new("RGB", (1920, 1080),
                                                                            (40, 60, 200))
    figures = []
    for seconds in (5, 15):
        began = time.perf_counter()
        video.render(WORKDIR / f"bench-{seconds}.mp4", start, seconds, end=end, audio=True)
        figures.append((f"simulator: render seconds per video second ({seconds} s video)",
                        (time.perf_counter() - began) / seconds))
    return figures


def bench_polling_against_callbacks(jobs=100):
    import sqlite3

    from tests.stack import Stack

    script = QUEUE_JOBS + "import time\nprint(time.time())\n"
    frame = WORKDIR / "bench-frame.png"
    frame.write_bytes(_png(640, 400))
    finished = {}
    for callbacks in (True, False):
        stack = Stack(Path(tempfile.mkdtemp(prefix="kling-bench-stack-")), "embedded",
                      callbacks=callbacks,
                      extra_env={"SIMULATOR_PENDING_SECONDS": "1",
                                 "SIMULATOR_PROCESSING_SECONDS": "3", "LOG_LEVEL": "WARNING"})
        stack.start()
        try:
            queued_at = float(stack.manage(
                "shell", "-c", script.replace("FRAME", repr(str(frame))).replace(
                    "JOBS", str(jobs))).stdout.split()[-1])
            database = sqlite3.connect(stack.workdir / "db.sqlite3", timeout=30)
            while True:
                done, = database.execute("SELECT count(*) FROM jobs_job WHERE status = "
                                         "'succeeded' AND video != ''").fetchone()
                if done == jobs:
                    finished[callbacks] = time.time() - queued_at
                    break
                if time.time() - queued_at > 600:
                    raise RuntimeError(f"only {done} of {jobs} jobs finished in 10 minutes")
                time.sleep(0.2)
            database.close()
        finally:
            stack.stop()
    return [
        (f"polling: seconds for {jobs} queued jobs to finish with callbacks", finished[True]),
        (f"polling: seconds for {jobs} queued jobs to finish by polling only", finished[False]),
        ("polling: time by polling / time with callbacks (target <= 1.5)",
         finished[False] / finished[True]),
    ]


def _png(width, height):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 90, 90)).save(buffer, "PNG")
    return buffer.getvalue()


def bench_pages():
    """Each page that lists history, for a person with 10,000 and with 100,000 jobs against one
    with 24, on SQLite and (where it runs) PostgreSQL: time ratio and queries."""
    import json
    import subprocess

    from tests.stack import Stack, postgres_available

    rows = []
    backends = [("SQLite", lambda n: {"KLING_VAR_DIR": str(WORKDIR / f"pages-{n}")})]
    if postgres_available():
        backends.append(("PostgreSQL", lambda n: {
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/kling_bench_pages_{n}"}))
    for backend, env_for in backends:
        figures = {}
        for count in (24, 10_000, 100_000):
            env = {**os.environ, **env_for(count)}
            env.pop("DATABASE_URL", None) if backend == "SQLite" else None
            if backend == "PostgreSQL":
                Stack._postgres(f'DROP DATABASE IF EXISTS "kling_bench_pages_{count}" WITH (FORCE)')
                Stack._postgres(f'CREATE DATABASE "kling_bench_pages_{count}"')
            result = subprocess.run([sys.executable, "-m", "tests.bench_pages", str(count)],
                                    env=env, capture_output=True, text=True, check=True)
            figures[count] = json.loads(result.stdout.strip().splitlines()[-1])
            if backend == "PostgreSQL":
                Stack._postgres(f'DROP DATABASE IF EXISTS "kling_bench_pages_{count}" WITH (FORCE)')
        for page, base in figures[24].items():
            for count in (10_000, 100_000):
                other = figures[count][page]
                rows.append((f"pages ({backend}): {page}, {count:,} jobs / 24 jobs (target <= 1.5;"
                             f" queries {base['queries']} -> {other['queries']})",
                             other["ms"] / base["ms"]))
    return rows


def bench_callbacks():
    """The ShortAPI callback endpoint against a trivial view on gunicorn as the Dockerfile runs
    it (wrk, 10 s each), on the embedded default and on PostgreSQL + Redis; and the tasks a storm
    of duplicate callbacks queues for 100 jobs."""
    import shutil

    from tests.stack import Stack, postgres_available, redis_available

    if not shutil.which("wrk"):
        return [("callbacks: wrk is not installed (apt-get install wrk); not measured", 0.0)]
    rows = []
    backends = ["embedded"] + (["postgres-redis"] if postgres_available() and redis_available()
                               else [])
    for backend in backends:
        stack = Stack(Path(tempfile.mkdtemp(prefix="kling-bench-callbacks-")), backend,
                      callbacks=True, extra_env={"WEB_CONCURRENCY": "2", "LOG_LEVEL": "WARNING",
                                                 "KLING_CALLBACKS_PER_ADDRESS": str(10**9)})
        stack.start()
        try:
            stack.stop_process("qcluster")  # queued tasks stay in the broker to be counted
            tokens = stack.manage("shell", "-c", CALLBACK_JOBS).stdout.split()
            script = stack.workdir / "callbacks.lua"
            script.write_text("tokens = {" + ",".join(f'"{t}"' for t in tokens) + "}\n" +
                              CALLBACK_LUA)
            trivial = _wrk(stack.url + "/health/")
            callback = _wrk(stack.url + "/", script)
            queued = int(stack.manage("shell", "-c", QUEUED_TASKS).stdout.split()[-1])
        finally:
            stack.stop()
        rows += [
            (f"callbacks ({backend}): requests/s, callback / trivial view (target >= 0.5)",
             callback["rps"] / trivial["rps"]),
            (f"callbacks ({backend}): p99 ms of the callback (target < 50)", callback["p99"]),
            (f"callbacks ({backend}): p99 ms of the trivial view", trivial["p99"]),
            (f"callbacks ({backend}): tasks queued per job by {callback['requests']:,} callbacks",
             queued / len(tokens)),
        ]
    return rows


CALLBACK_JOBS = """
from decimal import Decimal
from django.contrib.auth.models import User
from jobs.models import Job
owner = User.objects.get(username="maya")
for n in range(100):
    job = Job.objects.create(owner=owner, model_id="kwaivgi/kling-2.6/image-to-video", mode="pro",
                             duration=5, prompt=f"bench {n}", estimate=Decimal("0.3"),
                             status="processing", shortapi_job_id=f"sa-bench-{n}")
    print(job.callback_token)
"""
QUEUED_TASKS = """
from django.conf import settings
if "redis" in settings.Q_CLUSTER:
    import redis
    from django_q.brokers import get_broker
    print(get_broker().queue_size())
else:
    from django_q.models import OrmQ
    print(OrmQ.objects.count())
"""
CALLBACK_LUA = """
request = function()
  local token = tokens[math.random(#tokens)]
  return wrk.format("POST", "/shortapi/callback/" .. token .. "/",
                    {["Content-Type"] = "application/json"}, "{}")
end
"""


def _wrk(url, script=None, headers=None):
    import re
    import subprocess

    command = ["wrk", "-t2", "-c16", "-d10s", "--latency", url]
    if script:
        command[1:1] = ["-s", str(script)]
    for name, value in (headers or {}).items():
        command[1:1] = ["-H", f"{name}: {value}"]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1, "s": 1000}[p99.group(2)]
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p99": float(p99.group(1)) * scale,
            "requests": int(re.search(r"(\d+) requests in", out).group(1))}


def bench_creates():
    """Creates reaching ShortAPI from 200 queued jobs through a real stack, against a plain loop
    sending the same 200 requests from as many threads as the stack has workers."""
    import sqlite3
    from concurrent.futures import ThreadPoolExecutor

    from jobs import shortapi
    from tests.stack import Stack

    workers = 2
    stack = Stack(Path(tempfile.mkdtemp(prefix="kling-bench-creates-")), "embedded",
                  callbacks=True, extra_env={"KLING_WORKERS": str(workers),
                                             "LOG_LEVEL": "WARNING"})
    stack.start()
    frame = WORKDIR / "bench-frame.png"
    frame.write_bytes(_png(640, 400))
    try:
        stack.stop_process("qcluster")
        stack.manage("shell", "-c", QUEUE_JOBS.replace("FRAME", repr(str(frame))).replace(
            "JOBS", "200"))
        started = time.perf_counter()
        stack.spawn("qcluster", "manage.py", "qcluster")
        while stack.simulator_stats()["created"] < 200:
            time.sleep(0.1)
        through_app = time.perf_counter() - started
        database = sqlite3.connect(stack.workdir / "db.sqlite3")
        assert database.execute("SELECT count(*) FROM jobs_job WHERE shortapi_job_id IS NOT NULL"
                                ).fetchone()[0] == 200
        database.close()
        client = shortapi.Client(base_url=stack.simulator_url, key="local-simulator-key",
                                 timeout=30)
        image = "data:image/png;base64," + __import__("base64").b64encode(
            frame.read_bytes()).decode()
        args = {"mode": "pro", "prompt": "plain loop", "duration": "5", "image": image,
                "generate_audio": False}
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda _: client.create("kwaivgi/kling-2.6/image-to-video", args),
                          range(200)))
        plain = time.perf_counter() - started
    finally:
        stack.stop()
    return [("creates: seconds for 200 queued jobs to reach ShortAPI through the app", through_app),
            ("creates: seconds for the same 200 creates from a plain loop of 2 threads", plain),
            ("creates: through the app / plain loop", through_app / plain)]


QUEUE_JOBS = """
from django.core.files.base import ContentFile
from django.db import transaction
from django.contrib.auth.models import User
from jobs import catalogue, tasks
from jobs.models import Job
owner = User.objects.get(username="maya")
model = catalogue.get(catalogue.DEFAULT_MODEL)
frame = open(FRAME, "rb").read()
with transaction.atomic():
    for n in range(JOBS):
        job = Job(owner=owner, model_id=model.id, mode="pro", duration=5, prompt=f"bench {n}",
                  estimate=model.estimate("pro", 5, False))
        job.start_frame.save("f.png", ContentFile(frame), save=False)
        job.save()
        tasks.enqueue_submission(job)
"""


def _png_rgba(width, height):
    buffer = io.BytesIO()
    gradient = Image.linear_gradient("L").resize((width, height))
    Image.merge("RGBA", [gradient, gradient, gradient, gradient]).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(width, height):
    buffer = io.BytesIO()
    gradient = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    gradient.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def bench_export_memory():
    """Exporting a sequence of 15 takes against one of 3 (the same three simulator videos, five
    seconds each, three shapes, one silent), each in a fresh process: its peak resident size
    above what it used before (FFmpeg's frames live outside Python's allocator) and Python's own
    peak (tracemalloc). Memory should not grow with the number of takes: target ratio close
    to 1."""
    import json
    import subprocess

    from simulator import video

    takes = []
    for number, (size, audio) in enumerate((((1280, 720), True), ((720, 1280), False),
                                            ((900, 900), True))):
        path = WORKDIR / f"export-take-{number}.mp4"
        video.render(path, Image.new("RGB", size, (60 * number, 90, 160)), 5,
                     end=Image.new("RGB", size, (200, 120, 40)), audio=audio)
        takes.append(str(path))
    child = """
import json, sys, time, tracemalloc
from sequences.export import Cut, export
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
paths, out = json.loads(sys.argv[1]), sys.argv[2]
export([Cut(paths[0], 0, 0.5)], out)  # FFmpeg's codecs loaded before the baseline
open("/proc/self/clear_refs", "w").write("5")
before = status("VmRSS:")
tracemalloc.start()
started = time.perf_counter()
result = export([Cut(path, 0.5, 4.5) for path in paths], out)
elapsed = time.perf_counter() - started
print(json.dumps({"rss": status("VmHWM:") - before, "python": tracemalloc.get_traced_memory()[1],
                  "seconds": elapsed, "duration": result.duration}))
"""
    figures = {}
    for count in (3, 15):
        paths = [takes[n % len(takes)] for n in range(count)]
        result = subprocess.run([sys.executable, "-c", child, json.dumps(paths),
                                 str(WORKDIR / f"export-{count}.mp4")], capture_output=True,
                                text=True, check=True, env={**os.environ})
        figures[count] = json.loads(result.stdout.strip().splitlines()[-1])
    few, many = figures[3], figures[15]
    return [
        ("export: peak MB above baseline, 3 takes (12 s)", few["rss"]),
        ("export: peak MB above baseline, 15 takes (60 s)", many["rss"]),
        ("export: peak resident memory, 15 takes / 3 takes (target close to 1)",
         many["rss"] / few["rss"]),
        ("export: peak Python memory, 15 takes / 3 takes (target close to 1)",
         many["python"] / few["python"]),
        ("export: seconds of work per second of sequence, 15 takes",
         many["seconds"] / many["duration"]),
    ]


def bench_hostile():
    """Hostile input against plain input of the same kind, in one run: peak Python memory of an
    element's references when one staged token is posted 200 times against once (target: under
    50 MB more), of a 2048×1 strip asked to be upscaled against a small photo (likewise), and
    the time to read the recipe of a 150-byte file built to reach FFmpeg's probe (target: under
    100 ms)."""
    from types import SimpleNamespace

    from jobs import recipes, staging
    from jobs.storyboard import ElementForm
    from tests import hostile

    person = SimpleNamespace(pk=1)
    photo = uploads.check_upload(SimpleUploadedFile("big.jpg", hostile.noisy_photo()))
    token = staging.stage(staging.Picked(photo), person)

    def references(count):
        form = ElementForm({"references_staged": [token] * count, "name": "Mia"}, user=person)
        return peak_memory(form.is_valid)[0]

    def upscale(content):
        original = uploads.check_upload(SimpleUploadedFile("f.png", content), shape=False)
        return peak_memory(lambda: _refused(uploads.fit_image, original, None))[0]

    started = time.perf_counter()
    try:
        recipes.read_recipe(io.BytesIO(hostile.sdp_in_an_mp4_header()))
    except recipes.RecipeError:
        pass
    probe_ms = (time.perf_counter() - started) * 1000
    mb = 1024 * 1024
    return [
        ("hostile: references, 200 repeats against 1, extra peak MB (target < 50)",
         (references(200) - references(1)) / mb),
        ("hostile: upscale of a 2048x1 strip against a 200x120 photo, extra MB (target < 50)",
         (upscale(hostile.strip()) - upscale(_png(200, 120))) / mb),
        ("hostile: reading a recipe from a file built for FFmpeg's probe, ms (target < 100)",
         probe_ms),
    ]


def _refused(action, *args):
    """The action's result, or None when it refused (what is measured is the refusal)."""
    from jobs import framing

    try:
        return action(*args)
    except (ValidationError, framing.FitError):
        return None


def main():
    rows = []
    from tests.bench_api import bench_api

    benches = [bench_download_memory, bench_upload_check, bench_simulator_render,
               bench_polling_against_callbacks, bench_pages, bench_callbacks, bench_creates,
               bench_export_memory, bench_hostile, bench_api]
    chosen = [b for b in benches if any(name in b.__name__ for name in sys.argv[1:])] or benches
    for bench in chosen:
        rows += bench()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
