"""Admin pages for the ledger (read-only: money history is never edited by hand) and budgets."""

from django.contrib import admin

from spend.models import Budget, LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "user", "job", "kind", "amount", "model_id"]
    list_filter = ["kind", "model_id", "created_at", "user"]
    search_fields = ["user__username", "job__id", "job__shortapi_job_id"]
    date_hierarchy = "created_at"
    list_select_related = ["user", "job"]

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
