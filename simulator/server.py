"""A stand-in for ShortAPI over real HTTP: create, query, callbacks, result files and stats.

It speaks the contract in shared/shortapi (the seed pages win), validates and prices every create
with `jobs.catalogue` exactly as the composer does, renders a real MP4 per job and keeps jobs in
memory only. It is a plain WSGI application rather than Django views, so it runs as its own
process (`manage.py runsimulator`) or in a thread inside a test (`start_in_thread`).
"""

from __future__ import annotations

import hmac
import json
import logging
import random
import re
import socketserver
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as make_wsgi_server

import requests

from jobs import catalogue
from lib import ranges
from lib.outbound import resolves_publicly
from simulator import images, video
from simulator.faults import Fate, Faults

logger = logging.getLogger(__name__)

PENDING, PROCESSING, SUCCEEDED, FAILED = 0, 1, 2, 3
MAX_BODY_BYTES = 256 * 1024 * 1024
RENDER_SLOTS = 2
CALLBACK_RETRIES = 3
CALLBACK_PAUSE = 0.5
FILE_PATH = re.compile(r"/files/([0-9a-f]{32})\.mp4")
CHUNK = 64 * 1024


@dataclass(kw_only=True)
class SimulatorSettings:
    key: str
    media_dir: Path
    # base of result URLs; empty means the address the server is bound to
    public_url: str = ""
    pending_seconds: float = 1.0
    processing_seconds: float = 2.0
    fail_marker: str = "[simulate-failure]"
    callback_timeout: float = 5.0
    faults: Faults = Faults()
    # behave as ShortAPI does from the internet: fetch images and call back only at public
    # addresses
    remote: bool = False

    def __post_init__(self):
        self.media_dir = Path(self.media_dir)
        self.public_url = self.public_url.rstrip("/")


@dataclass
class Job:
    id: str
    model: str
    amount: Decimal
    seconds: int
    callback_url: str | None
    # the error the job will end with, or None if it will succeed
    failure: str | None
    prompt: str = ""
    fate: Fate = Fate()
    created: float = field(default_factory=time.monotonic)
    rendered_at: float | None = None
    callbacks_sent: int = 0
    callbacks_unreachable: int = 0
    inline_images: bool = False
    start_frame: dict = field(default_factory=dict)


class Simulator:
    """The WSGI application. Jobs live in `self._jobs`, guarded by `self._lock`."""

    def __init__(self, settings: SimulatorSettings):
        self.settings = settings
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._render_slots = threading.BoundedSemaphore(RENDER_SLOTS)
        # one generator for every fault, drawn only under self._lock, so a seed replays a run
        self._random = random.Random(settings.faults.seed)
        self._create_5xx = 0
        settings.media_dir.mkdir(parents=True, exist_ok=True)

    def __call__(self, environ, start_response):
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")
        try:
            status, headers, body = self._route(method, path, environ)
        except Exception:
            logger.exception("The simulator failed to answer %s %s", method, path)
            status, headers, body = _error(500, "The simulator failed; see its log.")
        start_response(status, headers)
        return body

    def close(self) -> None:
        """Stop waiting jobs from sending callbacks; in-flight renders finish on their own."""
        self._closing.set()

    def _route(self, method, path, environ):
        if match := FILE_PATH.fullmatch(path):
            if method not in ("GET", "HEAD"):
                return _error(405, "Use GET.")
            return self._file(match.group(1), environ, head=method == "HEAD")
        routes = {
            "/api/v1/job/create": ("POST", self._create),
            "/api/v1/job/query": ("GET", self._query),
            "/_simulator/stats": ("GET", self._stats),
        }
        if path not in routes:
            return _error(404, "not found")
        expected, handler = routes[path]
        if method != expected:
            return _error(405, f"Use {expected}.")
        if not self._authorised(environ):
            return _error(401, "Missing or wrong API key: send Authorization: Bearer <key>.")
        return handler(environ)

    def _authorised(self, environ) -> bool:
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        return bool(self.settings.key) and hmac.compare_digest(
            given, f"Bearer {self.settings.key}".encode())

    def _create(self, environ):
        raw = _read_body(environ)
        if raw is None:
            return _error(413, "The request body is too large.")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return _error(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error(400, "The request body must be a JSON object.")
        model_id, args = body.get("model"), body.get("args")
        callback_url = body.get("callback_url")
        if not isinstance(model_id, str):
            return _error(400, "Name the model to run.")
        problems = catalogue.check_args(model_id, args)
        if problems:
            return _error(400, " ".join(problem.message for problem in problems))
        if callback_url is not None and not _is_http_url(callback_url):
            return _error(400, "callback_url must be an http(s) URL.")
        try:
            start, end = images.frames_of(args, remote=self.settings.remote)
        except images.UnreadableImage as exc:
            return _error(400, str(exc))

        faults = self.settings.faults
        with self._lock:
            if faults.answers_500(self._random):
                self._create_5xx += 1
                fate = None
            else:
                fate = faults.fate(self._random)
        if fate is None:
            logger.info("Answered a create with a simulated HTTP 500 (no job created)")
            return _json(500, {"code": 500, "message": "internal error (simulated)"})
        seconds = int(args["duration"])
        audio = bool(args.get("generate_audio", False))
        job = Job(
            id=uuid.uuid4().hex,
            model=model_id,
            amount=catalogue.get(model_id).estimate(args["mode"], seconds, audio),
            seconds=seconds,
            callback_url=callback_url or None,
            failure=self._planned_failure(args) or fate.failure,
            prompt=args.get("prompt") or "",
            fate=fate,
            inline_images=images.sent_inline(args),
            start_frame=images.described(start),
        )
        with self._lock:
            self._jobs[job.id] = job
        logger.info("Created job %s: %s, %s s, $%s%s", job.id, model_id, seconds, job.amount,
                    " (will fail)" if job.failure else "")
        threading.Thread(target=self._work, args=(job, start, end, _shots(args), audio),
                         name=f"simulator-job-{job.id[:8]}", daemon=True).start()
        if fate.late:
            # the job exists and is charged, but a client with a short timeout never learns so
            self._closing.wait(faults.late_seconds)
        return _json(200, {"code": 0, "data": {"amount": str(job.amount), "job_id": job.id}})

    def _planned_failure(self, args) -> str | None:
        marker = self.settings.fail_marker
        prompts = [args.get("prompt") or ""]
        prompts += [shot.get("prompt") or "" for shot in args.get("multi_prompt") or []]
        if marker and any(marker in prompt for prompt in prompts):
            return f"The simulator failed this job because its prompt contains {marker}."
        return None

    def _query(self, environ):
        job_id = parse_qs(environ.get("QUERY_STRING", "")).get("id", [""])[0]
        with self._lock:
            job = self._jobs.get(job_id)
            data = self._job_data(job) if job else None
        if data is None:
            return _error(404, "job not found")
        return _json(200, {"code": 0, "data": data})

    def _stats(self, environ):
        with self._lock:
            jobs = {job.id: (job, self._status(job)) for job in self._jobs.values()}
            sent = {job_id: job.callbacks_sent for job_id, (job, _) in jobs.items()}
            create_5xx = self._create_5xx
        return _json(200, {
            "faults": str(self.settings.faults),
            "remote": self.settings.remote,
            "create_5xx": create_5xx,
            "created": len(jobs),
            "charged": str(catalogue.money(sum((job.amount for job, _ in jobs.values()),
                                               Decimal(0)))),
            "refunded": str(catalogue.money(sum(
                (job.amount for job, status in jobs.values() if status == FAILED), Decimal(0)))),
            "jobs": {
                job_id: {"status": status, "amount": str(job.amount), "model": job.model,
                         "prompt": job.prompt, "late": job.fate.late,
                         "callbacks_dropped": job.fate.drop_callback,
                         "refunded": status == FAILED, "callbacks_sent": sent[job_id],
                         "callback_url_given": bool(job.callback_url),
                         "callbacks_unreachable": job.callbacks_unreachable,
                         "inline_images": job.inline_images,
                         "start_frame": job.start_frame}
                for job_id, (job, status) in jobs.items()
            },
        })

    def _status(self, job: Job) -> int:
        elapsed = time.monotonic() - job.created
        if elapsed < self.settings.pending_seconds:
            return PENDING
        if elapsed < self.settings.pending_seconds + self.settings.processing_seconds:
            return PROCESSING
        if job.failure:
            return FAILED
        return SUCCEEDED if job.rendered_at else PROCESSING

    def _succeeded_at(self, job: Job) -> float | None:
        if self._status(job) != SUCCEEDED:
            return None
        finished = job.created + self.settings.pending_seconds + self.settings.processing_seconds
        return max(finished, job.rendered_at)

    def _job_data(self, job: Job) -> dict:
        status = self._status(job)
        if status == SUCCEEDED:
            url = f"{self.settings.public_url}/files/{job.id}.mp4"
            return {"status": status, "result": {"images": [{"url": url}]}}
        if status == FAILED:
            return {"status": status, "refunded": True, "error": job.failure}
        return {"status": status}

    def _work(self, job: Job, start, end, shots, audio) -> None:
        """Render the job's video, then, once it is finished, tell its callback URL."""
        if job.failure is None:
            try:
                with self._render_slots:
                    video.render_atomically(self._video_path(job.id), start, job.seconds,
                                            end=end, shots=shots, audio=audio)
                with self._lock:
                    job.rendered_at = time.monotonic()
            except Exception:
                logger.exception("Rendering job %s failed", job.id)
                with self._lock:
                    job.failure = "The simulator could not render the video."
        if not job.callback_url:
            return
        finished = job.created + self.settings.pending_seconds + self.settings.processing_seconds
        if self._closing.wait(max(0.0, finished - time.monotonic())):
            return
        with self._lock:
            terminal = {"job_id": job.id, **self._job_data(job)}
        schedule = job.fate.callbacks(terminal)
        if not schedule:
            logger.info("Dropped the callback for job %s (simulated)", job.id)
        for pause, payload in schedule:
            if self._closing.wait(pause):
                return
            self._send_callback(job, payload)

    def _send_callback(self, job: Job, payload: dict) -> None:
        # the callback URL carries the app's per-job secret, so it never reaches the log
        if self.settings.remote and not resolves_publicly(urlsplit(job.callback_url).hostname or ""):
            # from the internet a private address is unreachable: the call never arrives
            with self._lock:
                job.callbacks_unreachable += 1
            return
        problem = ""
        for attempt in range(1 + CALLBACK_RETRIES):
            if attempt and self._closing.wait(CALLBACK_PAUSE * attempt):
                return
            try:
                response = requests.post(job.callback_url, json=payload,
                                         timeout=self.settings.callback_timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                problem = type(exc).__name__
                continue
            except requests.RequestException as exc:
                logger.warning("Callback for job %s not sent: %s", job.id, type(exc).__name__)
                return
            if response.status_code < 500:
                with self._lock:
                    job.callbacks_sent += 1
                if response.status_code >= 400:
                    logger.warning("Callback for job %s answered HTTP %s", job.id,
                                   response.status_code)
                return
            problem = f"HTTP {response.status_code}"
        logger.warning("Callback for job %s failed after %d attempts: %s", job.id,
                       1 + CALLBACK_RETRIES, problem)

    def _video_path(self, job_id: str) -> Path:
        return self.settings.media_dir / f"{job_id}.mp4"

    def _file(self, job_id, environ, head=False):
        with self._lock:
            job = self._jobs.get(job_id)
            succeeded_at = self._succeeded_at(job) if job else None
        if succeeded_at and self.settings.faults.expired(succeeded_at, time.monotonic()):
            return _error(410, "This result has expired (simulated).")
        path = self._video_path(job_id)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return _error(404, "not found")
        headers = [("Content-Type", "video/mp4"), ("Accept-Ranges", "bytes")]
        wanted = ranges.byte_range(environ.get("HTTP_RANGE", ""), size)
        if wanted is False:
            return _error(416, "Range not satisfiable.", [("Content-Range", f"bytes */{size}")])
        first, last = wanted or (0, size - 1)
        headers.append(("Content-Length", str(last - first + 1)))
        if wanted:
            headers.append(("Content-Range", f"bytes {first}-{last}/{size}"))
        status = _status_line(206 if wanted else 200)
        return status, headers, [] if head else _read_file(path, first, last)


def _shots(args) -> list[int] | None:
    if not args.get("multi_shot"):
        return None
    if args.get("shot_type") == "customize":
        return [shot["duration"] for shot in args["multi_prompt"]]
    # Kling splits an "intelligence" storyboard itself; two halves make the split visible
    seconds = int(args["duration"])
    return [(seconds + 1) // 2, seconds // 2]


def _is_http_url(value) -> bool:
    return (isinstance(value, str) and urlsplit(value).scheme in ("http", "https")
            and bool(urlsplit(value).netloc))


def _read_body(environ) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        return None
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _read_file(path: Path, first: int, last: int):
    with path.open("rb") as file:
        yield from ranges.part(file, first, last, CHUNK)


def _status_line(code: int) -> str:
    return f"{code} {HTTPStatus(code).phrase}"


def _json(code: int, payload: dict, headers=()):
    body = json.dumps(payload).encode()
    return _status_line(code), [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body))), *headers], [body]


def _error(code: int, message: str, headers=()):
    return _json(code, {"code": code, "message": message, "data": None}, headers)


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):
        logger.debug("%s " + format, self.address_string(), *args)


def make_server(host: str, port: int, settings: SimulatorSettings) -> WSGIServer:
    """A threaded WSGI server for a new Simulator, reachable as `server.simulator`."""
    simulator = Simulator(settings)
    server = make_wsgi_server(host, port, simulator, server_class=_ThreadingWSGIServer,
                              handler_class=_QuietHandler)
    if not settings.public_url:
        simulator.settings = replace(settings, public_url=f"http://{host}:{server.server_port}")
    server.simulator = simulator
    return server


@dataclass
class RunningSimulator:
    """A simulator serving from a background thread; `stop()` (or leaving `with`) ends it."""

    url: str
    simulator: Simulator
    server: WSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.simulator.close()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


def start_in_thread(host: str = "127.0.0.1", port: int = 0, **settings_kwargs) -> RunningSimulator:
    """Serve a simulator of `SimulatorSettings(**settings_kwargs)`; port 0 picks a free port."""
    server = make_server(host, port, SimulatorSettings(**settings_kwargs))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="simulator-server", daemon=True)
    thread.start()
    return RunningSimulator(url=f"http://{host}:{server.server_port}",
                            simulator=server.simulator, server=server, thread=thread)
