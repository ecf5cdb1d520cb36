"""`manage.py runsimulator`: serve the ShortAPI simulator as its own process until signalled."""

import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from simulator.faults import Faults, FaultSpecError, parse
from simulator.server import start_in_thread


def _seconds_from_env(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise CommandError(f"{name} must be a number of seconds, not {value!r}.") from None
    if seconds < 0:
        raise CommandError(f"{name} cannot be negative.")
    return seconds


def faults_from(option: str | None, environ=os.environ) -> Faults:
    """The faults `--faults` names, else $SIMULATOR_FAULTS, else none."""
    source, spec = ("--faults", option) if option is not None else (
        "SIMULATOR_FAULTS", environ.get("SIMULATOR_FAULTS", ""))
    try:
        return parse(spec)
    except FaultSpecError as exc:
        raise CommandError(f"{source} has a bad part: {exc}") from None


class Command(BaseCommand):
    help = "Run the local ShortAPI simulator (create, query, callbacks, MP4 results)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8001)
        parser.add_argument("--pending-seconds", type=float,
                            help="Default: $SIMULATOR_PENDING_SECONDS or 1.")
        parser.add_argument("--processing-seconds", type=float,
                            help="Default: $SIMULATOR_PROCESSING_SECONDS or 2.")
        parser.add_argument("--public-url", default="",
                            help="Base of result URLs; default http://HOST:PORT.")
        parser.add_argument("--remote", action="store_true", default=None,
                            help="Behave as ShortAPI does from the internet: fetch images and "
                                 "call back only at public addresses. Default: "
                                 "$SIMULATOR_REMOTE or off.")
        parser.add_argument("--faults", dest="fault_spec",
                            help="Faults to inject, e.g. 'create_5xx=0.1,drop_callback=0.3,"
                                 "seed=7'. Default: $SIMULATOR_FAULTS or none.")

    def handle(self, *args, host, port, pending_seconds, processing_seconds, public_url,
               fault_spec=None, remote=None, **options):
        faults = faults_from(fault_spec)
        if remote is None:
            remote = os.environ.get("SIMULATOR_REMOTE", "").strip().lower() in ("1", "true",
                                                                                 "yes", "on")
        if pending_seconds is None:
            pending_seconds = _seconds_from_env("SIMULATOR_PENDING_SECONDS", 1.0)
        if processing_seconds is None:
            processing_seconds = _seconds_from_env("SIMULATOR_PROCESSING_SECONDS", 2.0)
        key = getattr(settings, "SHORTAPI_KEY", "")
        if not key:
            raise CommandError("Set SHORTAPI_KEY: the simulator accepts only that key.")
        media_dir = getattr(settings, "SIMULATOR_MEDIA_DIR", None)
        scratch = None if media_dir else tempfile.mkdtemp(prefix="kling-simulator-")
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        try:
            self._serve(stop, host=host, port=port, key=key, media_dir=Path(media_dir or scratch),
                        public_url=public_url, pending_seconds=pending_seconds,
                        processing_seconds=processing_seconds, faults=faults, remote=remote)
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)

    def _serve(self, stop, host, port, **settings_kwargs):
        try:
            running = start_in_thread(host=host, port=port, **settings_kwargs)
        except OSError as exc:
            raise CommandError(f"Cannot listen on {host}:{port}: {exc}") from None
        simulator_settings = running.simulator.settings
        self.stdout.write(f"ShortAPI simulator listening on {running.url} "
                          f"(videos in {simulator_settings.media_dir}; "
                          f"faults: {simulator_settings.faults}"
                          f"{'; remote: public addresses only' if simulator_settings.remote else ''})")
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            running.stop()
        self.stdout.write("ShortAPI simulator stopped.")
