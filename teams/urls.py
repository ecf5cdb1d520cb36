"""URLs of projects and the comparison of takes."""

from django.urls import path

from teams import views

urlpatterns = [
    path("projects/", views.projects, name="projects"),
    path("projects/<int:pk>/", views.project_detail, name="project"),
    path("projects/<int:pk>/choose/", views.choose_take, name="project-choose"),
    path("compare/", views.compare, name="compare"),
]
