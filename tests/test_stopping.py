"""Stopping `runstudio`: Ctrl+C (SIGINT to its whole process group, as a terminal sends it),
SIGTERM or SIGHUP leaves none of the processes it started after 10 s, whatever the workers were
doing, and no job reaches ShortAPI after the signal.

Every process of a studio carries its own KLING_VAR_DIR, so /proc finds them all, orphans
included. Where a job reaches "ShortAPI" matters here, so most studios run with a key against a
simulator in this process, behind a gate that notes when each create arrives and holds requests
to make a moment last: jobs being sent, a video being kept.
"""

import os
import re
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import image_bytes
from tests.stack import RunStudio, csrf_token, submit, wait_until_finished

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find orphans"),
]

KEY = "stopping-test-key"
STOPPED_WITHIN = 10
CREATE = "/api/v1/job/create"
TAKES_IN_EXPORT = 24


class Gate:
    """The simulator's front door: when each create arrived, and requests held until released."""

    def __init__(self, app):
        self.app = app
        self.creates = []
        self.held = {"create": 0, "file": 0}
        self.holding = {}
        self.lock = threading.Lock()

    def hold(self, kind):
        self.holding[kind] = threading.Event()

    def release(self):
        for released in self.holding.values():
            released.set()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        kind = "create" if path == CREATE else "file" if path.startswith("/files/") else None
        with self.lock:
            if kind == "create":
                self.creates.append(time.monotonic())
            released = self.holding.get(kind)
            if released:
                self.held[kind] += 1
        if released:
            released.wait(60)
        return self.app(environ, start_response)

    def wait_for(self, kind, count, timeout=60):
        deadline = time.monotonic() + timeout
        while self.held[kind] < count:
            assert time.monotonic() < deadline, f"{self.held[kind]} {kind} request(s) held"
            time.sleep(0.05)

    def creates_after(self, moment):
        with self.lock:
            return [round(at - moment, 2) for at in self.creates if at > moment]


@pytest.fixture
def gate(tmp_path):
    from simulator.server import start_in_thread

    running = start_in_thread(key=KEY, media_dir=tmp_path / "shortapi", pending_seconds=0.3,
                              processing_seconds=0.5)
    gate = Gate(running.server.get_app())
    running.server.set_app(gate)
    gate.url = running.url
    yield gate
    gate.release()
    running.stop()


def processes_of(workdir):
    """The pids of runstudio and of every process it started, found by their KLING_VAR_DIR."""
    marker = f"KLING_VAR_DIR={workdir}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                pass  # gone meanwhile, or a zombie
    return found


def describe(pids):
    lines = []
    for pid in pids:
        try:
            lines.append(f"{pid}: " + Path(f"/proc/{pid}/cmdline").read_bytes()
                         .replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            pass
    return "\n".join(lines)


def start_studio(tmp_path, gate=None):
    studio = RunStudio(tmp_path / "studio", KLING_WORKERS="2")
    if gate:
        studio.env.update({"SHORTAPI_KEY": KEY, "SHORTAPI_BASE_URL": gate.url,
                           "PUBLIC_BASE_URL": studio.url})
    studio.start()
    return studio


def wait_for_every_part(studio, simulator):
    """Until runstudio, the web server, the simulator unless ShortAPI is elsewhere, and qcluster
    with its sentinel, monitor, pusher and two workers all run: the workers may still be starting
    when the password is printed."""
    expected, deadline = 8 + simulator, time.monotonic() + 30
    while len(processes_of(studio.workdir)) < expected:
        assert time.monotonic() < deadline, describe(processes_of(studio.workdir))
        time.sleep(0.1)


def stop_and_check(studio, send, gate=None, then=lambda: None, returncode=0):
    """Send the signal now, and `then` a second later; every process of the studio must be gone
    within STOPPED_WITHIN of the signal and no create may reach ShortAPI after it."""
    wait_for_every_part(studio, simulator=gate is None)
    signalled = time.monotonic()
    send()
    time.sleep(1)
    then()
    while processes_of(studio.workdir) and time.monotonic() < signalled + STOPPED_WITHIN:
        time.sleep(0.1)
    left = processes_of(studio.workdir)
    late = gate.creates_after(signalled) if gate else []
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left and not late, (
        f"left after {STOPPED_WITHIN} s:\n{describe(left)}\ncreates after the signal at "
        f"+{late} s\n{studio.output()[-4000:]}")
    assert studio.process.wait(5) == returncode, studio.output()[-3000:]


def parent_of(pid):
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def ctrl_c(studio):
    return lambda: os.killpg(studio.process.pid, signal.SIGINT)


def to_runstudio(studio, signum):
    return lambda: os.kill(studio.process.pid, signum)


def make_jobs(studio, session, takes=1, duration=5):
    fields = {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
              "duration": str(duration), "prompt": "Harbour at dawn", "takes": str(takes)}
    frame = ("frame.png", image_bytes(640, 360, (40, 90, 160)), "image/png")
    made = submit(studio, session, fields, {"start_frame": frame})
    assert re.search(r"/jobs/\d+/$", made.url), re.findall(r'class="error"[^>]*>([^<]+)', made.text)


@pytest.fixture
def leftovers(tmp_path):
    yield
    for pid in processes_of(tmp_path / "studio"):
        os.kill(pid, signal.SIGKILL)


def test_the_password_is_printed_once_the_app_answers_and_ctrl_c_stops_everything(
        tmp_path, leftovers):
    studio = RunStudio(tmp_path / "studio").start(wait=False)
    deadline = time.monotonic() + 90
    while "password “" not in studio.output():
        assert time.monotonic() < deadline and studio.process.poll() is None, studio.output()
        time.sleep(0.02)
    assert requests.get(studio.url + "/health/", timeout=5).text == "ok"
    stop_and_check(studio, ctrl_c(studio))
    assert "Stopping Kling Studio" in studio.output()


def test_sighup_to_runstudio_alone_stops_everything(tmp_path, leftovers):
    studio = start_studio(tmp_path)
    stop_and_check(studio, to_runstudio(studio, signal.SIGHUP))


def test_a_web_server_that_cannot_start_is_reported_and_everything_stops(tmp_path, leftovers):
    studio = RunStudio(tmp_path / "studio")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", studio.port))
        taken.listen()
        studio.start(wait=False)
        assert studio.process.wait(90) == 1, studio.output()[-3000:]
    assert "Kling Studio did not start: its runserver stopped" in studio.output()
    assert "password" not in studio.output()
    assert processes_of(studio.workdir) == []


def test_a_kill_9_of_runstudio_and_qcluster_leaves_no_part_behind(tmp_path, leftovers):
    studio = start_studio(tmp_path)
    qcluster = next(pid for pid in processes_of(studio.workdir)
                    if parent_of(pid) == studio.process.pid and "qcluster" in describe([pid]))
    # nothing is left to stop the others in order: each must end with its parent
    stop_and_check(studio, lambda: [os.kill(pid, signal.SIGKILL)
                                    for pid in (studio.process.pid, qcluster)], returncode=-9)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stop_while_jobs_are_being_sent_sends_no_more(tmp_path, gate, leftovers, signum):
    studio = start_studio(tmp_path, gate)
    gate.hold("create")
    # four jobs, two workers: two creates under way, two tasks waiting for a worker
    make_jobs(studio, studio.session(), takes=4)
    gate.wait_for("create", 2)
    # a second after the signal the two creates are answered: their workers are free again
    stop_and_check(studio, ctrl_c(studio) if signum == signal.SIGINT
                   else to_runstudio(studio, signum), gate, then=gate.release)
    assert len(gate.creates) == 2


def test_ctrl_c_while_a_video_is_being_kept_stops_everything(tmp_path, gate, leftovers):
    studio = start_studio(tmp_path, gate)
    gate.hold("file")  # the download never ends
    make_jobs(studio, studio.session())
    gate.wait_for("file", 1)
    stop_and_check(studio, ctrl_c(studio), gate)


def test_ctrl_c_during_a_sequence_export_stops_everything(tmp_path, gate, leftovers):
    studio = start_studio(tmp_path, gate)
    session = studio.session()
    make_jobs(studio, session, duration=10)
    state, seen = wait_until_finished(session, studio.url + "/jobs/1/")
    assert state["kept"], seen
    token = csrf_token(session.get(studio.url + "/sequences/").text)
    # the same take over and over: an export that outlasts the workers' grace
    for sequence in ["new"] + ["1"] * (TAKES_IN_EXPORT - 1):
        added = session.post(studio.url + "/sequences/add/", headers={"Referer": studio.url},
                             data={"csrfmiddlewaretoken": token, "job": "1",
                                   "sequence": sequence, "name": "Reel"})
        assert added.status_code == 200, added.text[:2000]
    session.post(studio.url + "/sequences/1/export/", headers={"Referer": studio.url},
                 data={"csrfmiddlewaretoken": token})
    deadline = time.monotonic() + 60
    while (state := session.get(studio.url + "/sequences/1/export/status/").json())["progress"] < 1:
        assert time.monotonic() < deadline, studio.output()[-3000:]
        time.sleep(0.1)
    assert state["running"], state  # the signal comes during the export (it may end in the grace)
    stop_and_check(studio, ctrl_c(studio), gate)
