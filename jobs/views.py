"""Pages and endpoints. Views are thin: forms check, models change state, tasks do the work.

Every view needs a signed-in user (LoginRequiredMiddleware) except the ShortAPI callback and the
signed image URLs, which carry their own unguessable secrets. A person only ever reaches their
own jobs: `own_job` answers 404 for anybody else's, staff included (staff use the admin).
"""

import hmac

from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.contrib.auth.decorators import login_not_required
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from jobs import catalogue, images, shortapi, tasks
from jobs.forms import ComposeForm
from jobs.staging import staged_name
from jobs.models import Element, Job
from spend import budgets

GALLERY_PAGE_SIZE = 12


def own_job(request, pk):
    return get_object_or_404(Job, pk=pk, owner=request.user)


def image_response(name):
    """A stored image by its storage name; callers decide who may have it."""
    if not name or not default_storage.exists(name):
        raise Http404("No such image")
    return FileResponse(default_storage.open(name, "rb"), content_type=images.content_type(name))


def composer(request, form):
    return render(request, "jobs/compose.html",
                  {"form": form, "catalogue": catalogue.as_client_json(),
                   "standing": budgets.standing(request.user)})


@require_GET
def gallery(request):
    jobs = Job.objects.owned_by(request.user).sent().with_cost()
    page = Paginator(jobs, GALLERY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "jobs/gallery.html",
                  {"page": page, "standing": budgets.standing(request.user)})


def compose(request):
    if request.method == "POST":
        form = ComposeForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            try:
                with transaction.atomic():
                    budgets.hold(request.user, form.cleaned_data["estimate"])
                    job = form.save()
                    tasks.enqueue_submission(job)
            except budgets.BudgetExceeded as refusal:
                form.add_error(None, str(refusal))
            else:
                return redirect(job)
        form.stage_frames()
    else:
        form = ComposeForm(user=request.user)
    return composer(request, form)


@require_GET
def job_detail(request, pk):
    return render(request, "jobs/detail.html", {"job": own_job(request, pk)})


@require_GET
@never_cache
def job_status(request, pk):
    job = own_job(request, pk)
    return JsonResponse({
        "status": job.status,
        "label": job.get_status_display(),
        "finished": job.is_finished,
        "error": job.error if job.status in (Job.Status.FAILED, Job.Status.UNKNOWN) else "",
        "charged": catalogue.format_money(job.amount),
        "cost": catalogue.format_money(job.cost),
        "video": job.status == Job.Status.SUCCEEDED,
    })


@require_GET
def job_frame(request, pk, which):
    frame = {"start": "start_frame", "end": "end_frame"}.get(which)
    if frame is None:
        raise Http404("No such frame")
    return image_response(getattr(own_job(request, pk), frame).name)


@require_GET
def job_element_image(request, pk, position, reference=None):
    element = get_object_or_404(Element, job=own_job(request, pk), position=position)
    if reference is None:
        image = element.frontal_image
    else:
        image = getattr(element.references.filter(position=reference).first(), "image", None)
    return image_response(image.name if image else "")


@require_GET
def job_video(request, pk):
    job = own_job(request, pk)
    if job.status != Job.Status.SUCCEEDED:
        raise Http404("No video yet")
    if not job.video:
        # Not kept yet (the download is retried): ShortAPI's own copy still plays.
        return redirect(job.video_url)
    return FileResponse(job.video.open("rb"), content_type="video/mp4",
                        as_attachment="download" in request.GET,
                        filename=f"kling-studio-job-{job.pk}.mp4")


@require_GET
def staged_frame(request, token):
    return image_response(staged_name(token, request.user))


@login_not_required
@require_GET
def signed_image(request, token):
    return image_response(images.unsign(token))


@login_not_required
@csrf_exempt
@require_POST
def shortapi_callback(request, token):
    # The body is unsigned, so it is only a hint: the task asks ShortAPI itself what happened.
    job = Job.objects.filter(callback_token=token).only("pk", "callback_token", "status").first()
    if job is None or not hmac.compare_digest(job.callback_token, token):
        raise Http404("Unknown callback")
    if job.status in (Job.Status.SUBMITTING, Job.Status.UNKNOWN):
        # The create call's answer was lost; only ShortAPI knows this URL, so the id it names
        # is worth asking ShortAPI about.
        if hinted := shortapi.callback_job_id(request.body):
            async_task(tasks.resolve_unknown, job.pk, hinted, task_name=f"resolve-{job.pk}")
    else:
        async_task(tasks.refresh_job, job.pk, task_name=f"callback-{job.pk}")
    return JsonResponse({"ok": True})
