"""URLs of projects and the comparison of takes."""

from django.urls import path

from lib import converters  # noqa: F401 (registers <id:...>)
from teams import views

urlpatterns = [
    path("projects/", views.projects, name="projects"),
    path("projects/<id:pk>/", views.project_detail, name="project"),
    path("projects/<id:pk>/choose/", views.choose_take, name="project-choose"),
    path("compare/", views.compare, name="compare"),
]
