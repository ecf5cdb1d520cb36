"""`manage.py runstudio`: the whole app on one machine: web server, task workers and (without a
SHORTAPI_KEY) the ShortAPI simulator, each in its own process, stopped together.

It prepares the database and a `demo` account whose fresh password it prints, so a new person
can sign in straight away.
"""

import os
import secrets
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

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
        # The simulator runs beside the app, so it can call back: no polling delay in the demo.
        env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        commands = [manage + ["qcluster"],
                    manage + ["runserver", "--noreload", f"{host}:{port}"]]
        if settings.SHORTAPI_SIMULATED:
            env.setdefault("SHORTAPI_BASE_URL", f"http://127.0.0.1:{simulator_port}")
            commands.insert(0, manage + ["runsimulator", "--host", "127.0.0.1",
                                         "--port", str(simulator_port)])
        children = [subprocess.Popen(command, env=env) for command in commands]
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

    def wait(self, children):
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
        failed = [c for c in children if c.returncode not in (0, -signal.SIGTERM, None)]
        if failed and not stopping:
            sys.exit(f"A part of Kling Studio stopped unexpectedly: {failed[0].args[-1]}")
