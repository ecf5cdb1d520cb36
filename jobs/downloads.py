"""Fetching a finished video from the address ShortAPI gave, without trusting that address.

The URL comes from outside, so the download accepts only http(s), checks every hop's host
against loopback, private, link-local and other internal ranges (the simulator's host is
allowed by setting), follows redirects only by hand and only to hosts that pass the same
check, streams with a byte cap and a total deadline, and keeps the file only if it is an MP4.
"""

import ipaddress
import socket
import tempfile
import time
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.files import File

MAX_REDIRECTS = 3
CHUNK = 64 * 1024
SPOOL_BYTES = 8 * 1024 * 1024


class DownloadError(Exception):
    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def fetch_video(url, max_bytes=None, deadline_seconds=120):
    """The MP4 at `url` as an open temporary File, or DownloadError saying what went wrong."""
    max_bytes = max_bytes or settings.KLING_VIDEO_MAX_BYTES
    started = time.monotonic()
    for _ in range(MAX_REDIRECTS + 1):
        check_address(url)
        try:
            with requests.get(url, stream=True, timeout=(10, 30),
                              allow_redirects=False) as response:
                if response.is_redirect:
                    url = urljoin(url, response.headers["Location"])
                    continue
                return _read(response, max_bytes, started, deadline_seconds)
        except requests.RequestException as error:
            raise DownloadError(f"the download failed ({type(error).__name__})") from None
    raise DownloadError("the video's address redirected too many times", permanent=True)


def _read(response, max_bytes, started, deadline_seconds):
    if response.status_code in (404, 410):
        raise DownloadError("ShortAPI's link to the video has expired", permanent=True)
    if response.status_code != 200:
        raise DownloadError(f"the server answered HTTP {response.status_code}")
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise DownloadError(f"the video is larger than {max_bytes:,} bytes", permanent=True)
    # Spooled to disk past a few megabytes: a video never has to fit in memory.
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    size = 0
    try:
        for chunk in response.iter_content(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise DownloadError(f"the video is larger than {max_bytes:,} bytes",
                                    permanent=True)
            if time.monotonic() - started > deadline_seconds:
                raise DownloadError("the download took too long")
            target.write(chunk)
        target.seek(0)
        if target.read(8)[4:8] != b"ftyp":
            raise DownloadError("the file at the video's address is not an MP4 video",
                                permanent=True)
    except BaseException:
        target.close()
        raise
    target.seek(0)
    return File(target, name="video.mp4")


def check_address(url):
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError("the video's address is not an http(s) URL", permanent=True)
    if parts.hostname in allowed_hosts():
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except socket.gaierror:
        raise DownloadError(f"the video's host {parts.hostname} could not be found") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global or address.is_multicast:
            raise DownloadError(f"the video's address points inside this network ({address}), "
                                "which is never downloaded from", permanent=True)


def allowed_hosts():
    hosts = set(settings.KLING_DOWNLOAD_ALLOWED_HOSTS)
    if settings.SHORTAPI_SIMULATED:
        hosts.add(urlsplit(settings.SHORTAPI_BASE_URL).hostname)
    return hosts
