"""Webhooks: signed as Standard Webhooks' reference implementation verifies, retried on a schedule
with the same webhook-id, never sent inside the network, switched off (and the owner told) when
they keep failing, made from the app's signals for the right endpoints, and managed on pages only
their owners (a team's approvers, staff) reach.

A real HTTP receiver on 127.0.0.1 (allowed by KLING_WEBHOOK_ALLOWED_HOSTS) takes the messages;
time moves by the `at` fixture, never by sleeping.
"""

import json
import socket
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from jobs import dispatch as jobs_dispatch
from jobs.models import Job, Preferences
from jobs.signals import approval_decided, approval_needed, job_finished, video_settled
from lib import standard_webhooks
from sequences.models import Export, Sequence
from teams.models import Project
from tests.api_client import api_as
from tests.test_sequences import succeed
from webhooks import delivery, dispatch
from webhooks.models import QUEUED_LOST_AFTER, Attempt, Delivery, Endpoint, in_flight

pytestmark = pytest.mark.django_db

REAL_GETADDRINFO = socket.getaddrinfo


class Receiver:
    """An HTTP server on 127.0.0.1 that answers each POST with the next of `script` (a status,
    or ("stall", seconds), or (status, body)) and records what it got."""

    def __init__(self):
        self.got, self.script = [], []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.got.append((dict(self.headers), body))
                step = receiver.script.pop(0) if receiver.script else 200
                answer = b'{"ok": true}'
                if isinstance(step, tuple) and step[0] == "stall":
                    threading.Event().wait(step[1])
                    step = 200
                elif isinstance(step, tuple):
                    step, answer = step
                try:
                    self.send_response(step)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.KLING_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.KLING_WEBHOOK_TIMEOUT = 1
    settings.PUBLIC_BASE_URL = "https://studio.example.com"
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def queued(monkeypatch):
    """What the dispatcher queued, as (function, args, keyword arguments)."""
    calls = []
    monkeypatch.setattr(dispatch, "async_task",
                        lambda func, *args, **kwargs: calls.append((func, args, kwargs)))
    return calls


@pytest.fixture
def tick(queued, at, django_capture_on_commit_callbacks):
    """`tick(moment)`: the dispatcher runs at `moment` and the tasks it queued run at once, as
    a worker would. The number queued."""
    def run(moment):
        with at(moment):
            before = len(queued)
            count = dispatch.dispatch(moment)
            with django_capture_on_commit_callbacks(execute=True):
                for func, args, _ in queued[before:]:
                    func(*args)
            return count
    return run


def endpoint_of(person=None, team=None, url="", events=("job.finished", "job.failed"),
                **fields):
    return Endpoint.objects.create(owner=None if team else person, team=team,
                                   created_by=person, url=url, events=list(events), **fields)


def a_delivery(endpoint, event="job.finished"):
    return Delivery.objects.create(endpoint=endpoint, event=event,
                                   body=json.dumps({"type": event, "data": {"id": 1}}),
                                   next_attempt_at=timezone.now())


def verified(endpoint, request):
    headers, body = request
    return Webhook(endpoint.secret).verify(body, headers)


def confirm(person, address):
    person.email = address
    person.save()
    Preferences.objects.update_or_create(person=person, defaults={"confirmed_email": address})


# Signing

def test_it_signs_as_the_reference_implementation_verifies():
    secret = standard_webhooks.new_secret()
    assert secret.startswith("whsec_") and len(standard_webhooks.key_of(secret)) == 24
    body = b'{"type":"job.finished","data":{"id":7}}'
    now = int(timezone.now().timestamp())
    headers = standard_webhooks.headers(secret, "msg_abc", now, body)

    assert Webhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(standard_webhooks.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)


# Delivery and retries

def test_it_retries_after_a_500_and_a_timeout_with_the_same_id_until_a_2xx(
        owner, receiver, tick, settings):
    settings.KLING_WEBHOOK_RETRY_SECONDS = [2, 3]
    receiver.script = [(500, b"database down"), ("stall", 3), 200]
    endpoint = endpoint_of(owner, url=receiver.url)
    sent = a_delivery(endpoint)
    start = timezone.now()

    assert tick(start) == 1
    sent.refresh_from_db()
    assert sent.status == Delivery.Status.PENDING and sent.attempts == 1
    assert sent.next_attempt_at == start + timedelta(seconds=2)
    assert tick(start + timedelta(seconds=1)) == 0  # not due: nothing sleeps, nothing is sent

    assert tick(start + timedelta(seconds=2)) == 1  # the receiver stalls past the deadline
    sent.refresh_from_db()
    assert sent.next_attempt_at == start + timedelta(seconds=2 + 3)

    assert tick(start + timedelta(seconds=5)) == 1
    sent.refresh_from_db()
    assert sent.status == Delivery.Status.DELIVERED and sent.next_attempt_at is None
    assert tick(start + timedelta(days=2)) == 0

    assert len(receiver.got) == 3
    assert {headers["webhook-id"] for headers, _ in receiver.got} == {sent.message_id}
    stamps = [int(headers["webhook-timestamp"]) for headers, _ in receiver.got]
    assert stamps == [int(start.timestamp()) + seconds for seconds in (0, 2, 5)]
    for request in receiver.got:
        assert verified(endpoint, request) == json.loads(sent.body)
    tries = list(sent.tries.all())
    assert [(t.number, t.status_code) for t in tries] == [(1, 500), (2, None), (3, 200)]
    assert tries[0].answer == "database down" and "HTTP 500" in tries[0].error
    assert "within 1 seconds" in tries[1].error
    assert tries[2].error == ""


def test_a_message_is_verified_by_the_receiver_with_the_reference_implementation(
        owner, receiver, tick):
    endpoint = endpoint_of(owner, url=receiver.url)
    sent = a_delivery(endpoint)

    tick(timezone.now())

    assert verified(endpoint, receiver.got[0]) == json.loads(sent.body)
    assert receiver.got[0][0]["webhook-id"].startswith("msg_")
    assert Attempt.objects.get(delivery=sent).status_code == 200


def test_it_keeps_only_the_start_of_a_long_answer(owner, receiver, tick):
    receiver.script = [(200, b"x" * 100_000)]
    sent = a_delivery(endpoint_of(owner, url=receiver.url))

    tick(timezone.now())

    sent.refresh_from_db()
    assert sent.status == Delivery.Status.DELIVERED
    assert sent.tries.get().answer == "x" * 1024


def test_deliveries_are_free_work_queued_once_until_the_mark_goes_stale(owner, receiver,
                                                                        queued, settings):
    sent = a_delivery(endpoint_of(owner, url=receiver.url))
    now = timezone.now()

    assert dispatch.dispatch(now) == 1
    assert dispatch.dispatch(now + timedelta(seconds=30)) == 0
    assert dispatch.dispatch(now + QUEUED_LOST_AFTER + timedelta(seconds=1)) == 1

    assert [(func, args) for func, args, _ in queued] == [(delivery.deliver, (sent.pk,))] * 2
    assert all(kwargs["cluster"] == settings.KLING_FREE_QUEUE for _, _, kwargs in queued)
    assert dispatch.dispatch in jobs_dispatch.ALSO  # every qcluster's dispatcher runs it


def test_settled_deliveries_are_forgotten_after_the_days_kept_once_an_hour(owner, settings,
                                                                             private_cache):
    settings.KLING_WEBHOOK_KEEP_DAYS = 30
    endpoint = endpoint_of(owner, url="https://hooks.example.com/kling")
    now = timezone.now()
    old, recent, owed = (a_delivery(endpoint) for _ in range(3))
    for sent, settled_at, status in ((old, now - timedelta(days=31), "delivered"),
                                     (recent, now - timedelta(days=29), "failed")):
        Delivery.objects.filter(pk=sent.pk).update(status=status, finished_at=settled_at)
        Attempt.objects.create(delivery=sent, number=1, started_at=settled_at, status_code=204)

    assert dispatch.prune(now) == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, owed.pk}
    assert Attempt.objects.filter(delivery=old.pk).count() == 0
    # within the hour nothing more is looked at, whatever is due
    Delivery.objects.filter(pk=recent.pk).update(finished_at=now - timedelta(days=40))
    assert dispatch.prune(now) == 0
    assert dispatch.prune in jobs_dispatch.ALSO


def test_a_try_whose_worker_died_is_made_again_with_the_same_id(owner, receiver, tick, at):
    endpoint = endpoint_of(owner, url=receiver.url)
    sent = a_delivery(endpoint)
    now = timezone.now()
    with at(now):
        assert sent.start_attempt(now)  # and then the worker was killed

    assert tick(now + timedelta(seconds=1)) == 0
    assert tick(now + in_flight() + timedelta(seconds=1)) == 1

    sent.refresh_from_db()
    assert sent.status == Delivery.Status.DELIVERED and sent.attempts == 2
    assert [h["webhook-id"] for h, _ in receiver.got] == [sent.message_id]


def test_a_task_delivered_twice_makes_one_try(owner, receiver):
    sent = a_delivery(endpoint_of(owner, url=receiver.url))

    delivery.deliver(sent.pk)
    delivery.deliver(sent.pk)

    assert len(receiver.got) == 1 and sent.tries.count() == 1


# Switched off after it keeps failing

def test_an_endpoint_that_keeps_failing_is_switched_off_and_its_owner_told(
        owner, receiver, tick, settings, client):
    settings.KLING_WEBHOOK_RETRY_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 36000]
    receiver.script = [500] * 20
    confirm(owner, "olivia@example.com")
    endpoint = endpoint_of(owner, url=receiver.url)
    sent = a_delivery(endpoint)
    moment, gaps = timezone.now(), []

    for _ in range(8):
        assert tick(moment) == 1
        sent.refresh_from_db()
        if sent.next_attempt_at:
            gaps.append(int((sent.next_attempt_at - moment).total_seconds()))
            moment = sent.next_attempt_at

    assert gaps == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert sum(gaps) > 24 * 3600
    assert sent.status == Delivery.Status.FAILED and sent.attempts == 8
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "tried 8 times" in endpoint.disabled_reason
    assert [message.to for message in mail.outbox] == [["olivia@example.com"]]
    assert endpoint.url in mail.outbox[0].body
    assert tick(moment + timedelta(days=1)) == 0

    client.force_login(owner)
    page = client.get(endpoint.get_absolute_url()).content.decode()
    assert "Switched off." in page and "Switch on again" in page and "HTTP 500" in page
    client.post(reverse("webhook-switch", args=[endpoint.pk]), {"on": "1"})
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == ""


def test_a_team_endpoint_switched_off_tells_the_approvers_with_confirmed_addresses(
        owner, teammate, team, receiver, tick, settings):
    settings.KLING_WEBHOOK_RETRY_SECONDS = [1]
    receiver.script = [500, 500]
    team.approvers.add(owner, teammate)
    confirm(owner, "olivia@example.com")
    teammate.email = "tara@example.com"  # never confirmed
    teammate.save()
    endpoint = endpoint_of(teammate, team=team, url=receiver.url)
    a_delivery(endpoint)
    now = timezone.now()

    tick(now)
    tick(now + timedelta(seconds=1))

    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert [message.to for message in mail.outbox] == [["olivia@example.com"]]


# Never inside the network

@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/hook", "http://10.0.0.7/hook",
                                 "http://169.254.169.254/latest/meta-data/",
                                 "http://localhost/hook"])
def test_an_internal_address_is_refused_at_registration_in_words(client, owner, settings, url):
    settings.KLING_WEBHOOK_ALLOWED_HOSTS = []
    client.force_login(owner)

    response = client.post(reverse("webhooks"), {"url": url, "events": ["job.finished"],
                                                  "whose": "me"})

    assert response.status_code == 400
    assert "is not an address on the internet" in response.content.decode()
    assert url in response.content.decode()  # what was typed is kept
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize("url, words", [
    ("ftp://example.com/hook", "starts with https://"),
    ("https://user:secret@example.com/hook", "Leave the user name and password out"),
    ("https://example.com/" + "a" * 1000, "use one of at most 1,000"),
    ("https://example.com:99999/", "not a web address"),
])
def test_an_address_webhooks_cannot_use_is_refused_in_words(client, owner, url, words):
    client.force_login(owner)

    response = client.post(reverse("webhooks"), {"url": url, "events": ["job.finished"]})

    assert response.status_code == 400 and words in response.content.decode()
    assert not Endpoint.objects.exists()


def test_an_address_refused_since_registration_is_not_sent_to(owner, receiver, tick, settings):
    endpoint = endpoint_of(owner, url=receiver.url)  # allowed when it was registered
    sent = a_delivery(endpoint)
    settings.KLING_WEBHOOK_ALLOWED_HOSTS = []

    tick(timezone.now())

    assert receiver.got == []
    attempt = sent.tries.get()
    assert attempt.status_code is None and "private network" in attempt.error
    sent.refresh_from_db()
    assert sent.status == Delivery.Status.PENDING and sent.next_attempt_at is not None


def test_a_name_that_points_inside_after_registration_is_not_sent_to(
        client, owner, receiver, tick, settings, monkeypatch):
    settings.KLING_WEBHOOK_ALLOWED_HOSTS = []
    answers = ["93.184.216.34", "127.0.0.1"]

    def getaddrinfo(host, port, *args, **kwargs):
        if host != "hooks.rebind.test":
            return REAL_GETADDRINFO(host, port, *args, **kwargs)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 80))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    client.force_login(owner)
    response = client.post(reverse("webhooks"), {
        "url": f"http://hooks.rebind.test:{receiver.port}/hooks", "events": ["job.finished"]})
    assert response.status_code == 302
    sent = a_delivery(Endpoint.objects.get())

    tick(timezone.now())

    assert receiver.got == []
    assert "private network" in sent.tries.get().error


# Events

@pytest.fixture
def listeners(owner, other, teammate, team, receiver):
    """The owner's endpoints (one for finishes, one for approvals, one switched off), the
    team's, another person's, and the team's project."""
    team.approvers.add(owner)
    return {
        "mine": endpoint_of(owner, url=receiver.url + "/mine"),
        "approvals": endpoint_of(owner, url=receiver.url + "/approvals",
                                 events=["approval.needed", "approval.decided"]),
        "off": endpoint_of(owner, url=receiver.url + "/off", enabled=False),
        "team": endpoint_of(owner, team=team, url=receiver.url + "/team",
                            events=["job.finished", "export.ready", "approval.decided"]),
        "others": endpoint_of(other, url=receiver.url + "/others",
                              events=["job.finished", "job.failed", "export.ready"]),
        "project": Project.objects.create(name="Harbour film", team=team),
    }


def made(event):
    return {(d.endpoint.url.rsplit("/", 1)[-1], d.event) for d in
            Delivery.objects.filter(event=event).select_related("endpoint")}


def data_of(endpoint, event):
    return json.loads(Delivery.objects.get(endpoint=endpoint, event=event).body)


def test_a_finished_job_is_sent_to_its_owners_and_its_teams_endpoints(listeners, make_job):
    job = make_job(project=listeners["project"], title="Harbour at dawn", status="succeeded",
                   cost="0.450")
    job.video.save("kept.mp4", ContentFile(b"\0" * 16), save=True)

    job_finished.send(sender=Job, pk=job.pk, status=Job.Status.SUCCEEDED)
    assert made("job.finished") == set()  # told once its video is settled, so it downloads
    video_settled.send(sender=Job, pk=job.pk, kept=True)

    assert made("job.finished") == {("mine", "job.finished"), ("team", "job.finished")}
    message = data_of(listeners["mine"], "job.finished")
    assert message["type"] == "job.finished"
    assert message["data"] == {
        "id": job.pk, "title": "Harbour at dawn", "status": "succeeded",
        "status_label": "Succeeded", "model": job.model_id, "mode": "pro", "duration": 5,
        "takes": 1, "take_number": 1, "prompt": job.prompt, "estimate": str(job.estimate),
        "cost": "0.450", "project": listeners["project"].pk, "error": "",
        "created_at": job.created_at.isoformat()[:23] + "Z", "finished_at": None,
        "url": f"https://studio.example.com/jobs/{job.pk}/",
        "video_url": f"https://studio.example.com/api/v1/jobs/{job.pk}/video"}
    # the job as the API shows it to its owner
    assert message["data"] == api_as(job.owner).get(f"/api/v1/jobs/{job.pk}").json()


def test_a_failed_job_outside_a_team_is_sent_only_to_its_owners_endpoints(listeners, make_job):
    job = make_job(status="failed", error="The prompt was refused.")

    job_finished.send(sender=Job, pk=job.pk, status=Job.Status.FAILED)

    assert made("job.failed") == {("mine", "job.failed")}
    data = data_of(listeners["mine"], "job.failed")["data"]
    assert data["error"] == "The prompt was refused." and data["video_url"] is None


def test_approvals_are_sent_to_the_endpoints_that_want_them(listeners, make_job):
    job = make_job(project=listeners["project"], status="waiting")

    approval_needed.send(sender=Job, pk=job.pk)
    approval_decided.send(sender=Job, pk=job.pk, approved=False, note="Too costly this month")

    assert made("approval.needed") == {("approvals", "approval.needed")}
    assert made("approval.decided") == {("approvals", "approval.decided"),
                                        ("team", "approval.decided")}
    data = data_of(listeners["team"], "approval.decided")["data"]
    assert data["approved"] is False and data["note"] == "Too costly this month"


def test_events_are_made_only_once_the_change_is_committed(listeners, make_job,
                                                           django_capture_on_commit_callbacks):
    from jobs.signals import announce_finished

    job = make_job(status="failed")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        announce_finished(Job, job.pk, Job.Status.FAILED)
        assert not Delivery.objects.exists()
    for callback in callbacks:
        callback()
    assert made("job.failed") == {("mine", "job.failed")}


def test_a_finished_export_is_sent_as_export_ready(listeners, owner, make_job,
                                                   django_capture_on_commit_callbacks):
    job = succeed(make_job(project=listeners["project"]))
    sequence = Sequence.objects.create(name="Reel", owner=owner, project=listeners["project"])
    sequence.add(job)
    export, _ = Export.request(sequence, owner)
    export.start()

    with django_capture_on_commit_callbacks(execute=True):
        export.finish(default_storage.save("exports/reel.mp4", ContentFile(b"\0" * 64)), 2.5,
                      [job.pk])

    assert made("export.ready") == {("team", "export.ready")}
    data = data_of(listeners["team"], "export.ready")["data"]
    assert data["sequence"] == sequence.pk and data["jobs"] == [job.pk]
    assert data["url"] == f"https://studio.example.com/sequences/{sequence.pk}/"


# Pages

def test_the_secret_is_shown_once_and_a_new_one_signs_from_then_on(client, owner, receiver,
                                                                   tick):
    client.force_login(owner)
    response = client.post(reverse("webhooks"), {"url": receiver.url,
                                                  "events": ["job.finished"], "whose": "me"})
    endpoint = Endpoint.objects.get()
    assert response.url == endpoint.get_absolute_url() and endpoint.owner == owner
    assert endpoint.secret in client.get(response.url).content.decode()
    assert endpoint.secret not in client.get(response.url).content.decode()

    old = endpoint.secret
    client.post(reverse("webhook-rotate", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old
    page = client.get(endpoint.get_absolute_url()).content.decode()
    assert endpoint.secret in page and old not in page
    assert endpoint.secret not in client.get(endpoint.get_absolute_url()).content.decode()

    client.post(reverse("webhook-test", args=[endpoint.pk]))
    tick(timezone.now())
    assert Webhook(endpoint.secret).verify(receiver.got[0][1], receiver.got[0][0])["type"] \
        == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(receiver.got[0][1], receiver.got[0][0])
    page = client.get(endpoint.get_absolute_url()).content.decode()
    assert "webhook.test" in page and "HTTP 200" in page and "{&quot;ok&quot;: true}" in page


def test_only_the_owner_the_teams_approvers_and_staff_reach_an_endpoint(
        client, owner, other, staff, teammate, team):
    team.approvers.add(owner)
    mine = endpoint_of(owner, url="https://example.com/mine")
    teams = endpoint_of(owner, team=team, url="https://example.com/team")
    expected = {(owner, mine): 200, (other, mine): 404, (staff, mine): 404,
                (teammate, mine): 404, (owner, teams): 200, (staff, teams): 200,
                (teammate, teams): 404, (other, teams): 404}

    for (person, endpoint), status in expected.items():
        client.force_login(person)
        assert client.get(endpoint.get_absolute_url()).status_code == status, (person, endpoint)
        if status == 404:
            for name in ("webhook-rotate", "webhook-switch", "webhook-test", "webhook-events",
                         "webhook-delete"):
                assert client.post(reverse(name, args=[endpoint.pk])).status_code == 404
            assert endpoint.url not in client.get(reverse("webhooks")).content.decode()
    assert Endpoint.objects.filter(enabled=True).count() == 2


def test_a_teammate_who_does_not_approve_cannot_register_for_the_team(client, teammate, team,
                                                                     owner):
    team.approvers.add(owner)
    client.force_login(teammate)

    response = client.post(reverse("webhooks"), {"url": "https://example.com/h",
                                                  "events": ["job.finished"],
                                                  "whose": str(team.pk)})

    assert response.status_code == 400
    assert "Choose yourself or a team whose spend you approve" in response.content.decode()
    assert not Endpoint.objects.exists()


def test_a_person_keeps_a_bounded_number_of_endpoints(client, owner, settings):
    settings.KLING_WEBHOOKS_PER_OWNER = 2
    client.force_login(owner)
    for _ in range(2):
        endpoint_of(owner, url="https://example.com/h")

    response = client.post(reverse("webhooks"), {"url": "https://example.com/h",
                                                  "events": ["job.finished"], "whose": "me"})

    assert response.status_code == 400 and "You have 2 endpoints" in response.content.decode()
    assert Endpoint.objects.count() == 2


def test_events_are_changed_switched_and_deleted_on_the_page(client, owner):
    endpoint = endpoint_of(owner, url="https://example.com/h")
    client.force_login(owner)
    assert reverse("webhooks") in client.get(reverse("preferences")).content.decode()

    assert client.post(reverse("webhook-events", args=[endpoint.pk]), {}).status_code == 400
    client.post(reverse("webhook-events", args=[endpoint.pk]), {"events": ["export.ready"]})
    endpoint.refresh_from_db()
    assert endpoint.events == ["export.ready"]

    client.post(reverse("webhook-switch", args=[endpoint.pk]), {"on": "0"})
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "Switched off by hand."

    client.post(reverse("webhook-delete", args=[endpoint.pk]))
    assert not Endpoint.objects.exists()


def test_the_endpoint_page_pages_its_deliveries(client, owner):
    endpoint = endpoint_of(owner, url="https://example.com/h")
    for _ in range(12):
        a_delivery(endpoint)
    client.force_login(owner)

    first = client.get(endpoint.get_absolute_url()).content.decode()
    older = client.get(endpoint.get_absolute_url(), {"before": "99999999"}).content.decode()

    assert first.count("data-delivery=") == 10 and "rel=\"next\"" in first
    assert older.count("data-delivery=") == 10
    oldest = Delivery.objects.order_by("id")[1].pk + 1
    assert client.get(endpoint.get_absolute_url(),
                      {"before": str(oldest)}).content.decode().count("data-delivery=") == 2
