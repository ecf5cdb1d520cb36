"""URLs of the webhook pages, under Settings."""

from django.urls import path

from lib import converters  # noqa: F401 (registers <id:...>)
from webhooks import views

urlpatterns = [
    path("settings/webhooks/", views.endpoints, name="webhooks"),
    path("settings/webhooks/<id:pk>/", views.endpoint_detail, name="webhook"),
    path("settings/webhooks/<id:pk>/events/", views.change_events, name="webhook-events"),
    path("settings/webhooks/<id:pk>/rotate/", views.rotate_secret, name="webhook-rotate"),
    path("settings/webhooks/<id:pk>/switch/", views.switch, name="webhook-switch"),
    path("settings/webhooks/<id:pk>/test/", views.send_test, name="webhook-test"),
    path("settings/webhooks/<id:pk>/delete/", views.delete, name="webhook-delete"),
]
