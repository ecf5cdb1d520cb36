"""A studio driven from outside, end to end on the real stack (gunicorn, qcluster, simulator):
the README's own curl command creates a job with a person's API token, the job waits for an
approver, a teammate who approves for the team says yes in a real browser, the simulator makes the
video, and a local receiver gets a signed `job.finished` whose video URL downloads with the token.
The signature is checked with the Standard Webhooks reference library and with the README's own
snippet."""

import json
import re
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from tests.browser import sign_in
from tests.conftest import image_bytes
from tests.stack import ROOT, Stack, free_port

pytestmark = pytest.mark.integration
# The `browser` fixture lives with the other browser helpers.
pytest_plugins = ["tests.browser"]
README = (ROOT / "README.md").read_text()


def readme_block(language, containing):
    """The README's first code block in `language` that contains `containing`."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README, re.S)
    return next(block for block in blocks if containing in block)


class Receiver(BaseHTTPRequestHandler):
    messages: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.messages.append(({key.lower(): value for key, value in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Receiver)
    Receiver.messages = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture
def stack(browser, receiver, tmp_path_factory):
    # the receiver is on this machine: the operator allows exactly its host and port
    allowed = f"127.0.0.1:{receiver.server_port}"
    stack = Stack(tmp_path_factory.mktemp("api-stack"), "embedded", callbacks=True,
                  extra_env={"KLING_WEBHOOK_ALLOWED_HOSTS": allowed}).start()
    yield stack
    stack.stop()


SETUP = """
import json
from django.contrib.auth.models import User
from api import tokens
from spend.models import Budget
from teams.models import Project, Team
from webhooks.models import Endpoint

maya, noah = User.objects.get(username="maya"), User.objects.get(username="noah")
team = Team.objects.create(name="Harbour")
team.members.add(maya, noah)
team.approvers.add(noah)
project = Project.objects.create(name="Lighthouse", team=team)
# every job of the team's over $0.10 waits for an approver
Budget.objects.create(team=team, amount=50, approve_over="0.10")
token, secret = tokens.issue(maya, "Render script")
endpoint = Endpoint.objects.create(owner=maya, created_by=maya, url="%s",
                                   events=["job.finished", "job.failed"])
print(json.dumps({"token": secret, "secret": endpoint.secret, "project": project.pk}))
"""


def wait_for_message(kind, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for headers, body in list(Receiver.messages):
            if json.loads(body)["type"] == kind:
                return headers, body
        time.sleep(0.2)
    raise AssertionError(f"no {kind} message within {timeout} s: {Receiver.messages}")


def test_a_script_makes_a_video_an_approver_lets_through_and_a_signed_webhook_delivers(
        stack, browser, receiver, tmp_path):
    hook_url = f"http://127.0.0.1:{receiver.server_port}/kling"
    made = json.loads(stack.manage("shell", "--no-imports", "-c", SETUP % hook_url)
                      .stdout.strip().splitlines()[-1])
    (tmp_path / "lighthouse.png").write_bytes(image_bytes(800, 450, (40, 60, 110)))

    # the script: the README's curl command as written, with a project added
    curl = readme_block("sh", "$KLING_URL/api/v1/jobs").replace(
        '"$KLING_URL/api/v1/jobs"', f'-F project={made["project"]} "$KLING_URL/api/v1/jobs"')
    answer = subprocess.run(["bash", "-c", curl], cwd=tmp_path, capture_output=True, text=True,
                            timeout=60, env={"PATH": "/usr/bin:/bin", "KLING_URL": stack.url,
                                             "KLING_TOKEN": made["token"]})
    job = json.loads(answer.stdout)
    assert job["status"] == "waiting", job
    assert (job["project"], job["model"]) == (made["project"], "kwaivgi/kling-2.6/image-to-video")

    time.sleep(2)  # a dispatcher tick or two: a waiting job must not be sent
    assert stack.simulator_stats()["created"] == 0

    # the approver says yes in a real browser
    page = browser.new_page(base_url=stack.url)
    sign_in(page, stack, "noah")
    page.goto("/approvals/")
    waiting = page.locator(f"[data-approval='{job['id']}']")
    waiting.get_by_label("Note").fill("Go ahead: the beam is the shot we need")
    waiting.get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    assert page.locator(f"[data-approval='{job['id']}']").count() == 0
    page.close()

    headers, body = wait_for_message("job.finished")
    # signed as Standard Webhooks says: the reference library and the README's snippet agree
    Webhook(made["secret"]).verify(body, headers)
    readme = {}
    exec(readme_block("python", "def verify("), readme)
    assert readme["verify"](made["secret"], headers, body)
    assert not readme["verify"](made["secret"], headers, body.replace(b"succeeded", b"failed"))
    assert headers["webhook-id"].startswith("msg_")
    data = json.loads(body)["data"]
    assert (data["id"], data["status"]) == (job["id"], "succeeded")

    # the message's video URL downloads with the person's token, and only with it
    bearer = {"Authorization": f"Bearer {made['token']}"}
    video = requests.get(data["video_url"], headers=bearer, timeout=30)
    assert video.status_code == 200
    assert video.headers["Content-Type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    assert requests.get(data["video_url"], timeout=30).status_code == 401
    assert stack.simulator_stats()["created"] == 1
