"""Root URLs: sign-in and sign-out, the spend pages, the admin, projects, the activity feed and
notification settings with API tokens and webhooks, the JSON API under /api/v1/, and the jobs
app."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from api.main import api
from jobs import notify

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("spend.urls")),
    path("admin/", admin.site.urls),
    path("", include("teams.urls")),
    path("activity/", notify.activity, name="activity"),
    path("settings/", notify.preferences, name="preferences"),
    path("settings/confirm/", notify.resend_confirmation, name="resend-confirmation"),
    path("settings/confirm/<str:token>/", notify.confirm_email, name="confirm-email"),
    path("", include("webhooks.urls")),
    path("", include("api.urls")),
    path("api/v1/", api.urls),
    path("", include("sequences.urls")),
    path("", include("jobs.urls")),
]
