"""Budgets: what a person, or a team, has spent this period, what is held for jobs not charged
yet, and the check that refuses a submission that would go past either limit.

Spending is the ledger's entries that count in the period (`counts_at`: a refund or correction
counts where the charge it adjusts does), read from the daily totals kept with them; a team's
spending is that of the jobs in its projects, whoever made them. A job whose charge is still
unknown (queued, sending, outcome unknown), and one waiting for an approver (spend/approvals.py), holds its
estimate until ShortAPI charges it (the charge then counts instead) or it ends without a charge
(or is declined: a draft holds nothing). A job in a team's project counts
against both its owner's budget and the team's.

The check and the new job rows happen in one transaction that first locks the person's user row
and then, for a team's project, the team's row (always in that order, so two submissions never
wait on each other crosswise): concurrent submissions by one person, or by several people of
one team, are counted one after another and cannot overspend.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.formats import date_format

from jobs import catalogue, polling
from jobs.models import Job
from spend.models import Budget, DailySpend
from spend.reports import DateRange
from teams.models import Team

# Jobs whose charge may still come: their estimate is held against the budget.
RELEASED = (Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.UNKNOWN)
HOLDING = RELEASED + (Job.Status.WAITING,)


def period_bounds(now=None):
    """The start and end of the budget period containing `now`, in the site's time zone."""
    now = timezone.localtime(now or timezone.now())
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    period = settings.KLING_BUDGET_PERIOD
    if period == "daily":
        return midnight, midnight + timedelta(days=1)
    if period == "weekly":
        start = midnight - timedelta(days=midnight.weekday())
        return start, start + timedelta(days=7)
    start = midnight.replace(day=1)
    return start, (start + timedelta(days=32)).replace(day=1)


@dataclass(frozen=True)
class Standing:
    budget: Decimal | None
    spent: Decimal
    held: Decimal
    starts_at: datetime
    resets_at: datetime

    @property
    def committed(self):
        return self.spent + self.held

    @property
    def left(self):
        return None if self.budget is None else max(self.budget - self.committed, Decimal("0"))

    @property
    def share(self):
        return self.committed / self.budget if self.budget else Decimal("0")

    @property
    def percent(self):
        return min(int(self.share * 100), 100) if self.budget is not None else 0

    @property
    def warn(self):
        return self.budget is not None and self.share * 100 >= settings.KLING_BUDGET_WARN_PERCENT

    @property
    def date_range(self):
        last_day = timezone.localtime(self.resets_at).date() - timedelta(days=1)
        return DateRange(timezone.localtime(self.starts_at).date(), last_day)

    @property
    def resets_on(self):
        return date_format(timezone.localtime(self.resets_at), "j F Y")


def not_final(jobs, limit=50):
    """The newest of the jobs whose money is not settled yet: held (no charge yet) or overdue
    (charged, not finished); what My spend and the review list as not settled.

    Two small queries through the status index, sorted here: asking the database for both at
    once, newest first, makes it walk every job a person ever made."""
    overdue_since = timezone.now() - polling.overdue_after()
    held = list(jobs.filter(status__in=HOLDING).order_by()[:limit])
    overdue = list(jobs.filter(status__in=Job.Status.watched(), submitted_at__lt=overdue_since)
                   .order_by()[:limit])
    return sorted(held + overdue, key=lambda job: (job.created_at, job.pk), reverse=True)[:limit]


def standing(user, now=None, holding=HOLDING):
    return standings([user], now, holding)[user.pk]


def standings(users, now=None, holding=HOLDING):
    """Each person's standing this period, by id, in three queries however many people.
    `holding`: the statuses whose estimates count as held (an approval counts only RELEASED)."""
    start, end = period_bounds(now)
    ids = [user.pk for user in users]
    spent = dict(_spent(DailySpend.objects.filter(user__in=ids), "user", start, end))
    held = dict(Job.objects.filter(owner__in=ids, amount__isnull=True, status__in=holding)
                .values("owner").annotate(total=Sum("estimate")).values_list("owner", "total"))
    budgets = {budget.user_id: budget.amount
               for budget in Budget.objects.filter(Q(user__in=ids) | Q(user=None, team=None))}
    return {pk: Standing(budgets.get(pk, budgets.get(None)), spent.get(pk) or Decimal("0"),
                         held.get(pk) or Decimal("0"), start, end) for pk in ids}


def team_standing(team, now=None, holding=HOLDING):
    return team_standings([team], now, holding)[team.pk]


def team_standings(teams, now=None, holding=HOLDING):
    """Each team's standing this period, by id, in three queries however many teams: the jobs
    in its projects, whoever made them, against the team's own budget. The default budget is for
    people, so a team without a budget has no limit."""
    start, end = period_bounds(now)
    ids = [team.pk for team in teams]
    spent = dict(_spent(DailySpend.objects.filter(project__team__in=ids), "project__team",
                        start, end))
    held = dict(Job.objects.filter(project__team__in=ids, amount__isnull=True,
                                   status__in=holding)
                .values("project__team").annotate(total=Sum("estimate"))
                .values_list("project__team", "total"))
    budgets = dict(Budget.objects.filter(team__in=ids).values_list("team", "amount"))
    return {pk: Standing(budgets.get(pk), spent.get(pk) or Decimal("0"),
                         held.get(pk) or Decimal("0"), start, end) for pk in ids}


def teams_of(user):
    """The person's teams with this period's standing and the ids of their projects: the
    composer shows the standing of the team whose project is picked beside the person's."""
    teams = list(user.teams.prefetch_related("projects").order_by("name"))
    standings = team_standings(teams)
    return [(team, standings[team.pk], [project.pk for project in team.projects.all()])
            for team in teams]


def _spent(days, by, start, end):
    """(id, net spend) pairs of the daily totals in the period, grouped by `by`."""
    return (days.filter(day__gte=timezone.localdate(start), day__lt=timezone.localdate(end))
            .values(by).annotate(total=Sum(F("charged") + F("refunded") + F("corrected")))
            .values_list(by, "total"))


class BudgetExceeded(Exception):
    """A submission that does not fit a budget: the person's own (`team` None) or the team's
    whose project it was sent into. Its message says which, what is left, when it resets and what
    to do, in a person's words."""

    def __init__(self, standing, estimate, team=None, takes=1):
        self.standing = standing
        self.estimate = estimate
        self.team = team
        period = {"daily": "daily", "weekly": "weekly"}.get(settings.KLING_BUDGET_PERIOD,
                                                             "monthly")
        money = catalogue.format_money
        what = (f"These {takes} takes are estimated at {money(estimate)} together"
                if takes > 1 else f"This video is estimated at {money(estimate)}")
        if team is None:
            short = (f"but only {money(standing.left)} of your {money(standing.budget)} "
                     f"{period} budget is left")
            ask = "ask an admin to raise your budget"
        else:
            short = (f'but the team "{team.name}" has only {money(standing.left)} left of its '
                     f"{money(standing.budget)} {period} budget")
            ask = f'ask an admin to raise the budget of "{team.name}"'
        smaller = ("Choose fewer takes or a shorter or cheaper video" if takes > 1
                   else "Choose a shorter or cheaper video")
        super().__init__(
            f"{what}, {short}. It resets on "
            f"{standing.resets_on}. {smaller}, or {ask}. Nothing was sent or charged.")


def hold(user, estimate, project=None, takes=1):
    """Refuse the submission if its estimate (all its takes together) does not fit the person's
    budget or, for a team's project, the team's. Call inside the transaction that writes the job
    rows: it locks the person's row, then the team's, until that commits. Returns the person's
    standing before the submission."""
    team = lock(user, project)
    current = standing(user)
    if current.budget is not None and current.committed + estimate > current.budget:
        raise BudgetExceeded(current, estimate, takes=takes)
    if team is not None:
        shared = team_standing(team)
        if shared.budget is not None and shared.committed + estimate > shared.budget:
            raise BudgetExceeded(shared, estimate, team=team, takes=takes)
    return current


def lock(user, project=None):
    """Lock the person's row, then (for a team's project) the team's, until the transaction
    ends: every check of a budget that money then depends on runs under these, in this order.
    Returns the team, or None."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    if project is not None and project.team_id is not None:
        return Team.objects.select_for_update().get(pk=project.team_id)
    return None
