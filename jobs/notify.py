"""Telling people their jobs finished, or that an approver decided on one that waited: the
activity feed every signed-in page polls (a count for the tab title, and recent finishes and
decisions for the browser's notifications), the page where a person chooses to be e-mailed, and
those e-mails.

E-mail goes only to an address its owner confirmed by following a link sent to it: otherwise
anyone with an account could have the studio mail a stranger, with a subject (a job's title)
of their choosing. The link is signed, names the person and the address, and lasts three days.

The e-mail is queued by a receiver of `jobs.signals.job_finished` (or `approval_decided`), so
only after the move is committed, and sent by a worker: a slow mail server never holds up a request or a poll.
"""

import logging
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from jobs import catalogue
from lib import ratelimit
from jobs.models import Job, Preferences
from spend.models import Decision

log = logging.getLogger(__name__)

S = Job.Status
# sent and not settled: what "(2 running)" in the tab title counts
RUNNING = (S.QUEUED, S.SUBMITTING, S.SUBMITTED, S.PROCESSING, S.UNKNOWN)
RECENT_FINISHES = 10
# how far back `since` may reach: an old (or forged) one must not make a poll read every finish
SINCE_AT_MOST = timedelta(days=1)
CONFIRM_SALT = "jobs.notify.confirm"
CONFIRM_DAYS = 3
# confirmation e-mails one person may ask for in an hour
CONFIRMATIONS = ratelimit.Limit("confirm-email", 5, 3600)


def parse_since(value):
    """The `since` parameter as an aware datetime, or None when missing or not a time."""
    try:
        # an unencoded "+01:00" arrives as " 01:00"
        moment = parse_datetime(value.strip().replace(" ", "+"))
    except ValueError:
        return None
    if moment is not None and timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


@require_GET
@never_cache
def activity(request):
    # the time is taken before the queries, so the next poll's `since` misses nothing they missed
    now = timezone.now()
    mine = Job.objects.owned_by(request.user)
    since = parse_since(request.GET.get("since", ""))
    finished, decided = [], []
    if since is not None:
        since = max(since, now - SINCE_AT_MOST)
        finished = (mine.filter(status__in=S.terminal(), finished_at__gt=since)
                    .order_by("-finished_at", "-id")[:RECENT_FINISHES])
        decided = (Decision.objects.filter(requester=request.user, decided_at__gt=since)
                   .order_by("-decided_at", "-id")[:RECENT_FINISHES])
    return JsonResponse({
        "running": mine.filter(status__in=RUNNING).count(),
        "finished": [{"id": job.pk, "title": job.display_title, "status": job.status,
                      "label": job.status_label, "url": job.get_absolute_url(),
                      "error": job.error if job.status == S.FAILED else ""}
                     for job in finished],
        "decided": [{"id": decision.job_id, "title": decision.title,
                     "approved": decision.approved, "note": decision.note,
                     "url": reverse("job-detail", args=[decision.job_id]) if decision.job_id
                     else ""} for decision in decided],
        "now": now.isoformat(),
    })


class PreferencesForm(forms.ModelForm):
    """A person's notification choices, with the address their e-mail goes to (their account's)."""

    email = forms.EmailField(label="E-mail address", required=False,
                             help_text="Used only for these e-mails.")

    class Meta:
        model = Preferences
        fields = ["email_when_finished"]

    def __init__(self, *args, person, **kwargs):
        super().__init__(*args, instance=Preferences.of(person), **kwargs)
        self.person = person
        self.fields["email"].initial = person.email

    def clean(self):
        cleaned = super().clean()
        if (cleaned.get("email_when_finished") and not cleaned.get("email")
                and "email" not in self.errors):
            self.add_error("email", "Add the address the e-mail should go to, or untick the box.")
        return cleaned

    @transaction.atomic
    def save(self):
        self.person.email = self.cleaned_data["email"]
        self.person.save(update_fields=["email"])
        return super().save()

    @property
    def needs_confirming(self):
        """The saved address still has to be confirmed."""
        return bool(self.person.email) and not self.instance.confirmed(self.person.email)


def preferences(request):
    form = PreferencesForm(request.POST or None, person=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        if form.needs_confirming and "email" in form.changed_data:
            _ask_to_confirm(request)
        else:
            messages.success(request, "Your settings are saved.")
        return redirect("preferences")
    return render(request, "jobs/preferences.html", {"form": form})


@require_POST
def resend_confirmation(request):
    form = PreferencesForm(person=request.user)
    if form.needs_confirming:
        _ask_to_confirm(request)
    return redirect("preferences")


def _ask_to_confirm(request):
    person = request.user
    if wait := ratelimit.wait_for(CONFIRMATIONS, person.pk):
        messages.error(request, f"Your settings are saved, but several confirmation e-mails were "
                                f"sent in the last hour. Ask for another in {wait // 60 + 1} "
                                "minutes.")
        return
    token = signing.dumps({"person": person.pk, "email": person.email}, salt=CONFIRM_SALT)
    transaction.on_commit(lambda: async_task(send_confirmation, person.pk, token,
                                             task_name=f"confirm-email-{person.pk}"))
    messages.success(request, f"Your settings are saved. To receive e-mail at {person.email}, "
                              "follow the link we just sent there.")


def send_confirmation(person_pk, token):
    """Task: e-mail the link that confirms a person's address (the subject is ours alone)."""
    from django.contrib.auth import get_user_model

    person = get_user_model().objects.filter(pk=person_pk).first()
    if person is None or not person.email:
        return
    body = "\n".join([
        "Someone, probably you, asked Kling Studio to e-mail this address when their videos "
        "finish. To confirm, open this link while signed in (it works for "
        f"{CONFIRM_DAYS} days):", absolute(reverse("confirm-email", args=[token])), "",
        "If it was not you, ignore this e-mail: nothing more will be sent."])
    send_mail("Confirm your e-mail address for Kling Studio", body, None, [person.email])


@require_GET
def confirm_email(request, token):
    try:
        value = signing.loads(token, salt=CONFIRM_SALT, max_age=timedelta(days=CONFIRM_DAYS))
    except signing.BadSignature:
        value = None
    person = request.user
    if (not isinstance(value, dict) or value.get("person") != person.pk
            or not isinstance(value.get("email"), str) or value["email"] != person.email):
        messages.error(request, "This confirmation link has expired, is for another address or "
                                "another account. Sign in as the person who asked for it, or ask "
                                "for a new link below.")
        return redirect("preferences")
    preferences = Preferences.of(person)
    preferences.confirmed_email = person.email
    preferences.save()
    messages.success(request, f"{person.email} is confirmed: e-mail about your videos goes there.")
    return redirect("preferences")


def recipient(job):
    """The address to e-mail about a job's finish, or "" when its owner wants no e-mail or has
    not confirmed the address."""
    owner = job.owner
    preferences = Preferences.of(owner)
    if preferences.email_when_finished and preferences.confirmed(owner.email):
        return owner.email
    return ""


def queue_finished_email(sender, pk, status, **kwargs):
    """Receiver of `job_finished`: queue the e-mail if the job's owner wants one."""
    job = Job.objects.select_related("owner").filter(pk=pk).first()
    if job is not None and recipient(job):
        async_task(send_finished_email, pk, task_name=f"finished-email-{pk}")


def absolute(path):
    """A path of ours as a link for an e-mail: absolute when the app knows its public address."""
    return settings.PUBLIC_BASE_URL + path


def finished_email(job):
    """The subject and body of the e-mail about a finished job."""
    title = " ".join(job.display_title.split())  # a header holds no line breaks
    cost = catalogue.format_money(job.cost)
    if job.status == S.SUCCEEDED:
        subject = f'Your video "{title}" is ready'
        outcome = "Your video is ready to watch and download:"
    else:
        subject = f'Your video "{title}" failed'
        outcome = f"Your video failed: {job.error or 'no reason was given.'}"
        cost += f" ({job.cost_note})" if job.cost_note else ""
    body = "\n".join([
        outcome, absolute(job.get_absolute_url()), "", f"Cost: {cost}", "",
        "You get this e-mail because you asked Kling Studio for it. To stop it, untick the box "
        "in your settings:", absolute(reverse("preferences"))])
    return subject, body


def send_finished_email(job_id):
    """Task: e-mail a job's owner that it finished, if they (still) want that."""
    job = Job.objects.select_related("owner").filter(pk=job_id).first()
    if job is None or not job.is_finished:
        return
    address = recipient(job)
    if address:
        subject, body = finished_email(job)
        send_mail(subject, body, None, [address])
        log.info("E-mailed the owner of job %s that it %s", job.pk, job.status)


def queue_decision_email(sender, pk, approved, note, **kwargs):
    """Receiver of `approval_decided`: queue the e-mail if the job's owner wants e-mail."""
    job = Job.objects.select_related("owner").filter(pk=pk).first()
    if job is not None and recipient(job):
        async_task(send_decision_email, pk, approved, note, task_name=f"decision-email-{pk}")


def decision_email(job, approved, note):
    """The subject and body of the e-mail about an approver's decision."""
    title = " ".join(job.display_title.split())
    if approved:
        subject = f'Your video "{title}" is approved'
        outcome = "Your video was approved and is on its way to Kling:"
    else:
        subject = f'Your video "{title}" was declined'
        outcome = ("Your video was declined. It is a draft again: nothing was charged. Edit it "
                   "and send it again when it is ready:")
    lines = [outcome, absolute(job.get_absolute_url())]
    if note:
        lines += ["", f"The approver's note: {note}"]
    lines += ["", "You get this e-mail because you asked Kling Studio for e-mail about your "
              "videos. To stop it, untick the box in your settings:",
              absolute(reverse("preferences"))]
    return subject, "\n".join(lines)


def send_decision_email(job_id, approved, note):
    """Task: e-mail a job's owner the approver's decision, if they (still) want e-mail."""
    job = Job.objects.select_related("owner").filter(pk=job_id).first()
    if job is None:
        return
    address = recipient(job)
    if address:
        subject, body = decision_email(job, approved, note)
        send_mail(subject, body, None, [address])
        log.info("E-mailed the owner of job %s that it was %s", job.pk,
                 "approved" if approved else "declined")
