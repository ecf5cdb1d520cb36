"""The ShortAPI client over real HTTP: against the simulator, and against tiny servers that
misbehave the ways a network does."""

import base64
import io
import socket
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from jobs.shortapi import Client, ShortAPIError
from simulator.server import start_in_thread

KEY = "sk-test-5f3a9c1e7b2d4e6f8a0b"
KLING_26 = "kwaivgi/kling-2.6/image-to-video"


def data_uri():
    buffer = io.BytesIO()
    Image.new("RGB", (640, 400), (200, 60, 40)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def args(**overrides):
    return {"mode": "pro", "prompt": "A slow pan", "duration": "5", "image": data_uri(),
            "generate_audio": False, **overrides}


def assert_keeps_the_key(error, *keys):
    """Nothing a person or a log could read from the error names the key."""
    seen = " ".join([error.message, str(error), repr(error), repr(error.args)])
    for key in keys:
        assert key not in seen


@pytest.fixture
def sim(tmp_path):
    running = start_in_thread(key=KEY, media_dir=tmp_path / "simulator", pending_seconds=0.2,
                              processing_seconds=0.3)
    yield running
    running.stop()


@pytest.fixture
def client(sim):
    return Client(base_url=sim.url, key=KEY, timeout=10)


def fails(call):
    with pytest.raises(ShortAPIError) as caught:
        call()
    return caught.value


def test_it_creates_a_job_and_reads_its_price_as_a_decimal(client):
    created = client.create(KLING_26, args(duration="10", generate_audio=True))
    assert isinstance(created.job_id, str) and created.job_id
    assert created.amount == Decimal("1.20")
    assert isinstance(created.amount, Decimal)


def test_it_reports_a_rule_violation_as_permanent_with_shortapis_message(client):
    error = fails(lambda: client.create(KLING_26, args(duration="7")))
    assert error.permanent is True
    assert error.maybe_accepted is False
    assert "Kling 2.6 makes videos of 5 or 10 seconds" in error.message
    assert_keeps_the_key(error, KEY)


def test_it_reports_a_wrong_key_as_permanent_without_naming_either_key(sim):
    wrong = "sk-wrong-0d9e8f7a6b5c4d3e"
    error = fails(lambda: Client(base_url=sim.url, key=wrong, timeout=10).create(KLING_26,
                                                                                 args()))
    assert error.permanent is True
    assert error.maybe_accepted is False
    assert "key" in error.message.lower()
    assert_keeps_the_key(error, wrong, KEY)


def test_it_follows_a_job_until_it_has_a_video(client):
    job_id = client.create(KLING_26, args()).job_id
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        state = client.query(job_id)
        seen.append(state.status)
        if state.finished:
            break
        time.sleep(0.1)

    assert state.status == 2 and state.succeeded
    assert state.video_url.startswith(client.base_url + "/files/")
    assert seen == sorted(seen)
    assert seen[0] in (0, 1)


def test_it_reads_a_simulated_failure_as_refunded_with_its_reason(client):
    job_id = client.create(KLING_26, args(prompt="A pan [simulate-failure]")).job_id
    deadline = time.monotonic() + 30
    while not (state := client.query(job_id)).finished and time.monotonic() < deadline:
        time.sleep(0.1)
    assert state.status >= 3 and not state.succeeded
    assert state.refunded is True
    assert "[simulate-failure]" in state.error


def test_it_says_a_refused_connection_never_reached_shortapi():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(base_url=f"http://127.0.0.1:{port}", key=KEY, timeout=2)

    error = fails(lambda: client.create(KLING_26, args()))

    assert error.permanent is False
    assert error.maybe_accepted is False
    assert_keeps_the_key(error, KEY)


def test_a_create_that_times_out_may_have_been_accepted():
    with socket.socket() as silent:
        # the kernel accepts the connection; nobody ever reads or answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        client = Client(base_url=f"http://127.0.0.1:{silent.getsockname()[1]}", key=KEY,
                        timeout=0.5)
        started = time.monotonic()
        error = fails(lambda: client.create(KLING_26, args()))

    assert time.monotonic() - started < 5
    assert error.maybe_accepted is True
    assert error.permanent is False
    assert_keeps_the_key(error, KEY)


class Scripted:
    """A tiny HTTP server that answers every request with one scripted response."""

    def __init__(self, status, body=b"", headers=()):
        self.requests = []
        scripted = self

        class Handler(BaseHTTPRequestHandler):
            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                scripted.requests.append((self.command, self.path,
                                          self.headers.get("Authorization")))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.client = Client(base_url=f"http://127.0.0.1:{self.server.server_port}", key=KEY,
                             timeout=5)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def scripted():
    servers = []

    def start(status, body=b"", headers=()):
        servers.append(Scripted(status, body, headers))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


def test_a_create_answered_with_a_server_error_may_have_been_accepted(scripted):
    server = scripted(500, b'{"code": 500, "message": "internal"}')

    error = fails(lambda: server.client.create(KLING_26, args()))

    assert error.maybe_accepted is True
    assert error.permanent is False
    assert server.requests == [("POST", "/api/v1/job/create", f"Bearer {KEY}")]
    assert_keeps_the_key(error, KEY)


def test_a_query_answered_with_a_server_error_is_only_transient(scripted):
    server = scripted(502, b"Bad Gateway")
    error = fails(lambda: server.client.query("sa-1"))
    assert (error.maybe_accepted, error.permanent) == (False, False)


def test_it_honours_retry_after_when_rate_limited(scripted):
    server = scripted(429, b'{"code": 429, "message": "slow down"}', [("Retry-After", "7")])

    error = fails(lambda: server.client.create(KLING_26, args()))

    assert error.retry_after == 7.0
    assert error.maybe_accepted is False
    assert error.permanent is False
    assert_keeps_the_key(error, KEY)


def test_it_reads_a_code_refusal_leniently(scripted):
    server = scripted(200, b'{"code": 1001, "msg": "insufficient balance"}')
    error = fails(lambda: server.client.create(KLING_26, args()))
    assert error.permanent is True
    assert error.message == "insufficient balance"


def test_its_repr_never_shows_the_key():
    client = Client(base_url="https://api.shortapi.example", key=KEY, timeout=3)
    assert KEY not in repr(client)
    assert KEY not in str(client)
    assert "api.shortapi.example" in repr(client)


# Answers the seed pages do not show, seen in public ShortAPI client code


def test_it_reads_a_status_given_as_a_word_and_a_result_under_videos(scripted):
    server = scripted(200, b'{"code": 0, "data": {"status": "succeeded", "result": '
                           b'{"videos": [{"url": "https://cdn.example/v.mp4"}]}}}')
    state = server.client.query("sa-1")
    assert (state.status, state.succeeded) == (2, True)
    assert state.video_url == "https://cdn.example/v.mp4"


@pytest.mark.parametrize("word, number", [("pending", 0), ("Processing", 1), ("success", 2),
                                          ("FAILED", 3), ("2", 2)])
def test_it_understands_each_status_word(scripted, word, number):
    server = scripted(200, b'{"code": 0, "data": {"status": "%s"}}' % word.encode())
    assert server.client.query("sa-1").status == number


def test_it_refuses_a_status_it_does_not_understand(scripted):
    server = scripted(200, b'{"code": 0, "data": {"status": "thinking"}}')
    error = fails(lambda: server.client.query("sa-1"))
    assert "no status we understand" in error.message and not error.permanent


def test_it_reads_the_reason_for_a_failure_from_info(scripted):
    server = scripted(200, b'{"code": 0, "data": {"status": 3, "refunded": "true", '
                           b'"info": "The image breaks the content policy."}}')
    state = server.client.query("sa-1")
    assert state.finished and not state.succeeded
    assert state.error == "The image breaks the content policy."
    assert state.refunded is True


def test_upstream_unstable_asks_to_try_again_and_created_nothing(scripted):
    server = scripted(200, b'{"code": 3000, "info": "upstream unstable"}')
    error = fails(lambda: server.client.create(KLING_26, args()))
    assert (error.permanent, error.maybe_accepted) == (False, False)
    assert "upstream is unstable: upstream unstable" in error.message


def test_a_create_answer_without_an_amount_says_so(scripted):
    server = scripted(200, b'{"code": 0, "data": {"job_id": "sa-9"}}')
    created = server.client.create(KLING_26, args())
    assert created == shortapi_created("sa-9", None)


def test_a_query_that_names_an_amount_is_read(scripted):
    server = scripted(200, b'{"code": 0, "data": {"status": 2, "amount": "0.6", "result": '
                           b'{"images": [{"url": "https://cdn.example/v.mp4"}]}}}')
    assert server.client.query("sa-1").amount == Decimal("0.6")


def shortapi_created(job_id, amount):
    from jobs.shortapi import CreatedJob

    return CreatedJob(job_id=job_id, amount=amount)


# Checking the key without spending money


def test_the_key_check_accepts_a_key_the_simulator_takes(client, sim):
    assert client.check_key() is None
    assert sim.simulator._jobs == {}  # nothing was created, nothing charged


def test_the_key_check_says_a_wrong_key_is_refused(sim):
    error = fails(lambda: Client(base_url=sim.url, key="sk-wrong", timeout=5).check_key())
    assert error.key_refused and "sk-wrong" not in error.message


def test_the_key_check_reads_a_refusal_named_only_in_the_body(scripted):
    server = scripted(200, b'{"code": 1002, "message": "Invalid API key"}')
    assert fails(server.client.check_key).key_refused


def test_the_key_check_says_when_shortapi_cannot_be_reached():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = fails(Client(base_url=f"http://127.0.0.1:{port}", key=KEY, timeout=2).check_key)
    assert error.never_reached and not error.key_refused
