"""Money: every charge and refund as a ledger entry, and the budgets admins set.

A job has at most one charge and one refund, enforced by a unique constraint, so a duplicate
callback or a task that runs twice can never count money twice. A job's cost is the sum of its
entries: charges are positive, refunds negative.
"""

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import Sum, Value
from django.db.models.functions import Coalesce


class LedgerEntry(models.Model):
    class Kind(models.TextChoices):
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"

    job = models.ForeignKey("jobs.Job", on_delete=models.PROTECT, related_name="ledger_entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="ledger_entries")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=3,
                                 help_text="US dollars; refunds are negative.")
    model_id = models.CharField("model", max_length=100)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.UniqueConstraint(fields=["job", "kind"], name="one_charge_one_refund_per_job"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} for job {self.job_id}"

    @classmethod
    def record(cls, job, kind, amount):
        """Add the entry unless the job already has one of this kind. True when added."""
        try:
            with transaction.atomic():
                cls.objects.create(job=job, user_id=job.owner_id, kind=kind, amount=amount,
                                   model_id=job.model_id)
        except IntegrityError:
            return False
        return True

    @classmethod
    def charge(cls, job):
        return cls.record(job, cls.Kind.CHARGE, job.amount)

    @classmethod
    def refund(cls, job):
        charged = cls.objects.filter(job=job, kind=cls.Kind.CHARGE).values_list("amount",
                                                                               flat=True).first()
        return charged is not None and cls.record(job, cls.Kind.REFUND, -charged)

    @classmethod
    def correct_charge(cls, job):
        """The real amount arrived after the charge was priced from the table."""
        cls.objects.filter(job=job, kind=cls.Kind.CHARGE).update(amount=job.amount)

    @classmethod
    def total(cls, entries):
        return entries.aggregate(total=Sum("amount"))["total"] or Decimal("0")


class Budget(models.Model):
    """How much a person may spend per budget period; without a user, everyone's default."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True,
                                blank=True, related_name="budget",
                                help_text="Leave empty for the default that applies to everyone "
                                          "without a budget of their own.")
    amount = models.DecimalField(max_digits=10, decimal_places=2,
                                 help_text="US dollars per period.")

    class Meta:
        constraints = [
            # One budget per person, and one default (user NULL counts as person 0).
            models.UniqueConstraint(Coalesce("user", Value(0)), name="one_budget_per_scope",
                                    violation_error_message="There is already a default "
                                    "budget; change that one instead."),
        ]

    def __str__(self):
        return f"${self.amount} for {self.user or 'everyone (default)'}"
