"""The admin's view of webhook endpoints and their deliveries (secrets are never shown)."""

from django.contrib import admin

from webhooks.models import Attempt, Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "owner", "team", "enabled", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "owner__username", "team__name"]
    exclude = ["secret"]
    raw_id_fields = ["owner", "created_by"]


class AttemptInline(admin.TabularInline):
    model = Attempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "started_at", "milliseconds", "status_code", "error", "answer"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ["event", "endpoint", "status", "attempts", "created_at", "next_attempt_at"]
    list_filter = ["status", "event"]
    readonly_fields = ["endpoint", "event", "message_id", "body", "created_at", "finished_at"]
    inlines = [AttemptInline]
