"""Reachability decides how images travel and whether callbacks are asked for, and
`checkshortapi` says so, checking the key without spending money."""

import os
import socket
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from jobs import reachability
from simulator.server import start_in_thread
from tests.stack import ROOT

KEY = "sk-live-5f3a9c1e7b2d4e6f8a0b"
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture(autouse=True)
def fresh_decisions():
    # each test resolves names its own way
    reachability._delivery.cache_clear()
    yield
    reachability._delivery.cache_clear()


@pytest.fixture
def resolve(monkeypatch):
    """Make chosen names resolve to chosen addresses."""
    names = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if host in names:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (names[host], port or 443))]
        return REAL_GETADDRINFO(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names


@pytest.fixture
def real_key(settings):
    settings.SHORTAPI_SIMULATED = False
    settings.KLING_IMAGE_TRANSPORT = "auto"
    settings.KLING_PUBLIC_URL_REACHABLE = "auto"
    return settings


def test_a_laptop_without_a_public_url_sends_images_inline_and_polls(real_key):
    real_key.PUBLIC_BASE_URL = ""
    delivery = reachability.delivery()
    assert (delivery.images, delivery.callbacks) == ("data-uri", False)
    assert "PUBLIC_BASE_URL is not set" in delivery.progress_explained


def test_an_office_server_on_a_private_address_sends_images_inline_and_polls(real_key):
    real_key.PUBLIC_BASE_URL = "http://192.168.1.20:8000"
    delivery = reachability.delivery()
    assert (delivery.images, delivery.callbacks) == ("data-uri", False)
    assert "not an https address" in delivery.reason


def test_an_https_name_that_resolves_inside_is_not_reachable(real_key, resolve):
    resolve["studio.office.lan"] = "10.4.0.9"
    real_key.PUBLIC_BASE_URL = "https://studio.office.lan"
    assert reachability.delivery().callbacks is False


def test_a_public_https_server_gets_image_links_and_callbacks(real_key, resolve):
    resolve["studio.example.com"] = "93.184.216.34"
    real_key.PUBLIC_BASE_URL = "https://studio.example.com"
    delivery = reachability.delivery()
    assert (delivery.images, delivery.callbacks) == ("url", True)
    assert "resolves to public internet addresses" in delivery.images_explained


def test_the_built_in_simulator_beside_the_app_reaches_a_loopback_address(settings):
    settings.SHORTAPI_SIMULATED = True
    settings.KLING_IMAGE_TRANSPORT = "auto"
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert reachability.delivery().callbacks is True


def test_the_same_loopback_address_with_a_real_key_is_not_reachable(real_key):
    real_key.PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    assert reachability.delivery().callbacks is False


@pytest.mark.parametrize("override, reachable", [("yes", True), ("no", False)])
def test_an_override_decides_for_split_horizon_dns(real_key, resolve, override, reachable):
    resolve["studio.example.com"] = "10.0.0.5" if reachable else "93.184.216.34"
    real_key.PUBLIC_BASE_URL = "https://studio.example.com"
    real_key.KLING_PUBLIC_URL_REACHABLE = override
    assert reachability.delivery().callbacks is reachable


def test_an_inline_transport_is_kept_even_when_reachable(real_key, resolve):
    resolve["studio.example.com"] = "93.184.216.34"
    real_key.PUBLIC_BASE_URL = "https://studio.example.com"
    real_key.KLING_IMAGE_TRANSPORT = "base64"
    delivery = reachability.delivery()
    assert (delivery.images, delivery.callbacks) == ("base64", True)


def test_url_transport_to_a_private_address_stops_with_why_and_what_to_set(real_key):
    real_key.PUBLIC_BASE_URL = "http://10.0.0.5"
    real_key.KLING_IMAGE_TRANSPORT = "url"
    with pytest.raises(ImproperlyConfigured) as refused:
        reachability.check()
    assert "not an https address" in str(refused.value)
    assert "Set KLING_IMAGE_TRANSPORT=auto" in str(refused.value)


# checkshortapi, in a fresh process as a deployer runs it


@pytest.fixture
def check(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KLING_", "SHORTAPI_", "PUBLIC_BASE_URL", "DATABASE_URL"))}
    env["KLING_VAR_DIR"] = str(tmp_path)

    def run(**variables):
        result = subprocess.run([sys.executable, "manage.py", "checkshortapi"], cwd=ROOT,
                                env={**env, **variables}, capture_output=True, text=True,
                                timeout=60)
        result.output = result.stdout + result.stderr
        return result

    return run


@pytest.fixture
def shortapi_stand_in(tmp_path):
    running = start_in_thread(key=KEY, media_dir=tmp_path / "simulator", remote=True)
    yield running
    running.stop()


def test_checkshortapi_says_an_accepted_key_and_how_jobs_travel(check, shortapi_stand_in):
    result = check(SHORTAPI_KEY=KEY, SHORTAPI_BASE_URL=shortapi_stand_in.url,
                   PUBLIC_BASE_URL="http://127.0.0.1:8000")
    assert result.returncode == 0, result.output
    assert f"ShortAPI at {shortapi_stand_in.url} accepted the key." in result.output
    assert "Jobs are checked on (polled)" in result.output
    assert "Images are sent inside each request" in result.output
    assert "not an https address" in result.output
    assert KEY not in result.output
    assert shortapi_stand_in.simulator._jobs == {}  # nothing created, nothing charged


def test_checkshortapi_fails_on_a_refused_key(check, shortapi_stand_in):
    wrong = "sk-live-wrong-99887766"
    result = check(SHORTAPI_KEY=wrong, SHORTAPI_BASE_URL=shortapi_stand_in.url)
    assert result.returncode != 0
    assert "refused the API key" in result.output
    assert wrong not in result.output


def test_checkshortapi_fails_when_shortapi_cannot_be_reached(check):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = check(SHORTAPI_KEY=KEY, SHORTAPI_BASE_URL=f"http://127.0.0.1:{port}")
    assert result.returncode != 0
    assert "could not be reached" in result.output and "internet connection" in result.output
    assert KEY not in result.output
