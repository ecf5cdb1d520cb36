"""Admin pages for the ledger and approval decisions (read-only: money history is never edited
by hand) and budgets (a person's, a team's, or the default, with their approval rules)."""

from django.contrib import admin

from jobs import catalogue
from spend.models import Budget, Decision, Discrepancy, LedgerEntry


class ModelFilter(admin.SimpleListFilter):
    """The catalogue's models, without reading every entry to find which exist."""

    title, parameter_name = "model", "model_id"

    def lookups(self, request, model_admin):
        return [(model.id, model.label) for model in catalogue.MODELS.values()]

    def queryset(self, request, queryset):
        return queryset.filter(model_id=self.value()) if self.value() else queryset


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "counts_at", "user", "job", "shortapi_job_id", "kind", "basis",
                    "amount", "model_id"]
    list_filter = ["kind", "basis", ModelFilter, "counts_at", "user"]
    search_fields = ["user__username", "job__id", "shortapi_job_id"]
    list_select_related = ["user", "job"]
    # as the job list: no full count, a page of 25
    show_full_result_count = False
    list_per_page = 25

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ScopeFilter(admin.SimpleListFilter):
    """Whose budgets: people's, teams', or the default."""

    title, parameter_name = "for", "scope"

    def lookups(self, request, model_admin):
        return [("person", "A person"), ("team", "A team"), ("default", "Everyone (default)")]

    def queryset(self, request, queryset):
        return {"person": queryset.filter(user__isnull=False),
                "team": queryset.filter(team__isnull=False),
                "default": queryset.filter(user=None, team=None)}.get(self.value(), queryset)


@admin.register(Budget)
class BudgetAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "team", "amount", "approve_over", "approve_past_percent"]
    fieldsets = [(None, {"fields": ["user", "team", "amount"]}),
                 ("Approval (a team's budget or the default only)", {
                     "fields": ["approve_over", "approve_past_percent"],
                     "description": "Submissions these rules catch wait for an approver (the "
                                    "team's approvers, or staff) before they are sent. A team's "
                                    "rules apply to its projects' jobs; the default's to every "
                                    "other job, measured against its owner's own budget."})]
    list_filter = [ScopeFilter, ("team", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["user", "team"]
    list_select_related = ["user", "team"]


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


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["decided_at", "approved", "approver", "requester", "job", "title", "takes",
                    "estimate", "note"]
    list_filter = ["approved", "decided_at"]
    search_fields = ["approver__username", "requester__username", "job__id", "title"]
    list_select_related = ["approver", "requester", "job"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
