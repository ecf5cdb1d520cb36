"""The README's promises: its first command brings up the whole app with a demo account that a
new person can sign in with and get a video from; its second command is what CI runs.
"""

import re

import pytest

from tests.conftest import image_bytes
from tests.stack import ROOT, RunStudio, submit, wait_until_finished

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
    studio = RunStudio(tmp_path).start()
    try:
        session = studio.session()
        job_page = submit(studio, session,
                          {"model": "kwaivgi/kling-2.6/image-to-video", "mode": "pro",
                           "duration": "5", "prompt": "First light"},
                          {"start_frame": ("first.jpg", image_bytes(fmt="JPEG"), "image/jpeg")})
        state, _ = wait_until_finished(session, job_page.url, timeout=60)
        assert state["status"] == "succeeded"
        # beside its own simulator the app can be called back and send image links
        assert "ShortAPI calls back to http://127.0.0.1" in studio.output()
        assert "Images are sent as signed links" in studio.output()
    finally:
        returncode = studio.stop()
    assert returncode == 0, studio.output()[-2000:]
