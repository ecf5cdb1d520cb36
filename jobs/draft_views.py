"""Drafts and remixes: jobs kept unsent, and new jobs started from an old one.

Both open the composer filled in. Whatever it sends goes to the composer's own view
(`views.compose`), so a draft is submitted through exactly the checks, budget hold and queueing
any new job gets; only saving a draft has a view here. A draft is its owner's alone, like a job:
anybody else gets a 404. A remix may start from a teammate's job in a shared project.
"""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from jobs import submission
from jobs.forms import ComposeForm
from jobs.models import Job
from jobs.views import composer, visible_job


def own_draft(request, pk):
    return get_object_or_404(Job.objects.drafts(), pk=pk, owner=request.user)


@require_GET
def drafts(request):
    drafts = (Job.objects.owned_by(request.user).drafts().order_by("-updated_at")
              .prefetch_related("shots", "elements"))
    return render(request, "jobs/drafts.html", {"drafts": drafts})


@require_POST
def save_draft(request):
    form = ComposeForm(request.POST, request.FILES, user=request.user, as_draft=True)
    if form.is_valid():
        try:
            job = submission.keep_draft(request.user, form.request(), form.draft)
        except submission.DraftGone:
            form.add_error(None, submission.DRAFT_GONE)
            form.stage_frames()
            return composer(request, form)
        messages.success(request, f"Draft {job.pk} saved. Nothing is sent or charged until you "
                                  "submit it.")
        return redirect("drafts")
    form.stage_frames()
    return composer(request, form)


@require_GET
def edit_draft(request, pk):
    draft = own_draft(request, pk)
    return composer(request, ComposeForm.copy_of(draft, request.user, draft=draft))


@require_POST
def delete_draft(request, pk):
    draft = own_draft(request, pk)
    with transaction.atomic():
        deleted = draft.delete_draft()
    if deleted:
        messages.success(request, f"Draft {pk} deleted.")
    return redirect("drafts")


@require_GET
def remix(request, pk):
    return composer(request, ComposeForm.copy_of(visible_job(request, pk), request.user))
