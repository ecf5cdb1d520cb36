"""Hearing that a job finished: the activity feed every signed-in page polls, the `job_finished`
signal the state machine sends, the e-mail it queues, and the settings page that asks for it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobs import notify, tasks
from jobs.models import Job, Preferences
from jobs.signals import job_finished

pytestmark = pytest.mark.django_db
S = Job.Status
REASON = "Kling could not animate this frame: it shows no subject."


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def activity(client, since=None):
    response = client.get(reverse("activity"), {"since": since} if since is not None else {})
    assert response.status_code == 200
    return response.json()


def sent(job):
    """Move a queued job on as the submit task would: ShortAPI accepted it and charged $0.30."""
    assert job.claim_for_submission()
    assert job.mark_submitted("sa-1", Decimal("0.300"))
    return job


@pytest.fixture
def queued(enqueued, monkeypatch):
    """What the receiver queued, caught as conftest's `enqueued` catches the other tasks."""
    monkeypatch.setattr("jobs.notify.async_task", tasks.async_task)  # the fixture's recorder
    return enqueued


@pytest.fixture
def wants_email(owner):
    owner.email = "olivia@example.com"
    owner.save()
    Preferences.objects.create(person=owner, email_when_finished=True,
                               confirmed_email="olivia@example.com")
    return owner


@pytest.fixture
def heard():
    """Every `job_finished` sent while the test runs, as (pk, status)."""
    calls = []

    def receiver(sender, pk, status, **kwargs):
        calls.append((pk, status))

    job_finished.connect(receiver, dispatch_uid="test-notify")
    yield calls
    job_finished.disconnect(dispatch_uid="test-notify")


@pytest.fixture
def locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    mail.outbox = []
    return mail.outbox


# The activity feed


@pytest.mark.parametrize("who", ["owner", "other", "staff"])
def test_it_counts_only_the_signed_in_persons_running_jobs(request, make_job, owner, other, who):
    for status in (S.QUEUED, S.SUBMITTING, S.SUBMITTED, S.PROCESSING, S.UNKNOWN):
        make_job(status=status)
    for status in (S.DRAFT, S.SUCCEEDED, S.FAILED, S.STOPPED):
        make_job(status=status)
    make_job(user=other, status=S.PROCESSING)
    expected = {"owner": 5, "other": 1, "staff": 0}[who]
    assert activity(signed_in(request.getfixturevalue(who)))["running"] == expected


def test_it_lists_the_persons_jobs_finished_since_newest_first(make_job, other):
    since = timezone.now() - timedelta(minutes=5)
    before = make_job(status=S.SUCCEEDED, finished_at=since - timedelta(seconds=1))
    older = make_job(status=S.SUCCEEDED, finished_at=since + timedelta(minutes=1),
                     title="Harbour at dawn")
    newer = make_job(status=S.FAILED, finished_at=since + timedelta(minutes=2), error=REASON)
    make_job(user=other, status=S.SUCCEEDED, finished_at=since + timedelta(minutes=1))
    client = signed_in(before.owner)

    finished = activity(client, since.isoformat())["finished"]

    assert [job["id"] for job in finished] == [newer.pk, older.pk]
    assert finished[0] == {"id": newer.pk, "title": f"Job {newer.pk}", "status": "failed",
                           "label": "Failed", "url": f"/jobs/{newer.pk}/", "error": REASON}
    assert finished[1] == {"id": older.pk, "title": "Harbour at dawn", "status": "succeeded",
                           "label": "Succeeded", "url": f"/jobs/{older.pk}/", "error": ""}


def test_it_lists_at_most_ten_finished_jobs(make_job):
    start = timezone.now() - timedelta(minutes=30)
    jobs = [make_job(status=S.SUCCEEDED, finished_at=start + timedelta(minutes=n))
            for n in range(1, 13)]
    finished = activity(signed_in(jobs[0].owner), start.isoformat())["finished"]
    assert [job["id"] for job in finished] == [job.pk for job in reversed(jobs[2:])]


@pytest.mark.parametrize("since", [None, "", "yesterday", "2026-13-45T00:00:00"])
def test_it_lists_nothing_finished_without_a_usable_since(make_job, since):
    job = make_job(status=S.SUCCEEDED, finished_at=timezone.now() - timedelta(seconds=5))
    make_job(status=S.QUEUED)
    answer = activity(signed_in(job.owner), since)
    assert answer["finished"] == []
    assert answer["running"] == 1


def test_its_now_is_where_the_next_poll_starts(make_job, owner):
    client = signed_in(owner)
    first = activity(client)
    opened = parse_datetime(first["now"])
    assert abs(timezone.now() - opened) < timedelta(seconds=5)
    make_job(status=S.FAILED, finished_at=opened - timedelta(milliseconds=1))
    after = make_job(status=S.SUCCEEDED, finished_at=opened + timedelta(milliseconds=1))
    assert [job["id"] for job in activity(client, first["now"])["finished"]] == [after.pk]


def test_it_reads_a_since_whose_plus_sign_was_not_encoded(make_job, owner):
    since = timezone.now() - timedelta(minutes=1)
    job = make_job(status=S.SUCCEEDED, finished_at=since + timedelta(seconds=1))
    raw = reverse("activity") + "?since=" + since.isoformat()  # "+00:00" arrives as " 00:00"
    assert [item["id"] for item in signed_in(owner).get(raw).json()["finished"]] == [job.pk]


def test_it_looks_back_a_day_at_most(make_job, owner):
    make_job(status=S.SUCCEEDED, finished_at=timezone.now() - timedelta(days=2))
    recent = make_job(status=S.SUCCEEDED, finished_at=timezone.now() - timedelta(hours=1))
    finished = activity(signed_in(owner), "2000-01-01T00:00:00+00:00")["finished"]
    assert [job["id"] for job in finished] == [recent.pk]


def test_the_feed_is_never_cached(owner):
    response = signed_in(owner).get(reverse("activity"))
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("name", ["activity", "preferences"])
def test_it_sends_signed_out_visitors_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_every_signed_in_page_polls_the_feed_and_links_the_settings(owner, client):
    page = signed_in(owner).get(reverse("gallery")).content.decode()
    assert f'data-activity-url="{reverse("activity")}"' in page
    assert 'src="/static/js/activity.js"' in page
    assert f'href="{reverse("preferences")}"' in page
    assert 'data-role="notify-me" hidden' in page
    signed_out = client.get(reverse("login")).content.decode()
    assert "activity.js" not in signed_out and "data-activity-url" not in signed_out


# The signal


def test_the_signal_fires_once_when_a_job_finishes(make_job, heard,
                                                   django_capture_on_commit_callbacks):
    job = make_job()
    with django_capture_on_commit_callbacks(execute=True):
        sent(job)
        assert job.mark_processing()
    assert heard == []
    with django_capture_on_commit_callbacks(execute=True):
        assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    assert heard == [(job.pk, S.SUCCEEDED)]
    with django_capture_on_commit_callbacks(execute=True):
        assert not job.mark_failed("Too late: another worker already finished it.")
        assert not Job.objects.get(pk=job.pk).mark_succeeded("https://cdn.example.com/v.mp4")
    assert heard == [(job.pk, S.SUCCEEDED)]


@pytest.mark.parametrize("finish", [
    lambda job: sent(job).mark_failed(REASON),
    lambda job: job.mark_not_sent(REASON),
    lambda job: job.give_up(REASON),
], ids=["failed", "not-sent", "given-up"])
def test_the_signal_fires_when_a_job_fails(make_job, heard, finish,
                                           django_capture_on_commit_callbacks):
    job = make_job()
    with django_capture_on_commit_callbacks(execute=True):
        assert finish(job)
    assert heard == [(job.pk, S.FAILED)]


def test_the_signal_is_not_sent_by_moves_that_finish_nothing(make_job, heard,
                                                             django_capture_on_commit_callbacks):
    job = make_job(status=S.DRAFT)
    with django_capture_on_commit_callbacks(execute=True):
        assert job.submit_draft()
        assert job.claim_for_submission()
        assert job.mark_unknown("Timed out.")
        assert job.give_up("An admin gave it up.")  # unknown -> stopped
    assert job.status == S.STOPPED
    assert heard == []


def test_the_signal_waits_for_the_commit(make_job, heard, django_capture_on_commit_callbacks):
    job = sent(make_job())
    with django_capture_on_commit_callbacks() as callbacks:
        assert job.mark_succeeded("https://cdn.example.com/v.mp4")
        assert heard == []
    assert len(callbacks) == 1
    callbacks[0]()
    assert heard == [(job.pk, S.SUCCEEDED)]


def test_the_signal_is_not_sent_when_the_move_is_rolled_back(make_job, heard,
                                                             django_capture_on_commit_callbacks):
    job = sent(make_job())
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            assert job.mark_succeeded("https://cdn.example.com/v.mp4")
            raise RuntimeError("the task failed after the move")
    assert heard == []
    assert Job.objects.get(pk=job.pk).status == S.SUBMITTED


# The e-mail


def test_a_finished_job_is_emailed_to_an_owner_who_asked(make_job, wants_email, queued, locmem,
                                                         django_capture_on_commit_callbacks):
    job = sent(make_job(title="Harbour at dawn"))
    with django_capture_on_commit_callbacks(execute=True):
        assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    assert queued == [(notify.send_finished_email, (job.pk,))]
    assert locmem == []  # queued, not sent by the request or the poll that finished it

    notify.send_finished_email(job.pk)

    assert len(locmem) == 1
    message = locmem[0]
    assert message.to == ["olivia@example.com"]
    assert message.subject == 'Your video "Harbour at dawn" is ready'
    assert f"https://studio.example.com/jobs/{job.pk}/" in message.body
    assert "Cost: $0.30" in message.body
    assert "https://studio.example.com/settings/" in message.body
    assert job.callback_token not in message.body and "sa-1" not in message.body


def test_a_failed_jobs_email_says_why_with_a_relative_link_when_no_address_is_set(
        make_job, wants_email, queued, locmem, settings, django_capture_on_commit_callbacks):
    settings.PUBLIC_BASE_URL = ""
    job = sent(make_job())
    with django_capture_on_commit_callbacks(execute=True):
        assert job.mark_failed(REASON)
    assert queued == [(notify.send_finished_email, (job.pk,))]

    notify.send_finished_email(job.pk)

    [message] = locmem
    assert message.subject == f'Your video "Job {job.pk}" failed'
    assert f"Your video failed: {REASON}" in message.body
    assert f"\n/jobs/{job.pk}/\n" in message.body
    assert "Cost: $0.30 (failed, charged by ShortAPI: it did not refund this job)" in message.body


@pytest.mark.parametrize("address, wanted", [("olivia@example.com", False), ("", True)],
                         ids=["not-wanted", "no-address"])
def test_nothing_is_emailed_unless_wanted_and_addressed(make_job, owner, queued, locmem, address,
                                                        wanted,
                                                        django_capture_on_commit_callbacks):
    owner.email = address
    owner.save()
    Preferences.objects.create(person=owner, email_when_finished=wanted)
    job = sent(make_job())
    with django_capture_on_commit_callbacks(execute=True):
        assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    assert queued == []
    notify.send_finished_email(job.pk)  # as if queued before the person changed their mind
    assert locmem == []


def test_the_task_emails_nothing_about_an_unfinished_job(make_job, wants_email, locmem):
    job = sent(make_job())
    notify.send_finished_email(job.pk)
    notify.send_finished_email(job.pk + 1000)  # deleted meanwhile
    assert locmem == []


# The settings page


@pytest.mark.parametrize("who", ["owner", "other", "staff"])
def test_the_settings_page_shows_the_persons_own_choice_and_address(request, wants_email, who):
    page = signed_in(request.getfixturevalue(who)).get(reverse("preferences")).content.decode()
    owners = who == "owner"
    assert ('value="olivia@example.com"' in page) is owners
    assert ("checked" in page) is owners
    assert "E-mail me when a video finishes or fails" in page


def test_it_asks_for_an_address_when_the_box_is_ticked_without_one(owner):
    response = signed_in(owner).post(reverse("preferences"),
                                     {"email_when_finished": "on", "email": ""})
    assert response.status_code == 200
    field = response.content.decode().split('id="field-email"')[1].split("</div>")[0]
    assert "Add the address the e-mail should go to, or untick the box." in field
    assert "checked" in response.content.decode()  # the choice is still there to correct
    assert not Preferences.objects.filter(person=owner).exists()


def test_it_keeps_a_mistyped_address_to_correct(owner):
    owner.email = "olivia@example.com"
    owner.save()
    response = signed_in(owner).post(reverse("preferences"),
                                     {"email_when_finished": "on", "email": "olivia at home"})
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="olivia at home"' in page and "checked" in page
    assert "Enter a valid email address." in page
    assert "Add the address" not in page
    owner.refresh_from_db()
    assert owner.email == "olivia@example.com"
    assert not Preferences.objects.filter(person=owner).exists()


def test_it_saves_the_choice_and_the_address(owner, other):
    client = signed_in(owner)
    response = client.post(reverse("preferences"),
                           {"email_when_finished": "on", "email": "olivia@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("preferences")
    owner.refresh_from_db()
    assert owner.email == "olivia@example.com"
    assert Preferences.of(owner).email_when_finished is True
    assert Preferences.of(other).email_when_finished is False
    assert "Your settings are saved." in client.get(reverse("preferences")).content.decode()


def test_it_saves_an_untick(wants_email):
    response = signed_in(wants_email).post(reverse("preferences"),
                                           {"email": "olivia@example.com"})
    assert response.status_code == 302
    assert Preferences.of(wants_email).email_when_finished is False
    assert Preferences.objects.filter(person=wants_email).count() == 1


# Confirming the address


def confirmation_link(locmem):
    [message] = locmem
    assert message.subject == "Confirm your e-mail address for Kling Studio"
    return next(line for line in message.body.splitlines() if "/settings/confirm/" in line)


def test_an_address_gets_nothing_but_a_confirmation_until_its_link_is_followed(
        owner, make_job, queued, locmem, django_capture_on_commit_callbacks):
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("preferences"), {"email_when_finished": "on",
                                             "email": "stranger@example.com"})
    [(task, args)] = queued
    assert task == notify.send_confirmation
    page = client.get(reverse("preferences")).content.decode()
    assert "follow the link we just sent there" in page
    assert "Not confirmed yet" in page

    job = sent(make_job(title="Buy now at spam.example"))
    with django_capture_on_commit_callbacks(execute=True):
        assert job.mark_succeeded("https://cdn.example.com/v.mp4")
    assert len(queued) == 1  # no finish e-mail queued
    notify.send_finished_email(job.pk)
    assert locmem == []

    notify.send_confirmation(*args)
    link = confirmation_link(locmem)
    assert "Buy now" not in locmem[0].subject + locmem[0].body
    response = client.get(link.removeprefix("https://studio.example.com"), follow=True)
    assert "stranger@example.com is confirmed" in response.content.decode()

    notify.send_finished_email(job.pk)
    assert [m.to for m in locmem[1:]] == [["stranger@example.com"]]


def test_a_confirmation_link_works_only_for_its_person_and_address(owner, other, queued, locmem):
    owner.email = "olivia@example.com"
    owner.save()
    token = notify.signing.dumps({"person": owner.pk, "email": "olivia@example.com"},
                                 salt=notify.CONFIRM_SALT)
    url = reverse("confirm-email", args=[token])

    refused = signed_in(other).get(url, follow=True).content.decode()
    assert "This confirmation link has expired, is for another address" in refused
    owner.email = "changed@example.com"
    owner.save()
    assert "is for another address" in signed_in(owner).get(url, follow=True).content.decode()
    assert "is for another address" in signed_in(owner).get(
        reverse("confirm-email", args=["forged"]), follow=True).content.decode()
    assert Preferences.of(owner).confirmed_email == ""
    assert Preferences.of(other).confirmed_email == ""


def test_a_changed_address_must_be_confirmed_again(wants_email, make_job, locmem):
    signed_in(wants_email).post(reverse("preferences"), {"email_when_finished": "on",
                                                         "email": "new@example.com"})
    job = sent(make_job())
    job.mark_succeeded("https://cdn.example.com/v.mp4")
    notify.send_finished_email(job.pk)
    assert locmem == []


def test_confirmation_e_mails_are_limited_per_hour(owner, queued, django_capture_on_commit_callbacks):
    owner.email = "olivia@example.com"
    owner.save()
    client = signed_in(owner)
    with django_capture_on_commit_callbacks(execute=True):
        answers = [client.post(reverse("resend-confirmation"), follow=True).content.decode()
                   for _ in range(notify.CONFIRMATIONS.count + 2)]
    assert len(queued) == notify.CONFIRMATIONS.count
    assert "Ask for another in" in answers[-1]
