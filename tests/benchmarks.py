"""Benchmarks: measure and print figures, each as a ratio taken within one run, so machines of
different speeds can be compared. Not a test: nothing here passes or fails.

    .venv/bin/python -m tests.benchmarks

- download memory: peak Python memory while keeping a 64 MB video, as a share of its size,
  against reading the same video into memory;
- gallery costs: queries and time to show a page of 12 jobs' costs with the ledger summed in the
  gallery's one query, against one query per job;
- upload checks: time to check (decode and rewrite) a 24-megapixel JPEG, per megapixel, and the
  peak memory of one check of the largest images allowed, against the bound uploads.py states;
- simulator rendering: seconds of work per second of video made;
- polling against callbacks: 100 queued jobs through a real stack (gunicorn, qcluster with its
  dispatcher, the simulator finishing each job in 4 s), end to end with the video kept, without
  callbacks against with them.
"""

import io
import os
import sys
import tempfile
import threading
import time
import tracemalloc
from decimal import Decimal
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
from django.contrib.auth.models import User  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from PIL import Image  # noqa: E402

from jobs import catalogue, downloads, uploads  # noqa: E402
from jobs.models import Job  # noqa: E402


def peak_memory(action):
    tracemalloc.start()
    started = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, elapsed, result


def bench_download_memory():
    size = 64 * 1024 * 1024
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

    def streamed():
        with downloads.fetch_video(url, max_bytes=size * 2) as video:
            return sum(len(chunk) for chunk in iter(lambda: video.read(1 << 20), b""))

    def in_memory():
        import requests

        return len(requests.get(url, timeout=30).content)

    kept, kept_time, got = peak_memory(streamed)
    whole, whole_time, _ = peak_memory(in_memory)
    server.shutdown()
    assert got == size
    return [
        ("download: peak memory / video size, streamed to a spooled file", kept / size),
        ("download: peak memory / video size, read into memory", whole / size),
        ("download: streamed peak memory / in-memory peak memory", kept / whole),
        ("download: streamed time / in-memory time", kept_time / whole_time),
    ]


def bench_gallery_costs():
    call_command("migrate", verbosity=0)
    owner = User.objects.create_user("bench")
    frame = SimpleUploadedFile("f.png", _png(640, 400))
    jobs = []
    for n in range(120):
        job = Job(owner=owner, model_id=catalogue.DEFAULT_MODEL, mode="pro", duration=5,
                  prompt=f"bench {n}", estimate=Decimal("0.300"))
        job.start_frame.save("f.png", frame, save=False)
        job.save()
        job.claim_for_submission()
        job.mark_submitted(f"sa-{n}", Decimal("0.300"))
        if n % 4 == 0:
            job.mark_failed("bench", refunded=True)
        jobs.append(job)
    settings.DEBUG = True  # record queries

    def summed_in_one_query():
        return [j.cost for j in Job.objects.owned_by(owner).with_cost()[:12]]

    def one_query_per_job():
        return [j.cost for j in Job.objects.owned_by(owner)[:12]]

    figures = {}
    for name, action in (("one", summed_in_one_query), ("each", one_query_per_job)):
        reset_queries()
        started = time.perf_counter()
        for _ in range(50):
            costs = action()
        figures[name] = (time.perf_counter() - started, len(connection.queries) / 50, costs)
    settings.DEBUG = False
    assert figures["one"][2] == figures["each"][2]
    return [
        ("gallery: queries per page, ledger summed in the page's query", figures["one"][1]),
        ("gallery: queries per page, one cost query per job", figures["each"][1]),
        ("gallery: time summed in one query / time with a query per job",
         figures["one"][0] / figures["each"][0]),
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

    script = """
import time
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
print(time.time())
"""
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


def main():
    rows = []
    benches = [bench_download_memory, bench_gallery_costs, bench_upload_check,
               bench_simulator_render, bench_polling_against_callbacks]
    chosen = [b for b in benches if any(name in b.__name__ for name in sys.argv[1:])] or benches
    for bench in chosen:
        rows += bench()
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value:8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
