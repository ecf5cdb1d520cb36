"""Registers the simulator with Django, which it needs only for `manage.py runsimulator`."""

from django.apps import AppConfig


class SimulatorAppConfig(AppConfig):
    name = "simulator"
    verbose_name = "ShortAPI simulator"
