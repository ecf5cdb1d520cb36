"""URLs of the API tokens page (under Settings)."""

from django.urls import path

from api import views
from lib import converters  # noqa: F401 (registers <id:...>)

urlpatterns = [
    path("settings/tokens/", views.token_list, name="api-tokens"),
    path("settings/tokens/<id:pk>/revoke/", views.revoke, name="api-token-revoke"),
]
