"""A job as the API shows it (and as webhooks tell of it), and absolute links: through
PUBLIC_BASE_URL when the studio knows its public address (as e-mails do), else the address the
request came to."""

from django.conf import settings
from django.urls import reverse

from jobs import catalogue
from jobs.models import Job

# a failure's reason is shown for these, as the job's page does
EXPLAINED = (Job.Status.FAILED, Job.Status.UNKNOWN, Job.Status.STOPPED)


def absolute(request, path):
    """`path` as a link; `request` None (a webhook, made by a worker): PUBLIC_BASE_URL's."""
    if settings.PUBLIC_BASE_URL or request is None:
        return settings.PUBLIC_BASE_URL + path
    return request.build_absolute_uri(path)


def video_path(pk):
    """The API's download address of a job's kept video (webhooks name it too)."""
    return reverse("api-v1:job-video", kwargs={"pk": pk})


def job_json(request, job):
    # the download answers with our copy once it is kept, with ShortAPI's until then
    succeeded = job.status == Job.Status.SUCCEEDED
    return {
        "id": job.pk, "title": job.display_title, "status": job.status,
        "status_label": job.status_label, "model": job.model_id, "mode": job.mode,
        "duration": job.duration, "takes": job.takes, "take_number": job.take_number,
        "prompt": job.prompt, "project": job.project_id,
        "estimate": str(catalogue.money(job.estimate)), "cost": str(catalogue.money(job.cost)),
        "error": job.error if job.status in EXPLAINED else "",
        "created_at": job.created_at, "finished_at": job.finished_at,
        "url": absolute(request, job.get_absolute_url()),
        "video_url": absolute(request, video_path(job.pk)) if succeeded else None,
    }
