"""The admin's view of jobs: every field, searchable, and the actions an admin may take."""

from django.contrib import admin, messages

from jobs import tasks
from jobs.models import Element, Job, Shot


class ShotInline(admin.TabularInline):
    model = Shot
    fields = ["position", "duration", "prompt"]
    extra = 0


class ElementInline(admin.TabularInline):
    model = Element
    fields = ["position", "name", "frontal_image"]
    extra = 0


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    inlines = [ShotInline, ElementInline]
    list_display = ["id", "owner", "status", "model_id", "mode", "duration", "estimate", "amount",
                    "refunded", "created_at"]
    list_filter = ["status", "model_id", "mode", "refunded", "created_at"]
    search_fields = ["id", "owner__username", "prompt", "shortapi_job_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["status", "shortapi_job_id", "amount", "refunded", "estimate", "error",
                       "video_url", "video", "video_error", "submit_attempts", "submitted_at",
                       "finished_at", "created_at", "last_polled_at", "next_attempt_at"]
    exclude = ["callback_token"]
    actions = ["mark_failed", "resend"]

    @admin.action(description="Give up on the selected queued or outcome-unknown jobs")
    def mark_failed(self, request, queryset):
        # Jobs ShortAPI is working on are left alone: it may still deliver, and charge.
        queryset = queryset.filter(status__in=[Job.Status.QUEUED, Job.Status.UNKNOWN])
        moved = sum(job.mark_failed("An admin stopped this job.") for job in queryset)
        self.message_user(request, f"{moved} job(s) marked failed.", messages.SUCCESS)

    @admin.action(description="Send the selected outcome-unknown jobs again (may charge twice)")
    def resend(self, request, queryset):
        moved = [job for job in queryset.filter(status=Job.Status.UNKNOWN) if job.resend()]
        for job in moved:
            tasks.enqueue_submission(job)
        self.message_user(request, f"{len(moved)} job(s) sent again. If ShortAPI did start the "
                                   "first attempt, it charges for both.", messages.WARNING)
