"""The video download never trusts the address it is given: only http(s), never an internal
address (directly or by redirect), a byte cap, and only an MP4 is kept."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.files.storage import default_storage

from lib import downloads

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000
NAME = "videos/test/kept.mp4"


def stored(name):
    with default_storage.open(name, "rb") as handle:
        return handle.read()


@pytest.fixture
def guarded(settings):
    settings.SHORTAPI_SIMULATED = False
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = []
    return settings


@pytest.fixture
def server(settings):
    """A local server whose answers a test sets: {path: (status, headers, body)}."""
    routes = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, headers, body = routes.get(self.path, (404, {}, b""))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    settings.SHORTAPI_SIMULATED = False
    settings.KLING_DOWNLOAD_ALLOWED_HOSTS = ["127.0.0.1"]
    httpd.routes = routes
    httpd.url = f"http://127.0.0.1:{httpd.server_port}"
    yield httpd
    httpd.shutdown()


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "ftp://videos.example.com/a.mp4", "gopher://x/", "http:///nohost",
])
def test_it_accepts_only_http_and_https(guarded, url):
    with pytest.raises(downloads.DownloadError, match="not an http") as error:
        downloads.keep(url, NAME)
    assert error.value.permanent


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/v.mp4", "http://localhost:8000/v.mp4", "http://[::1]/v.mp4",
    "http://10.0.0.5/v.mp4", "http://192.168.1.2/v.mp4", "http://172.16.0.1/v.mp4",
    "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/v.mp4",
])
def test_it_never_connects_to_an_internal_address(guarded, url):
    with pytest.raises(downloads.DownloadError, match="inside this network") as error:
        downloads.keep(url, NAME)
    assert error.value.permanent


def test_it_downloads_an_mp4_from_an_allowed_host(server):
    server.routes["/v.mp4"] = (200, {"Content-Type": "video/mp4"}, MP4)
    assert downloads.keep(server.url + "/v.mp4", NAME) == NAME
    assert stored(NAME) == MP4


def test_it_follows_a_redirect_only_to_an_address_that_passes_the_same_check(server):
    server.routes["/ok"] = (302, {"Location": "/v.mp4"}, b"")
    server.routes["/v.mp4"] = (200, {}, MP4)
    server.routes["/inside"] = (302, {"Location": "http://10.1.2.3/v.mp4"}, b"")
    assert stored(downloads.keep(server.url + "/ok", NAME)) == MP4
    with pytest.raises(downloads.DownloadError, match="inside this network"):
        downloads.keep(server.url + "/inside", NAME)


def test_it_gives_up_after_too_many_redirects(server):
    server.routes["/loop"] = (302, {"Location": "/loop"}, b"")
    with pytest.raises(downloads.DownloadError, match="redirected too many times"):
        downloads.keep(server.url + "/loop", NAME)


def test_it_refuses_more_bytes_than_the_cap(server):
    server.routes["/big.mp4"] = (200, {}, MP4)
    with pytest.raises(downloads.DownloadError, match="larger than") as error:
        downloads.keep(server.url + "/big.mp4", NAME, max_bytes=len(MP4) - 1)
    assert error.value.permanent


def test_it_keeps_only_an_mp4(server):
    server.routes["/page"] = (200, {"Content-Type": "text/html"}, b"<html>not a video</html>")
    with pytest.raises(downloads.DownloadError, match="not an MP4"):
        downloads.keep(server.url + "/page", NAME)


def test_an_expired_link_is_given_up_but_a_server_error_is_retried(server):
    server.routes["/gone.mp4"] = (410, {}, b"")
    server.routes["/broken.mp4"] = (503, {}, b"")
    with pytest.raises(downloads.DownloadError, match="expired") as gone:
        downloads.keep(server.url + "/gone.mp4", NAME)
    with pytest.raises(downloads.DownloadError, match="503") as broken:
        downloads.keep(server.url + "/broken.mp4", NAME)
    assert gone.value.permanent and not broken.value.permanent


@pytest.mark.parametrize("path, route", [
    ("/big.mp4", (200, {}, MP4 * 3)), ("/page", (200, {}, b"<html>" + b"x" * 5000)),
])
def test_a_refused_download_leaves_nothing_in_storage(server, path, route):
    server.routes[path] = route
    with pytest.raises(downloads.DownloadError):
        downloads.keep(server.url + path, NAME, max_bytes=len(MP4) * 2)
    assert not default_storage.exists(NAME)
