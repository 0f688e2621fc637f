from __future__ import annotations

from django.urls import path

from logs import views

app_name = "logs"

urlpatterns = [
    path("", views.log_index, name="index"),
    path("<uuid:log_id>/", views.log_detail, name="detail"),
]
