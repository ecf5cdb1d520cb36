"""The admin's view of jobs: every field, searchable, and the actions an admin may take.

None of them writes money: giving up a job, stopping following it, or resending it only moves
the job; the ledger changes when ShortAPI says something (spend.policy).
"""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from jobs import catalogue, shortapi, tasks
from jobs.models import Element, Job, Shot


class ShotInline(admin.TabularInline):
    model = Shot
    fields = ["position", "duration", "prompt"]
    extra = 0


class ElementInline(admin.TabularInline):
    model = Element
    fields = ["position", "name", "frontal_image"]
    extra = 0


class ResolveForm(forms.Form):
    shortapi_job_id = forms.CharField(
        label="ShortAPI job id", max_length=200, required=False,
        help_text="The id ShortAPI shows for this job in its dashboard or invoice. Leave it "
                  "empty if ShortAPI has no job for it.")


class ModeFilter(admin.SimpleListFilter):
    """The catalogue's modes, without reading every job to find which exist."""

    title, parameter_name = "mode", "mode"

    def lookups(self, request, model_admin):
        return list(catalogue.MODE_LABELS.items())

    def queryset(self, request, queryset):
        return queryset.filter(mode=self.value()) if self.value() else queryset


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    inlines = [ShotInline, ElementInline]
    list_display = ["id", "title", "owner", "project", "status", "model_id", "mode", "duration",
                    "estimate", "amount", "refunded", "created_at"]
    list_filter = ["status", "model_id", ModeFilter, "refunded", "project__team", "created_at"]
    search_fields = ["id", "owner__username", "title", "prompt", "shortapi_job_id"]
    list_select_related = ["owner", "project"]
    raw_id_fields = ["project"]
    # no full count or date drill-down: both read every row, and the list has to stay quick at
    # a hundred thousand jobs
    show_full_result_count = False
    list_per_page = 25
    readonly_fields = ["status", "shortapi_job_id", "amount", "refunded", "estimate", "error",
                       "video_url", "video", "video_error", "submit_attempts", "submitted_at",
                       "finished_at", "created_at", "last_polled_at", "next_poll_at",
                       "next_attempt_at"]
    exclude = ["callback_token", "task_queued_at", "take_group"]
    actions = ["give_up", "stop_watching", "resend"]
    change_form_template = "admin/jobs/job/change_form.html"

    @admin.action(description="Give up the selected queued or outcome-unknown jobs (no charge "
                              "is written or refunded)")
    def give_up(self, request, queryset):
        # Jobs being sent or made are left alone: ShortAPI may still deliver, and charge.
        queryset = queryset.filter(status__in=[Job.Status.QUEUED, Job.Status.UNKNOWN])
        moved = sum(job.give_up("An admin gave this job up.") for job in queryset)
        self.message_user(request, f"{moved} job(s) given up. A job ShortAPI turns out to have "
                                   "made is still charged and kept.", messages.SUCCESS)

    @admin.action(description="Stop following the selected overdue jobs (their charges stand)")
    def stop_watching(self, request, queryset):
        moved = sum(job.stop_watching("An admin stopped following this job; ShortAPI had not "
                                      "finished it. Its charge stands.")
                    for job in queryset.filter(status__in=Job.Status.watched()) if job.is_overdue)
        self.message_user(request, f"{moved} overdue job(s) no longer followed. A late answer "
                                   "from ShortAPI still counts.", messages.SUCCESS)

    @admin.action(description="Send the selected outcome-unknown jobs again (may charge twice)")
    def resend(self, request, queryset):
        moved = [job for job in queryset.filter(status=Job.Status.UNKNOWN) if job.resend()]
        for job in moved:
            tasks.enqueue_submission(job)
        self.message_user(request, f"{len(moved)} job(s) sent again. If ShortAPI did start the "
                                   "first attempt, it charges for both.", messages.WARNING)

    def get_urls(self):
        return [path("<int:pk>/resolve/", self.admin_site.admin_view(self.resolve_view),
                     name="jobs_job_resolve")] + super().get_urls()

    def resolve_view(self, request, pk):
        """Settle an outcome-unknown job from what ShortAPI's dashboard shows: confirm the id of
        the job ShortAPI made (it is then charged and followed), or give it up."""
        job = get_object_or_404(Job, pk=pk)
        if not self.has_change_permission(request, job):
            return redirect("admin:index")
        form = ResolveForm(request.POST or None)
        if request.method == "POST" and form.is_valid() and job.awaits_its_id:
            shortapi_job_id = form.cleaned_data["shortapi_job_id"].strip()
            if not shortapi_job_id:
                job.give_up("An admin found that ShortAPI made no job for this one.")
                self.message_user(request, f"Job {job.pk} given up; nothing was charged.")
                return redirect(reverse("admin:jobs_job_change", args=[job.pk]))
            try:
                tasks.confirm_shortapi_job(job, shortapi_job_id)
            except shortapi.ShortAPIError as error:
                form.add_error("shortapi_job_id", f"ShortAPI does not confirm this id: "
                                                  f"{error.message}")
            else:
                self.message_user(request, f"Job {job.pk} is ShortAPI job {shortapi_job_id}: it "
                                           "is charged from the table and followed from now on.")
                return redirect(reverse("admin:jobs_job_change", args=[job.pk]))
        return render(request, "admin/jobs/job/resolve.html", {
            **self.admin_site.each_context(request), "job": job, "form": form,
            "opts": self.model._meta, "title": f"Resolve job {job.pk}"})
