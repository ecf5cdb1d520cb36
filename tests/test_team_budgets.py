"""Team budgets: a submission into a team's project must fit the person's own budget and the
team's, and a refusal says which one it was; what the jobs in a team's projects cost or hold
counts against the team, whoever made them; the default budget is for people, not teams; and
two people of a team at its edge at once get exactly one hold (on PostgreSQL, real threads)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from jobs.models import Job
from spend import budgets
from spend.models import Budget, DailySpend
from teams.models import Project, Team
from tests.composer import signed_in
from tests.conftest import require
from tests.stack import migrated_postgres, postgres_available, race_report

pytestmark = pytest.mark.django_db
RACE_ROUNDS = 30


@pytest.fixture
def lighthouse(harbour):
    return Project.objects.create(name="Lighthouse", team=harbour)


def charged(job, amount):
    job.claim_for_submission()
    assert job.mark_submitted(f"sa-{job.pk}", Decimal(amount))
    return job


def submit(person, estimate, project=None, takes=1):
    """As the submission path does: the hold and the job row in one transaction."""
    with transaction.atomic():
        budgets.hold(person, Decimal(estimate), project, takes=takes)
        return Job.objects.create(owner=person, project=project, model_id=Job.MODEL_CHOICES[0][0],
                                  mode="pro", duration=5, estimate=Decimal(estimate))


def test_the_team_budget_refuses_a_submission_the_persons_own_budget_has_room_for(
        owner, other, harbour, lighthouse, make_job):
    Budget.objects.create(user=owner, amount=Decimal("10"))
    Budget.objects.create(team=harbour, amount=Decimal("0.50"))
    make_job(user=other, project=lighthouse, estimate=Decimal("0.300"))  # a teammate's, queued
    with pytest.raises(budgets.BudgetExceeded) as refusal:
        submit(owner, "0.300", lighthouse)
    message = str(refusal.value)
    assert ('This video is estimated at $0.30, but the team "Harbour" has only $0.20 left of '
            "its $0.50 monthly budget.") in message
    assert "It resets on 1 " in message and "Nothing was sent or charged." in message
    assert 'ask an admin to raise the budget of "Harbour"' in message
    assert refusal.value.team == harbour and refusal.value.estimate == Decimal("0.300")
    assert refusal.value.standing.left == Decimal("0.200")
    assert not Job.objects.filter(owner=owner).exists()
    # outside the team's projects only the person's own budget counts
    submit(owner, "0.300")
    submit(owner, "0.300", Project.objects.create(name="Sketches", owner=owner))
    assert Job.objects.filter(owner=owner).count() == 2


def test_the_persons_own_budget_refuses_a_submission_the_team_has_room_for(
        owner, harbour, lighthouse, make_job):
    Budget.objects.create(user=owner, amount=Decimal("0.50"))
    Budget.objects.create(team=harbour, amount=Decimal("10"))
    charged(make_job(), "0.300")  # the owner's, outside the team
    with pytest.raises(budgets.BudgetExceeded) as refusal:
        submit(owner, "0.300", lighthouse)
    assert refusal.value.team is None
    assert ("estimated at $0.30, but only $0.20 of your $0.50 monthly budget is left"
            in str(refusal.value))
    assert "ask an admin to raise your budget" in str(refusal.value)
    assert not Job.objects.filter(project=lighthouse).exists()


def test_a_submission_that_fits_both_budgets_is_held_against_both(owner, harbour, lighthouse):
    Budget.objects.create(user=owner, amount=Decimal("1"))
    Budget.objects.create(team=harbour, amount=Decimal("1"))
    submit(owner, "0.600", lighthouse)
    assert budgets.standing(owner).held == budgets.team_standing(harbour).held == Decimal("0.600")
    with pytest.raises(budgets.BudgetExceeded):
        submit(owner, "0.600", lighthouse)


def test_a_refusal_of_several_takes_says_what_they_cost_together(owner, harbour, lighthouse):
    Budget.objects.create(team=harbour, amount=Decimal("0.50"))
    with pytest.raises(budgets.BudgetExceeded) as refusal:
        submit(owner, "0.900", lighthouse, takes=3)
    assert str(refusal.value).startswith("These 3 takes are estimated at $0.90 together, but the "
                                         'team "Harbour" has only $0.50 left')
    assert "Choose fewer takes or a shorter or cheaper video" in str(refusal.value)


def test_what_jobs_in_a_teams_projects_hold_or_cost_counts_against_the_team(
        owner, other, staff, harbour, lighthouse, make_job):
    second = Project.objects.create(name="Harbour lights", team=harbour)
    make_job(user=owner, project=lighthouse, estimate=Decimal("0.100"))  # queued
    unknown = make_job(user=other, project=second, estimate=Decimal("0.200"))
    unknown.claim_for_submission()
    unknown.mark_unknown("No answer.")  # keeps its hold
    charged(make_job(user=other, project=lighthouse), "0.400")
    refunded = charged(make_job(user=owner, project=second), "0.800")
    refunded.mark_failed("Kling could not make it.", refunded=True)
    never_sent = make_job(user=owner, project=lighthouse, estimate=Decimal("5"))
    never_sent.claim_for_submission()
    never_sent.mark_not_sent("ShortAPI refused this job.")
    # none of these are the team's: no project, a private one, another team's
    make_job(user=owner, estimate=Decimal("1"))
    charged(make_job(user=owner, project=Project.objects.create(name="Mine", owner=owner)), "1")
    elsewhere = Project.objects.create(name="Elsewhere", team=Team.objects.create(name="Docks"))
    make_job(user=staff, project=elsewhere, estimate=Decimal("1"))

    standing = budgets.team_standing(harbour)
    assert (standing.spent, standing.held) == (Decimal("0.400"), Decimal("0.300"))
    assert standing.budget is None and standing.left is None
    other_team = Team.objects.get(name="Docks")
    both = budgets.team_standings([harbour, other_team])
    assert both[harbour.pk] == standing and both[other_team.pk].held == Decimal("1")


def test_last_periods_team_spending_does_not_count_after_the_rollover(
        owner, harbour, lighthouse, make_job, at):
    Budget.objects.create(team=harbour, amount=Decimal("1"))
    start, _ = budgets.period_bounds()
    with at(start - timedelta(seconds=1)):
        charged(make_job(project=lighthouse), "0.900")
    assert budgets.team_standing(harbour).spent == Decimal("0")
    assert budgets.team_standing(harbour, now=start - timedelta(days=1)).spent == Decimal("0.900")
    submit(owner, "0.900", lighthouse)


def test_the_default_budget_is_for_people_and_never_for_a_team(owner, other, harbour, lighthouse):
    Budget.objects.create(amount=Decimal("0.50"))
    Budget.objects.create(user=owner, amount=Decimal("100"))
    assert budgets.team_standing(harbour).budget is None
    submit(owner, "5", lighthouse)  # the team has no limit; the owner's own budget has room
    with pytest.raises(budgets.BudgetExceeded) as refusal:
        submit(other, "5", lighthouse)  # the default applies to the person without a budget
    assert refusal.value.team is None and refusal.value.standing.budget == Decimal("0.50")


def test_a_teams_budget_is_not_anybodys_default(owner, harbour):
    Budget.objects.create(team=harbour, amount=Decimal("0.50"))
    assert budgets.standing(owner).budget is None
    submit(owner, "5")


def test_there_is_one_budget_per_team_and_none_for_a_person_and_a_team_at_once(owner, harbour):
    Budget.objects.create(amount=Decimal("1"))
    Budget.objects.create(user=owner, amount=Decimal("2"))
    Budget.objects.create(team=harbour, amount=Decimal("3"))
    Budget.objects.create(team=Team.objects.create(name="Docks"), amount=Decimal("3"))
    with transaction.atomic(), pytest.raises(IntegrityError):
        Budget.objects.create(team=harbour, amount=Decimal("4"))
    with transaction.atomic(), pytest.raises(IntegrityError):
        Budget.objects.create(user=owner, team=Team.objects.create(name="Quay"),
                              amount=Decimal("4"))
    with transaction.atomic(), pytest.raises(IntegrityError):
        Budget.objects.create(amount=Decimal("4"))
    assert str(Budget.objects.get(team=harbour)) == "$3.00 for the team Harbour"


def test_staff_set_a_teams_budget_in_the_admin_and_find_it_by_team(client, staff, owner, harbour):
    client.force_login(staff)
    add = reverse("admin:spend_budget_add")
    assert client.post(add, {"team": harbour.pk, "amount": "5"}).status_code == 302
    again = client.post(add, {"team": harbour.pk, "amount": "6"}).content.decode()
    assert "There is already a budget for this person, this team or everyone" in again
    both = client.post(add, {"team": harbour.pk, "user": owner.pk, "amount": "6"}).content.decode()
    assert "A budget is for one person or one team, not both." in both
    Budget.objects.create(user=owner, amount=Decimal("2"))
    listed = client.get(reverse("admin:spend_budget_changelist"),
                        {"team__id__exact": harbour.pk}).content.decode()
    assert "$5.00 for the team Harbour" in listed and "$2.00 for olivia" not in listed
    client.force_login(owner)
    assert client.get(add).status_code == 302  # to the admin's login: people set no budgets


def test_the_daily_totals_keep_each_project_apart_and_a_refund_on_its_projects_row(
        owner, harbour, lighthouse, make_job):
    charged(make_job(project=lighthouse), "0.300")
    charged(make_job(), "0.200")
    refunded = charged(make_job(project=lighthouse), "0.600")
    refunded.mark_failed("Kling could not make it.", refunded=True)
    rows = {row.project_id: row for row in DailySpend.objects.filter(user=owner)}
    assert set(rows) == {lighthouse.pk, None}
    assert (rows[lighthouse.pk].net, rows[lighthouse.pk].jobs) == (Decimal("0.300"), 2)
    assert rows[lighthouse.pk].refunded == Decimal("-0.600")
    assert (rows[None].net, rows[None].jobs) == (Decimal("0.200"), 1)


@pytest.fixture(scope="module")
def postgres_url():
    require(postgres_available(), "PostgreSQL at 127.0.0.1:5432")
    with migrated_postgres("kling_team_race") as url:
        yield url


@pytest.mark.integration
def test_two_people_of_a_team_at_its_edge_at_once_get_exactly_one_hold_on_postgresql(
        postgres_url, capsys):
    report = race_report("team_races", RACE_ROUNDS, postgres_url)
    with capsys.disabled():
        print(f"\nteam edge races: {report['winners']}")
    assert report["broken"] == []
    assert sum(report["winners"].values()) == RACE_ROUNDS
    # both people won some rounds: the two really raced for the team's last room
    assert set(report["winners"]) == {"ada", "ben"}, report["winners"]


def test_the_composer_shows_each_of_the_persons_teams_standing_tied_to_its_projects(
        owner, other, harbour, lighthouse):
    """The page picks the one of the team whose project is chosen; a team without a budget
    says so; a team the person is not in is not shown."""
    Budget.objects.create(team=harbour, amount=Decimal("40"))
    quiet = Team.objects.create(name="Quiet")
    quiet.members.add(owner)
    strangers = Team.objects.create(name="Strangers")
    strangers.members.add(other)
    page = signed_in(owner).get(reverse("compose")).content.decode()
    assert (f'data-team="{harbour.pk}" data-projects="{lighthouse.pk}"' in page
            and "of the team's $40.00 budget is spent or held" in page)
    assert "Quiet has no team budget: only your own applies in its projects." in page
    assert "Strangers" not in page
