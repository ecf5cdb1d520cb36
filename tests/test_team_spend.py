"""Spending per team and per project: the figures (with what each project's chosen take cost
beside the rest of its takes), My spend and the spend review that show them, and the CSV that
carries both, all agreeing with the ledger; and pages that cost the same however many jobs."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from spend import reports
from spend.models import Budget
from spend.reports import DateRange
from teams.models import Project, Team

pytestmark = pytest.mark.django_db


def charged(make_job, user, amount, project=None, refunded=False):
    job = make_job(user=user, project=project)
    job.claim_for_submission()
    job.mark_submitted(f"sa-{job.pk}", Decimal(amount))
    if refunded:
        job.mark_failed("Kling could not make this video.", refunded=True)
    return job


@pytest.fixture
def ledger(make_job, owner, other, harbour, at):
    """This month: in the team's project Lighthouse, the owner's chosen take 0.300, the other
    person's take 0.715 and the owner's refunded 0.600; the owner's private Sketches 0.250; the
    other person's 0.400 in no project. Forty days ago, 5.000 in Lighthouse."""
    lighthouse = Project.objects.create(name="Lighthouse", team=harbour)
    sketches = Project.objects.create(name="Sketches", owner=owner)
    chosen = charged(make_job, owner, "0.300", lighthouse)
    lighthouse.chosen_take = chosen
    lighthouse.save()
    charged(make_job, other, "0.715", lighthouse)
    charged(make_job, owner, "0.600", lighthouse, refunded=True)
    charged(make_job, owner, "0.250", sketches)
    charged(make_job, other, "0.400")
    with at(timezone.now() - timedelta(days=40)):
        charged(make_job, other, "5.000", lighthouse)
    return {"lighthouse": lighthouse, "sketches": sketches, "chosen": chosen}


def this_month():
    today = timezone.localdate()
    return DateRange(today.replace(day=1), today)


def table(html, role):
    return html.split(f'data-role="{role}"')[1].split("</table>")[0]


def cells(row_html):
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row_html)]


def rows_of(html, role):
    return [cells(row) for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table(html, role))
            if "<td" in row]


def test_spending_is_summed_per_team_and_per_project(ledger):
    days = reports.days_in(this_month())
    assert reports.per_team(days) == [{"team_id": ledger["lighthouse"].team_id, "team": "Harbour",
                                       "total": Decimal("1.015"), "jobs": 3}]
    assert [(r["project"], r["team"], r["total"], r["jobs"]) for r in reports.per_project(days)] \
        == [("Lighthouse", "Harbour", Decimal("1.015"), 3),
            ("No project", "", Decimal("0.400"), 1),
            ("Sketches", "", Decimal("0.250"), 1)]
    forty_days_ago = timezone.localdate() - timedelta(days=40)
    [old] = reports.per_team(reports.days_in(DateRange(forty_days_ago, forty_days_ago)))
    assert old["total"] == Decimal("5.000")


def test_a_projects_spending_is_split_in_its_chosen_take_and_the_rest(ledger):
    rows = {row["project"]: row for row in reports.with_chosen_takes(
        reports.per_project(reports.days_in(this_month())), this_month())}
    lighthouse = rows["Lighthouse"]
    assert lighthouse["has_chosen"]
    assert (lighthouse["chosen"], lighthouse["others"]) == (Decimal("0.300"), Decimal("0.715"))
    assert not rows["Sketches"]["has_chosen"]
    assert (rows["Sketches"]["chosen"], rows["Sketches"]["others"]) == (0, Decimal("0.250"))
    assert (rows["No project"]["chosen"], rows["No project"]["others"]) == (0, Decimal("0.400"))


def test_a_chosen_take_counts_only_in_its_own_range_and_its_own_project(ledger, make_job,
                                                                        owner, at):
    lighthouse, sketches = ledger["lighthouse"], ledger["sketches"]
    with at(timezone.now() - timedelta(days=40)):
        old_take = charged(make_job, owner, "2.000", lighthouse)
    lighthouse.chosen_take = old_take
    lighthouse.save()
    sketches.chosen_take = ledger["chosen"]  # a take of another project is not its own
    sketches.save()
    rows = {row["project"]: row for row in reports.with_chosen_takes(
        reports.per_project(reports.days_in(this_month())), this_month())}
    assert (rows["Lighthouse"]["chosen"], rows["Lighthouse"]["others"]) == (0, Decimal("1.015"))
    assert not rows["Sketches"]["has_chosen"] and rows["Sketches"]["others"] == Decimal("0.250")


def test_my_spend_shows_my_own_spending_per_project_and_my_teams_budgets(
        client, owner, other, staff, harbour, ledger):
    Budget.objects.create(team=harbour, amount=Decimal("2"))
    client.force_login(owner)
    html = client.get(reverse("my-spend")).content.decode()
    assert rows_of(html, "per-project") == [["Lighthouse", "Harbour", "2", "$0.30"],
                                            ["Sketches", "Private", "1", "$0.25"]]
    assert rows_of(html, "teams") == [["Harbour", "$1.015", "$0.00", "$2.00", "$0.985",
                                       "50% 50%"]]
    client.force_login(other)
    html = client.get(reverse("my-spend")).content.decode()
    assert rows_of(html, "per-project") == [["Lighthouse", "Harbour", "1", "$0.715"],
                                            ["No project", "—", "1", "$0.40"]]
    assert rows_of(html, "teams")[0][:2] == ["Harbour", "$1.015"]
    client.force_login(staff)  # in no team, spent nothing
    html = client.get(reverse("my-spend")).content.decode()
    assert 'data-role="teams"' not in html and "Nothing spent yet this period." in table(
        html, "per-project")


def test_my_spend_warns_when_a_team_has_used_most_of_its_budget(client, owner, harbour, ledger,
                                                                settings):
    settings.KLING_BUDGET_WARN_PERCENT = 80
    Budget.objects.create(team=harbour, amount=Decimal("1.20"))
    client.force_login(owner)
    assert "Harbour has used 84% of its budget." in client.get(reverse("my-spend")).content.decode()


def test_the_review_shows_each_team_and_each_project_with_its_chosen_take(
        client, staff, harbour, ledger):
    Budget.objects.create(team=harbour, amount=Decimal("2"))
    docks = Team.objects.create(name="Docks")
    Budget.objects.create(team=docks, amount=Decimal("3"))
    Team.objects.create(name="Quay")  # no budget, no spending: not listed
    client.force_login(staff)
    html = client.get(reverse("spend-review")).content.decode()
    assert rows_of(html, "per-team") == [
        ["Docks", "0", "$0.00", "$0.00", "$3.00", "$3.00"],
        ["Harbour", "3", "$1.015", "$1.015", "$2.00", "$0.985"]]
    assert rows_of(html, "per-project") == [
        ["Lighthouse", "Harbour", "3", "$0.30", "$0.715", "$1.015"],
        ["No project", "—", "1", "—", "$0.40", "$0.40"],
        ["Sketches", "Private", "1", "None chosen", "$0.25", "$0.25"]]
    forty_days_ago = (timezone.localdate() - timedelta(days=40)).isoformat()
    html = client.get(reverse("spend-review"), {"first": forty_days_ago,
                                                "last": forty_days_ago}).content.decode()
    assert rows_of(html, "per-project") == [
        ["Lighthouse", "Harbour", "1", "$0.00", "$5.00", "$5.00"]]


def test_the_csv_carries_each_entrys_team_project_and_whether_it_is_the_chosen_take(
        client, staff, ledger):
    client.force_login(staff)
    text = client.get(reverse("spend-review-csv")).content.decode("utf-8-sig")
    assert text.splitlines()[0] == (
        "entry,counts on (UTC),written (UTC),person,team,project,job,chosen take,ShortAPI job,"
        "model,kind,basis,amount (USD),job status,note,approved by,approved at (UTC),"
        "approval note")
    rows = list(csv.DictReader(io.StringIO(text)))
    by_amount = {row["amount (USD)"]: row for row in rows}
    chosen = by_amount["0.300"]
    assert (chosen["team"], chosen["project"], chosen["chosen take"], chosen["job"]) == (
        "Harbour", "Lighthouse", "yes", str(ledger["chosen"].pk))
    assert [by_amount["0.715"][k] for k in ("team", "project", "chosen take")] == [
        "Harbour", "Lighthouse", "no"]
    assert [by_amount["0.250"][k] for k in ("team", "project", "chosen take")] == [
        "", "Sketches", "no"]
    assert [by_amount["0.400"][k] for k in ("team", "project", "chosen take")] == ["", "", "no"]
    assert sum(Decimal(row["amount (USD)"]) for row in rows if row["team"] == "Harbour") == \
        Decimal("1.015")


def queries_of(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_money_pages_cost_the_same_queries_for_3_jobs_or_30(client, owner, other, staff,
                                                                harbour, make_job):
    projects = [Project.objects.create(name=f"Shot {n}", team=harbour) for n in range(3)]
    projects.append(Project.objects.create(name="Mine", owner=owner))
    Budget.objects.create(team=harbour, amount=Decimal("100"))

    def spend(jobs):
        for n in range(jobs):
            project = projects[n % len(projects)]
            job = charged(make_job, (owner, other)[n % 2], "0.300", project,
                          refunded=n % 5 == 0)
            if project.chosen_take_id is None:
                project.chosen_take = job
                project.save()
            make_job(user=owner, project=project, estimate=Decimal("0.100"))  # held

    pages = [(owner, reverse("my-spend")), (staff, reverse("spend-review")),
             (staff, reverse("spend-review-csv"))]
    spend(3)
    counts = []
    for person, url in pages:
        client.force_login(person)
        counts.append(queries_of(client, url))
    spend(27)
    for (person, url), few in zip(pages, counts):
        client.force_login(person)
        assert queries_of(client, url) == few, url
