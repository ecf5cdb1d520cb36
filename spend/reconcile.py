"""Reconciliation: ask ShortAPI about every job id in a date range and find where the app
disagrees with it, on a job's status, on a refund or on an amount.

Asked to fix, it writes one correcting ledger entry per money disagreement (kind "correction",
basis "reconcile", with a note saying why) and moves a job to the final state ShortAPI reports,
through the state machine. What a run finds is kept as `Discrepancy` rows, so the spend review
shows the same list as `manage.py reconcile`.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from jobs import catalogue, shortapi
from jobs.models import Job
from spend import policy
from spend.models import Discrepancy, LedgerEntry

What = Discrepancy.What


@dataclass
class Finding:
    job: Job
    shortapi_job_id: str
    what: str
    ours: str
    theirs: str
    # the correction that would make the ledger agree (money findings)
    difference: Decimal = Decimal("0")
    state: shortapi.JobState | None = None

    @property
    def fixable(self):
        if self.what == What.STATUS:
            return self.state is not None and self.state.finished
        return bool(self.difference)

    def __str__(self):
        fix = f"; correction {catalogue.format_money(self.difference)}" if self.difference else ""
        return (f"job {self.job.pk} (ShortAPI {self.shortapi_job_id}): {self.get_what()}: "
                f"ours {self.ours}, ShortAPI {self.theirs}{fix}")

    def get_what(self):
        return What(self.what).label.lower()


@dataclass
class Report:
    checked: list = field(default_factory=list)  # ShortAPI job ids asked about
    unanswered: list = field(default_factory=list)  # (id, why) ShortAPI did not answer for
    findings: list = field(default_factory=list)

    @property
    def to_fix(self):
        return [finding for finding in self.findings if finding.fixable]


def shortapi_jobs(first_day, last_day=None):
    """(ShortAPI job id, job) for every ShortAPI job the app knows of that was sent, or whose
    money counts, in the range of days."""
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    end = timezone.make_aware(
        datetime.combine(last_day or timezone.localdate(), time.min) + timedelta(days=1))
    found = {job.shortapi_job_id: job for job in Job.objects.filter(
        submitted_at__gte=start, submitted_at__lt=end).exclude(shortapi_job_id=None)}
    entries = LedgerEntry.objects.filter(Q(counts_at__gte=start, counts_at__lt=end)
                                         | Q(created_at__gte=start, created_at__lt=end))
    for entry in entries.select_related("job"):
        found.setdefault(entry.shortapi_job_id, entry.job)
    return sorted(found.items(), key=lambda pair: (pair[1].pk, pair[0]))


def check(first_day, last_day=None, client=None):
    client = client or shortapi.Client()
    report = Report()
    for shortapi_job_id, job in shortapi_jobs(first_day, last_day):
        report.checked.append(shortapi_job_id)
        try:
            state = client.query(shortapi_job_id)
        except shortapi.ShortAPIError as error:
            if error.permanent and not error.key_refused:
                report.findings.append(Finding(job, shortapi_job_id, What.MISSING,
                                               "a job ShortAPI made", f"knows no such job "
                                               f"({error.message})"))
            else:
                report.unanswered.append((shortapi_job_id, error.message))
            continue
        report.findings += compare(job, shortapi_job_id, state)
    return report


def compare(job, shortapi_job_id, state):
    """Where the app disagrees with what ShortAPI says about one of its jobs."""
    found = []
    ours, theirs = _status_word(job), _reported_word(state)
    if job.shortapi_job_id == shortapi_job_id and state.finished and ours != theirs:
        found.append(Finding(job, shortapi_job_id, What.STATUS, ours, theirs, state=state))
    money = _money_finding(job, shortapi_job_id, state)
    return found + ([money] if money else [])


def _money_finding(job, shortapi_job_id, state):
    entries = LedgerEntry.objects.filter(shortapi_job_id=shortapi_job_id)
    net = _sum(entries)
    refunds = _sum(entries.filter(kind=LedgerEntry.Kind.REFUND))
    if state.refunded:
        expected, what, says = Decimal("0"), What.REFUND, "refunded it"
    elif refunds and state.finished:
        expected, what, says = net - refunds, What.REFUND, "did not refund it"
    elif state.amount is not None:
        expected, what, says = state.amount, What.AMOUNT, (
            f"charged {catalogue.format_money(state.amount)}")
    else:
        return None
    if expected == net:
        return None
    return Finding(job, shortapi_job_id, what, f"{catalogue.format_money(net)} net", says,
                   difference=expected - net, state=state)


def fix(report):
    """Move each job to the final state ShortAPI reports, then write a correction for whatever
    money still disagrees (a state change may already have written ShortAPI's refund). Returns
    the findings fixed."""
    from jobs import tasks

    to_fix = sorted(report.to_fix, key=lambda finding: finding.what != What.STATUS)
    for finding in to_fix:
        if finding.what == What.STATUS:
            tasks.apply_state(Job.objects.get(pk=finding.job.pk), finding.state, correcting=True)
            continue
        with transaction.atomic():
            job = Job.objects.select_for_update().get(pk=finding.job.pk)
            still = _money_finding(job, finding.shortapi_job_id, finding.state)
            if still:
                policy.correct(job, finding.shortapi_job_id, still.difference,
                               f"Reconciled with ShortAPI: ours {still.ours}, ShortAPI "
                               f"{still.theirs}.")
    return to_fix


def record(report, fixed=()):
    """Keep what a run found, replacing what earlier runs found about the same ShortAPI jobs."""
    now = timezone.now()
    fixed = [id(finding) for finding in fixed]
    with transaction.atomic():
        Discrepancy.objects.filter(shortapi_job_id__in=report.checked, fixed_at=None).delete()
        Discrepancy.objects.bulk_create(
            Discrepancy(job=f.job, shortapi_job_id=f.shortapi_job_id, what=f.what, ours=f.ours,
                        theirs=f.theirs, difference=f.difference,
                        fixed_at=now if id(f) in fixed else None)
            for f in report.findings)


def run(first_day, last_day=None, apply=False, client=None):
    """Check the range, fix what can be fixed if asked, and keep what was found."""
    report = check(first_day, last_day, client)
    fixed = fix(report) if apply else []
    record(report, fixed)
    return report, fixed


def _status_word(job):
    S = Job.Status
    return {S.SUCCEEDED: "succeeded", S.FAILED: "failed"}.get(job.status, job.status)


def _reported_word(state):
    if state.succeeded:
        return "succeeded"
    if state.finished:
        return "failed"
    return "processing" if state.status == shortapi.PROCESSING else "pending"


def _sum(entries):
    return entries.aggregate(total=Sum("amount"))["total"] or Decimal("0")
