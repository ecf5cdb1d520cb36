"""What the ledger records, and why: money as facts, never as a side effect of our bookkeeping.

The people who pay put the spend review beside ShortAPI's invoice and must find the same number.
So every entry is something ShortAPI said, or something a person decided in a reconciliation:

- **A charge per ShortAPI job id**, written when we learn that the job exists: for the `amount`
  its create answer named (basis "answer"); or, when only a callback or a query confirmed the
  job, or the answer named no amount, priced from the table (basis "table") and corrected as
  soon as the real amount is learned.
- **A refund only when ShortAPI reports the job refunded**, for what was charged for that id. A
  job that failed without ShortAPI refunding it keeps its charge, and says so.
- **Our own decisions write no money.** Giving up on a job that was never sent, stopping
  watching a job ShortAPI has not finished, or a job passing its time limit: ShortAPI may still
  finish (and charge) it, so its charge stands until ShortAPI says otherwise.
- **A refund or correction counts in the budget period of the charge it adjusts** (`counts_at`),
  so a job charged in one period and refunded in the next never lowers the next one's spend.
- **Totals follow the entries.** The job's cost and the day's spending are kept with each entry,
  in its transaction, so the pages read them without summing a long history.
- **No race can make money wrong.** Each function here runs inside the transaction of the state
  change that causes it, after that change locked the job's row, and decides on what the ledger
  holds in the database, never on a copy in memory. The database allows one charge and one refund
  per ShortAPI job id, so a duplicate callback or a task that runs twice cannot count twice.
"""

from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from spend.models import DailySpend, LedgerEntry

Kind, Basis = LedgerEntry.Kind, LedgerEntry.Basis


def cost(job, amount=None):
    """What `job` cost: the amount ShortAPI named, or the table price (its estimate) when it
    named none."""
    return job.estimate if amount is None else amount


def charge(job, shortapi_job_id, amount=None):
    """ShortAPI made a job for `job` under `shortapi_job_id`: charge it, once. `amount` is what
    ShortAPI named; None prices it from the table. Returns the amount charged for the id."""
    basis = Basis.ANSWER if amount is not None else Basis.TABLE
    amount = cost(job, amount)
    if _entry(shortapi_job_id, Kind.CHARGE) is None:
        _write(job, shortapi_job_id, Kind.CHARGE, amount, basis, timezone.now(),
               "" if basis == Basis.ANSWER else "ShortAPI named no amount: priced from the table.")
        return amount
    if amount is not None and basis == Basis.ANSWER:
        learn_amount(job, shortapi_job_id, amount)
    return charged(shortapi_job_id)


def learn_amount(job, shortapi_job_id, amount, basis=Basis.ANSWER):
    """ShortAPI named what a job cost: correct a charge that was priced from the table."""
    first = _entry(shortapi_job_id, Kind.CHARGE)
    if first is None or first.basis != Basis.TABLE:
        return
    difference = amount - _charged_before_refund(shortapi_job_id)
    if difference:
        _write(job, shortapi_job_id, Kind.CORRECTION, difference, basis, first.counts_at,
               f"ShortAPI named {amount}; the table price was {first.amount}.")


def refund(job, shortapi_job_id):
    """ShortAPI reports the job refunded: give back what was charged for it, once."""
    first = _entry(shortapi_job_id, Kind.CHARGE)
    if first is None or _entry(shortapi_job_id, Kind.REFUND) is not None:
        return
    _write(job, shortapi_job_id, Kind.REFUND, -_charged_before_refund(shortapi_job_id),
           Basis.REPORTED, first.counts_at, "ShortAPI reported the job refunded.")


def correct(job, shortapi_job_id, difference, note):
    """A reconciliation found the ledger off from ShortAPI by `difference`: record it."""
    first = _entry(shortapi_job_id, Kind.CHARGE)
    counts_at = first.counts_at if first else timezone.now()
    return _write(job, shortapi_job_id, Kind.CORRECTION, difference, Basis.RECONCILE, counts_at,
                  note)


def charged(shortapi_job_id):
    """What the ledger holds for one ShortAPI job: charges, refunds and corrections."""
    return LedgerEntry.objects.filter(shortapi_job_id=shortapi_job_id).aggregate(
        total=Sum("amount"))["total"] or Decimal("0")


def _charged_before_refund(shortapi_job_id):
    return LedgerEntry.objects.filter(shortapi_job_id=shortapi_job_id).exclude(
        kind=Kind.REFUND).aggregate(total=Sum("amount"))["total"] or Decimal("0")


def _entry(shortapi_job_id, kind):
    return LedgerEntry.objects.filter(shortapi_job_id=shortapi_job_id, kind=kind).first()


def _write(job, shortapi_job_id, kind, amount, basis, counts_at, note=""):
    """The entry, and in the same transaction the two totals kept from it: the job's cost and
    the day's spending in the job's project (what pages and team budgets read, so they never sum
    a long history)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("Money is written only inside the transaction of the change causing it.")
    entry = LedgerEntry.objects.create(
        job=job, user_id=job.owner_id, shortapi_job_id=shortapi_job_id, kind=kind, basis=basis,
        amount=amount, model_id=job.model_id, counts_at=counts_at, note=note)
    type(job).objects.filter(pk=job.pk).update(cost=F("cost") + amount)
    day = {"user_id": job.owner_id, "day": timezone.localdate(counts_at),
           "model_id": job.model_id, "project_id": job.project_id}
    DailySpend.objects.bulk_create([DailySpend(**day)], ignore_conflicts=True)
    column = {Kind.CHARGE: "charged", Kind.REFUND: "refunded"}.get(kind, "corrected")
    DailySpend.objects.filter(**day).update(
        **{column: F(column) + amount},
        jobs=F("jobs") + (1 if kind == Kind.CHARGE else 0))
    return entry
