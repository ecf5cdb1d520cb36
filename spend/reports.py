"""Spending figures read from the ledger: totals by person, model, team, project and day, and
the charts that show them (server-side SVG, so they render offline with no chart library).

Every figure here is a sum of the daily totals spend.policy keeps with each ledger entry (a row
per person, model, project and day), so the pages, the CSV export, budgets and the ledger agree
to the thousandth, and a page costs the same however many jobs are behind it. The one exception,
what each project's chosen take cost, reads the ledger entries of those takes only: a few per
project.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.utils import timezone

from jobs import catalogue
from spend.models import DailySpend, LedgerEntry
from teams.models import Project

CHART_WIDTH, CHART_HEIGHT = 720, 180
NO_PROJECT = "No project"


@dataclass(frozen=True)
class DateRange:
    first: date
    last: date

    @property
    def bounds(self):
        """Aware datetimes: from the first day's midnight to the midnight after the last day."""
        start = datetime.combine(self.first, time.min)
        end = datetime.combine(self.last + timedelta(days=1), time.min)
        return timezone.make_aware(start), timezone.make_aware(end)

    def days(self):
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]


def entries_in(date_range, **filters):
    """The entries that count in the range: a refund or correction counts on its charge's day."""
    start, end = date_range.bounds
    return LedgerEntry.objects.filter(counts_at__gte=start, counts_at__lt=end, **filters)


def days_in(date_range, **filters):
    """The daily totals of the range: one row per person, model and day, however many jobs."""
    return DailySpend.objects.filter(day__gte=date_range.first, day__lte=date_range.last,
                                     **filters)


NET = F("charged") + F("refunded") + F("corrected")


def totals(days):
    sums = days.aggregate(charged=Sum("charged"), refunded=Sum("refunded"),
                          corrected=Sum("corrected"), jobs=Sum("jobs"))
    sums = {name: value or Decimal("0") for name, value in sums.items()}
    sums["net"] = sums["charged"] + sums["refunded"] + sums["corrected"]
    return sums


def per_day(days, date_range):
    sums = {row["day"]: row["total"] for row in days.values("day").annotate(total=Sum(NET))
            .order_by()}
    return [(day, sums.get(day, Decimal("0"))) for day in date_range.days()]


def per_model(days):
    rows = days.values("model_id").annotate(total=Sum(NET), jobs=Sum("jobs"))
    return [{"model": _model_label(r["model_id"]), "total": r["total"], "jobs": r["jobs"]}
            for r in rows.order_by("-total")]


def per_person(days):
    rows = days.values("user__username").annotate(total=Sum(NET), jobs=Sum("jobs")).order_by(
        "-total")
    return [{"person": r["user__username"], "total": r["total"], "jobs": r["jobs"]} for r in rows]


def per_team(days):
    """Spending in teams' projects, per team, the largest first."""
    rows = (days.filter(project__team__isnull=False)
            .values("project__team", "project__team__name")
            .annotate(total=Sum(NET), jobs=Sum("jobs")).order_by("-total", "project__team__name"))
    return [{"team_id": r["project__team"], "team": r["project__team__name"],
             "total": r["total"], "jobs": r["jobs"]} for r in rows]


def per_project(days):
    """Spending per project, the largest first; jobs in no project are one row, "No project"."""
    rows = (days.values("project", "project__name", "project__team__name")
            .annotate(total=Sum(NET), jobs=Sum("jobs")).order_by("-total", "project"))
    return [{"project_id": r["project"], "project": r["project__name"] or NO_PROJECT,
             "team": r["project__team__name"] or "", "total": r["total"], "jobs": r["jobs"]}
            for r in rows]


def with_chosen_takes(projects, date_range):
    """Each row of `per_project` over everyone's spending, split into what the project's chosen
    take cost in the range (`chosen`) and what the project's other jobs did (`others`): what a
    team's exploration costs. Two queries however many jobs: the chosen takes, then their
    ledger entries in the range."""
    ids = [row["project_id"] for row in projects if row["project_id"] is not None]
    # a chosen take counts only while it is one of its project's own jobs
    chosen = dict(Project.objects.filter(pk__in=ids, chosen_take__project=F("pk"))
                  .values_list("chosen_take", "pk"))
    spent = {chosen[job]: total for job, total in entries_in(date_range, job__in=list(chosen))
             .values("job").annotate(total=Sum("amount")).order_by().values_list("job", "total")}
    settled = set(chosen.values())
    rows = []
    for row in projects:
        on_chosen = spent.get(row["project_id"], Decimal("0"))
        rows.append({**row, "has_chosen": row["project_id"] in settled, "chosen": on_chosen,
                     "others": row["total"] - on_chosen})
    return rows


def _model_label(model_id):
    model = catalogue.MODELS.get(model_id)
    return model.label if model else model_id


def bar_chart(series):
    """Bars for an SVG chart of (day, amount) pairs: geometry only, the template draws it."""
    top = max([value for _, value in series] + [Decimal("0.01")])
    slot = CHART_WIDTH / max(len(series), 1)
    bars = []
    for index, (day, value) in enumerate(series):
        height = float(max(value, 0) / top) * (CHART_HEIGHT - 20)
        bars.append({"x": round(index * slot + slot * 0.1, 1), "width": round(slot * 0.8, 1),
                     "center": round(index * slot + slot / 2, 1),
                     "y": round(CHART_HEIGHT - height, 1), "height": round(height, 1),
                     "day": day, "value": value})
    return {"bars": bars, "width": CHART_WIDTH, "height": CHART_HEIGHT, "top": top,
            "label_every": max(1, len(series) // 10)}


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(value):
    """Text someone typed (a name, a note), made safe for a spreadsheet: a value it would run as
    a formula is kept as text by a leading apostrophe, as OWASP advises. Amounts, which we write,
    are left as numbers."""
    value = str(value)
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value
