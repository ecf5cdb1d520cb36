"""Spending figures read from the ledger: totals by person, model and day, and the charts that
show them (server-side SVG, so they render offline with no chart library).

Every figure here is a sum of the daily totals spend.policy keeps with each ledger entry (a row
per person, model and day), so the pages, the CSV export, budgets and the ledger agree to the
thousandth, and a page costs the same however many jobs are behind it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, Sum
from django.utils import timezone

from jobs import catalogue
from spend.models import DailySpend, LedgerEntry

CHART_WIDTH, CHART_HEIGHT = 720, 180


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
