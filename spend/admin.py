"""Admin pages for the ledger (read-only: money history is never edited by hand) and budgets."""

from django.contrib import admin

from spend.models import Budget, Discrepancy, LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "counts_at", "user", "job", "shortapi_job_id", "kind", "basis",
                    "amount", "model_id"]
    list_filter = ["kind", "basis", "model_id", "counts_at", "user"]
    search_fields = ["user__username", "job__id", "shortapi_job_id"]
    list_select_related = ["user", "job"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "amount"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]


@admin.register(Discrepancy)
class DiscrepancyAdmin(admin.ModelAdmin):
    list_display = ["found_at", "job", "shortapi_job_id", "what", "ours", "theirs", "difference",
                    "fixed_at"]
    list_filter = ["what", "fixed_at"]
    search_fields = ["shortapi_job_id", "job__id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
