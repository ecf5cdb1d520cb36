"""Finding jobs in the gallery and on a project's page: search, filters and sort order.

Everything lives in the page's query string (`?q=harbour&status=done&sort=costliest`), so a view
can be bookmarked and shared. A filter that does not parse is reported next to its field and left
out; the others still apply. Pages come from `lib.paging`, through an index for each order.
"""

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils import timezone

from jobs import search
from lib import paging
from jobs.models import Job, Star
from teams.models import Project

S = Job.Status
STATUSES = {
    "done": ("Finished", (S.SUCCEEDED,)),
    "working": ("Still working", (S.QUEUED, S.SUBMITTING, S.SUBMITTED, S.PROCESSING, S.UNKNOWN)),
    "failed": ("Failed or stopped", (S.FAILED, S.STOPPED)),
}
ORDERS = {
    "newest": ("Newest first", paging.NEWEST),
    "oldest": ("Oldest first", paging.OLDEST),
    "costliest": ("Costliest first", paging.COSTLIEST),
    "cheapest": ("Cheapest first", paging.CHEAPEST),
}
PAGING_PARAMS = ("after", "before")


class Finder(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200,
                        widget=forms.TextInput(attrs={"type": "search",
                                                      "placeholder": "Title or prompt words"}))
    model = forms.ChoiceField(required=False, choices=[("", "Any model"), *Job.MODEL_CHOICES])
    status = forms.ChoiceField(required=False, choices=[("", "Any status")] + [
        (key, label) for key, (label, _) in STATUSES.items()])
    since = forms.DateField(label="From", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    project = forms.ModelChoiceField(queryset=Project.objects.none(), required=False,
                                     empty_label="Any project")
    person = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                    empty_label="Anybody")
    starred = forms.BooleanField(label="Starred only", required=False)
    sort = forms.ChoiceField(required=False, choices=[(key, label) for key, (label, _)
                                                      in ORDERS.items()])

    def __init__(self, params, *, user, project=None):
        self.cursor = {name: params.get(name) for name in PAGING_PARAMS}
        # what the page links keep: the filters, without the cursor
        self.params = {key: value for key, value in params.items()
                       if value and key not in PAGING_PARAMS}
        super().__init__(self.params)
        self.user = user
        if project is None:
            del self.fields["person"]
            self.fields["project"].queryset = Project.objects.open_to(user)
        else:
            del self.fields["project"]
            if project.team_id:
                self.fields["person"].queryset = project.team.members.order_by("username")
            else:
                del self.fields["person"]
        self.full_clean()

    def clean(self):
        data = super().clean()
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            self.add_error("until", "This date is before the “From” date: pick a later one, "
                                    "or swap them.")
        return data

    @property
    def active(self):
        """Whether anything narrows the list (so an empty page says "nothing matches")."""
        data = self.cleaned_data
        return any(data.get(name) for name in ("q", "model", "status", "since", "until",
                                               "project", "person", "starred"))

    @property
    def order(self):
        return ORDERS.get(self.cleaned_data.get("sort") or "newest")[1]

    def apply(self, jobs):
        data = self.cleaned_data
        if data.get("model"):
            jobs = jobs.filter(model_id=data["model"])
        if data.get("status"):
            jobs = jobs.filter(status__in=STATUSES[data["status"]][1])
        if data.get("since"):
            jobs = jobs.filter(created_at__gte=_start_of(data["since"]))
        if data.get("until"):
            jobs = jobs.filter(created_at__lt=_start_of(data["until"] + timedelta(days=1)))
        if data.get("project"):
            jobs = jobs.filter(project=data["project"])
        if data.get("person"):
            jobs = jobs.filter(owner=data["person"])
        if data.get("starred"):
            stars = Star.objects.filter(person=self.user)
            starred = list(stars.values_list("job_id", flat=True)[:search.RARE + 1])
            if len(starred) <= search.RARE:
                jobs = jobs.filter(id__in=starred)
            else:
                jobs = jobs.filter(Exists(stars.filter(job_id=OuterRef("pk"))))
        if data.get("q"):
            jobs = search.matching(jobs, data["q"])
        return jobs

    def page(self, jobs, size):
        page = paging.paginate(self.apply(jobs), self.cursor, size, base=self.params,
                               order=self.order)
        starred = set(Star.objects.filter(person=self.user, job__in=[job.pk for job in page])
                      .values_list("job_id", flat=True))
        for job in page:
            job.starred = job.pk in starred
        return page


def _start_of(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def group_takes(page):
    """The page's jobs in runs: the takes of one submission together, any other job alone."""
    groups = []
    for job in page:
        if groups and job.take_group and groups[-1][0].take_group == job.take_group:
            groups[-1].append(job)
        else:
            groups.append([job])
    return groups
