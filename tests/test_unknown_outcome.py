"""When the answer to a create call is lost, the job says so and is never resent blindly; a
callback or an admin resolves it. The task queue is configured so a slow task is not run
twice."""

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.urls import reverse

from jobs import shortapi, tasks
from jobs.models import Job

pytestmark = pytest.mark.django_db
S = Job.Status


class FakeClient:
    """Stands in for ShortAPI at the client seam."""

    states = {}
    created = []

    def query(self, job_id):
        if job_id not in self.states:
            raise shortapi.ShortAPIError("job not found", permanent=True)
        return self.states[job_id]

    def create(self, model_id, args, callback_url=None):
        self.created.append(args)
        return shortapi.CreatedJob("sa-1", Decimal("0.300"))


@pytest.fixture
def fake(monkeypatch):
    FakeClient.states, FakeClient.created = {}, []
    monkeypatch.setattr(tasks.shortapi, "Client", FakeClient)
    return FakeClient


def unknown_job(make_job):
    job = make_job()
    assert job.claim_for_submission() and job.mark_unknown("ShortAPI did not answer in time.")
    return job


def test_a_callback_on_an_unknown_job_asks_shortapi_about_the_id_it_names(
        client, make_job, enqueued):
    job = unknown_job(make_job)
    url = reverse("shortapi-callback", args=[job.callback_token])
    assert client.post(url, json.dumps({"job_id": "sa-9", "status": 2}),
                       content_type="application/json").status_code == 200
    assert enqueued == [(tasks.resolve_unknown, (job.pk, "sa-9"))]


def test_a_garbage_callback_on_an_unknown_job_changes_nothing(client, make_job, enqueued):
    job = unknown_job(make_job)
    url = reverse("shortapi-callback", args=[job.callback_token])
    for body in (b"not json", b"[]", b'{"job_id": 12}', b"{}"):
        assert client.post(url, body, content_type="application/json").status_code == 200
    assert enqueued == []
    assert Job.objects.get(pk=job.pk).status == S.UNKNOWN


def test_a_confirmed_id_resolves_the_job_and_records_the_priced_charge(make_job, fake):
    job = unknown_job(make_job)
    fake.states["sa-9"] = shortapi.JobState(status=shortapi.PROCESSING)

    tasks.resolve_unknown(job.pk, "sa-9")

    job.refresh_from_db()
    assert (job.status, job.shortapi_job_id, job.amount) == (S.PROCESSING, "sa-9", job.estimate)


def test_an_id_shortapi_does_not_know_leaves_the_job_unknown(make_job, fake):
    job = unknown_job(make_job)
    tasks.resolve_unknown(job.pk, "forged")
    job.refresh_from_db()
    assert (job.status, job.shortapi_job_id) == (S.UNKNOWN, None)


def test_a_create_answer_arriving_after_the_callback_keeps_the_real_charge(make_job, fake,
                                                                           enqueued):
    job = make_job()
    fake.states["sa-1"] = shortapi.JobState(status=shortapi.PROCESSING)
    original_create = FakeClient.create

    def create_while_callback_resolves(self, model_id, args, callback_url=None):
        tasks.resolve_unknown(job.pk, "sa-1")  # the callback wins the race
        return original_create(self, model_id, args, callback_url)

    FakeClient.create = create_while_callback_resolves
    try:
        tasks.submit_job(job.pk)
    finally:
        FakeClient.create = original_create
    job.refresh_from_db()
    assert (job.status, job.shortapi_job_id, job.cost) == (S.PROCESSING, "sa-1",
                                                            Decimal("0.300"))


def test_an_admin_can_resend_an_unknown_job_knowingly(client, staff, make_job, enqueued,
                                                     django_capture_on_commit_callbacks):
    job = unknown_job(make_job)
    client.force_login(staff)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:jobs_job_changelist"),
                    {"action": "resend", "_selected_action": [job.pk]})
    assert Job.objects.get(pk=job.pk).status == S.QUEUED
    assert enqueued == [(tasks.submit_job, (job.pk,))]


def test_the_admin_gives_up_only_jobs_shortapi_is_not_working_on(client, staff, make_job):
    stuck, never_sent, running = unknown_job(make_job), make_job(), make_job()
    running.claim_for_submission()
    running.mark_submitted("sa-running", Decimal("0.3"))
    client.force_login(staff)
    client.post(reverse("admin:jobs_job_changelist"),
                {"action": "give_up", "_selected_action": [stuck.pk, never_sent.pk, running.pk]})
    assert Job.objects.get(pk=stuck.pk).status == S.STOPPED
    assert Job.objects.get(pk=never_sent.pk).status == S.FAILED
    assert Job.objects.get(pk=running.pk).status == S.SUBMITTED


def test_an_admin_resolves_an_unknown_job_with_the_id_shortapis_dashboard_shows(
        client, staff, make_job, fake):
    job = unknown_job(make_job)
    fake.states["sa-dash"] = shortapi.JobState(status=shortapi.PROCESSING)
    client.force_login(staff)
    url = reverse("admin:jobs_job_resolve", args=[job.pk])
    assert "Resolve the outcome" in client.get(reverse("admin:jobs_job_change",
                                                       args=[job.pk])).content.decode()

    wrong = client.post(url, {"shortapi_job_id": "sa-typo"})
    assert "ShortAPI does not confirm this id" in wrong.content.decode()
    assert Job.objects.get(pk=job.pk).status == S.UNKNOWN
    client.post(url, {"shortapi_job_id": "sa-dash"})

    job.refresh_from_db()
    assert (job.status, job.shortapi_job_id) == (S.PROCESSING, "sa-dash")
    assert job.cost == job.estimate  # charged from the table until the real amount is known


def test_an_admin_resolves_an_unknown_job_shortapi_never_made_by_giving_it_up(
        client, staff, make_job, fake):
    job = unknown_job(make_job)
    client.force_login(staff)
    client.post(reverse("admin:jobs_job_resolve", args=[job.pk]), {"shortapi_job_id": ""})
    job.refresh_from_db()
    assert job.status == S.STOPPED and job.cost == 0


def test_the_task_queue_never_runs_a_slow_task_twice_and_never_redelivers_a_failed_one():
    q = django_settings.Q_CLUSTER
    assert q["retry"] >= 2 * q["timeout"]
    assert q["max_attempts"] == 1
    assert q["ack_failures"] is True
    # Every ShortAPI call and download ends well inside the task's time.
    assert django_settings.SHORTAPI_TIMEOUT * 2 < q["timeout"]


@pytest.mark.parametrize("redis_url, broker", [("", "orm"), ("redis://127.0.0.1:6379/3", "redis")])
def test_the_broker_is_the_database_unless_redis_is_configured(tmp_path, redis_url, broker):
    env = {"PATH": "/usr/bin:/bin", "KLING_VAR_DIR": str(tmp_path), "REDIS_URL": redis_url}
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c",
         "from django.conf import settings; print(sorted(settings.Q_CLUSTER))"],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, check=True)
    assert f"'{broker}'" in out.stdout


def test_a_forged_success_callback_makes_the_app_download_and_show_nothing(
        client, make_job, fake, monkeypatch):
    job = make_job()
    job.claim_for_submission()
    job.mark_submitted("sa-real", Decimal("0.300"))
    fake.states["sa-real"] = shortapi.JobState(status=shortapi.PROCESSING)
    fetched = []
    monkeypatch.setattr(tasks.downloads, "keep", lambda url, *a, **k: fetched.append(url))
    # The queue runs the task at once, as a worker would.
    monkeypatch.setattr("jobs.views.async_task", lambda func, *args, **kwargs: func(*args))
    forged = {"job_id": "sa-real", "status": 2,
              "result": {"images": [{"url": "https://evil.example/fake.mp4"}]}}

    response = client.post(reverse("shortapi-callback", args=[job.callback_token]),
                           json.dumps(forged), content_type="application/json")

    job.refresh_from_db()
    assert response.status_code == 200
    assert (job.status, job.video_url, fetched) == (S.PROCESSING, "", [])
