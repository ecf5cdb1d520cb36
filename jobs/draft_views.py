"""Drafts, remixes and continuations: jobs kept unsent, and new jobs started from an old one (its
settings, its last frame, or the recipe inside a video file it made).

All of them open the composer filled in. Whatever it sends goes to the composer's own view
(`views.compose`), so a draft is submitted through exactly the checks, budget hold and queueing
any new job gets; only saving a draft has a view here. A draft is its owner's alone, like a job:
anybody else gets a 404. A remix or a continuation may start from a teammate's job in a shared
project.
"""

from django.contrib import messages
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jobs import continuing, recipes, submission
from jobs.forms import ComposeForm
from jobs.models import Job
from jobs.views import composer, visible_job
from spend.models import Decision


def own_draft(request, pk):
    return get_object_or_404(Job.objects.drafts(), pk=pk, owner=request.user)


@require_GET
def drafts(request):
    declines = Decision.objects.filter(approved=False).select_related("approver")
    drafts = (Job.objects.owned_by(request.user).drafts().order_by("-updated_at")
              .prefetch_related("shots", "elements", Prefetch("decisions", declines)))
    return render(request, "jobs/drafts.html",
                  {"drafts": drafts, "recipe_form": recipes.RecipeFileForm()})


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


@require_GET
def continue_job(request, pk):
    """The composer for the next shot: the job's last frame as its start frame."""
    job = visible_job(request, pk)
    try:
        start_frame = continuing.start_frame_after(job, request.user)
    except continuing.CannotContinue as problem:
        messages.error(request, str(problem))
        return redirect(job)
    return composer(request, ComposeForm.continuation_of(job, request.user, start_frame))


@require_http_methods(["GET", "POST"])
def remix_from_file(request):
    """The composer filled in from the recipe inside a video file Kling Studio made."""
    if request.method == "GET":
        return render(request, "jobs/remix_file.html", {"recipe_form": recipes.RecipeFileForm()})
    if "take" in request.POST:  # one take picked from an exported sequence's file
        recipe = recipes.picked_take(request.POST["take"])
        if recipe is None:
            messages.error(request, "That choice has expired. Choose the file again.")
            return redirect("remix-from-file")
        return _composer_from(request, recipe)
    form = recipes.RecipeFileForm(request.POST, request.FILES)
    if form.is_valid():
        recipe = form.cleaned_data["video"]
        if takes := recipes.takes_of(recipe):
            return render(request, "jobs/remix_pick.html",
                          {"takes": takes, "name": recipes.sequence_name(recipe)})
        return _composer_from(request, recipe)
    return render(request, "jobs/remix_file.html", {"recipe_form": form}, status=400)


def _composer_from(request, recipe):
    """The composer filled in from one take's recipe."""
    fields, staged, shots, elements, notes = recipes.composer_input(recipe, request.user)
    filled = ComposeForm(user=request.user, initial=fields, shot_rows=shots,
                         element_rows=elements)
    filled.staged = staged
    for note in notes:
        messages.info(request, note)
    return composer(request, filled)
