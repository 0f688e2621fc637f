from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("v1/", include("api.urls")),
    path("logs/", include("logs.urls")),
    path("workspaces/", include("accounts.urls")),
    path("", include("exports.urls")),
]
