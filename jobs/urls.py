"""URLs of the jobs app."""

from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("jobs/new/", views.compose, name="compose"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/status/", views.job_status, name="job-status"),
    path("jobs/<int:pk>/frames/<str:which>/", views.job_frame, name="job-frame"),
    path("jobs/<int:pk>/video/", views.job_video, name="job-video"),
    path("uploads/<str:token>/", views.staged_frame, name="staged-frame"),
    path("i/<str:token>/", views.signed_image, name="signed-image"),
    path("shortapi/callback/<str:token>/", views.shortapi_callback, name="shortapi-callback"),
]
