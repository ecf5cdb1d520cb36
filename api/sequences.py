"""Sequences through the API: add a finished job as a take, and start an export, by the rules
and limits of the sequence's own page (`Sequence.refusal_to_add`, `sequences.exporting`)."""

from ninja import Router, Status

from api.errors import ApiError
from api.jobs import visible
from api.schemas import Error, ExportOut, TakeIn, TakeOut
from sequences import exporting
from sequences.views import open_sequence

router = Router(tags=["sequences"])


@router.post("/sequences/{id:pk}/takes",
             response={201: TakeOut, 400: Error, 401: Error, 404: Error, 409: Error},
             summary="Add a finished job to a sequence")
def add_take(request, pk: int, body: TakeIn):
    sequence = open_sequence(request, pk)
    job = visible(request, body.job)
    if refusal := sequence.refusal_to_add(job, request.user):
        raise ApiError(409, refusal, {"job": [refusal]})
    take = sequence.add(job)
    return Status(201, {"id": take.pk, "sequence": sequence.pk, "job": job.pk,
                        "position": take.position + 1})


@router.post("/sequences/{id:pk}/export",
             response={202: ExportOut, 401: Error, 404: Error, 409: Error, 429: Error},
             summary="Export a sequence into one video")
def export(request, pk: int):
    """202 once the export is queued, or already on its way (`queued` false); its progress is
    on the sequence's page."""
    started = exporting.start(open_sequence(request, pk), request.user)
    if started.problems:
        takes = {f"takes.{take}": [problem] for take, problem in started.take_problems.items()}
        raise ApiError(409, " ".join(started.problems), takes)
    if started.too_often:
        raise ApiError(429, started.too_often, headers={"Retry-After": str(started.wait)})
    export = started.export
    return Status(202, {"sequence": pk, "status": export.status,
                        "status_label": export.get_status_display(),
                        "progress": export.progress, "queued": started.queued})
