"""Jobs through the API: make one with the composer's own form and rules, find them with the
gallery's filters and pages, read one, download its video, star it.

`POST /jobs` takes the composer's fields as multipart form data, checked by `ComposeForm` itself,
so a refusal carries word for word the messages the page shows beside each field; a frame is an
uploaded file or a reference from `POST /uploads`. The job is sent by `jobs.submission.send`,
which holds the budget and applies approvals, after the composer's rate limit.
"""

from django.http import HttpResponseRedirect
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from api.errors import FIX_FIELDS, ApiError, form_errors
from api.presenting import absolute, job_json
from api.schemas import Error, JobOut, JobPage, StarOut
from jobs import finding, submission, views
from jobs.forms import ComposeForm
from jobs.models import Job, Star
from lib import media
from spend import budgets

router = Router(tags=["jobs"])
MAX_PAGE = 50
REFUSALS = {400: Error, 401: Error, 404: Error}


def _compose_body():
    """The composer's fields, as the OpenAPI document's multipart body."""
    fields: dict[str, dict[str, object]] = {}
    for name, field in ComposeForm.base_fields.items():
        kind = ({"type": "string", "format": "binary"} if name in ("start_frame", "end_frame")
                else {"type": "string"})
        fields[name] = {**kind, "description": str(field.help_text or field.label or name)}
    for frame in ("start_frame", "end_frame"):
        fields[f"{frame}_staged"] = {"type": "string", "description": (
            f"Instead of uploading the {frame.replace('_', ' ')}: a reference from POST "
            "/api/v1/uploads.")}
    fields["model"]["enum"] = [choice for choice, _ in Job.MODEL_CHOICES]
    return {"requestBody": {"required": True, "content": {
        "multipart/form-data": {"schema": {"type": "object", "properties": fields}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object",
                                                         "properties": fields}}}}}


def visible(request, pk):
    job = Job.objects.visible_to(request.user).filter(pk=pk).first()
    if job is None:
        raise ApiError(404, f"There is no job {pk} that you may see: it does not exist, or it "
                            "is not yours or your team's.")
    return job


@router.post("/jobs", response={201: JobOut, **REFUSALS, 402: Error, 409: Error, 413: Error,
                                429: Error},
             openapi_extra=_compose_body(), summary="Make a video (one job per take)")
def create_job(request):
    """The composer's fields (multipart); 201 with the first take, queued or waiting for
    approval. 400: the field errors the composer shows; 402: over budget; 429: too many."""
    form = ComposeForm(request.POST, request.FILES, user=request.user)
    if not form.is_valid():
        raise ApiError(400, FIX_FIELDS, form_errors(form))
    refusal, wait = views.compose_wait(request, kept="")
    if refusal:
        raise ApiError(429, refusal, headers={"Retry-After": str(wait)})
    try:
        job = submission.send(request.user, form.request(), form.draft)
    except budgets.BudgetExceeded as exceeded:
        raise ApiError(402, str(exceeded)) from None
    except submission.DraftGone:
        raise ApiError(409, submission.DRAFT_GONE) from None
    return Status(201, job_json(request, job))


class Filters(Schema):
    q: str = Field("", max_length=200, description="Words of the title or prompt")
    model: str = ""
    status: str = Field("", description="done, working or failed")
    since: str = Field("", description="YYYY-MM-DD")
    until: str = Field("", description="YYYY-MM-DD")
    project: str = Field("", description="A project's id")
    starred: str = Field("", description="on: starred only")
    sort: str = Field("", description="newest, oldest, costliest or cheapest")
    before: str = Field("", description="Cursor: from a `next` link")
    after: str = Field("", description="Cursor: from a `previous` link")
    limit: int = Field(20, ge=1, le=MAX_PAGE, description="Jobs per page")


@router.get("/jobs", response={200: JobPage, 400: Error, 401: Error}, summary="Your jobs")
def list_jobs(request, filters: Query[Filters]):
    """Your sent jobs, as My videos lists them, with its filters, newest first by default;
    `next` and `previous` are the links to the neighbouring pages."""
    finder = finding.Finder(request.GET, user=request.user)
    if finder.errors:
        raise ApiError(400, "Some filters are not ones Kling Studio understands: fix them, "
                            "then try again.", {name: list(messages) for name, messages
                                                in finder.errors.items()})
    page = finder.page(Job.objects.owned_by(request.user).sent(), filters.limit)
    here = reverse("api-v1:list_jobs")
    return {"jobs": [job_json(request, job) for job in page],
            "next": absolute(request, f"{here}?{page.older}") if page.older else None,
            "previous": absolute(request, f"{here}?{page.newer}") if page.newer else None}


@router.get("/jobs/{id:pk}", response={200: JobOut, 401: Error, 404: Error},
            summary="One job")
def get_job(request, pk: int):
    return job_json(request, visible(request, pk))


@router.get("/jobs/{id:pk}/video", response={401: Error, 404: Error}, url_name="job-video",
            summary="Download a job's video", openapi_extra={"responses": {
                # OpenAPI 3.1: raw bytes are a media type without a schema
                "200": {"description": "The video", "content": {"video/mp4": {}}},
                "206": {"description": "The byte range asked for (Range)",
                        "content": {"video/mp4": {}}},
                "302": {"description": "Not kept here yet: ShortAPI's own copy, or a "
                                       "short-lived link to the studio's bucket"},
                "416": {"description": "A range past the end of the video"}}})
def job_video(request, pk: int):
    """The kept MP4, with byte ranges (`Range`) and `?download` for an attachment."""
    job = visible(request, pk)
    if job.status != Job.Status.SUCCEEDED:
        raise ApiError(404, f"Job {pk} has no video yet: it is {job.status_label.lower()}.")
    if not job.video:
        return HttpResponseRedirect(job.video_url)
    return media.serve(request, job.video.name, "video/mp4", attachment="download" in request.GET,
                       filename=views.download_name(job))


@router.put("/jobs/{id:pk}/star", response={200: StarOut, 401: Error, 404: Error},
            summary="Star a job")
def star_job(request, pk: int):
    Star.mark(request.user, visible(request, pk), True)
    return {"job": pk, "starred": True}


@router.delete("/jobs/{id:pk}/star", response={200: StarOut, 401: Error, 404: Error},
               summary="Take a job's star away")
def unstar_job(request, pk: int):
    Star.mark(request.user, visible(request, pk), False)
    return {"job": pk, "starred": False}

