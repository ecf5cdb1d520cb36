"""Approvals through the API: a bot with an approver's token lists what waits and decides, by
the rules of the approvers' page (who may decide, the budget re-check, a note to decline)."""

from decimal import Decimal

import pytest

from jobs.models import Job
from spend.models import Budget, Decision
from tests.api_client import api_as
from tests.test_approvals import approver, crew_rule, send, submit_tasks  # noqa: F401

pytestmark = pytest.mark.django_db
S = Job.Status


@pytest.fixture
def waiting(owner, project, crew_rule, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        send(owner, project, takes=2)  # 2 × $0.30: over the team's $0.50
    job = Job.objects.get(take_number=1)
    assert job.status == S.WAITING
    return job


def decide(client, job, decision, note=""):
    return client.post(f"/api/v1/approvals/{job.pk}", {"decision": decision, "note": note},
                       content_type="application/json")


def test_an_approver_lists_what_waits_and_approves_it_and_its_takes_are_queued(
        approver, waiting, enqueued, django_capture_on_commit_callbacks):  # noqa: F811
    bot = api_as(approver)
    listed = bot.get("/api/v1/approvals").json()
    assert listed["count"] == 1
    assert [(job["id"], job["requested_by"], job["total"]) for job in listed["jobs"]] == [
        (waiting.pk, waiting.owner.username, "0.600")]

    with django_capture_on_commit_callbacks(execute=True):
        answer = decide(bot, waiting, "approve", "Fine by me")

    assert answer.status_code == 200
    assert answer.json()["approved"] is True and answer.json()["job"]["status"] == "queued"
    assert sorted(submit_tasks(enqueued)) == sorted(
        Job.objects.filter(take_group=waiting.take_group).values_list("pk", flat=True))
    decision = Decision.objects.get()
    assert (decision.approver, decision.approved, decision.note) == (approver, True, "Fine by me")
    assert bot.get("/api/v1/approvals").json() == {"count": 0, "jobs": []}


def test_declining_needs_a_note_and_leaves_a_draft(approver, waiting):  # noqa: F811
    bot = api_as(approver)
    refused = decide(bot, waiting, "decline")
    assert refused.status_code == 400
    assert refused.json()["errors"]["note"] == [
        "Say why it is declined, so its owner knows what to change."]
    assert decide(bot, waiting, "maybe").status_code == 400

    answer = decide(bot, waiting, "decline", "Too costly this week")
    assert answer.status_code == 200 and answer.json()["approved"] is False
    assert Job.objects.get(pk=waiting.pk).status == S.DRAFT


def test_only_those_who_may_decide_can(owner, other, teammate, waiting):
    # the requester, a non-approver teammate and a stranger
    assert api_as(owner).get("/api/v1/approvals").status_code == 403
    assert api_as(teammate).get("/api/v1/approvals").status_code == 403
    assert decide(api_as(other), waiting, "approve").status_code == 403
    assert Job.objects.get(pk=waiting.pk).status == S.WAITING


def test_an_approver_may_not_decide_on_their_own_submission(owner, team, waiting):
    team.approvers.add(owner)
    bot = api_as(owner)
    assert bot.get("/api/v1/approvals").json()["count"] == 0
    assert decide(bot, waiting, "approve").status_code == 404
    assert Job.objects.get(pk=waiting.pk).status == S.WAITING


def test_an_approval_that_no_longer_fits_the_budget_is_refused_and_keeps_waiting(
        approver, team, waiting, enqueued):  # noqa: F811
    Budget.objects.filter(team=team).update(amount=Decimal("0.40"))
    answer = decide(api_as(approver), waiting, "approve")
    assert answer.status_code == 409
    assert "Not approved" in answer.json()["message"]
    assert Job.objects.get(pk=waiting.pk).status == S.WAITING
    assert submit_tasks(enqueued) == []
