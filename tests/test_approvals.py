"""Approvals gated by spend: a team's or the default budget's rules make a submission wait (held,
nothing queued, nothing sent); only its team's approvers or staff see and decide it; approving
re-checks the budgets and queues every take once, declining leaves a draft with the note; every
decision is recorded, shown and told; and two approvals at a budget's edge at the same instant
let exactly one through (PostgreSQL, real threads)."""

import csv
import html
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from jobs import dispatch, notify, shortapi, tasks
from jobs.models import Job, Preferences
from jobs.signals import approval_decided, approval_needed
from spend import approvals, budgets
from spend.models import Budget, Decision
from teams.admin import TeamForm
from teams.models import Project
from tests.composer import KLING_26, composer_post, signed_in
from tests.conftest import require
from tests.stack import migrated_postgres, postgres_available, race_report

pytestmark = pytest.mark.django_db
S = Job.Status
RACE_ROUNDS = 25
TAKE = Decimal("0.300")  # Kling 2.6, pro, 5 s, no audio


def send(person, project=None, takes=1, **fields):
    """Submit through the composer, as a person does; returns the response."""
    data = composer_post(model=KLING_26, duration=5, takes=str(takes), **fields)
    if project is not None:
        data["project"] = str(project.pk)
    return signed_in(person).post(reverse("compose"), data)


def decide(person, job, decision="approve", note=""):
    return signed_in(person).post(reverse("approval-decide", args=[job.pk]),
                                  {f"job{job.pk}-decision": decision, f"job{job.pk}-note": note})


def submit_tasks(enqueued):
    return [args[0] for function, args in enqueued if function is tasks.submit_job]


@pytest.fixture
def default_rule():
    """Everyone may spend $10; a submission over $0.50 waits."""
    return Budget.objects.create(amount=Decimal("10"), approve_over=Decimal("0.50"))


@pytest.fixture
def crew_rule(team):
    """The team may spend $10; a submission over $0.50 in its projects waits."""
    return Budget.objects.create(team=team, amount=Decimal("10"),
                                 approve_over=Decimal("0.50"))


@pytest.fixture
def approver(team, teammate):
    team.approvers.add(teammate)
    return teammate


# The rules


def test_it_lets_a_submission_under_the_threshold_go_and_holds_one_over_it(
        owner, default_rule, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert send(owner).status_code == 302  # $0.30
    cheap = Job.objects.get()
    assert cheap.status == S.QUEUED and submit_tasks(enqueued) == [cheap.pk]

    with django_capture_on_commit_callbacks(execute=True):
        response = send(owner, takes=2)  # $0.60 together
    first = Job.objects.exclude(pk=cheap.pk).get(take_number=1)
    assert response.url == first.get_absolute_url()
    assert list(Job.objects.filter(take_group=first.take_group).values_list("status", flat=True)
                ) == [S.WAITING, S.WAITING]
    assert submit_tasks(enqueued) == [cheap.pk]  # nothing more queued
    # the waiting takes hold their estimate
    assert budgets.standing(owner).held == TAKE * 3


def test_it_makes_every_job_wait_once_the_budget_would_be_past_the_percentage(
        owner, make_job, enqueued):
    Budget.objects.create(amount=Decimal("1.00"), approve_past_percent=50)
    make_job(estimate=Decimal("0.100"))  # 10 % held
    assert send(owner).status_code == 302  # 40 % after it: goes
    assert Job.objects.latest("pk").status == S.QUEUED
    assert send(owner).status_code == 302  # 70 % after it: waits
    assert Job.objects.latest("pk").status == S.WAITING
    # the percentage is of the person's own budget when they have one
    Budget.objects.create(user=owner, amount=Decimal("100"))
    send(owner)
    assert Job.objects.latest("pk").status == S.QUEUED


def test_a_team_projects_job_follows_the_teams_rule_and_budget_and_others_the_default(
        owner, team, project, enqueued):
    Budget.objects.create(amount=Decimal("10"), approve_over=Decimal("5"))
    Budget.objects.create(team=team, amount=Decimal("1.00"), approve_past_percent=20)
    send(owner, project)  # 30 % of the team's budget
    assert Job.objects.latest("pk").status == S.WAITING
    send(owner)  # outside the team: the default rule, and 6 % of the default budget
    assert Job.objects.latest("pk").status == S.QUEUED
    own = Project.objects.create(name="Sketches", owner=owner)
    send(owner, own)
    assert Job.objects.latest("pk").status == S.QUEUED


def test_a_team_without_rules_sends_at_once_whatever_the_default_says(
        owner, team, project, enqueued):
    Budget.objects.create(amount=Decimal("10"), approve_over=Decimal("0.10"))
    send(owner, project)
    assert Job.objects.latest("pk").status == S.QUEUED


def test_a_waiting_job_counts_against_the_budget_so_a_second_submission_cannot_overspend(
        owner, enqueued):
    Budget.objects.create(amount=Decimal("0.80"), approve_over=Decimal("0.50"))
    send(owner, takes=2)  # $0.60, waits and holds
    response = send(owner)  # $0.30 more would be $0.90
    assert response.status_code == 200
    assert "only $0.20 of your $0.80 monthly budget is left" in response.content.decode()
    assert Job.objects.count() == 2 and enqueued == []


def test_the_composer_and_the_job_page_say_plainly_that_it_waits_and_who_approves(
        owner, approver, crew_rule, project, enqueued):
    client = signed_in(owner)
    response = client.post(reverse("compose"), {
        **composer_post(model=KLING_26, duration=5, takes="2"), "project": str(project.pk)})
    page = client.get(response.url).content.decode()
    assert "Sent for approval, not to Kling yet: nothing is charged unless an approver says yes." \
        in page
    assert "This video waits for approval: nothing is sent to Kling and nothing is charged "\
           "yet." in page
    assert "Here every submission over $0.50 is approved before it is sent." in page
    assert "Tara (approvers of Harbour crew) or an admin can approve it".lower() in page.lower()
    assert "Waiting for approval" in page


def test_a_draft_submitted_over_the_threshold_waits_too(owner, default_rule, enqueued):
    client = signed_in(owner)
    client.post(reverse("draft-save"), composer_post(model=KLING_26, duration=5, takes="2"))
    draft = Job.objects.get()
    assert draft.status == S.DRAFT
    response = client.post(reverse("compose"), composer_post(
        model=KLING_26, duration=5, takes="2", draft=str(draft.pk)))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == S.WAITING and draft.take_group is not None
    assert Job.objects.filter(status=S.WAITING).count() == 2 and enqueued == []


def test_nothing_is_sent_to_shortapi_while_a_job_waits(owner, default_rule, enqueued,
                                                       monkeypatch):
    send(owner, takes=2)
    monkeypatch.setattr(shortapi.Client, "create",
                        lambda *a, **k: pytest.fail("a waiting job reached ShortAPI"))
    assert dispatch.dispatch()["submit"] == 0
    for job in Job.objects.all():
        tasks.submit_job(job.pk)  # a stray task changes nothing
        assert Job.objects.get(pk=job.pk).status == S.WAITING
    assert enqueued == []


def test_it_announces_a_waiting_submission_once_with_its_first_take(
        owner, default_rule, enqueued, django_capture_on_commit_callbacks):
    heard = []
    approval_needed.connect(lambda sender, **kw: heard.append(kw), weak=False,
                            dispatch_uid="test-needed")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            send(owner, takes=3)
    finally:
        approval_needed.disconnect(dispatch_uid="test-needed")
    first = Job.objects.get(take_number=1)
    assert heard == [{"signal": approval_needed, "pk": first.pk}]


def test_rules_are_for_teams_and_the_default_and_the_percentage_is_1_to_100(owner):
    with pytest.raises(ValidationError) as problem:
        Budget(user=owner, amount=Decimal("5"), approve_over=Decimal("1")).full_clean()
    assert "not on a person's" in str(problem.value)
    with pytest.raises(ValidationError):
        Budget(amount=Decimal("5"), approve_past_percent=101).full_clean()
    with pytest.raises(ValidationError):
        Budget(amount=Decimal("5"), approve_past_percent=0).full_clean()
    Budget(amount=Decimal("5"), approve_past_percent=100).full_clean()


def test_only_members_may_be_a_teams_approvers(owner, teammate, other, team):
    form = TeamForm({"name": team.name, "members": [owner.pk, teammate.pk],
                     "approvers": [teammate.pk, other.pk]}, instance=team)
    assert not form.is_valid()
    assert "Only members approve a team's spend: add oscar" in form.errors["approvers"][0]
    form = TeamForm({"name": team.name, "members": [owner.pk, teammate.pk],
                     "approvers": [teammate.pk]}, instance=team)
    assert form.is_valid(), form.errors


# Who decides


@pytest.fixture
def waiting(owner, approver, crew_rule, project, enqueued):
    send(owner, project, takes=2)
    return Job.objects.get(take_number=1, status=S.WAITING)


def test_a_teams_approver_sees_their_teams_waiting_jobs_with_what_they_need_to_decide(
        waiting, approver):
    page = signed_in(approver).get(reverse("approvals"))
    assert page.status_code == 200
    text = html.unescape(page.content.decode())
    assert f'data-approval="{waiting.pk}"' in text
    assert "olivia" in text and "Kling 2.6" in text and "$0.60" in text
    assert "the team Harbour crew's has $9.40 left" in text  # its budget after it
    assert reverse("job-poster", args=[waiting.pk]) in text
    assert waiting.prompt in text
    # and may see its frames
    for url in (reverse("job-poster", args=[waiting.pk]),
                reverse("job-frame", args=[waiting.pk, "start"])):
        assert signed_in(approver).get(url).status_code == 200
    assert "Approvals (1 waiting)" in signed_in(approver).get(reverse("gallery")).content.decode()


def test_a_teammate_who_does_not_approve_and_another_teams_approver_get_nothing(
        waiting, owner, other, django_user_model):
    from tests.conftest import team_of

    plain = django_user_model.objects.create_user("pat")
    waiting.project.team.members.add(plain)
    elsewhere = team_of("Elsewhere", other)
    elsewhere.approvers.add(other)
    for person in (plain, other, owner):
        response = decide(person, waiting)
        assert response.status_code == 404, person
    assert signed_in(plain).get(reverse("approvals")).status_code == 403
    assert "Only approvers see this page" in signed_in(plain).get(
        reverse("approvals")).content.decode()
    # another team's approver sees an empty queue, and neither their frames
    page = signed_in(other).get(reverse("approvals")).content.decode()
    assert f'data-approval="{waiting.pk}"' not in page
    assert signed_in(other).get(reverse("job-poster", args=[waiting.pk])).status_code == 404
    assert "Approvals" not in signed_in(plain).get(reverse("gallery")).content.decode()
    assert Job.objects.get(pk=waiting.pk).status == S.WAITING


def test_an_approver_does_not_approve_their_own_job_but_staff_approve_any(
        owner, approver, crew_rule, project, staff, enqueued,
        django_capture_on_commit_callbacks):
    crew_rule.approve_over = Decimal("0.10")
    crew_rule.save()
    send(approver, project)
    own = Job.objects.get()
    assert own.status == S.WAITING
    assert decide(approver, own).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        assert decide(staff, own).status_code == 302
    assert Job.objects.get(pk=own.pk).status == S.QUEUED


def test_staff_see_and_decide_jobs_outside_any_team(owner, staff, default_rule, enqueued,
                                                    django_capture_on_commit_callbacks):
    send(owner, takes=2)
    job = Job.objects.get(take_number=1)
    assert f'data-approval="{job.pk}"' in signed_in(staff).get(
        reverse("approvals")).content.decode()
    assert signed_in(staff).get(reverse("job-poster", args=[job.pk])).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert decide(staff, job).status_code == 302
    assert sorted(submit_tasks(enqueued)) == sorted(
        Job.objects.filter(take_group=job.take_group).values_list("pk", flat=True))


# Deciding


def test_approving_queues_every_take_exactly_once(
        waiting, approver, enqueued, django_capture_on_commit_callbacks):
    takes = list(Job.objects.filter(take_group=waiting.take_group).order_by("take_number"))
    with django_capture_on_commit_callbacks(execute=True):
        response = decide(approver, waiting, note="Go ahead")
    assert response.status_code == 302
    assert sorted(submit_tasks(enqueued)) == [take.pk for take in takes]
    assert {take.status for take in Job.objects.filter(take_group=waiting.take_group)} == {
        S.QUEUED}
    # a second click (or a second approver) changes nothing and queues nothing
    with django_capture_on_commit_callbacks(execute=True):
        assert decide(approver, waiting).status_code == 404
    with pytest.raises(approvals.Refused, match="no longer waiting"):
        approvals.approve(approver, Job.objects.get(pk=waiting.pk))
    assert len(submit_tasks(enqueued)) == 2
    decision = Decision.objects.get()
    assert (decision.approved, decision.approver, decision.requester, decision.note,
            decision.takes, decision.estimate) == (True, approver, waiting.owner, "Go ahead", 2,
                                                   TAKE * 2)


def test_approving_re_checks_the_budget_without_the_other_waiting_jobs(
        owner, approver, crew_rule, project, enqueued, make_job):
    send(owner, project, takes=2)
    send(owner, project, takes=2)
    first, second = Job.objects.filter(take_number=1).order_by("pk")
    crew_rule.amount = Decimal("1.00")  # lowered after both were held: room for one
    crew_rule.save()
    assert decide(approver, first).status_code == 302
    response = decide(approver, second)
    assert response.status_code == 409
    page = html.unescape(response.content.decode())
    assert ('Not approved: A lighthouse keeper climbs the stairs is estimated at $0.60, but the '
            'team "Harbour crew" has only $0.40 left of its $1.00 budget') in page
    assert "It keeps waiting" in page and "decline it with a note" in page
    assert {job.status for job in Job.objects.filter(take_group=second.take_group)} == {
        S.WAITING}
    assert Decision.objects.count() == 1


def test_approving_re_checks_the_owners_own_budget_too(owner, approver, crew_rule, project,
                                                       enqueued):
    send(owner, project, takes=2)
    Budget.objects.create(user=owner, amount=Decimal("0.50"))
    response = decide(approver, Job.objects.get(take_number=1))
    assert response.status_code == 409
    assert "but olivia has only $0.50 left of their $0.50 budget" in html.unescape(
        response.content.decode())


def test_declining_leaves_one_draft_with_the_note_and_releases_the_hold(
        waiting, approver, owner, enqueued, django_capture_on_commit_callbacks):
    heard = []
    approval_decided.connect(lambda sender, **kw: heard.append(kw), weak=False,
                             dispatch_uid="test-decided")
    try:
        assert decide(approver, waiting, "decline").status_code == 400  # a note is needed
        with django_capture_on_commit_callbacks(execute=True):
            response = decide(approver, waiting, "decline", "Too long: make it 5 s")
    finally:
        approval_decided.disconnect(dispatch_uid="test-decided")
    assert response.status_code == 302
    draft = Job.objects.get()
    assert (draft.pk, draft.status, draft.take_group, draft.takes) == (
        waiting.pk, S.DRAFT, None, 2)
    assert budgets.standing(owner).held == 0
    assert heard == [{"signal": approval_decided, "pk": waiting.pk, "approved": False,
                      "note": "Too long: make it 5 s"}]
    assert submit_tasks(enqueued) == []
    client = signed_in(owner)
    assert "Too long: make it 5 s" in client.get(reverse("drafts")).content.decode()
    assert "Declined</strong> by tara" in client.get(draft.get_absolute_url()).content.decode()
    # the draft page works, and sending it again waits again
    assert client.get(reverse("draft-edit", args=[draft.pk])).status_code == 200
    client.post(reverse("compose"), composer_post(model=KLING_26, duration=5, takes="2",
                                                  draft=str(draft.pk),
                                                  project=str(waiting.project_id)))
    assert Job.objects.filter(status=S.WAITING).count() == 2


def test_a_note_is_bounded(waiting, approver):
    response = decide(approver, waiting, "decline", "x" * 1001)
    assert response.status_code == 400
    assert "x" * 1001 in response.content.decode()  # what was typed is kept
    assert Job.objects.get(pk=waiting.pk).status == S.WAITING


# Recorded, shown, told


def test_the_decision_shows_on_the_job_page_the_review_and_the_csv(
        waiting, approver, staff, owner, enqueued, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        decide(approver, waiting, note="=HYPERLINK(1) fine")
    second = Job.objects.get(take_group=waiting.take_group, take_number=2)
    for job in (waiting, second):
        page = signed_in(owner).get(job.get_absolute_url()).content.decode()
        assert "Approved</strong> by tara" in page and "=HYPERLINK(1) fine" in page
    review = signed_in(staff).get(reverse("spend-review")).content.decode()
    assert 'data-role="decisions"' in review and "tara" in review and "Approved" in review
    for take in (waiting, second):
        take.refresh_from_db()
        take.claim_for_submission()
        take.mark_submitted(f"sa-{take.pk}", TAKE)
    rows = list(csv.DictReader(io.StringIO(
        signed_in(staff).get(reverse("spend-review-csv")).content.decode("utf-8-sig"))))
    assert len(rows) == 2
    for row in rows:
        assert row["approved by"] == "tara"
        assert row["approval note"] == "'=HYPERLINK(1) fine"  # kept as text
        assert row["approved at (UTC)"]


def test_the_requester_is_told_in_the_activity_feed_and_by_e_mail(
        waiting, approver, owner, enqueued, django_capture_on_commit_callbacks, settings):
    owner.email = "olivia@example.com"
    owner.save()
    Preferences.objects.update_or_create(person=owner, defaults={
        "email_when_finished": True, "confirmed_email": "olivia@example.com"})
    client = signed_in(owner)
    since = client.get(reverse("activity")).json()["now"]
    with django_capture_on_commit_callbacks(execute=True):
        decide(approver, waiting, "decline", "Use the wide shot")
    feed = client.get(reverse("activity"), {"since": since}).json()
    assert feed["decided"] == [{"id": waiting.pk, "title": waiting.display_title,
                                "approved": False, "note": "Use the wide shot",
                                "url": waiting.get_absolute_url()}]
    queued = [args for function, args in enqueued if function is notify.send_decision_email]
    assert queued == [(waiting.pk, False, "Use the wide shot")]
    notify.send_decision_email(*queued[0])
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["olivia@example.com"]
    assert "declined" in mail.outbox[0].subject
    assert "Use the wide shot" in mail.outbox[0].body


def test_no_e_mail_goes_to_an_address_not_confirmed(waiting, approver, owner, enqueued,
                                                    django_capture_on_commit_callbacks):
    owner.email = "olivia@example.com"
    owner.save()
    Preferences.objects.update_or_create(person=owner, defaults={"email_when_finished": True})
    with django_capture_on_commit_callbacks(execute=True):
        decide(approver, waiting)
    assert [f for f, _ in enqueued if f is notify.send_decision_email] == []


# The edge race


@pytest.fixture(scope="module")
def postgres_url():
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    with migrated_postgres("kling_approval_race") as url:
        yield url


@pytest.mark.integration
def test_two_approvals_at_a_budgets_edge_at_the_same_instant_let_exactly_one_through(
        postgres_url, capsys):
    report = race_report("approval_races", RACE_ROUNDS, postgres_url)
    with capsys.disabled():
        print("\napproval races:", report["winners"])
    assert report["broken"] == []
    assert sum(report["winners"].values()) == RACE_ROUNDS
    assert set(report["winners"]) <= {"first", "second"}
