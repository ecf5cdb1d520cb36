"""The JSON API's cost against the pages it stands beside, on gunicorn as the Dockerfile runs it
(wrk, 10 s each), on the embedded default and on PostgreSQL + Redis:

- one job (`GET /api/v1/jobs/<id>`, a token looked up by its digest on every request) against
  the job's status (`GET /jobs/<id>/status/`, a signed-in session), both as requests per second
  against a trivial view;
- a page of 20 jobs (`GET /api/v1/jobs`) against the gallery (My videos, 12 jobs), for a person
  with 2,000 jobs.

Run with `python -m tests.benchmarks api`.
"""

import shutil
import tempfile
from pathlib import Path

from tests.stack import Stack, postgres_available, redis_available

MANY_JOBS = """
import json
from decimal import Decimal
from django.contrib.auth.models import User
from django.utils import timezone
from api import tokens
from jobs.models import Job
owner = User.objects.get(username="maya")
Job.objects.bulk_create([
    Job(owner=owner, model_id="kwaivgi/kling-2.6/image-to-video", mode="pro", duration=5,
        prompt=f"The harbour at dawn, take {n}", title=f"Harbour {n}", estimate=Decimal("0.3"),
        cost=Decimal("0.3"), status="succeeded", shortapi_job_id=f"sa-bench-{n}",
        finished_at=timezone.now()) for n in range(2000)])
token, secret = tokens.issue(owner, "Benchmark")
print(json.dumps({"job": Job.objects.latest("pk").pk, "token": secret}))
"""


def bench_api():
    from tests.benchmarks import _wrk

    if not shutil.which("wrk"):
        return [("api: wrk is not installed (apt-get install wrk); not measured", 0.0)]
    import json

    rows = []
    backends = ["embedded"] + (["postgres-redis"] if postgres_available() and redis_available()
                               else [])
    for backend in backends:
        stack = Stack(Path(tempfile.mkdtemp(prefix="kling-bench-api-")), backend, callbacks=True,
                      extra_env={"WEB_CONCURRENCY": "2", "LOG_LEVEL": "WARNING"})
        stack.start()
        try:
            stack.stop_process("qcluster")
            made = json.loads(stack.manage("shell", "-c", MANY_JOBS).stdout.strip()
                              .splitlines()[-1])
            session = stack.session("maya").cookies.get("sessionid")
            token = {"Authorization": f"Bearer {made['token']}"}
            cookie = {"Cookie": f"sessionid={session}"}
            trivial = _wrk(stack.url + "/health/")
            api_job = _wrk(f"{stack.url}/api/v1/jobs/{made['job']}", headers=token)
            page_job = _wrk(f"{stack.url}/jobs/{made['job']}/status/", headers=cookie)
            api_list = _wrk(f"{stack.url}/api/v1/jobs?limit=20", headers=token)
            gallery = _wrk(stack.url + "/", headers=cookie)
        finally:
            stack.stop()
        rows += [
            (f"api ({backend}): requests/s, one job through the API / trivial view",
             api_job["rps"] / trivial["rps"]),
            (f"api ({backend}): requests/s, a job's status page / trivial view",
             page_job["rps"] / trivial["rps"]),
            (f"api ({backend}): requests/s, 20 jobs through the API / the gallery's 12",
             api_list["rps"] / gallery["rps"]),
            (f"api ({backend}): p99 ms of 20 jobs through the API", api_list["p99"]),
            (f"api ({backend}): p99 ms of the gallery", gallery["p99"]),
        ]
    return rows
