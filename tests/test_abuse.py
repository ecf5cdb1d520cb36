"""Abuse is bounded: password guessing locks out, submissions and callbacks are rate limited,
oversized requests are refused unread, and secrets stay out of logs, other sites' logs and
pages' scripts."""

import io
import logging
import re

import pytest
from django.urls import reverse

from jobs.models import Job
from lib.redact import RedactTokens, redact
from tests.composer import composer_post, signed_in, text_of

pytestmark = pytest.mark.django_db


# Password guessing


def sign_in(client, username, password, path="login"):
    page = client.get(reverse(path))
    return client.post(reverse(path), {"username": username, "password": password,
                                       "csrfmiddlewaretoken": page.cookies["csrftoken"].value})


@pytest.mark.parametrize("path", ["login", "admin:login"])
def test_repeated_wrong_passwords_pause_signing_in_with_a_clear_message(client, staff, settings,
                                                                        path):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(client, "stella", "guess-123", path).status_code == 200
    assert sign_in(client, "stella", "guess-123", path).status_code == 429
    locked = sign_in(client, "stella", "staff-pass-123", path)  # even the right password
    assert locked.status_code == 429
    assert "Signing in is paused" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_right_password_before_the_limit_signs_in_and_starts_the_count_again(client, owner,
                                                                               settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", "owner-pass-123").status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "olivia", "owner-pass-123").status_code == 302


def test_a_lockout_is_per_person_and_address(client, owner, other, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "olivia", "wrong")
    assert sign_in(client, "oscar", "other-pass-123").status_code == 302


# Rate limits


def test_a_person_sending_too_many_videos_is_told_when_to_try_again_and_loses_nothing(
        owner, settings, enqueued):
    settings.KLING_COMPOSE_PER_PERSON = 2
    client = signed_in(owner)
    for _ in range(2):
        assert client.post(reverse("compose"), composer_post()).status_code == 302
    refused = client.post(reverse("compose"), composer_post(prompt="Kept as typed"))
    page = refused.content.decode()
    assert refused.status_code == 429
    assert "You have sent 2 videos in the last 10 minutes" in text_of(page, "compose")
    assert 1 <= int(re.search(r"Try again in (\d+) minutes?:", page).group(1)) <= 10
    assert "nothing was sent or charged" in page and "Kept as typed" in page
    assert 'name="start_frame_staged"' in page  # the frame is kept for the next try
    assert Job.objects.count() == 2


def test_an_address_sending_too_many_videos_is_limited_across_people(owner, other, settings,
                                                                    enqueued):
    settings.KLING_COMPOSE_PER_ADDRESS = 2
    assert signed_in(owner).post(reverse("compose"), composer_post()).status_code == 302
    assert signed_in(other).post(reverse("compose"), composer_post()).status_code == 302
    refused = signed_in(other).post(reverse("compose"), composer_post())
    assert refused.status_code == 429
    assert "People at your address have sent" in refused.content.decode()


def test_callbacks_from_one_address_are_limited(client, make_job, settings, enqueued):
    settings.KLING_CALLBACKS_PER_ADDRESS = 3
    job = make_job(status="submitted", shortapi_job_id="sa-1")
    url = reverse("shortapi-callback", args=[job.callback_token])
    answers = [client.post(url, {}, content_type="application/json").status_code
               for _ in range(5)]
    assert answers == [200, 200, 200, 429, 429]
    other_address = client.post(url, {}, content_type="application/json",
                                REMOTE_ADDR="203.0.113.9")
    assert other_address.status_code == 200


def test_behind_a_proxy_the_client_address_comes_from_its_header(client, make_job, settings,
                                                                 enqueued):
    settings.KLING_CALLBACKS_PER_ADDRESS = 1
    settings.KLING_CLIENT_IP_HEADER = "X-Forwarded-For"
    job = make_job(status="submitted", shortapi_job_id="sa-1")
    url = reverse("shortapi-callback", args=[job.callback_token])
    first = client.post(url, {}, content_type="application/json",
                        HTTP_X_FORWARDED_FOR="198.51.100.1")
    second = client.post(url, {}, content_type="application/json",
                         HTTP_X_FORWARDED_FOR="198.51.100.2")
    again = client.post(url, {}, content_type="application/json",
                        HTTP_X_FORWARDED_FOR="spoofed, 198.51.100.1")
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


# Requests too large to read


def call_wsgi(content_length, path="/jobs/new/"):
    from klingstudio.wsgi import application

    body = io.BytesIO(b"")
    status = []
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "localhost",
               "SERVER_PORT": "80", "wsgi.input": body, "wsgi.url_scheme": "http",
               "CONTENT_LENGTH": str(content_length), "HTTP_HOST": "localhost",
               "wsgi.errors": io.StringIO()}
    chunks = application(environ, lambda line, headers: status.append(line))
    return status[0], b"".join(chunks).decode(), body


def test_the_server_refuses_a_request_over_the_limit_without_reading_it(settings):
    limit = settings.KLING_MAX_REQUEST_MB * 1024 * 1024
    status, page, body = call_wsgi(limit + 1)
    assert status.startswith("413")
    assert f"at most {settings.KLING_MAX_REQUEST_MB} MB" in page and "Nothing was sent" in page
    assert body.tell() == 0
    status, _, _ = call_wsgi(1000, path="/accounts/login/")
    assert not status.startswith("413")


# Secrets in headers, scripts and logs


def test_every_page_forbids_inline_script_and_other_sites_see_no_url_of_ours(client, owner):
    for url, user in ((reverse("login"), None), (reverse("compose"), owner),
                      (reverse("gallery"), owner)):
        if user:
            client.force_login(user)
        response = client.get(url)
        policy = response["Content-Security-Policy"]
        script = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
        assert script.split() == ["script-src", "'self'"]
        assert "style-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response["Referrer-Policy"] == "same-origin"


def test_no_page_carries_an_inline_script_or_style(client, owner, make_job):
    from tests.composer import storyboard_post

    client.force_login(owner)
    client.post(reverse("compose"), storyboard_post())
    make_job()
    storyboard = Job.objects.get(multi_shot=True)
    assert storyboard.shots.count() == 2
    pages = [client.get(url).content.decode() for url in (
        reverse("gallery"), reverse("compose"), storyboard.get_absolute_url(),
        reverse("my-spend"), reverse("drafts"))]
    assert 'data-role="timeline-shot"' in pages[2]
    for page in pages:
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", page)
        assert scripts == []
        assert not re.search(r'\sstyle="|\son[a-z]+="', page)


@pytest.mark.parametrize("line", [
    '127.0.0.1 "POST /shortapi/callback/Ab-12_x/ HTTP/1.1" 404',
    "Not Found: /i/eyJhbGciOi.abc:1xY:sig/",
    'GET http://app.example/uploads/token.value:sig/ "200"',
])
def test_secret_path_segments_are_redacted(line):
    cleaned = redact(line)
    assert "[redacted]" in cleaned
    for secret in ("Ab-12_x", "eyJhbGciOi", "token.value"):
        assert secret not in cleaned


def test_the_log_filter_redacts_messages_arguments_and_tracebacks():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1,
                               "Not Found: %s", ("/shortapi/callback/secret-token/",), None)
    try:
        raise ValueError("fetching /i/secret-link/ failed")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    assert RedactTokens().filter(record)
    text = logging.Formatter().format(record)
    assert "secret-token" not in text and "secret-link" not in text
    assert "/shortapi/callback/[redacted]/" in text


def test_gunicorns_access_log_is_redacted():
    from types import SimpleNamespace

    from gunicorn.config import Config

    from klingstudio.gunicorn import AccessLog

    request = SimpleNamespace(method="POST", path="/shortapi/callback/s3cret/", query="",
                              uri="/shortapi/callback/s3cret/", version=(1, 1),
                              headers=[("REFERER", "https://x/uploads/t0ken/")])
    response = SimpleNamespace(status="200 OK", response_length=2, sent=2, headers=[])
    environ = {"REMOTE_ADDR": "127.0.0.1", "RAW_URI": "/shortapi/callback/s3cret/",
               "REQUEST_METHOD": "POST", "SERVER_PROTOCOL": "HTTP/1.1"}
    atoms = AccessLog(Config()).atoms(response, request, environ,
                                      SimpleNamespace(seconds=0, microseconds=1))
    assert not [value for value in atoms.values()
                if isinstance(value, str) and ("s3cret" in value or "t0ken" in value)]
