"""The spend app: the money ledger, per-person budgets, and the pages that show spending."""

from django.apps import AppConfig


class SpendConfig(AppConfig):
    name = "spend"
    verbose_name = "Spend"
