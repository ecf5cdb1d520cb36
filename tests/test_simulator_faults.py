"""The simulator's injected faults, over real HTTP: 500s, late answers, lost, doubled and stale
callbacks, failed jobs and expiring result URLs, all reproducible from a seed."""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.management import CommandError, call_command

from simulator.faults import Faults, FaultSpecError, parse
from simulator.management.commands.runsimulator import faults_from
from simulator.server import start_in_thread
from tests.stack import ROOT, free_port
from tests.test_simulator import (KEY, KLING_30, callbacks_counted, kling_30_args, query, stats,
                                  wait_until_finished)

AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def start(tmp_path):
    """Start a simulator with these faults; every one started is stopped afterwards."""
    running = []

    def start(**faults):
        sim = start_in_thread(key=KEY, media_dir=tmp_path / f"media-{len(running)}",
                              pending_seconds=0.2, processing_seconds=0.3,
                              faults=Faults(seed=7, **faults))
        running.append(sim)
        return sim

    yield start
    for sim in running:
        sim.stop()


class CallbackReceiver:
    """Records every POST it gets, with when it arrived."""

    def __init__(self):
        self.posts = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.posts.append((time.monotonic(), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/callback/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count, timeout):
        deadline = time.monotonic() + timeout
        while len(self.posts) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return [body for _, body in self.posts]


@pytest.fixture
def receiver():
    receiver = CallbackReceiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def create(sim, prompt="A slow pan", timeout=10, **extra):
    body = {"model": KLING_30, "args": kling_30_args(prompt=prompt), **extra}
    return requests.post(f"{sim.url}/api/v1/job/create", json=body, headers=AUTH,
                         timeout=timeout)


def job_id_of(response):
    assert response.status_code == 200, response.text
    return response.json()["data"]["job_id"]


def test_a_create_answered_500_creates_and_charges_nothing(start):
    sim = start(create_5xx=1)

    response = create(sim)

    assert response.status_code == 500
    assert response.json() == {"code": 500, "message": "internal error (simulated)"}
    body = stats(sim)
    assert (body["created"], body["create_5xx"], body["charged"]) == (0, 1, "0.000")
    assert body["jobs"] == {}


def test_a_late_create_answers_after_late_seconds_but_the_job_exists_before(start):
    sim = start(create_late=1, late_seconds=1)
    answers = []
    began = time.monotonic()
    creating = threading.Thread(target=lambda: answers.append(create(sim, prompt="late one")))
    creating.start()

    deadline = time.monotonic() + 5
    while stats(sim)["created"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    [(job_id, job)] = stats(sim)["jobs"].items()
    still_waiting = creating.is_alive()
    creating.join(10)

    assert still_waiting
    assert job["prompt"] == "late one" and job["late"] is True
    [response] = answers
    assert time.monotonic() - began >= 1
    assert job_id_of(response) == job_id


def test_a_client_that_times_out_on_a_late_create_was_still_charged(start):
    sim = start(create_late=1, late_seconds=1)

    with pytest.raises(requests.Timeout):
        create(sim, prompt="did it happen?", timeout=0.3)

    body = stats(sim)
    [job] = body["jobs"].values()
    assert body["created"] == 1
    assert body["charged"] == job["amount"] == "0.429"
    assert job["prompt"] == "did it happen?" and job["late"] is True


def test_a_dropped_callback_never_arrives(start, receiver):
    sim = start(drop_callback=1)
    job_id = job_id_of(create(sim, callback_url=receiver.url))

    assert wait_until_finished(sim, job_id)["status"] == 2
    assert receiver.wait_for(1, timeout=2) == []
    job = stats(sim)["jobs"][job_id]
    assert job["callbacks_dropped"] is True and job["callbacks_sent"] == 0


def test_a_duplicated_callback_arrives_twice_then_a_stale_one_after_it(start, receiver):
    sim = start(duplicate_callback=1)
    job_id = job_id_of(create(sim, callback_url=receiver.url))

    posts = receiver.wait_for(3, timeout=10)

    assert [post["job_id"] for post in posts] == [job_id] * 3
    assert [post["status"] for post in posts] == [2, 2, 1]
    assert posts[0] == posts[1] and "result" in posts[0]
    (first, _), (second, _), (third, _) = receiver.posts
    assert 0.4 <= second - first and 0.4 <= third - second
    assert callbacks_counted(sim, job_id, 3) == 3


def test_a_failed_job_ends_in_status_3_and_is_refunded(start):
    sim = start(fail=1)
    job_id = job_id_of(create(sim))

    data = wait_until_finished(sim, job_id)

    assert data["status"] == 3 and data["refunded"] is True
    assert "simulated failure" in data["error"]
    assert "result" not in data
    body = stats(sim)
    assert body["jobs"][job_id]["refunded"] is True
    assert body["charged"] == body["refunded"] == "0.429"


def test_a_result_url_answers_410_once_it_has_expired(start):
    sim = start(expire_after=1)
    job_id = job_id_of(create(sim))
    url = wait_until_finished(sim, job_id)["result"]["images"][0]["url"]

    fresh = requests.get(url, timeout=10)
    time.sleep(1.1)
    stale = requests.get(url, timeout=10)
    stale_range = requests.get(url, headers={"Range": "bytes=0-99"}, timeout=10)

    assert fresh.status_code == 200 and fresh.content
    assert stale.status_code == 410 and stale.json()["code"] == 410
    assert stale_range.status_code == 410
    assert query(sim, job_id).json()["data"]["status"] == 2


def test_without_faults_nothing_goes_wrong(start, receiver):
    sim = start()
    job_id = job_id_of(create(sim, callback_url=receiver.url))

    posts = receiver.wait_for(1, timeout=10)
    time.sleep(1.2)

    assert [post["status"] for post in posts] == [2]
    assert len(receiver.posts) == 1
    job = stats(sim)["jobs"][job_id]
    assert (job["late"], job["callbacks_dropped"], job["refunded"]) == (False, False, False)
    assert requests.get(f"{sim.url}/files/{job_id}.mp4", timeout=10).status_code == 200


def test_the_same_seed_misbehaves_the_same_way(start):
    def outcomes(sim):
        return [create(sim, prompt=f"take {n}").status_code for n in range(8)]

    first, second = outcomes(start(create_5xx=0.5)), outcomes(start(create_5xx=0.5))

    assert first == second
    assert set(first) == {200, 500}


def test_a_spec_parses_into_faults_and_prints_back_the_same():
    spec = ("create_5xx=0.1,create_late=0.1,drop_callback=0.3,duplicate_callback=0.3,fail=0.1,"
            "expire_after=60,late_seconds=5,seed=7")

    faults = parse(spec)

    assert faults == Faults(create_5xx=0.1, create_late=0.1, drop_callback=0.3,
                            duplicate_callback=0.3, fail=0.1, expire_after=60, seed=7)
    assert str(faults) == spec
    assert parse(str(faults)) == faults
    assert parse("") == Faults() and str(Faults()) == "none"


@pytest.mark.parametrize("spec, part", [
    ("create_5xx=2", "create_5xx=2"),
    ("fail=0.1,nonsense=1", "nonsense=1"),
    ("fail=abc", "fail=abc"),
    ("seed=1.5", "seed=1.5"),
    ("expire_after=-1", "expire_after=-1"),
    ("drop_callback", "drop_callback"),
    ("fail=0.1,fail=0.2", "fail=0.2"),
])
def test_the_parser_rejects_a_bad_part_and_names_it(spec, part):
    with pytest.raises(FaultSpecError, match=f"'{part}'"):
        parse(spec)


def test_faults_made_in_code_are_checked_too():
    with pytest.raises(FaultSpecError, match="drop_callback"):
        Faults(drop_callback=1.5)


def test_runsimulator_takes_faults_from_the_flag_over_the_environment():
    environ = {"SIMULATOR_FAULTS": "fail=1"}

    assert faults_from(None, environ) == Faults(fail=1)
    assert faults_from("drop_callback=1", environ) == Faults(drop_callback=1)
    assert faults_from(None, {}) == Faults()


def test_runsimulator_stops_on_a_bad_spec_and_names_the_bad_part(monkeypatch):
    monkeypatch.setenv("SIMULATOR_FAULTS", "fail=abc")

    with pytest.raises(CommandError, match="SIMULATOR_FAULTS.*'fail=abc'"):
        call_command("runsimulator")
    with pytest.raises(CommandError, match="--faults.*'nonsense=1'"):
        call_command("runsimulator", "--faults", "nonsense=1")


def test_runsimulator_prints_the_faults_from_the_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIMULATOR_")}
    env.update({"SHORTAPI_KEY": KEY, "KLING_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1",
                "SIMULATOR_FAULTS": "drop_callback=0.3, create_5xx=0.1 ,seed=7"})
    process = subprocess.Popen([sys.executable, "manage.py", "runsimulator", "--port",
                                str(free_port())], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        line = ""
        while "listening" not in line and process.poll() is None:
            line = process.stdout.readline()
    finally:
        process.terminate()
        process.wait(10)

    assert "ShortAPI simulator listening on" in line
    assert line.rstrip().endswith("faults: create_5xx=0.1,drop_callback=0.3,seed=7)")
