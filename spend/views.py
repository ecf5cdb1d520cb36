"""Spend pages: a person's own spending, and the staff-only review with its CSV export."""

import csv

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from jobs.models import Job
from spend import budgets, reconcile, reports
from spend.forms import DateRangeForm, range_from
from spend.models import Discrepancy, LedgerEntry

TOP_JOBS = 10


@require_GET
def my_spend(request):
    standing = budgets.standing(request.user)
    period = standing.date_range
    entries = reports.entries_in(period, user=request.user)
    jobs = (Job.objects.owned_by(request.user).sent().with_cost()
            .filter(created_at__gte=standing.starts_at, created_at__lt=standing.resets_at))
    return render(request, "spend/my_spend.html", {
        "standing": standing,
        "chart": reports.bar_chart(reports.per_day(entries, period)),
        "per_model": reports.per_model(entries),
        "jobs": jobs,
        "pending": budgets.not_final(Job.objects.owned_by(request.user)),
    })


@staff_member_required
@require_GET
def review(request):
    form, date_range = range_from(request)
    entries = reports.entries_in(date_range)
    start, end = date_range.bounds
    in_range = Q(ledger_entries__counts_at__gte=start, ledger_entries__counts_at__lt=end)
    people = get_user_model().objects.filter(
        Q(budget__isnull=False) | Q(ledger_entries__isnull=False)).distinct().order_by("username")
    return render(request, "spend/review.html", {
        "form": form,
        "range": date_range,
        "total": reports.total(entries),
        "charged": reports.total(entries.filter(kind=LedgerEntry.Kind.CHARGE)),
        "refunded": reports.total(entries.filter(kind=LedgerEntry.Kind.REFUND)),
        "corrected": reports.total(entries.filter(kind=LedgerEntry.Kind.CORRECTION)),
        "per_person": reports.per_person(entries),
        "per_model": reports.per_model(entries),
        "chart": reports.bar_chart(reports.per_day(entries, date_range)),
        "top_jobs": Job.objects.filter(in_range).annotate(
            range_total=Sum("ledger_entries__amount", filter=in_range)
        ).select_related("owner").order_by("-range_total", "-pk")[:TOP_JOBS],
        "failed": Job.objects.filter(status=Job.Status.FAILED, finished_at__gte=start,
                                     finished_at__lt=end).with_cost().select_related("owner"),
        "budget_use": [(person, budgets.standing(person)) for person in people],
        "pending": budgets.not_final(Job.objects.select_related("owner")),
        "discrepancies": Discrepancy.objects.filter(fixed_at=None).select_related("job"),
        "query": request.GET.urlencode(),
    })


@staff_member_required
@require_GET
def review_csv(request):
    form, date_range = range_from(request)
    entries = reports.entries_in(date_range).select_related("user", "job").order_by("counts_at",
                                                                                     "pk")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="kling-ledger-{date_range.first}-{date_range.last}.csv"')
    response.write("\ufeff")  # spreadsheets read UTF-8 reliably with a byte-order mark
    writer = csv.writer(response)
    writer.writerow(["entry", "counts on (UTC)", "written (UTC)", "person", "job",
                     "ShortAPI job", "model", "kind", "basis", "amount (USD)", "job status",
                     "note"])
    for entry in entries:
        writer.writerow([entry.pk, entry.counts_at.isoformat(timespec="seconds"),
                         entry.created_at.isoformat(timespec="seconds"), entry.user.username,
                         entry.job_id, entry.shortapi_job_id, entry.model_id, entry.kind,
                         entry.basis, f"{entry.amount:.3f}", entry.job.status, entry.note])
    return response


@staff_member_required
@require_POST
def reconcile_now(request):
    """Queue a check of the range against ShortAPI; its findings appear in the review."""
    form = DateRangeForm(request.POST)
    if form.is_valid():
        date_range = form.date_range()
        async_task(reconcile.run, date_range.first, date_range.last,
                   task_name=f"reconcile-{date_range.first}-{date_range.last}")
        messages.success(request, "ShortAPI is being asked about every job in the range. Reload "
                                  "this page in a minute to see what it found.")
        return redirect(f"{reverse('spend-review')}?{request.POST.urlencode()}")
    messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    return redirect("spend-review")
