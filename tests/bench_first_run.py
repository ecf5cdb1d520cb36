"""How long a new person waits on the first run: a fresh clone, a fresh virtualenv and the
README's first command, until the web server answers /health/. Not a test: it prints figures.

    .venv/bin/python -m tests.bench_first_run [REVISION ...]

Each revision (default: the one before requirements.txt was split, and HEAD) is cloned into its
own directory under /tmp and run with its own README's command, on free ports, with pip's cache
as it is (warm, once the project's packages were installed on this machine). It prints seconds
to the first answer of /health/ and, when runstudio prints it, to the line with the password.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from tests.stack import _OWN_PREFIXES, _OWN_VARIABLES, ROOT, free_port, stop_group

DEFAULT_REVISIONS = ("8689074~1", "HEAD")
READY_WITHIN = 300


def run_command(clone):
    """The README's first command of this clone, on free ports."""
    command = re.findall(r"```(?:sh|bash)\n(.+?)\n```", (clone / "README.md").read_text())[0]
    port, simulator_port = free_port(), free_port()
    return f"{command} --port {port} --simulator-port {simulator_port}", port


def first_run(revision):
    """(seconds to /health/, seconds to the password line or None) from a fresh clone."""
    clone = Path(tempfile.mkdtemp(prefix="kling-first-run-"))
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q",
                    subprocess.run(["git", "-C", str(ROOT), "rev-parse", revision], check=True,
                                   capture_output=True, text=True).stdout.strip()], check=True)
    command, port = run_command(clone)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(_OWN_PREFIXES) and k not in _OWN_VARIABLES
           and k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PYTHONUNBUFFERED"] = "1"
    log_path = clone / "first-run.log"
    started = time.monotonic()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(["sh", "-c", command], cwd=clone, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    healthy = printed = None
    try:
        while time.monotonic() - started < READY_WITHIN and process.poll() is None:
            if printed is None and "password “" in log_path.read_text(errors="replace"):
                printed = time.monotonic() - started
            if healthy is None:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/health/", timeout=1).ok:
                        healthy = time.monotonic() - started
                except requests.RequestException:
                    pass
            if healthy is not None and printed is not None:
                break
            time.sleep(0.1)
        if healthy is None:
            raise RuntimeError(f"{revision} never answered /health/:\n"
                               + log_path.read_text(errors="replace")[-3000:])
    finally:
        stop_group(process, lambda: os.killpg(process.pid, signal.SIGINT))  # as Ctrl+C does
        shutil.rmtree(clone, ignore_errors=True)
    return healthy, printed


def main(revisions):
    results = {}
    for revision in revisions:
        healthy, printed = first_run(revision)
        results[revision] = healthy
        print(f"{revision}: /health/ answers after {healthy:.1f} s"
              + (f", password printed after {printed:.1f} s" if printed is not None else ""),
              flush=True)
    if len(revisions) == 2:
        before, after = (results[revision] for revision in revisions)
        print(f"after / before: {after / before:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:] or DEFAULT_REVISIONS)
