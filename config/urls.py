from __future__ import annotations

from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

urlpatterns = [
    path("admin/", admin.site.urls),
    # Where people guess the sign-in page and the icon are.
    path("login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"))),
    path("accounts/", include("django.contrib.auth.urls")),
    path("v1/", include("api.urls")),
    path("logs/", include("logs.urls")),
    path("workspaces/", include("accounts.urls")),
    path("", include("deliveries.urls")),
    path("", include("exports.urls")),
]
