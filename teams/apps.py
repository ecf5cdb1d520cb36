"""Teams: people who share projects, and the projects jobs are gathered in."""

from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = "Teams and projects"
