"""Budgets: what a person has spent this period, what is held for jobs not charged yet, and the
check that refuses a submission that would go past their limit.

Spending is the ledger's entries that count in the period (`counts_at`: a refund or correction
counts where the charge it adjusts does), read from the daily totals kept with them. A job whose charge is still unknown (queued, sending,
outcome unknown) holds its estimate until ShortAPI charges it (the charge then counts instead)
or it ends without a charge. The check and the new job row happen in one transaction that first
locks the person's user row, so concurrent submissions are counted one after another and cannot
overspend.
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

# Jobs whose charge may still come: their estimate is held against the budget.
HOLDING = (Job.Status.QUEUED, Job.Status.SUBMITTING, Job.Status.UNKNOWN)


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


def standing(user, now=None):
    return standings([user], now)[user.pk]


def standings(users, now=None):
    """Each person's standing this period, by id, in three queries however many people."""
    start, end = period_bounds(now)
    ids = [user.pk for user in users]
    spent = dict(DailySpend.objects.filter(
        user__in=ids, day__gte=timezone.localdate(start), day__lt=timezone.localdate(end))
        .values("user").annotate(total=Sum(F("charged") + F("refunded") + F("corrected")))
        .values_list("user", "total"))
    held = dict(Job.objects.filter(owner__in=ids, amount__isnull=True, status__in=HOLDING)
                .values("owner").annotate(total=Sum("estimate")).values_list("owner", "total"))
    budgets = {budget.user_id: budget.amount
               for budget in Budget.objects.filter(Q(user__in=ids) | Q(user=None))}
    return {pk: Standing(budgets.get(pk, budgets.get(None)), spent.get(pk) or Decimal("0"),
                         held.get(pk) or Decimal("0"), start, end) for pk in ids}


class BudgetExceeded(Exception):
    def __init__(self, standing, estimate):
        self.standing = standing
        self.estimate = estimate
        period = {"daily": "daily", "weekly": "weekly"}.get(settings.KLING_BUDGET_PERIOD,
                                                             "monthly")
        super().__init__(
            f"This video is estimated at {catalogue.format_money(estimate)}, but only "
            f"{catalogue.format_money(standing.left)} of your "
            f"{catalogue.format_money(standing.budget)} {period} budget is left. It resets on "
            f"{standing.resets_on}. Choose a shorter or cheaper video, or ask an admin to raise "
            "your budget. Nothing was sent or charged.")


def hold(user, estimate):
    """Refuse the submission if its estimate does not fit the budget. Call inside the
    transaction that writes the job row: it locks the person's row until that commits."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).first()
    current = standing(user)
    if current.budget is not None and current.committed + estimate > current.budget:
        raise BudgetExceeded(current, estimate)
    return current
