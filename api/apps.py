"""The API app: personal API tokens and the JSON API under /api/v1/ that acts with them."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "API tokens"
