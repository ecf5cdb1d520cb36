"""URLs of sequences: the list, each sequence's page, its takes and its export."""

from django.urls import path

from sequences import views

urlpatterns = [
    path("sequences/", views.sequences, name="sequences"),
    path("sequences/add/", views.add_take, name="sequence-add"),
    path("sequences/<int:pk>/", views.sequence_detail, name="sequence"),
    path("sequences/<int:pk>/rename/", views.rename_sequence, name="sequence-rename"),
    path("sequences/<int:pk>/delete/", views.delete_sequence, name="sequence-delete"),
    path("sequences/<int:pk>/takes/<int:take>/move/", views.move_take, name="sequence-take-move"),
    path("sequences/<int:pk>/takes/<int:take>/remove/", views.remove_take,
         name="sequence-take-remove"),
    path("sequences/<int:pk>/takes/<int:take>/trim/", views.trim_take, name="sequence-take-trim"),
    path("sequences/<int:pk>/export/", views.export_sequence, name="sequence-export"),
    path("sequences/<int:pk>/export/status/", views.export_status, name="sequence-export-status"),
    path("sequences/<int:pk>/export/video/", views.export_video, name="sequence-export-video"),
]
