"""The one way out: every HTTP request the app makes (ShortAPI calls, video downloads) leaves here.

- The address is checked when the connection is made, and the checked address is the one
  connected to: requests-hardened resolves the name once, refuses loopback, private, link-local
  and other internal ranges, and pins the connection to that address, so a name that changes
  its answer between a check and the connect (DNS rebinding) cannot reach inside.
- Redirects are never followed by the HTTP library; `download` follows them by hand and every hop
  goes through the same connect-time check.
- Proxy variables from the environment are ignored unless KLING_OUTBOUND_ENV_PROXY is on.
- A total deadline holds for the whole exchange, even against a server that trickles one byte
  at a time: a watchdog shuts the connection when time is up.

Hosts named in configuration (SHORTAPI_BASE_URL's host and KLING_DOWNLOAD_ALLOWED_HOSTS) skip the
address check: they are the operator's choice, not input from outside. A caller with a list of its
own (webhooks: KLING_WEBHOOK_ALLOWED_HOSTS) passes it as `trust` and may leave the others out.
"""

import io
import ipaddress
import os
import socket
import threading
import time
from contextlib import contextmanager
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 30

Refused = InvalidIPAddress


class TooSlow(requests.Timeout):
    """The whole exchange took longer than its deadline."""


class DownloadError(Exception):
    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


# The watchdog: connections taken by a thread while it is inside `deadline()` are shut when the
# deadline passes, which ends any read blocked on them.
_watch = threading.local()


class _Watch:
    def __init__(self):
        self.connections = []
        self.expired = False
        self.lock = threading.Lock()

    def add(self, connection):
        with self.lock:
            if self.expired:
                connection.close()
            self.connections.append(connection)

    def expire(self):
        with self.lock:
            self.expired = True
            for connection in self.connections:
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


@contextmanager
def deadline(seconds):
    """Everything sent inside this block must be over within `seconds`, or TooSlow is raised."""
    watch = _Watch()
    outer = getattr(_watch, "current", None)
    _watch.current = watch
    timer = threading.Timer(max(seconds, 0), watch.expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        if watch.expired:
            raise TooSlow(f"no complete answer within {seconds:g} seconds") from None
        raise error
    finally:
        timer.cancel()
        _watch.current = outer
    if watch.expired:
        raise TooSlow(f"no complete answer within {seconds:g} seconds")


class _WatchedPool(HTTPConnectionPool):
    def _get_conn(self, timeout=None):
        connection = super()._get_conn(timeout)
        watch = getattr(_watch, "current", None)
        if watch is not None:
            watch.add(connection)
        return connection


class _WatchedHTTPPool(_WatchedPool, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_WatchedPool, HTTPSConnectionPool):
    pass


class _WatchedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool,
                                                   "https": _WatchedHTTPSPool}


class CheckedAdapter(_WatchedAdapter, IPFilterAdapter):
    """Connects only to public addresses, and to the very address it checked."""

    def __init__(self, is_https_proto: bool):
        # IPFilterAdapter's own argument; requests_hardened ships no types for mypy to see it
        super().__init__(is_https_proto=is_https_proto)  # type: ignore[call-arg]


class TrustedAdapter(_WatchedAdapter, HTTPAdapter):
    """For hosts the configuration names: no address check, the same deadline."""


def trusted_hosts():
    """Hosts the configuration names: KLING_DOWNLOAD_ALLOWED_HOSTS (any port) and ShortAPI's own
    host and port."""
    hosts = {host.lower() for host in settings.KLING_DOWNLOAD_ALLOWED_HOSTS}
    hosts.add(_host_and_port(settings.SHORTAPI_BASE_URL))
    return hosts


def _host_and_port(url):
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.hostname}:{port}"


class Session(requests.Session):
    """A requests session whose every connection goes through the checks above."""

    def __init__(self, trust=(), configured=True):
        """`trust`: base URLs whose host and port, or hosts ("name" for any port, "name:port"),
        that skip the address check, as configured ones do. `configured=False`: only those; the
        hosts configured for ShortAPI and downloads are checked like any other."""
        super().__init__()
        self.trust_env = settings.KLING_OUTBOUND_ENV_PROXY
        if not self.trust_env and os.environ.get("REQUESTS_CA_BUNDLE"):
            self.verify = os.environ["REQUESTS_CA_BUNDLE"]
        self.mount("http://", CheckedAdapter(is_https_proto=False))
        self.mount("https://", CheckedAdapter(is_https_proto=True))
        self.trusted = (trusted_hosts() if configured else set()) | {
            _host_and_port(entry) if "://" in entry else entry.lower() for entry in trust}
        self.trusted_adapter = TrustedAdapter()

    def get_adapter(self, url):
        # By the parsed host, never by prefix: "http://trusted:1@inside/" names the host "inside".
        if {urlsplit(url).hostname, _host_and_port(url)} & self.trusted:
            return self.trusted_adapter
        return super().get_adapter(url)

    def close(self):
        super().close()
        self.trusted_adapter.close()


def send(http, method, url, *, seconds, max_bytes=1024 * 1024, cut=False, **kwargs):
    """One request, no redirects, its whole answer read within `seconds` (at most `max_bytes`;
    with `cut`, a longer answer is not an error: its first `max_bytes` are kept, the rest unread).

    Raises requests' own exceptions (`Refused` for an address the check refused, `TooSlow` when
    the deadline passed) so callers decide what each one means to them.
    """
    with deadline(seconds):
        response = http.request(method, url, allow_redirects=False, stream=True,
                                timeout=(min(CONNECT_TIMEOUT, seconds), min(READ_TIMEOUT, seconds)),
                                **kwargs)
        with response:
            body = bytearray()
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > max_bytes and cut:
                    del body[max_bytes:]
                    break
                if len(body) > max_bytes:
                    raise requests.ConnectionError("the answer is larger than expected")
            response._content = bytes(body)
    return response


def download(url, store, *, max_bytes, seconds, accept=None, http=None):
    """Stream the body at `url` into `store(body)` and return what it returns.

    `body` is a readable, non-seekable stream that holds only a small buffer: whatever `store`
    does with it (write it to storage), the bytes never pile up in memory or on a local disk.
    Reading past `max_bytes` fails, and the whole exchange, `store` included, must end within
    `seconds`. `accept(first_bytes)` may refuse the content by raising DownloadError. Every
    failure is a DownloadError whose message reads as the end of a sentence, and whose
    `permanent` says whether trying again can help.
    """
    http = http or Session()
    started = time.monotonic()
    try:
        for _ in range(MAX_REDIRECTS + 1):
            _check_scheme(url)
            remaining = seconds - (time.monotonic() - started)
            with deadline(remaining):
                response = http.get(url, stream=True, allow_redirects=False,
                                    timeout=(min(CONNECT_TIMEOUT, remaining),
                                             min(READ_TIMEOUT, remaining)))
                with response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers["Location"])
                        continue
                    _check_answer(response, max_bytes)
                    # buffered, so that read(n) gives n bytes: object storage sizes its parts,
                    # and would read a short answer to mean a small file and take the rest whole
                    return store(io.BufferedReader(Body(response.raw, max_bytes, accept), CHUNK))
        raise DownloadError("the address redirected too many times", permanent=True)
    except Refused as refused:
        raise DownloadError(f"the address points inside this network ({refused}), which is "
                            "never downloaded from", permanent=True) from None
    except TooSlow:
        raise DownloadError("the download took too long") from None
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as error:
        raise DownloadError(f"the download failed ({type(error).__name__})") from None
    finally:
        http.close()


class Body(io.RawIOBase):
    """A response body read as a stream, refused past `max_bytes`, its first bytes shown to
    `accept` before anything is handed on."""

    HEAD = 64

    def __init__(self, raw, max_bytes, accept=None):
        super().__init__()
        self.raw, self.max_bytes, self.count = raw, max_bytes, 0
        self.pending = b""
        while len(self.pending) < self.HEAD:
            chunk = self._next(self.HEAD - len(self.pending))
            if not chunk:
                break
            self.pending += chunk
        if accept is not None:
            accept(self.pending)

    def readable(self):
        return True

    def readinto(self, buffer):
        data, self.pending = (self.pending, b"") if self.pending else (
            self._next(len(buffer)), b"")
        buffer[:len(data)] = data
        return len(data)

    def _next(self, size):
        data = self.raw.read(min(size, CHUNK), decode_content=True)
        self.count += len(data)
        if self.count > self.max_bytes:
            raise DownloadError(f"the file is larger than {self.max_bytes:,} bytes",
                                permanent=True)
        return data


def _check_scheme(url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError("the address is not an http(s) URL", permanent=True)


def _check_answer(response, max_bytes):
    if response.status_code in (404, 410):
        raise DownloadError("the link has expired", permanent=True)
    if response.status_code != 200:
        raise DownloadError(f"the server answered HTTP {response.status_code}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(f"the file is larger than {max_bytes:,} bytes", permanent=True)


def is_public(address):
    """Whether an IP address is one the internet routes to (not loopback, private, link-local,
    shared, reserved or multicast)."""
    address = ipaddress.ip_address(str(address).split("%")[0])
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def resolves_publicly(host):
    """Whether `host` is a public address or a name whose every address is public."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return False
    return bool(infos) and all(is_public(info[4][0]) for info in infos)
