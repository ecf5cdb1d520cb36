"""Money: the ledger of what ShortAPI charged and refunded, what reconciliations found, and the
budgets admins set.

An entry records something ShortAPI said (a charge, a refund) or a correction a reconciliation
made, never a side effect of our own status changes: the rules are in `spend.policy`. The
database allows one charge and one refund per ShortAPI job id, so a duplicate callback or a task
that runs twice can never count twice. A job's cost is the sum of its entries: charges positive,
refunds negative, corrections either way.
"""

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        CORRECTION = "correction", "Correction"

    class Basis(models.TextChoices):
        """Where an amount came from."""

        ANSWER = "answer", "ShortAPI's create answer"
        TABLE = "table", "Priced from the table (ShortAPI named no amount)"
        REPORTED = "reported", "ShortAPI's report"
        RECONCILE = "reconcile", "A reconciliation with ShortAPI"

    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="ledger_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="ledger_entries")
    shortapi_job_id = models.CharField("ShortAPI job", max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    basis = models.CharField(max_length=10, choices=Basis.choices, default=Basis.ANSWER)
    amount = models.DecimalField(max_digits=10, decimal_places=3,
                                 help_text="US dollars; refunds are negative.")
    model_id = models.CharField("model", max_length=100)
    created_at = models.DateTimeField("written", default=timezone.now, db_index=True)
    # The moment whose budget period the entry counts in: for a charge, when it was made; for a
    # refund or a correction, the charge it adjusts.
    counts_at = models.DateTimeField("counts in the period of", default=timezone.now)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["shortapi_job_id", "kind"],
                                    condition=Q(kind__in=["charge", "refund"]),
                                    name="one_charge_one_refund_per_shortapi_job"),
        ]
        indexes = [models.Index(fields=["counts_at"], name="spend_ledge_counts__idx"),
                   models.Index(fields=["user", "counts_at"], name="spend_ledge_user_counts_idx"),
                   models.Index(fields=["shortapi_job_id"], name="spend_ledge_shortapi_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} for job {self.job_id}"

    @classmethod
    def total(cls, entries):
        return entries.aggregate(total=Sum("amount"))["total"] or Decimal("0")


class DailySpend(models.Model):
    """One person's spending on one model in one project (or in none) on one day (the site's
    time zone), by kind of entry.

    Kept with every ledger entry, in the same transaction (spend.policy), so the pages that show
    totals read a row per day instead of summing every entry: they cost the same however long the
    history. A refund or correction counts on its charge's day, as budgets do. A team's spending
    is its projects' rows.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="daily_spend")
    day = models.DateField()
    model_id = models.CharField("model", max_length=100)
    # PROTECT: a team's spending is read through its projects, so deleting a project with
    # spending would lower what its team has spent this period (and let it overspend); and
    # SET_NULL would fold the rows into the person's "no project" rows, colliding with the
    # unique key. A project that has cost money stays. (The index below, led by project, also
    # serves the foreign key.)
    project = models.ForeignKey("teams.Project", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="daily_spend", db_index=False)
    charged = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("0"))
    refunded = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("0"))
    corrected = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal("0"))
    # ShortAPI jobs charged
    jobs = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # No project counts as project 0, so spend.policy's insert-or-ignore finds the one
            # row of a key on SQLite and PostgreSQL alike (NULLs are never equal in a unique key).
            models.UniqueConstraint(F("user"), F("day"), F("model_id"),
                                    Coalesce("project", Value(0)),
                                    name="one_daily_spend_per_person_day_model_project"),
        ]
        indexes = [models.Index(fields=["day"], name="spend_daily_day_idx"),
                   models.Index(fields=["project", "day"], name="spend_daily_project_day_idx")]

    def __str__(self):
        return f"{self.user} on {self.day}: {self.net}"

    @property
    def net(self):
        return self.charged + self.refunded + self.corrected


class Discrepancy(models.Model):
    """Where a reconciliation found the app disagreeing with ShortAPI about a job."""

    class What(models.TextChoices):
        STATUS = "status", "Status"
        REFUND = "refund", "Refund"
        AMOUNT = "amount", "Amount"
        MISSING = "missing", "Unknown to ShortAPI"

    job = models.ForeignKey("jobs.Job", on_delete=models.CASCADE, related_name="discrepancies")
    shortapi_job_id = models.CharField("ShortAPI job", max_length=200)
    what = models.CharField(max_length=10, choices=What.choices)
    ours = models.CharField(max_length=200)
    theirs = models.CharField(max_length=200)
    difference = models.DecimalField(max_digits=10, decimal_places=3, default=Decimal("0"))
    found_at = models.DateTimeField(default=timezone.now)
    fixed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-found_at", "-id"]
        verbose_name_plural = "discrepancies"

    def __str__(self):
        return f"Job {self.job_id}: {self.get_what_display()}"


class Budget(models.Model):
    """How much a person, or a team, may spend per budget period; with neither, the default for
    every person without a budget of their own.

    The default is for people only: a team without a budget has no team limit (its members'
    own budgets still apply).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True,
                                blank=True, related_name="budget",
                                help_text="A person's own budget. Leave this and the team empty "
                                          "for the default that applies to everyone without a "
                                          "budget of their own.")
    team = models.ForeignKey("teams.Team", on_delete=models.CASCADE, null=True, blank=True,
                             related_name="budgets",
                             help_text="A team's budget: what the jobs in its projects may cost "
                                       "together, beside each member's own budget.")
    amount = models.DecimalField(max_digits=10, decimal_places=2,
                                 help_text="US dollars per period.")
    # Approval rules (spend/approvals.py), for a team's budget or the default only.
    approve_over = models.DecimalField(
        "approve jobs over", max_digits=10, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="US dollars. A submission estimated at more than this (all its takes "
                  "together) waits for an approver. Empty: no such rule.")
    approve_past_percent = models.PositiveSmallIntegerField(
        "approve every job past (%)", null=True, blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="1 to 100. Once a submission would take the budget's committed share (spent "
                  "and held) past this percentage, every job waits for an approver. Empty: no "
                  "such rule.")

    class Meta:
        constraints = [
            # One budget per person, one per team, and one default (NULL counts as 0).
            models.UniqueConstraint(Coalesce("user", Value(0)), Coalesce("team", Value(0)),
                                    name="one_budget_per_scope",
                                    violation_error_message="There is already a budget for this "
                                    "person, this team or everyone; change that one instead."),
            models.CheckConstraint(condition=Q(user=None) | Q(team=None),
                                   name="budget_is_a_persons_or_a_teams",
                                   violation_error_message="A budget is for one person or one "
                                   "team, not both."),
            models.CheckConstraint(
                condition=Q(user=None) | Q(approve_over=None, approve_past_percent=None),
                name="approval_rules_only_for_teams_and_default",
                violation_error_message="Approval rules are set on a team's budget or on the "
                "default budget, not on a person's: clear both approval fields."),
            models.CheckConstraint(
                condition=Q(approve_past_percent=None)
                | Q(approve_past_percent__gte=1, approve_past_percent__lte=100),
                name="approval_percent_between_1_and_100",
                violation_error_message="The approval percentage is a whole number from 1 to "
                "100."),
        ]

    def clean(self):
        super().clean()
        if self.user_id is not None and self.has_approval_rule:
            problem = ("Approval rules are set on a team's budget or the default budget, not "
                       "on a person's: leave this empty.")
            raise ValidationError({name: problem for name in ("approve_over",
                                                               "approve_past_percent")
                                   if getattr(self, name) is not None})

    @property
    def has_approval_rule(self):
        return self.approve_over is not None or self.approve_past_percent is not None

    def __str__(self):
        if self.team_id is not None:
            return f"${self.amount} for the team {self.team}"
        return f"${self.amount} for {self.user or 'everyone (default)'}"


class Decision(models.Model):
    """An approver's word on a submission that waited for one (spend/approvals.py): released
    (approved) or sent back to its owner as a draft (declined), with a note.

    Kept as a record of who let money be spent: it names the people and what was asked (title,
    takes, estimate) itself, so it outlives the draft a decline leaves, if that is deleted.
    """

    NOTE_LENGTH = 1000

    job = models.ForeignKey("jobs.Job", on_delete=models.SET_NULL, null=True, blank=True,
                            related_name="decisions", help_text="The submission's first take.")
    take_group = models.UUIDField(null=True, blank=True, db_index=True)
    requester = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                  related_name="+")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                                 related_name="approval_decisions")
    title = models.CharField(max_length=120, blank=True)
    takes = models.PositiveSmallIntegerField(default=1)
    estimate = models.DecimalField(max_digits=10, decimal_places=3,
                                   help_text="Of every take together.")
    approved = models.BooleanField()
    note = models.CharField(max_length=NOTE_LENGTH, blank=True)
    decided_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-decided_at", "-id"]
        indexes = [models.Index(fields=["requester", "-decided_at"],
                                name="spend_decision_requester_idx")]

    def __str__(self):
        word = "Approved" if self.approved else "Declined"
        return f"{word} by {self.approver} for job {self.job_id}"

    @property
    def verb(self):
        return "approved" if self.approved else "declined"
