"""`manage.py runstudio`: the whole app on one machine: web server, task workers and (without a
SHORTAPI_KEY) the ShortAPI simulator, each in its own process, stopped together.

It prepares the database and a `demo` account whose fresh password it prints, so a new person
can sign in straight away. Before anything else it checks the key (`checkshortapi`) and says how
jobs will travel; a refused key or an unreachable ShortAPI stops it with the reason.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_USER = "demo"


class Command(BaseCommand):
    help = "Run the web app, the task workers and, without SHORTAPI_KEY, the ShortAPI simulator."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--simulator-port", type=int, default=8001)

    def handle(self, *args, host, port, simulator_port, **options):
        call_command("migrate", interactive=False, verbosity=0)
        password = self.reset_demo_user()
        env = dict(os.environ)
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        children = []
        if settings.SHORTAPI_SIMULATED:
            # Only the simulator beside the app can reach a loopback address; the real ShortAPI
            # never could, so with a key the app's own PUBLIC_BASE_URL (if any) is left alone.
            env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
            env.setdefault("SHORTAPI_BASE_URL", f"http://127.0.0.1:{simulator_port}")
            children.append(subprocess.Popen(
                manage + ["runsimulator", "--host", "127.0.0.1", "--port", str(simulator_port)],
                env=env))
            self.wait_for_port(simulator_port, children)
        if subprocess.run(manage + ["checkshortapi"], env=env).returncode != 0:
            self.stop(children)
            raise CommandError("Kling Studio did not start: fix what is said above and run it "
                               "again, or unset SHORTAPI_KEY to try the built-in simulator.")
        children += [subprocess.Popen(manage + ["qcluster"], env=env),
                     subprocess.Popen(manage + ["runserver", "--noreload", f"{host}:{port}"],
                                      env=env)]
        self.stdout.write(self.style.SUCCESS(
            f"\nKling Studio is running at http://{host}:{port}/\n"
            f"Sign in as “{DEMO_USER}” with password “{password}”.\n"
            + ("No SHORTAPI_KEY is set: the built-in ShortAPI simulator makes the videos.\n"
               if settings.SHORTAPI_SIMULATED else "Videos are made by ShortAPI.\n")
            + "Press Ctrl+C to stop.\n"))
        self.wait(children)

    def reset_demo_user(self):
        password = secrets.token_urlsafe(9)
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True, "is_superuser": True})
        user.set_password(password)
        user.save()
        return password

    def wait_for_port(self, port, children, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(child.poll() is not None for child in children):
                break
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop(children)
        raise CommandError(f"The ShortAPI simulator did not start on port {port}; is another "
                           "program using it? Choose another with --simulator-port.")

    def wait(self, children):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        self.stop(children)
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            sys.exit(f"A part of Kling Studio stopped unexpectedly: {failed[0].args[-1]}")

    @staticmethod
    def stop(children):
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
