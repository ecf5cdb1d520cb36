"""Sequences: finished takes put in order, trimmed and exported as one video."""

from django.apps import AppConfig


class SequencesConfig(AppConfig):
    name = "sequences"
    verbose_name = "Sequences"
