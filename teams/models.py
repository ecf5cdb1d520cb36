"""Teams and projects.

A team is people who work together: staff make teams in the admin and add people, and a person
can be in several. A project gathers jobs: a team's project is shared by its members (they see,
play, remix and star each other's takes in it), a person's own project is private. Every job may
belong to one project; "My videos" stays a person's own jobs wherever they are.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse


class Team(models.Model):
    name = models.CharField(max_length=80, unique=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="teams", blank=True)
    # members whose word releases the team's jobs that wait for approval (spend/approvals.py)
    approvers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="approves_for",
                                       blank=True,
                                       help_text="Members who approve the team's spend.")

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class ProjectQuerySet(models.QuerySet):
    def open_to(self, person):
        """The projects a person may use: their own, and their teams'."""
        return self.filter(Q(owner=person) | Q(team__in=person.teams.all()))


class Project(models.Model):
    name = models.CharField(max_length=80)
    # a team's project, or (without a team) one person's own
    team = models.ForeignKey(Team, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="projects")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True,
                              blank=True, related_name="own_projects",
                              help_text="For a private project: whose it is.")
    chosen_take = models.ForeignKey("jobs.Job", on_delete=models.SET_NULL, null=True,
                                    blank=True, related_name="+",
                                    help_text="The take the project settled on.")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(team__isnull=False, owner__isnull=True)
                | Q(team__isnull=True, owner__isnull=False),
                name="project_is_a_teams_or_a_persons",
                violation_error_message="A project belongs to a team or to one person."),
            models.UniqueConstraint(fields=["team", "name"], name="one_name_per_team_project"),
            models.UniqueConstraint(fields=["owner", "name"], name="one_name_per_own_project"),
        ]

    def __str__(self):
        return f"{self.name} ({self.team or 'private'})"

    def get_absolute_url(self):
        return reverse("project", args=[self.pk])

    @property
    def shared(self):
        return self.team_id is not None

    def open_to(self, person):
        return self.owner_id == person.pk or (
            self.team_id is not None and self.team.members.filter(pk=person.pk).exists())
