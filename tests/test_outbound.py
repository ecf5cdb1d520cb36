"""The outbound seam: the address checked is the address connected to, every redirect hop is
checked, proxies from the environment are ignored, and the deadline holds against a trickle."""

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import urllib3.util.connection

from jobs import shortapi
from lib import outbound

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000
REAL_GETADDRINFO = socket.getaddrinfo


def fetch(url, **limits):
    """The body at `url`, read whole through the seam."""
    return outbound.download(url, lambda body: body.read(), **limits)


class Recorder:
    """A local HTTP server that records what reaches it and answers with an MP4."""

    def __init__(self):
        self.hits = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.hits.append((self.path, self.headers.get("Host")))
                self.send_response(200)
                self.send_header("Content-Length", str(len(MP4)))
                self.end_headers()
                self.wfile.write(MP4)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder(settings):
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = []
    server = Recorder()
    yield server
    server.stop()


@pytest.fixture
def connections(monkeypatch):
    """Every address urllib3 connects to; each connection is refused at once."""
    seen = []

    def connect(address, *args, **kwargs):
        seen.append(address)
        raise ConnectionRefusedError("recorded, not connected")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", connect)
    monkeypatch.setattr("urllib3.connection.connection.create_connection", connect)
    return seen


def resolver(monkeypatch, answers):
    """Resolve `rebind.test` to each of `answers` in turn; everything else as usual."""
    calls = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "rebind.test":
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        address = answers[min(len(calls), len(answers) - 1)]
        calls.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return calls


def test_it_connects_to_the_very_address_it_checked(monkeypatch, connections, settings):
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = []
    # public when checked, loopback if anyone asked again: a DNS rebinding attack
    lookups = resolver(monkeypatch, ["93.184.216.34", "127.0.0.1"])

    with pytest.raises(outbound.DownloadError):
        fetch("http://rebind.test:8080/v.mp4", max_bytes=10_000, seconds=5)

    assert lookups == ["93.184.216.34"]
    assert connections == [("93.184.216.34", 8080)]


def test_a_name_that_resolves_inside_is_refused_before_connecting(monkeypatch, connections,
                                                                   settings):
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = []
    resolver(monkeypatch, ["10.0.0.7"])

    with pytest.raises(outbound.DownloadError, match="inside this network") as error:
        fetch("http://rebind.test/v.mp4", max_bytes=10_000, seconds=5)

    assert error.value.permanent
    assert connections == []


def test_a_trusted_host_is_matched_by_its_parsed_name_not_a_prefix(recorder, settings,
                                                                   connections):
    settings.SHORTAPI_BASE_URL = "http://127.0.0.1:8001"
    # "127.0.0.1:8001" is only the user part here; the host is 10.1.2.3
    with pytest.raises(outbound.DownloadError, match="inside this network"):
        fetch("http://127.0.0.1:8001@10.1.2.3/v.mp4", max_bytes=10_000, seconds=5)
    assert connections == []


def test_shortapis_own_host_and_port_are_trusted_but_not_its_other_ports(recorder, settings):
    settings.SHORTAPI_BASE_URL = f"http://127.0.0.1:{recorder.port}"
    assert fetch(f"http://127.0.0.1:{recorder.port}/v.mp4", max_bytes=10_000, seconds=5) == MP4
    settings.SHORTAPI_BASE_URL = f"http://127.0.0.1:{recorder.port + 1}"
    with pytest.raises(outbound.DownloadError, match="inside this network"):
        fetch(f"http://127.0.0.1:{recorder.port}/v.mp4", max_bytes=10_000, seconds=5)
    assert len(recorder.hits) == 1


@pytest.fixture
def proxy():
    """A stand-in for a proxy named in the environment: it records and refuses."""
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.path)
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def test_proxy_variables_are_ignored_unless_a_setting_allows_them(recorder, proxy, settings,
                                                                  monkeypatch):
    url, seen = proxy
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = ["127.0.0.1"]
    target = f"http://127.0.0.1:{recorder.port}/v.mp4"

    assert fetch(target, max_bytes=10_000, seconds=5) == MP4
    assert seen == [] and len(recorder.hits) == 1

    settings.KLING_OUTBOUND_ENV_PROXY = True
    with pytest.raises(outbound.DownloadError, match="HTTP 502"):
        fetch(target, max_bytes=10_000, seconds=5)
    assert seen == [target]


class Trickle:
    """A server that answers one byte at a time, slowly: in the body, or in the headers."""

    def __init__(self, where):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        self.where = where
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.answer, args=(client,), daemon=True).start()

    def answer(self, client):
        try:
            client.recv(65536)
            if self.where == "body":
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                               b"\x00\x00\x00\x18ftypmp42")
                drip = b"\x00"
            else:
                client.sendall(b"HTTP/1.1 200 OK\r\n")
                drip = b"X"
            while not self.stop.wait(0.1):
                client.sendall(drip)
        except OSError:
            pass
        finally:
            client.close()

    def close(self):
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("where", ["body", "headers"])
def test_the_deadline_holds_against_a_slow_trickle(settings, where):
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = ["127.0.0.1"]
    trickle = Trickle(where)
    started = time.monotonic()
    try:
        with pytest.raises(outbound.DownloadError, match="took too long") as error:
            fetch(f"http://127.0.0.1:{trickle.port}/v.mp4", max_bytes=10**6, seconds=1.5)
    finally:
        trickle.close()
    assert time.monotonic() - started < 4
    assert not error.value.permanent


def test_a_shortapi_call_has_the_same_total_deadline(settings):
    trickle = Trickle("headers")
    client = shortapi.Client(base_url=f"http://127.0.0.1:{trickle.port}", key="k", timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises(shortapi.ShortAPIError) as error:
            client.create("kwaivgi/kling-2.6/image-to-video", {})
    finally:
        trickle.close()
    assert time.monotonic() - started < 3.5
    assert error.value.maybe_accepted and "did not answer in time" in error.value.message


@pytest.mark.parametrize("address, public", [
    ("93.184.216.34", True), ("2606:4700::1111", True), ("127.0.0.1", False),
    ("10.0.0.1", False), ("172.16.5.4", False), ("192.168.1.1", False),
    ("169.254.169.254", False), ("100.64.0.1", False), ("::1", False), ("fe80::1", False),
    ("fd00::1", False), ("::ffff:127.0.0.1", False), ("224.0.0.1", False), ("0.0.0.0", False),
])
def test_it_tells_public_addresses_from_internal_ones(address, public):
    assert outbound.is_public(address) is public
