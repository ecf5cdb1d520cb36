"""URLs of the jobs app."""

from django.urls import path

from jobs import draft_views, views
from lib import converters  # noqa: F401 (registers <id:...>)

urlpatterns = [
    path("", views.gallery, name="gallery"),
    path("jobs/new/", views.compose, name="compose"),
    path("jobs/<id:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<id:pk>/status/", views.job_status, name="job-status"),
    path("jobs/<id:pk>/frames/<str:which>/", views.job_frame, name="job-frame"),
    path("jobs/<id:pk>/video/", views.job_video, name="job-video"),
    path("jobs/<id:pk>/poster/", views.job_poster, name="job-poster"),
    path("jobs/<id:pk>/elements/<id:position>/", views.job_element_image,
         name="job-element-image"),
    path("jobs/<id:pk>/elements/<id:position>/references/<id:reference>/",
         views.job_element_image, name="job-element-reference"),
    path("jobs/<id:pk>/remix/", draft_views.remix, name="job-remix"),
    path("jobs/<id:pk>/continue/", draft_views.continue_job, name="job-continue"),
    path("remix-from-file/", draft_views.remix_from_file, name="remix-from-file"),
    path("jobs/<id:pk>/title/", views.job_title, name="job-title"),
    path("jobs/<id:pk>/star/", views.job_star, name="job-star"),
    path("drafts/", draft_views.drafts, name="drafts"),
    path("drafts/save/", draft_views.save_draft, name="draft-save"),
    path("drafts/<id:pk>/", draft_views.edit_draft, name="draft-edit"),
    path("drafts/<id:pk>/delete/", draft_views.delete_draft, name="draft-delete"),
    path("uploads/<str:token>/", views.staged_frame, name="staged-frame"),
    path("i/<str:token>/", views.signed_image, name="signed-image"),
    path("shortapi/callback/<str:token>/", views.shortapi_callback, name="shortapi-callback"),
    path("health/", views.health, name="health"),
]
