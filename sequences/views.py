"""Pages and endpoints of sequences. A person reaches the sequences open to them
(`open_sequence`: their own, their teams'); any other answers 404, staff included, as jobs do.
Every change is a plain POST that works without a script and comes back to the page.
"""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from jobs.models import Job
from jobs.views import back
from lib import media
from sequences import exporting
from sequences.forms import NEW, AddForm, RenameForm, SequenceForm, TrimForm
from sequences.models import Export, Sequence, SequenceTake


def open_sequence(request, pk):
    return get_object_or_404(Sequence.objects.open_to(request.user)
                             .select_related("project__team", "owner"), pk=pk)


def sequence_take(request, pk, take):
    sequence = open_sequence(request, pk)
    return sequence, get_object_or_404(SequenceTake.objects.select_related("job"), pk=take,
                                       sequence=sequence)


def sequences(request):
    form = SequenceForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        sequence = form.save(commit=False)
        sequence.owner = request.user
        sequence.save()
        messages.success(request, f"Sequence “{sequence.name}” made. Add finished videos to it "
                                  "from My videos, a job's page or a comparison.")
        return redirect(sequence)
    shown = (Sequence.objects.open_to(request.user).select_related("project__team", "owner",
                                                                   "export")
             .prefetch_related("takes"))
    return render(request, "sequences/list.html", {"sequences": shown, "form": form},
                  status=400 if form.errors else 200)


@require_GET
def sequence_detail(request, pk):
    sequence = open_sequence(request, pk)
    return render(request, "sequences/detail.html", detail_context(request, sequence))


def detail_context(request, sequence, trim_form=None, problems=(), take_problems=None,
                   rename_form=None):
    takes = sequence.takes_in_order()
    for take in takes:
        take.measure()  # a take added before its video was kept
        take.form = trim_form if trim_form and trim_form.take.pk == take.pk else TrimForm(take=take)
        take.problem = (take_problems or {}).get(take.pk, "")
    lengths = [take.kept_seconds for take in takes]
    export = Export.objects.filter(sequence=sequence).first()
    return {"sequence": sequence, "takes": takes, "problems": problems,
            "rename_form": rename_form or RenameForm(instance=sequence), "export": export,
            "export_hidden": export is not None and export.hidden_from(request.user),
            "length": sum(lengths) if takes and None not in lengths else None}


@require_POST
def add_take(request):
    """Add a finished video to one of the person's sequences, or to a new one (in the video's
    project when that is open to them), then go back where they were."""
    form = AddForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a sequence to add the video to, or “New sequence…”.")
        return redirect(back(request, "sequences"))
    job = get_object_or_404(Job.objects.visible_to(request.user).select_related("project__team"),
                            pk=form.cleaned_data["job"])
    if form.cleaned_data["sequence"] == NEW:
        sequence = Sequence(name=form.cleaned_data["name"] or job.display_title[:80],
                            owner=request.user,
                            project=job.project if job.project and job.project.open_to(request.user)
                            else None)
    else:
        sequence = open_sequence(request, form.cleaned_data["sequence"])
    if refusal := sequence.refusal_to_add(job, request.user):
        messages.error(request, refusal)
        return redirect(back(request, job.get_absolute_url()))
    if sequence.pk is None:
        sequence.save()
    take = sequence.add(job)
    messages.success(request, f"“{job.display_title}” is take {take.position + 1} of the "
                              f"sequence “{sequence.name}”.")
    return redirect(back(request, sequence.get_absolute_url()))


@require_POST
def move_take(request, pk, take):
    sequence, take = sequence_take(request, pk, take)
    sequence.move(take, -1 if request.POST.get("direction") == "up" else 1)
    return redirect(f"{sequence.get_absolute_url()}#take-{take.pk}")


@require_POST
def remove_take(request, pk, take):
    sequence, take = sequence_take(request, pk, take)
    sequence.remove(take)
    messages.success(request, f"“{take.job.display_title}” is out of the sequence; the video "
                              "itself is untouched.")
    return redirect(sequence)


@require_POST
def trim_take(request, pk, take):
    sequence, take = sequence_take(request, pk, take)
    form = TrimForm(request.POST, take=take)
    if not form.is_valid():
        return render(request, "sequences/detail.html",
                      detail_context(request, sequence, trim_form=form), status=400)
    take.set_trim(form.cleaned_data["trim_start"], form.cleaned_data["trim_end"])
    return redirect(f"{sequence.get_absolute_url()}#take-{take.pk}")


@require_POST
def rename_sequence(request, pk):
    sequence = open_sequence(request, pk)
    # a copy of its own: a refused name leaves the page's heading as it was
    form = RenameForm(request.POST, instance=open_sequence(request, pk))
    if not form.is_valid():
        return render(request, "sequences/detail.html",
                      detail_context(request, sequence, rename_form=form), status=400)
    form.save()
    messages.success(request, f"Sequence renamed “{form.instance.name}”.")
    return redirect(form.instance)


@require_POST
def delete_sequence(request, pk):
    sequence = open_sequence(request, pk)
    sequence.delete_with_export()
    messages.success(request, f"Sequence “{sequence.name}” deleted; its videos are untouched.")
    return redirect("sequences")


@require_POST
def export_sequence(request, pk):
    """Check the sequence, then queue its export unless one is already on its way."""
    sequence = open_sequence(request, pk)
    started = exporting.start(sequence, request.user)
    if started.problems:
        return render(request, "sequences/detail.html",
                      detail_context(request, sequence, problems=started.problems,
                                     take_problems=started.take_problems), status=400)
    if started.too_often:
        messages.error(request, started.too_often)
    elif not started.queued:
        messages.info(request, "This sequence is already being exported: its progress is below.")
    return redirect(f"{sequence.get_absolute_url()}#export")


@require_GET
@never_cache
def export_status(request, pk):
    export = get_object_or_404(Export, sequence=open_sequence(request, pk))
    return JsonResponse({
        "status": export.status,
        "label": "Stopped: export again" if export.lost else export.get_status_display(),
        "progress": export.progress,
        "running": export.running,
        "error": export.error if export.status == Export.Status.FAILED else "",
        "video": bool(export.file),
        "duration": None if export.duration is None else float(export.duration),
    })


@require_GET
def export_video(request, pk):
    sequence = open_sequence(request, pk)
    export = get_object_or_404(Export, sequence=sequence)
    if export.hidden_from(request.user):
        return render(request, "sequences/export_hidden.html", {"sequence": sequence},
                      status=403)
    # the address stays while each export replaces the last: a browser asks again every time
    return media.serve(request, export.file.name, "video/mp4", max_age=0,
                       attachment="download" in request.GET, filename=sequence.download_name())
