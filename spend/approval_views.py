"""The approvers' queue: submissions waiting for their word (`spend.approvals` holds the rules),
each approved or declined with a note. Only approvers reach it: staff, and the approvers of a
team, who see their teams' waiting jobs and nobody else's; anybody else is told so (403), and a
decision on a job one may not decide on is 404."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from spend import approvals

# a queue longer than this is shown oldest first, a page at a time by deciding
LISTED = 30
NOT_AN_APPROVER = ("Only approvers see this page: staff, and the people a team names as its "
                   "approvers. Ask an admin if you should be one.")


class DecisionForm(forms.Form):
    note = forms.CharField(label="Note to the requester", required=False,
                           max_length=approvals.NOTE_LENGTH, widget=forms.Textarea(
                               attrs={"rows": 2, "maxlength": approvals.NOTE_LENGTH}))
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "decline" and not cleaned.get("note", "").strip():
            self.add_error("note", "Say why it is declined, so its owner knows what to change.")
        return cleaned


def _queue(request, failed=None, form=None, status=200):
    """The page; `failed` is the job whose form was refused, shown with `form`'s errors."""
    waiting = list(approvals.waiting_for(request.user)[:LISTED])
    rows = [{"job": job, "total": approvals.total_of(job),
             "after": approvals.after_approval(job),
             "form": form if failed == job.pk else DecisionForm(prefix=f"job{job.pk}")}
            for job in waiting]
    return render(request, "spend/approvals.html",
                  {"rows": rows, "count": approvals.waiting_for(request.user).count(),
                   "listed": LISTED}, status=status)


@require_GET
def queue(request):
    if not approvals.is_approver(request.user):
        return render(request, "spend/approvals.html", {"refused": NOT_AN_APPROVER}, status=403)
    return _queue(request)


@require_POST
def decide(request, pk):
    if not approvals.is_approver(request.user):
        raise Http404(NOT_AN_APPROVER)
    job = get_object_or_404(approvals.waiting_for(request.user), pk=pk)
    form = DecisionForm(request.POST, prefix=f"job{job.pk}")
    if not form.is_valid():
        return _queue(request, job.pk, form, status=400)
    note = form.cleaned_data["note"].strip()
    try:
        if form.cleaned_data["decision"] == "approve":
            approvals.approve(request.user, job, note)
            messages.success(request, f'"{job.display_title}" is approved and on its way to '
                                      f"Kling. {job.owner.get_username()} is told.")
        else:
            approvals.decline(request.user, job, note)
            messages.success(request, f'"{job.display_title}" is declined: it is a draft of '
                                      f"{job.owner.get_username()}'s again, with your note.")
    except approvals.Refused as refusal:
        form.add_error(None, str(refusal))
        return _queue(request, job.pk, form, status=409)
    return redirect("approvals")
