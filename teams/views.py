"""Projects, and comparing takes to choose one.

A person reaches the projects open to them (their own, their teams'); any other project answers
404, like another person's job. A team project's page lists every teammate's takes in it.
"""

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from jobs import finding
from jobs.models import Job
from lib import numbers
from teams.models import Project, Team

PROJECT_PAGE_SIZE = 12
MAX_COMPARED = 4


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = ["name", "team"]
        labels = {"team": "Shared with"}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["team"].queryset = Team.objects.filter(members=user)
        self.fields["team"].empty_label = "Nobody: a project of my own"
        self.fields["team"].required = False

    def clean(self):
        data = super().clean()
        name, team = data.get("name"), data.get("team")
        if name:
            same = Project.objects.filter(name__iexact=name)
            same = same.filter(team=team) if team else same.filter(owner=self.user, team=None)
            if same.exists():
                self.add_error("name", "There is already a project of that name there: pick "
                                       "another name, or use that one.")
        return data

    def save(self, commit=True):
        project = super().save(commit=False)
        project.owner = None if project.team_id else self.user
        if commit:
            project.save()
        return project

    def validate_constraints(self, exclude=None):
        # the owner is set on save; clean() already checked the names
        pass


def open_project(request, pk):
    return get_object_or_404(Project.objects.open_to(request.user).select_related("team"), pk=pk)


def projects(request):
    form = ProjectForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        project = form.save()
        messages.success(request, f"Project “{project.name}” made. Pick it in the composer to "
                                  "put videos in it.")
        return redirect(project)
    shown = (Project.objects.open_to(request.user).select_related("team")
             .annotate(videos=Count("jobs", filter=~Q(jobs__status=Job.Status.DRAFT))))
    return render(request, "teams/projects.html", {"projects": shown, "form": form},
                  status=400 if form.errors else 200)


def project_detail(request, pk):
    project = open_project(request, pk)
    finder = finding.Finder(request.GET, user=request.user, project=project)
    page = finder.page(Job.objects.filter(project=project).sent().select_related("owner"),
                       PROJECT_PAGE_SIZE)
    return render(request, "teams/project.html", {
        "project": project, "finder": finder, "page": page, "groups": finding.group_takes(page)})


def compare(request):
    """Two to four takes side by side: each must be one the person may see."""
    ids = numbers.ids(request.GET.getlist("jobs"), limit=MAX_COMPARED * 2)
    if ids is None:
        raise Http404("No such video")
    if not 2 <= len(ids) <= MAX_COMPARED:
        messages.error(request, f"Pick two to {MAX_COMPARED} finished videos to compare: tick "
                                "them in the gallery or on a project's page, then Compare.")
        return redirect("gallery")
    found = {job.pk: job for job in Job.objects.visible_to(request.user).filter(pk__in=ids)
             .select_related("owner", "project")}
    if len(found) != len(ids):
        raise Http404("No such video")
    takes = [found[pk] for pk in ids]
    project = takes[0].project if len({job.project_id for job in takes}) == 1 else None
    return render(request, "teams/compare.html", {
        "takes": takes, "project": project,
        "unfinished": [job for job in takes if job.status != Job.Status.SUCCEEDED]})


@require_POST
def choose_take(request, pk):
    project = open_project(request, pk)
    chosen = numbers.whole(request.POST.get("job", ""))
    if chosen is None:
        raise Http404("No such video")
    job = get_object_or_404(Job.objects.visible_to(request.user), pk=chosen,
                            project=project)
    if job.status != Job.Status.SUCCEEDED:
        messages.error(request, f"“{job.display_title}” has no video yet, so it cannot be the "
                                "project's chosen take. Choose a finished one.")
    else:
        Project.objects.filter(pk=project.pk).update(chosen_take=job)
        messages.success(request, f"“{job.display_title}” (take {job.take_number}) is now the "
                                  f"chosen take of {project.name}.")
    return redirect(project)
