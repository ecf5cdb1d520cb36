"""Images staged ahead of a job, and the projects a person may put one in.

`POST /uploads` checks an image as the composer checks a frame and keeps it under `staged/` for a
day (`jobs.staging`); the reference it answers goes in `start_frame_staged` or `end_frame_staged`
of `POST /jobs`, and works only for the person who staged it. Uploads are counted per person, as
videos are, since each one is kept on disk for a day.
"""

from django.core.exceptions import ValidationError
from ninja import Router, Status

from api.errors import FIX_FIELDS, ApiError
from api.schemas import Error, ProjectList, Upload
from jobs import limits, staging
from lib import ratelimit
from teams.models import Project

router = Router()
MAX_PROJECTS = 200
IMAGE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["image"], "properties": {"image": {
        "type": "string", "format": "binary",
        "description": "JPG or PNG (WebP is converted), up to 10 MB, each side at least "
                       "300 px, between 1:2.5 and 2.5:1."}}}}}}}


@router.post("/uploads", response={201: Upload, 400: Error, 401: Error, 413: Error, 429: Error},
             openapi_extra=IMAGE_BODY, tags=["jobs"], summary="Stage an image for a job")
def upload(request):
    image = request.FILES.get("image")
    if image is None:
        raise ApiError(400, FIX_FIELDS, {"image": [
            "Attach the image as the multipart field “image”."]})
    if wait := ratelimit.wait_for(limits.staging_limit(), request.user.pk):
        raise ApiError(429, f"You have staged {limits.staging_limit().count} images in the last "
                            f"{limits.staging_limit().window}, as many as one person may. Try "
                            f"again in {wait // 60 + 1} minutes.",
                       headers={"Retry-After": str(wait)})
    try:
        picked = staging.pick(image, "", request.user)
    except ValidationError as error:
        raise ApiError(400, FIX_FIELDS, {"image": list(error.messages)}) from None
    return Status(201, {"reference": staging.stage(picked, request.user),
                        "expires_in_seconds": staging.MAX_AGE})


@router.get("/projects", response={200: ProjectList, 401: Error}, tags=["projects"],
            summary="Projects you may put jobs in")
def projects(request):
    """Your own projects and your teams', by name (the first 200)."""
    found = list(Project.objects.open_to(request.user).select_related("team")
                 .order_by("name", "pk")[:MAX_PROJECTS + 1])
    return {"projects": [{"id": project.pk, "name": project.name,
                          "team": project.team.name if project.team else None}
                         for project in found[:MAX_PROJECTS]],
            "more": len(found) > MAX_PROJECTS}

