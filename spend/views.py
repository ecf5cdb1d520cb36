"""Spend pages: a person's own spending (with their teams' budgets), and the staff-only review
with its CSV export."""

import csv
from decimal import Decimal

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from lib import paging
from jobs.models import Job
from spend import budgets, reconcile, reports
from spend.forms import DateRangeForm, range_from
from spend.models import Decision, Discrepancy
from teams.models import Team

LISTED_TOP = 10
# Lists on the money pages stop here, so a page costs the same however long the history: the
# ledger's CSV and the admin have everything.
LISTED = 20
JOBS_PER_PAGE = 25


@require_GET
def my_spend(request):
    standing = budgets.standing(request.user)
    period = standing.date_range
    days = reports.days_in(period, user=request.user)
    jobs = (Job.objects.owned_by(request.user).sent()
            .filter(created_at__gte=standing.starts_at, created_at__lt=standing.resets_at))
    return render(request, "spend/my_spend.html", {
        "standing": standing,
        "chart": reports.bar_chart(reports.per_day(days, period)),
        "per_model": reports.per_model(days),
        "per_project": reports.per_project(days),
        "teams": _with_standings(list(request.user.teams.all())),
        "page": paging.paginate(jobs, request.GET, JOBS_PER_PAGE),
        "pending": budgets.not_final(Job.objects.owned_by(request.user), LISTED),
    })


@staff_member_required
@require_GET
def review(request):
    form, date_range = range_from(request)
    days = reports.days_in(date_range)
    start, end = date_range.bounds
    period = budgets.period_bounds()
    people = list(get_user_model().objects.filter(
        Q(budget__isnull=False) | Q(daily_spend__day__gte=period[0].date(),
                                    daily_spend__day__lt=period[1].date()))
        .distinct().order_by("username"))
    standings = budgets.standings(people)
    return render(request, "spend/review.html", {
        "form": form,
        "range": date_range,
        "totals": reports.totals(days),
        "per_person": reports.per_person(days),
        "per_model": reports.per_model(days),
        "per_team": _per_team(days),
        "per_project": reports.with_chosen_takes(reports.per_project(days), date_range),
        "chart": reports.bar_chart(reports.per_day(days, date_range)),
        "top_jobs": Job.objects.filter(submitted_at__gte=start, submitted_at__lt=end)
        .select_related("owner").order_by("-cost", "-pk")[:LISTED_TOP],
        "failed": Job.objects.filter(status=Job.Status.FAILED, finished_at__gte=start,
                                     finished_at__lt=end).select_related("owner")
        .order_by("-finished_at")[:LISTED],
        "budget_use": [(person, standings[person.pk]) for person in people],
        "pending": budgets.not_final(Job.objects.select_related("owner"), LISTED),
        "discrepancies": Discrepancy.objects.filter(fixed_at=None).select_related("job")[:LISTED],
        "decisions": Decision.objects.filter(decided_at__gte=start, decided_at__lt=end)
        .select_related("approver", "requester")[:LISTED],
        "query": request.GET.urlencode(),
    })


def _with_standings(teams):
    standings = budgets.team_standings(teams)
    return [(team, standings[team.pk]) for team in teams]


def _per_team(days):
    """Each team that spent in the range or has a budget: its spending in the range, and its
    standing this period."""
    in_range = {row["team_id"]: row for row in reports.per_team(days)}
    teams = Team.objects.filter(Q(budgets__isnull=False) | Q(pk__in=list(in_range))).distinct()
    return [(team, in_range.get(team.pk, {"total": Decimal("0"), "jobs": 0}), standing)
            for team, standing in _with_standings(list(teams))]


@staff_member_required
@require_GET
def review_csv(request):
    form, date_range = range_from(request)
    entries = (reports.entries_in(date_range).select_related("user", "job__project__team")
               .order_by("counts_at", "pk"))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="kling-ledger-{date_range.first}-{date_range.last}.csv"')
    response.write("\ufeff")  # spreadsheets read UTF-8 reliably with a byte-order mark
    writer = csv.writer(response)
    writer.writerow(["entry", "counts on (UTC)", "written (UTC)", "person", "team", "project",
                     "job", "chosen take", "ShortAPI job", "model", "kind", "basis",
                     "amount (USD)", "job status", "note", "approved by", "approved at (UTC)",
                     "approval note"])
    approved = _approvals_of(entries)
    for entry in entries.iterator(chunk_size=2000):
        decision = approved.get(entry.job_id) or approved.get(entry.job.take_group)
        project = entry.job.project
        text = reports.spreadsheet_text
        writer.writerow([entry.pk, entry.counts_at.isoformat(timespec="seconds"),
                         entry.created_at.isoformat(timespec="seconds"), text(entry.user.username),
                         text(project.team.name if project and project.team else ""),
                         text(project.name if project else ""), entry.job_id,
                         "yes" if project and project.chosen_take_id == entry.job_id else "no",
                         text(entry.shortapi_job_id), text(entry.model_id), entry.kind,
                         entry.basis, f"{entry.amount:.3f}", entry.job.status, text(entry.note),
                         text(decision.approver.username) if decision else "",
                         decision.decided_at.isoformat(timespec="seconds") if decision else "",
                         text(decision.note) if decision else ""])
    return response


def _approvals_of(entries):
    """The approval that released each job of `entries` (by the job's id, or its takes' group),
    in one query: the latest, if the job was declined and sent again before."""
    jobs = entries.values("job")
    groups = entries.filter(job__take_group__isnull=False).values("job__take_group")
    found = {}
    for decision in (Decision.objects.filter(approved=True)
                     .filter(Q(job__in=jobs) | Q(take_group__in=groups))
                     .select_related("approver").order_by("decided_at", "pk")):
        found[decision.take_group or decision.job_id] = decision
    return found


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
