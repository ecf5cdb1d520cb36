"""Personal API tokens: made and revoked on Settings › API tokens by their owner alone, shown
once, kept only as a digest, bounded in number, noting their last use at most once a minute, and
acting as their person and nobody else; a missing, unknown or revoked token is a 401 in words."""

import hashlib
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api import tokens
from api.models import KEEP_REVOKED, MAX_TOKENS, Token
from lib.redact import redact

pytestmark = pytest.mark.django_db
SECRET = re.compile(r"kst_[A-Za-z0-9_-]{43}")


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def bearer(secret):
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def test_it_shows_a_new_token_once_and_keeps_only_its_digest(owner):
    page = signed_in(owner)
    response = page.post(reverse("api-tokens"), {"name": "Render script"})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    secret = SECRET.search(response.content.decode()).group()
    token = Token.objects.get()
    assert (token.person, token.name) == (owner, "Render script")
    assert token.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret[:10] == token.prefix and len(token.prefix) < len(secret) // 4
    assert not any(secret in str(value) for value in
                   Token.objects.values_list("name", "prefix", "digest").get())
    again = page.get(reverse("api-tokens")).content.decode()
    assert secret not in again and "Render script" in again and token.prefix in again
    assert bearer(secret).get("/api/v1/jobs").status_code == 200


def test_the_settings_page_links_to_the_tokens(owner):
    page = signed_in(owner).get(reverse("preferences")).content.decode()
    assert reverse("api-tokens") in page


@pytest.mark.parametrize("header, words", [
    (None, "carries no API token"),
    ("Token abc", "must be “Bearer ” followed by your API token"),
    ("Bearer ", "must be “Bearer ” followed by your API token"),
    ("Bearer kst_" + "x" * 43, "not one Kling Studio knows"),
    ("Bearer " + "x" * 5000, "not one Kling Studio knows"),
])
def test_it_answers_401_in_words_without_a_token_it_knows(header, words, owner):
    client = Client(**({"HTTP_AUTHORIZATION": header} if header else {}))
    response = client.get("/api/v1/jobs")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert words in response.json()["message"]
    assert "Settings › API tokens" in response.json()["message"] or "Bearer" in words


def test_a_revoked_token_answers_401_saying_so(owner):
    token, secret = tokens.issue(owner, "Slack bot")
    assert bearer(secret).get("/api/v1/jobs").status_code == 200

    response = signed_in(owner).post(reverse("api-token-revoke", args=[token.pk]))

    assert response.status_code == 302
    answer = bearer(secret).get("/api/v1/jobs")
    assert answer.status_code == 401
    assert "“Slack bot”) was revoked on" in answer.json()["message"]
    assert "Revoked" in signed_in(owner).get(reverse("api-tokens")).content.decode()
    assert not token.revoke(), "revoking twice writes nothing"


def test_a_switched_off_account_token_answers_401(owner):
    _, secret = tokens.issue(owner, "n8n")
    owner.is_active = False
    owner.save()
    response = bearer(secret).get("/api/v1/jobs")
    assert response.status_code == 401 and "switched off" in response.json()["message"]


def test_it_notes_the_last_use_at_most_once_a_minute(owner, at, django_assert_num_queries):
    token, secret = tokens.issue(owner, "Render script")
    client = bearer(secret)
    start = timezone.now()
    with at(start):
        client.get("/api/v1/projects")
    assert Token.objects.get().last_used_at == start
    with at(start + timedelta(seconds=50)):
        client.get("/api/v1/projects")
    assert Token.objects.get().last_used_at == start
    later = start + timedelta(seconds=61)
    with at(later):
        client.get("/api/v1/projects")
    assert Token.objects.get().last_used_at == later
    assert str(later.year) in signed_in(owner).get(reverse("api-tokens")).content.decode()


def test_a_token_acts_as_its_person_only(owner, other, teammate, project, make_job):
    mine = make_job()
    shared = make_job(project=project)
    _, others = tokens.issue(other, "Oscar's script")
    _, teammates = tokens.issue(teammate, "Tara's script")

    assert bearer(others).get(f"/api/v1/jobs/{mine.pk}").status_code == 404
    assert bearer(others).get(f"/api/v1/jobs/{shared.pk}").status_code == 404
    assert bearer(teammates).get(f"/api/v1/jobs/{mine.pk}").status_code == 404
    assert bearer(teammates).get(f"/api/v1/jobs/{shared.pk}").json()["id"] == shared.pk


def test_a_signed_in_session_is_no_token(owner, make_job):
    job = make_job()
    response = signed_in(owner).get(f"/api/v1/jobs/{job.pk}")
    assert response.status_code == 401


def test_a_person_holds_a_bounded_number_of_tokens(owner):
    for number in range(MAX_TOKENS):
        tokens.issue(owner, f"Tool {number}")
    page = signed_in(owner)

    response = page.post(reverse("api-tokens"), {"name": "One more"})

    assert response.status_code == 400
    assert f"You have {MAX_TOKENS} tokens" in response.content.decode()
    assert not SECRET.search(response.content.decode())
    Token.objects.first().revoke()
    assert page.post(reverse("api-tokens"), {"name": "One more"}).status_code == 200
    assert Token.objects.active().count() == MAX_TOKENS


def test_only_the_most_recent_revoked_tokens_are_kept(owner):
    for number in range(KEEP_REVOKED + 3):
        tokens.issue(owner, f"Tool {number}")[0].revoke()
    assert Token.objects.filter(person=owner).count() == KEEP_REVOKED


def test_a_token_name_is_required_and_bounded(owner):
    page = signed_in(owner)
    assert page.post(reverse("api-tokens"), {"name": " "}).status_code == 400
    assert page.post(reverse("api-tokens"), {"name": "x" * 81}).status_code == 400
    assert Token.objects.count() == 0


def test_the_tokens_page_is_its_owners_only(owner, other, staff):
    token, secret = tokens.issue(owner, "Harbour renders")

    for intruder in (other, staff):
        client = signed_in(intruder)
        page = client.get(reverse("api-tokens")).content.decode()
        assert "Harbour renders" not in page and f'data-token="{token.pk}"' not in page
        assert client.post(reverse("api-token-revoke", args=[token.pk])).status_code == 404
    assert Client().get(reverse("api-tokens")).status_code == 302
    assert Client().post(reverse("api-token-revoke", args=[token.pk])).status_code == 302
    assert signed_in(owner).get(reverse("api-token-revoke", args=[token.pk])).status_code == 405
    assert not Token.objects.get().revoked
    assert bearer(secret).get("/api/v1/jobs").status_code == 200


def test_a_secret_never_reaches_a_log_line(owner, caplog, settings):
    settings.DEBUG = True
    _, secret = tokens.issue(owner, "Render script")
    Client(HTTP_AUTHORIZATION=f"Basic {secret}").get("/api/v1/jobs")
    Client(HTTP_AUTHORIZATION=f"Bearer {secret}x").get("/api/v1/jobs")
    assert secret not in caplog.text
    assert secret not in redact(f"GET /api/v1/jobs?token={secret} 401")
    assert secret[:10] in redact(f"Bearer {secret}")
