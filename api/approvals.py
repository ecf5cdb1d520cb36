"""Approvals through the API: a bot that heard `approval.needed` lists what waits for its
person's word and approves or declines it, by the rules of the approvers' page
(`spend.approvals`: the same people may decide, the same budget re-check, the same note rule)."""

from ninja import Router

from api.errors import FIX_FIELDS, ApiError, form_errors
from api.presenting import job_json
from api.schemas import Decided, DecisionIn, Error, Waiting
from jobs import catalogue
from spend import approvals
from spend.approval_views import LISTED, NOT_AN_APPROVER, DecisionForm

router = Router(tags=["approvals"])


def _approver(request):
    if not approvals.is_approver(request.user):
        raise ApiError(403, NOT_AN_APPROVER)


@router.get("/approvals", response={200: Waiting, 401: Error, 403: Error},
            summary="Submissions waiting for your word")
def waiting(request):
    """The oldest waiting submissions you may decide on (their first takes), with what all
    their takes are estimated at together."""
    _approver(request)
    jobs = approvals.waiting_for(request.user)
    return {"count": jobs.count(),
            "jobs": [{**job_json(request, job), "requested_by": job.owner.get_username(),
                      "total": str(catalogue.money(approvals.total_of(job)))} for job in jobs[:LISTED]]}


@router.post("/approvals/{id:pk}",
             response={200: Decided, 400: Error, 401: Error, 403: Error, 404: Error, 409: Error},
             summary="Approve or decline a waiting submission")
def decide(request, pk: int, body: DecisionIn):
    """`approve` re-checks the budgets and queues every take (409 when they do not fit: it
    keeps waiting); `decline` needs a note and turns it back into its owner's draft."""
    _approver(request)
    job = approvals.waiting_for(request.user).filter(pk=pk).first()
    if job is None:
        raise ApiError(404, f"No submission {pk} waits for your word: it was decided already, "
                            "or it is not one you may decide on.")
    form = DecisionForm(body.dict())
    if not form.is_valid():
        raise ApiError(400, FIX_FIELDS, form_errors(form))
    decide_with = approvals.approve if form.cleaned_data["decision"] == "approve" \
        else approvals.decline
    try:
        job = decide_with(request.user, job, form.cleaned_data["note"].strip())
    except approvals.Refused as refusal:
        raise ApiError(409, str(refusal)) from None
    return {"approved": form.cleaned_data["decision"] == "approve",
            "job": job_json(request, job)}
