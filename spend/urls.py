"""URLs of the spend app. The review lives under /admin/ because it is the admins' page."""

from django.urls import path

from lib import converters  # noqa: F401 (registers <id:...>)
from spend import approval_views, views

urlpatterns = [
    path("spend/", views.my_spend, name="my-spend"),
    path("approvals/", approval_views.queue, name="approvals"),
    path("approvals/<id:pk>/", approval_views.decide, name="approval-decide"),
    path("admin/spend/", views.review, name="spend-review"),
    path("admin/spend/ledger.csv", views.review_csv, name="spend-review-csv"),
    path("admin/spend/reconcile/", views.reconcile_now, name="spend-reconcile"),
]
