"""`manage.py runstudio`: the whole app on one machine: web server, task workers and (without a
SHORTAPI_KEY) the ShortAPI simulator, each in its own process, stopped together.

It prepares the database and a `demo` account whose fresh password it prints, once the web
server answers, so a new person can sign in straight away. Before the workers start it checks the
key (`checkshortapi`) and says how jobs will travel; a refused key or an unreachable ShortAPI
stops it with the reason.

Ctrl+C, SIGTERM or SIGHUP stop every part within STOP_SECONDS, and each part dies with it even
if it is killed (`lib.lifetime`): a worker left behind could go on sending paid jobs.
"""

import http.client
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from lib import lifetime

DEMO_USER = "demo"
# how long the web server may take to answer /health/ before the start counts as failed
READY_SECONDS = 60
# every part has stopped this long after a stop signal (qcluster's own grace is shorter)
STOP_SECONDS = 8


class Stop(BaseException):
    """A stop signal arrived. Not an Exception, so that no `except Exception` swallows it."""


class Command(BaseCommand):
    help = "Run the web app, the task workers and, without SHORTAPI_KEY, the ShortAPI simulator."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8001)

    def handle(self, *args, host, port, simulator_port, **options):
        for signum in lifetime.STOP_SIGNALS:
            signal.signal(signum, _raise_stop)
        children = []
        try:
            self.start(children, host, port, simulator_port)
            self.wait(children)
        except Stop:
            self.stdout.write("Stopping Kling Studio…")
        finally:
            self.stop(children)

    def start(self, children, host, port, simulator_port):
        """Start the parts, each as soon as what it needs is there, and say where to sign in
        once the web server answers."""
        env = dict(os.environ)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        if settings.SHORTAPI_SIMULATED:
            # Only the simulator beside the app can reach a loopback address; the real ShortAPI
            # never could, so with a key the app's own PUBLIC_BASE_URL (if any) is left alone.
            env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
            env.setdefault("SHORTAPI_BASE_URL", f"http://127.0.0.1:{simulator_port}")
            # it needs no database, so it starts while the database is migrated
            self.spawn(children, manage + ["runsimulator", "--host", "127.0.0.1",
                                           "--port", str(simulator_port)], env)
        call_command("migrate", interactive=False, verbosity=0)
        password = self.reset_demo_user()
        self.spawn(children, manage + ["runserver", "--noreload", f"{host}:{port}"], env)
        if settings.SHORTAPI_SIMULATED:
            self.wait_for_port(simulator_port, children[0])
        # the workers are what send jobs: they start only once the key is known to work
        if subprocess.run(manage + ["checkshortapi"], env=env).returncode != 0:
            raise CommandError("Kling Studio did not start: fix what is said above and run it "
                               "again, or unset SHORTAPI_KEY to try the built-in simulator.")
        self.spawn(children, manage + ["qcluster"], env)
        # free work (exports) has workers of its own, so it never holds up ShortAPI's tasks
        self.spawn(children, manage + ["qcluster"],
                   {**env, "Q_CLUSTER_NAME": settings.KLING_FREE_QUEUE})
        self.wait_until_ready(host, port, children)
        self.stdout.write(self.style.SUCCESS(
            f"\nKling Studio is running at http://{host}:{port}/\n"
            f"Sign in as “{DEMO_USER}” with password “{password}”.\n"
            + ("No SHORTAPI_KEY is set: the built-in ShortAPI simulator makes the videos.\n"
               if settings.SHORTAPI_SIMULATED else "Videos are made by ShortAPI.\n")
            + "Press Ctrl+C to stop.\n"))

    def reset_demo_user(self):
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True})
        user.set_password(password)
        user.save()
        return password

    @staticmethod
    def spawn(children, args, env):
        """Start a part in its own session, so that it hears stop signals from us alone and a
        kill can take its whole group; it ends with us even if we are killed."""
        # blocked until the part is on the list, so that a stop always includes it
        signal.pthread_sigmask(signal.SIG_BLOCK, lifetime.STOP_SIGNALS)
        try:
            children.append(subprocess.Popen(args, env=env, start_new_session=True,
                                             preexec_fn=partial(_child_setup, os.getpid())))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, lifetime.STOP_SIGNALS)

    def wait_for_port(self, port, simulator, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and simulator.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        raise CommandError(f"The ShortAPI simulator did not start on port {port}; is another "
                           "program using it? Choose another with --simulator-port.")

    def wait_until_ready(self, host, port, children):
        """Until the web server answers /health/: a person is only told the address once it
        works."""
        probe = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            ended = [child for child in children if child.poll() is not None]
            if ended:
                raise CommandError(f"Kling Studio did not start: its {_name(ended[0])} stopped; "
                                   f"see what it said above (if port {port} is in use, choose "
                                   "another with --port).")
            if _answers(probe, port, "/health/"):
                return
            time.sleep(0.2)
        raise CommandError(f"Kling Studio did not start: its web server did not answer "
                           f"http://{host}:{port}/health/ within {READY_SECONDS} s.")

    def wait(self, children):
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        ended = next(child for child in children if child.poll() is not None)
        sys.exit(f"A part of Kling Studio stopped unexpectedly: {_name(ended)}")

    @staticmethod
    def stop(children):
        """Ask every part to stop, then kill what is left of each one's group."""
        _ignore_stop_signals()
        for child in children:
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + STOP_SECONDS
        for child in children:
            try:
                child.wait(max(0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for child in children:
            try:
                os.killpg(child.pid, signal.SIGKILL)  # qcluster's workers are in its group
            except ProcessLookupError:
                pass
            child.wait()


def _raise_stop(signum, frame):
    _ignore_stop_signals()  # a second Ctrl+C must not cut the stop short
    raise Stop


def _ignore_stop_signals():
    for signum in lifetime.STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


def _child_setup(parent_pid):
    # runs in the new part before it starts: it inherited our blocked signals
    signal.pthread_sigmask(signal.SIG_UNBLOCK, lifetime.STOP_SIGNALS)
    lifetime.die_with_parent(parent_pid, signal.SIGTERM)


def _name(child):
    return child.args[2]  # [python, manage.py, command, ...]


def _answers(host, port, path):
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()
