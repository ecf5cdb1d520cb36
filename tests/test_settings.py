"""Settings: the strict environment helpers, and start-up refusing a bad value by name.

The start-up tests run `manage.py check` in a fresh process with an environment built from
scratch, so the machine's own variables cannot leak in and settings are read as a deployer's are.
"""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from klingstudio.settings import env_bool, env_choice, env_int, env_url

PROJECT = Path(__file__).resolve().parent.parent
VARIABLES = {"DATABASE_URL", "PUBLIC_BASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DEBUG",
             "CSRF_TRUSTED_ORIGINS", "REDIS_URL", "STATIC_ROOT", "MEDIA_ROOT", "TIME_ZONE",
             "LOG_LEVEL", "DJANGO_SETTINGS_MODULE"}
PREFIXES = ("KLING_", "SHORTAPI_", "SECURE_", "EMAIL_")


# The helpers


def test_it_reads_true_and_false_in_plain_words(monkeypatch):
    for word, value in [("1", True), ("Yes", True), (" on ", True), ("true", True),
                        ("0", False), ("no", False), ("OFF", False), ("false", False)]:
        monkeypatch.setenv("KLING_TEST_FLAG", word)
        assert env_bool("KLING_TEST_FLAG", default=not value) is value, word
    monkeypatch.setenv("KLING_TEST_FLAG", "")
    assert env_bool("KLING_TEST_FLAG", default=True) is True


def test_it_refuses_a_bool_that_is_neither_true_nor_false(monkeypatch):
    monkeypatch.setenv("KLING_TEST_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="KLING_TEST_FLAG must be true or false"):
        env_bool("KLING_TEST_FLAG")


def test_it_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("KLING_TEST_COUNT", " 7 ")
    assert env_int("KLING_TEST_COUNT", 2, minimum=1) == 7
    monkeypatch.delenv("KLING_TEST_COUNT")
    assert env_int("KLING_TEST_COUNT", 2, minimum=1) == 2


@pytest.mark.parametrize("value", ["abc", "2.5", "1e3"])
def test_it_refuses_a_number_that_is_not_whole(monkeypatch, value):
    monkeypatch.setenv("KLING_TEST_COUNT", value)
    with pytest.raises(ImproperlyConfigured, match="KLING_TEST_COUNT must be a whole number"):
        env_int("KLING_TEST_COUNT", 2)


def test_it_refuses_a_number_below_the_minimum(monkeypatch):
    monkeypatch.setenv("KLING_TEST_COUNT", "0")
    with pytest.raises(ImproperlyConfigured, match="KLING_TEST_COUNT must be at least 1"):
        env_int("KLING_TEST_COUNT", 2, minimum=1)
    monkeypatch.setenv("KLING_TEST_COUNT", "1")
    assert env_int("KLING_TEST_COUNT", 2, minimum=1) == 1


def test_it_reads_a_url_without_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("KLING_TEST_URL", "https://studio.example.com/")
    assert env_url("KLING_TEST_URL") == "https://studio.example.com"


@pytest.mark.parametrize("value", ["ftp://x", "studio.example.com", "https://", "http:/x"])
def test_it_refuses_a_url_that_is_not_http(monkeypatch, value):
    monkeypatch.setenv("KLING_TEST_URL", value)
    with pytest.raises(ImproperlyConfigured, match="KLING_TEST_URL must be an http"):
        env_url("KLING_TEST_URL")


def test_it_reads_a_choice_in_any_case(monkeypatch):
    monkeypatch.setenv("KLING_TEST_CHOICE", "Base64")
    assert env_choice("KLING_TEST_CHOICE", "auto", ("auto", "base64")) == "base64"


def test_it_refuses_a_choice_it_does_not_offer(monkeypatch):
    monkeypatch.setenv("KLING_TEST_CHOICE", "pigeon")
    with pytest.raises(ImproperlyConfigured) as caught:
        env_choice("KLING_TEST_CHOICE", "auto", ("auto", "base64"))
    assert "KLING_TEST_CHOICE must be one of auto, base64" in str(caught.value)
    assert "pigeon" in str(caught.value)


# Start-up, in a fresh process


@pytest.fixture
def manage(tmp_path):
    base = {name: value for name, value in os.environ.items()
            if name not in VARIABLES and not name.startswith(PREFIXES)}
    base["KLING_VAR_DIR"] = str(tmp_path / "var")

    def run(*command, **variables):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=PROJECT,
                                env={**base, **variables}, capture_output=True, text=True,
                                timeout=120)
        result.output = result.stdout + result.stderr
        return result

    return run


def test_it_checks_clean_with_nothing_set(manage):
    result = manage("check")
    assert result.returncode == 0, result.output
    assert "no issues" in result.output


@pytest.mark.parametrize("variable, value, message", [
    ("DATABASE_URL", "nosuchdb://db.example.com/studio", "DATABASE_URL is not a database URL"),
    ("DATABASE_URL", "postgres://u:p@db.example.com:port/studio",
     "DATABASE_URL is not a database URL"),
    ("KLING_WORKERS", "abc", "KLING_WORKERS must be a whole number"),
    ("KLING_WORKERS", "0", "KLING_WORKERS must be at least 1"),
    ("PUBLIC_BASE_URL", "ftp://x", "PUBLIC_BASE_URL must be an http(s) URL"),
    ("KLING_PRODUCTION", "sometimes", "KLING_PRODUCTION must be true or false"),
    ("KLING_IMAGE_TRANSPORT", "pigeon", "KLING_IMAGE_TRANSPORT must be one of"),
    ("KLING_IMAGE_URL_MAX_AGE", "5", "KLING_IMAGE_URL_MAX_AGE must be at least 60"),
    ("REDIS_URL", "http://cache", "REDIS_URL must start with redis://"),
], ids=["db-scheme", "db-port", "workers-abc", "workers-0", "public-ftp", "production",
        "transport", "max-age", "redis"])
def test_it_refuses_to_start_with_a_bad_value_naming_the_variable(manage, variable, value,
                                                                  message):
    result = manage("check", **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.output
    assert message in result.output


@pytest.mark.parametrize("public_url, why", [
    (None, "PUBLIC_BASE_URL is not set"),
    ("http://192.168.1.20:8000", "is not an https address"),
    ("https://127.0.0.1", "does not resolve to public internet addresses"),
])
def test_it_refuses_url_transport_that_shortapi_could_not_use(manage, public_url, why):
    variables = {"KLING_IMAGE_TRANSPORT": "url", "SHORTAPI_KEY": "sk-live-0123456789"}
    if public_url:
        variables["PUBLIC_BASE_URL"] = public_url
    result = manage("check", **variables)
    assert result.returncode != 0
    assert "KLING_IMAGE_TRANSPORT=url cannot work" in result.output and why in result.output
    assert "Set KLING_IMAGE_TRANSPORT=auto" in result.output
    assert "sk-live-0123456789" not in result.output


def test_it_refuses_production_without_a_secret_key(manage):
    result = manage("check", KLING_PRODUCTION="1", ALLOWED_HOSTS="studio.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when KLING_PRODUCTION is on" in result.output


def test_it_refuses_production_with_debug_on(manage):
    result = manage("check", KLING_PRODUCTION="1", DEBUG="1",
                    SECRET_KEY=secrets.token_urlsafe(45))
    assert result.returncode != 0
    assert "DEBUG must be off" in result.output


def test_it_passes_the_deploy_checks_in_production(manage):
    key = secrets.token_urlsafe(45)
    assert len(key) == 60
    result = manage("check", "--deploy", "--fail-level", "WARNING", KLING_PRODUCTION="1",
                    SECRET_KEY=key, ALLOWED_HOSTS="studio.example.com")
    assert result.returncode == 0, result.output
    assert "no issues" in result.output


def test_it_fails_the_deploy_checks_without_production(manage):
    result = manage("check", "--deploy", "--fail-level", "WARNING",
                    SECRET_KEY=secrets.token_urlsafe(45), ALLOWED_HOSTS="studio.example.com")
    assert result.returncode != 0
    assert "security.W004" in result.output  # no HSTS
