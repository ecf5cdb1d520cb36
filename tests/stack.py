"""The whole app as real processes for integration and browser tests: a gunicorn web server, the
ShortAPI simulator and a `qcluster`, on the embedded default (SQLite + ORM broker) or on
PostgreSQL + Redis, each stack with its own database, media directory and queue.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "stack-pass-123"
_OWN_PREFIXES = ("SHORTAPI_", "SIMULATOR_")
_OWN_VARIABLES = ("SHORTAPI_KEY", "SHORTAPI_BASE_URL", "PUBLIC_BASE_URL", "DATABASE_URL",
                  "REDIS_URL", "KLING_VAR_DIR", "MEDIA_ROOT", "KLING_PRODUCTION", "DEBUG",
                  "KLING_IMAGE_TRANSPORT", "KLING_QUEUE_NAME")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_available():
    try:
        import psycopg

        psycopg.connect("host=127.0.0.1 dbname=postgres user=postgres", connect_timeout=2).close()
        return True
    except Exception:
        return False


@contextmanager
def migrated_postgres(prefix):
    """The URL of a new, migrated PostgreSQL database, dropped after the block."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    Stack._postgres(f'CREATE DATABASE "{name}"')
    url = f"postgres://postgres@127.0.0.1:5432/{name}"
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=ROOT,
                       env={**os.environ, "DATABASE_URL": url}, check=True,
                       capture_output=True, timeout=120)
        yield url
    finally:
        Stack._postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def race_report(module, rounds, database_url):
    """Run a race script (`python -m tests.<module> ROUNDS`) against `database_url` and return the
    JSON report it prints last; a script that fails fails the test with its error output."""
    env = {**os.environ, "DATABASE_URL": database_url, "LOG_LEVEL": "ERROR"}
    result = subprocess.run([sys.executable, "-m", f"tests.{module}", str(rounds)], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def redis_available():
    try:
        import redis

        return redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except Exception:
        return False


def stop_group(process, signal_it, wait=20):
    """Stop a process started in its own session: `signal_it()`, up to `wait` seconds for it to
    end, then SIGKILL to whatever of its group is left."""
    try:
        signal_it()
        process.wait(timeout=wait)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


class Stack:
    def __init__(self, workdir, backend="embedded", callbacks=True, extra_env=None):
        self.workdir = Path(workdir)
        self.backend = backend
        self.web_port, self.sim_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.web_port}"
        self.simulator_url = f"http://127.0.0.1:{self.sim_port}"
        self.database = None
        self.processes = {}
        self._commands = {}
        env = {k: v for k, v in os.environ.items() if k not in _OWN_VARIABLES}
        env.update({
            "KLING_VAR_DIR": str(self.workdir),
            "SHORTAPI_BASE_URL": self.simulator_url,
            "KLING_QUEUE_NAME": f"kling-test-{uuid.uuid4().hex[:8]}",
            "SIMULATOR_PENDING_SECONDS": "0.5",
            "SIMULATOR_PROCESSING_SECONDS": "1",
            "KLING_WORKERS": "2",
            "PYTHONUNBUFFERED": "1",
        })
        if callbacks:
            env["PUBLIC_BASE_URL"] = self.url
        if backend == "postgres-redis":
            self.database = f"kling_it_{uuid.uuid4().hex[:10]}"
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{self.database}"
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        env.update(extra_env or {})
        self.env = env

    def manage(self, *args, check=True):
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
                              check=check, capture_output=True, text=True, timeout=120)

    def start(self):
        if self.database:
            self._postgres(f'CREATE DATABASE "{self.database}"')
        self.manage("migrate", "--no-input")
        self.manage("shell", "-c", (
            "from django.contrib.auth.models import User;"
            f"User.objects.create_user('maya', password='{PASSWORD}');"
            f"User.objects.create_user('noah', password='{PASSWORD}');"
            f"User.objects.create_user('ada', password='{PASSWORD}', is_staff=True,"
            " is_superuser=True)"))
        self.spawn("simulator", "manage.py", "runsimulator", "--port", str(self.sim_port))
        self.spawn("qcluster", "manage.py", "qcluster")
        # the workers of free work (exports), on their own queue
        self.spawn("free", "manage.py", "qcluster",
                   env={"Q_CLUSTER_NAME": f"{self.env['KLING_QUEUE_NAME']}-free"})
        # as the Dockerfile runs it
        self.spawn("web", "-m", "gunicorn", "klingstudio.wsgi", "-c", "python:klingstudio.gunicorn",
                   "--bind", f"127.0.0.1:{self.web_port}")
        self._wait_for(self.url + "/accounts/login/")
        self._wait_for(self.simulator_url + "/files/none.mp4", ok=(404,))
        return self

    def spawn(self, name, *args, env=None):
        """Start a process of the stack; `env` overrides variables for this one (another host)."""
        log = open(self.workdir / f"{name}.log", "ab")
        # Its own session, so a kill can take the whole group (qcluster's workers are children).
        self.processes[name] = subprocess.Popen([sys.executable, *args], cwd=ROOT,
                                                env={**self.env, **(env or {})},
                                                stdout=log, stderr=subprocess.STDOUT,
                                                start_new_session=True)
        self._commands[name] = args

    def stop_process(self, name, kill=False):
        process = self.processes.pop(name)
        # the process itself stops its children (qcluster its workers); a signal to the whole
        # group at once leaves qcluster waiting for workers that already went
        stop_group(process, lambda: os.killpg(process.pid, signal.SIGKILL) if kill
                   else os.kill(process.pid, signal.SIGTERM))

    def kill_and_restart(self, name):
        """kill -9 a process and all its children, as a crash would, then start it again."""
        self.stop_process(name, kill=True)
        self.spawn(name, *self._commands[name])

    def jobs(self):
        """Every job row, read through the app's own settings."""
        script = ("import json; from jobs.models import Job;"
                  "print(json.dumps([dict(id=j.pk, status=j.status, error=j.error, prompt=j.prompt,"
                  "shortapi_job_id=j.shortapi_job_id, amount=str(j.amount), refunded=j.refunded,"
                  "video_error=j.video_error,"
                  "video=bool(j.video) and j.video.storage.exists(j.video.name))"
                  " for j in Job.objects.all()]))")
        return json.loads(self.manage("shell", "--no-imports", "-c", script).stdout)

    def ledger(self):
        """The ledger's totals by kind, and net, as strings of dollars."""
        script = ("import json; from django.db.models import Sum; from jobs.catalogue import "
                  "money; from spend.models import LedgerEntry as E; totals = {k: str(money("
                  "E.objects.filter(kind=k).aggregate(t=Sum('amount'))['t'] or 0)) for k in "
                  "('charge', 'refund', 'correction')}; totals['net'] = str(money("
                  "E.objects.aggregate(t=Sum('amount'))['t'] or 0)); print(json.dumps(totals))")
        return json.loads(self.manage("shell", "--no-imports", "-c", script).stdout)

    def stop(self):
        for name in list(self.processes):
            self.stop_process(name)
        if self.database:
            self._postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def log(self, name):
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def _wait_for(self, url, ok=(200,), timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead[0]} stopped:\n{self.log(dead[0])[-3000:]}")
            try:
                if requests.get(url, timeout=5).status_code in ok:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {timeout} s")

    @staticmethod
    def _postgres(statement):
        import psycopg

        with psycopg.connect("host=127.0.0.1 dbname=postgres user=postgres",
                             autocommit=True) as connection:
            connection.execute(statement)

    def session(self, username="maya"):
        """A requests session signed in as one of the stack's people."""
        session = requests.Session()
        page = session.get(self.url + "/accounts/login/")
        session.post(self.url + "/accounts/login/",
                     data={"username": username, "password": PASSWORD,
                           "csrfmiddlewaretoken": csrf_token(page.text)},
                     headers={"Referer": self.url})
        return session

    def simulator_stats(self, key="local-simulator-key"):
        return requests.get(self.simulator_url + "/_simulator/stats",
                            headers={"Authorization": f"Bearer {key}"}, timeout=5).json()


def csrf_token(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def submit(stack, session, fields, files):
    page = session.get(stack.url + "/jobs/new/")
    response = session.post(stack.url + "/jobs/new/",
                            data={"csrfmiddlewaretoken": csrf_token(page.text), **fields},
                            files=files, headers={"Referer": stack.url})
    response.raise_for_status()
    return response


def wait_until_finished(session, job_url, timeout=60):
    """The job's last status and the statuses it went through, once it has finished (and, when
    it succeeded, once its video is kept here)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        state = session.get(job_url + "status/").json()
        if not seen or seen[-1] != state["status"]:
            seen.append(state["status"])
        if state["finished"] and (state["status"] != "succeeded" or state["kept"]):
            return state, seen
        time.sleep(0.3)
    raise AssertionError(f"job at {job_url} did not finish in {timeout} s; went through {seen}")


class RunStudio:
    """`manage.py runstudio` as a person runs it from the README, on free ports."""

    def __init__(self, workdir, **env):
        self.workdir = Path(workdir)
        self.port, self.simulator_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith(_OWN_PREFIXES) and k not in _OWN_VARIABLES}
        self.env.update({"KLING_VAR_DIR": str(self.workdir), "PYTHONUNBUFFERED": "1",
                         "KLING_QUEUE_NAME": f"runstudio-{self.port}", **env})
        self.log_path = self.workdir / "runstudio.log"
        self.process = None

    def start(self, wait=True):
        """Run it; unless `wait` is false, until it has printed the demo password."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "wb")
        # its own process group, as a terminal gives it, so a test can send that group Ctrl+C
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runstudio", "--port", str(self.port),
             "--simulator-port", str(self.simulator_port)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            self.password = self.wait_for_password()
        return self

    def output(self):
        return self.log_path.read_text(errors="replace")

    def wait_for_password(self, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output()
            found = re.search(r"password “([^”]+)”", text)
            if found and "Quit the server" in text:
                return found.group(1)
            assert self.process.poll() is None, text[-3000:]
            time.sleep(0.2)
        raise AssertionError("runstudio printed no password:\n" + self.output()[-3000:])

    def session(self):
        """A requests session signed in as the demo account."""
        session = requests.Session()
        page = session.get(self.url + "/accounts/login/")
        signed_in = session.post(self.url + "/accounts/login/", headers={"Referer": self.url},
                                 data={"username": "demo", "password": self.password,
                                       "csrfmiddlewaretoken": csrf_token(page.text)})
        assert signed_in.url == self.url + "/", signed_in.text[:2000]
        return session

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        return self.process.returncode


class S3Server:
    """A real S3-compatible server on this machine (moto's server mode), with one bucket."""

    BUCKET = "kling-studio"
    CREDENTIALS = {"AWS_ACCESS_KEY_ID": "kling-test", "AWS_SECRET_ACCESS_KEY": "kling-test-secret",
                   "AWS_S3_REGION_NAME": "us-east-1"}

    def __init__(self, workdir):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(Path(workdir) / "s3.log", "wb")
        self.process = None

    @staticmethod
    def available():
        return (Path(sys.executable).parent / "moto_server").exists()

    def start(self):
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p",
             str(self.port)], stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(self.url, timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and self.process.poll() is None, "no S3 server"
                time.sleep(0.2)
        self.client().create_bucket(Bucket=self.BUCKET)
        return self

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id=self.CREDENTIALS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=self.CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def keys(self):
        listed = self.client().list_objects_v2(Bucket=self.BUCKET).get("Contents", [])
        return sorted(item["Key"] for item in listed)

    def env(self):
        return {"AWS_STORAGE_BUCKET_NAME": self.BUCKET, "AWS_S3_ENDPOINT_URL": self.url,
                **self.CREDENTIALS}

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=20)
