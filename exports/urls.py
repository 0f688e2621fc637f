from __future__ import annotations

from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("", views.export_index, name="index"),
    path("exports/file/<str:token>/", views.export_file, name="file"),
]
