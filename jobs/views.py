"""Pages and endpoints. Views are thin: forms check, models change state, tasks do the work.

Every view needs a signed-in user (LoginRequiredMiddleware) except the ShortAPI callback and the
signed image URLs, which carry their own unguessable secrets. A person reaches their own jobs and
their teammates' jobs in their teams' projects (`visible_job`: see, play, download, remix, star);
only the owner renames one (`own_job`). Anybody else gets 404, staff included (staff use the
admin).
"""

import hmac

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from jobs import catalogue, finding, images, limits, recipes, shortapi, submission, tasks
from jobs.forms import ComposeForm, TitleForm
from jobs.models import Element, Job, Star
from jobs.staging import staged_name
from lib import media, ratelimit
from spend import approvals, budgets

GALLERY_PAGE_SIZE = 12
# a job declined and sent again many times lists its latest decisions
DECISIONS_SHOWN = 10


def own_job(request, pk):
    return get_object_or_404(Job, pk=pk, owner=request.user)


def visible_job(request, pk):
    return get_object_or_404(Job.objects.visible_to(request.user), pk=pk)


def framed_job(request, pk):
    """A job whose start frame and poster this person may see: one they may see anyway, or one
    waiting for their approval (spend.approvals)."""
    job = Job.objects.visible_to(request.user).filter(pk=pk).first()
    if job is None:
        job = Job.objects.filter(pk=pk, status=Job.Status.WAITING).first()
        if job is None or not approvals.may_see_frames(request.user, job):
            raise Http404("No such job")
    return job


def image_response(request, name, max_age=3600, presign=True):
    """A stored image by its storage name; callers decide who may have it."""
    return media.serve(request, name, images.content_type(name or ""), max_age=max_age,
                       presign=presign)


def composer(request, form, status=200):
    return render(request, "jobs/compose.html",
                  {"form": form, "catalogue": catalogue.as_client_json(),
                   "standing": budgets.standing(request.user),
                   "teams": budgets.teams_of(request.user),
                   "max_request_mb": settings.KLING_MAX_REQUEST_MB}, status=status)


@require_GET
def gallery(request):
    finder = finding.Finder(request.GET, user=request.user)
    page = finder.page(Job.objects.owned_by(request.user).sent(), GALLERY_PAGE_SIZE)
    return render(request, "jobs/gallery.html",
                  {"page": page, "finder": finder, "groups": finding.group_takes(page),
                   "standing": budgets.standing(request.user)})


def compose(request):
    status = 200
    if request.method == "POST":
        form = ComposeForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            if refusal := too_often(request):
                form.add_error(None, refusal)
                status = 429
            else:
                try:
                    job = submission.send(request.user, form.request(), form.draft)
                except budgets.BudgetExceeded as refusal:
                    form.add_error(None, str(refusal))
                except submission.DraftGone:
                    form.add_error(None, submission.DRAFT_GONE)
                else:
                    if job.status == Job.Status.WAITING:
                        messages.info(request, approvals.SENT_FOR_APPROVAL)
                    return redirect(job)
        form.stage_frames()
    else:
        asked = request.GET.get("project", "")
        initial = {"project": asked} if asked.isdecimal() else {}
        form = ComposeForm(user=request.user, initial=initial)
    return composer(request, form, status)


def too_often(request):
    """Why this person (or address) may not send another video just now, or ""."""
    return compose_wait(request)[0]


def compose_wait(request, kept=", and everything you entered is kept below"):
    """(why this person or address may not send another video just now, seconds until they
    may), or ("", 0). Counts this request against both limits. The API says no `kept`."""
    person, address = limits.compose_limits()
    for limit, key, who in ((person, request.user.pk, "You have"),
                            (address, ratelimit.client_ip(request), "People at your address have")):
        if wait := ratelimit.wait_for(limit, key):
            minutes = max(1, round(wait / 60))
            return (f"{who} sent {limit.count} videos in the last {limit.window}, the most Kling "
                    f"Studio takes in that time. Try again in {minutes} minute"
                    f"{'s' if minutes != 1 else ''}: nothing was sent or charged{kept}.", wait)
    return "", 0


@require_GET
def job_detail(request, pk):
    job = visible_job(request, pk)
    return render(request, "jobs/detail.html", detail_context(request, job))


def detail_context(request, job, title_form=None):
    takes = []
    if job.take_group:
        takes = list(Job.objects.visible_to(request.user).filter(take_group=job.take_group)
                     .order_by("take_number"))
    finished = [take for take in takes if take.status == Job.Status.SUCCEEDED]
    visible = Job.objects.visible_to(request.user)
    return {"job": job, "mine": job.is_owned_by(request.user), "takes": takes,
            # the shots before and after this one, as far as this person may see them
            "previous_shot": (visible.filter(pk=job.continues_id).first()
                              if job.continues_id else None),
            "next_shots": list(visible.filter(continues=job).order_by("created_at", "id")),
            "recipe_form": recipes.RecipeFileForm(),
            "compare_ids": [take.pk for take in finished] if len(finished) > 1 else [],
            "starred": Star.objects.filter(person=request.user, job=job).exists(),
            "waiting_message": (approvals.waiting_message(job)
                                if job.status == Job.Status.WAITING else ""),
            "may_decide": job.status == Job.Status.WAITING and approvals.may_decide(
                request.user, approvals.first_take(job)),
            "decisions": list(approvals.decisions_on(job)[:DECISIONS_SHOWN]),
            "chosen": job.project is not None and job.project.chosen_take_id == job.pk,
            "title_form": title_form or (TitleForm(instance=job)
                                         if job.is_owned_by(request.user) else None)}


@require_POST
def job_title(request, pk):
    job = own_job(request, pk)
    form = TitleForm(request.POST, instance=job)
    if form.is_valid():
        form.save()
        return redirect(job)
    job.refresh_from_db(fields=["title"])
    return render(request, "jobs/detail.html", detail_context(request, job, form), status=400)


@require_POST
def job_star(request, pk):
    """Star a job one may see, or take its star away; answers JSON to the page's script and
    goes back to the page it came from otherwise."""
    job = visible_job(request, pk)
    starred = request.POST.get("starred", "1") == "1"
    Star.mark(request.user, job, starred)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"starred": starred})
    return redirect(back(request, job.get_absolute_url()))


def back(request, default):
    """The page a form came from (its `next`) if it is one of ours, else `default`."""
    there = request.POST.get("next", "")
    # a path of ours: anything else (a bare word) would be taken for a view's name
    if there.startswith("/") and url_has_allowed_host_and_scheme(
            there, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return there
    return default


@require_GET
@never_cache
def job_status(request, pk):
    job = visible_job(request, pk)
    return JsonResponse({
        "status": job.status,
        "label": job.status_label,
        "finished": job.is_finished,
        "error": job.error if job.status in (Job.Status.FAILED, Job.Status.UNKNOWN,
                                             Job.Status.STOPPED) else "",
        "charged": catalogue.format_money(job.amount),
        "cost": catalogue.format_money(job.cost),
        "cost_note": job.cost_note,
        "video": job.status == Job.Status.SUCCEEDED,
        "kept": bool(job.video),
    })


@require_GET
def job_frame(request, pk, which):
    frame = {"start": "start_frame", "end": "end_frame"}.get(which)
    if frame is None:
        raise Http404("No such frame")
    job = framed_job(request, pk)
    # a draft's frames change as it is edited; a sent job's never do
    return image_response(request, getattr(job, frame).name, max_age=0 if job.is_draft else 3600)


@require_GET
def job_poster(request, pk):
    job = framed_job(request, pk)
    if not job.poster and job.start_frame:
        job.make_poster()
    return image_response(request, job.poster.name, max_age=0 if job.is_draft else 3600)


@require_GET
def job_element_image(request, pk, position, reference=None):
    element = get_object_or_404(Element, job=visible_job(request, pk), position=position)
    if reference is None:
        image = element.frontal_image
    else:
        image = getattr(element.references.filter(position=reference).first(), "image", None)
    return image_response(request, image.name if image else "")


@require_GET
def job_video(request, pk):
    job = visible_job(request, pk)
    if job.status != Job.Status.SUCCEEDED:
        raise Http404("No video yet")
    if not job.video:
        # Not kept yet (the download is retried): ShortAPI's own copy still plays.
        return redirect(job.video_url)
    return media.serve(request, job.video.name, "video/mp4", attachment="download" in request.GET,
                       filename=download_name(job))


def download_name(job):
    """kling-studio-job-812-harbour-at-dawn.mp4: the job's number and its title's first words,
    in plain ASCII."""
    words = slugify(job.title)[:60].strip("-")
    return f"kling-studio-job-{job.pk}{'-' + words if words else ''}.mp4"


@require_GET
def staged_frame(request, token):
    return image_response(request, staged_name(token, request.user))


@login_not_required
@require_GET
@never_cache
def health(request):
    """The web process answers: for load balancers and the image's health check."""
    return HttpResponse("ok", content_type="text/plain")


@login_not_required
@require_GET
def signed_image(request, token):
    # ShortAPI reads this: it may not reach a private bucket, so the bytes come through the app
    return image_response(request, images.unsign(token), presign=False)


@login_not_required
@csrf_exempt
@require_POST
def shortapi_callback(request, token):
    """A hint that a job changed. One indexed lookup, then (unless a task for the job already
    waits, which covers this change too) one conditional update and one queued task: however
    many callbacks arrive, a job has at most one task waiting."""
    if ratelimit.wait_for_here(limits.callback_limit(), ratelimit.client_ip(request)):
        return JsonResponse({"ok": False, "error": "Too many callbacks from this address."},
                            status=429)
    found = Job.objects.callback_target(token)
    if found is None or not hmac.compare_digest(found[4], token):
        raise Http404("Unknown callback")
    pk, status, shortapi_job_id, task_queued_at, _ = found
    now = timezone.now()
    if Job.task_waits(task_queued_at, now):
        return JsonResponse({"ok": True})  # a task already waits: it will see this change too
    # The body is unsigned, so it is only a hint: the task asks ShortAPI itself what happened.
    if Job.Status.awaiting_id(status, shortapi_job_id):
        # The create call's answer was lost; only ShortAPI knows this URL, so the id it names
        # is worth asking ShortAPI about.
        hinted = shortapi.callback_job_id(request.body)
        if hinted and Job.queue_task_once(pk, now):
            async_task(tasks.resolve_unknown, pk, hinted, task_name=f"resolve-{pk}")
    elif status in Job.Status.reported_by_shortapi():
        if Job.queue_task_once(pk, now):
            async_task(tasks.refresh_job, pk, task_name=f"callback-{pk}")
    return JsonResponse({"ok": True})
