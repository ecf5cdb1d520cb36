"""The README's promises: its first command brings up the whole app with a demo account that a
new person can sign in with and get a video from; its second command is what CI runs.
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.conftest import image_bytes
from tests.stack import ROOT, free_port, submit, wait_until_finished

pytestmark = pytest.mark.integration


def readme_commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```(?:sh|bash)\n(.+?)\n```", text)[:2]


def test_the_readme_starts_with_the_run_command_and_the_test_command():
    run, test = readme_commands()
    assert run.endswith("manage.py runstudio")
    assert test.endswith("-m pytest")
    assert test in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_run_command_serves_the_app_and_prints_credentials_that_work(tmp_path):
    port, simulator_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SHORTAPI_", "PUBLIC_BASE_URL", "DATABASE_URL", "REDIS_URL"))}
    env.update({"KLING_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1",
                "KLING_QUEUE_NAME": f"runstudio-{port}"})
    log = open(tmp_path / "runstudio.log", "wb")
    process = subprocess.Popen([sys.executable, "manage.py", "runstudio", "--port", str(port),
                                "--simulator-port", str(simulator_port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        password = wait_for_password(tmp_path / "runstudio.log", process)
        stack = SimpleNamespace(url=f"http://127.0.0.1:{port}")
        session = requests.Session()
        page = session.get(stack.url + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        signed_in = session.post(stack.url + "/accounts/login/", headers={"Referer": stack.url},
                                 data={"username": "demo", "password": password,
                                       "csrfmiddlewaretoken": token})
        assert signed_in.url == stack.url + "/"
        job_page = submit(stack, session,
                          {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                           "duration": "5", "prompt": "First light"},
                          {"start_frame": ("first.jpg", image_bytes(fmt="JPEG"), "image/jpeg")})
        state, _ = wait_until_finished(session, job_page.url, timeout=60)
        assert state["status"] == "succeeded"
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, Path(tmp_path / "runstudio.log").read_text()[-2000:]


def wait_for_password(log_path, process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log_path.read_text(errors="replace")
        found = re.search(r"password “([^”]+)”", text)
        if found and "Quit the server" in text:
            return found.group(1)
        assert process.poll() is None, text[-2000:]
        time.sleep(0.2)
    raise AssertionError("runstudio printed no password:\n" + log_path.read_text()[-2000:])
