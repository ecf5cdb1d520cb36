"""URLs of sequences: the list, each sequence's page, its takes and its export."""

from django.urls import path

from lib import converters  # noqa: F401 (registers <id:...>)
from sequences import views

urlpatterns = [
    path("sequences/", views.sequences, name="sequences"),
    path("sequences/add/", views.add_take, name="sequence-add"),
    path("sequences/<id:pk>/", views.sequence_detail, name="sequence"),
    path("sequences/<id:pk>/rename/", views.rename_sequence, name="sequence-rename"),
    path("sequences/<id:pk>/delete/", views.delete_sequence, name="sequence-delete"),
    path("sequences/<id:pk>/takes/<id:take>/move/", views.move_take, name="sequence-take-move"),
    path("sequences/<id:pk>/takes/<id:take>/remove/", views.remove_take,
         name="sequence-take-remove"),
    path("sequences/<id:pk>/takes/<id:take>/trim/", views.trim_take, name="sequence-take-trim"),
    path("sequences/<id:pk>/export/", views.export_sequence, name="sequence-export"),
    path("sequences/<id:pk>/export/status/", views.export_status, name="sequence-export-status"),
    path("sequences/<id:pk>/export/video/", views.export_video, name="sequence-export-video"),
]
