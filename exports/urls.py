from __future__ import annotations

from django.urls import path

from exports import policy_views, views

app_name = "exports"

urlpatterns = [
    path("", views.export_index, name="index"),
    path("exports/new/", views.export_new, name="new"),
    path("exports/preview/", views.export_preview_panel, name="preview"),
    path("exports/create/", views.export_create, name="create"),
    path("exports/<uuid:export_id>/", views.export_detail, name="detail"),
    path("exports/<uuid:export_id>/delete/", views.export_delete, name="delete"),
    path("exports/<uuid:export_id>/row/", views.export_row, name="row"),
    path("exports/<uuid:export_id>/start/", views.export_start, name="start"),
    path("exports/<uuid:export_id>/cancel/", views.export_cancel, name="cancel"),
    path("exports/<uuid:export_id>/activity/", views.export_activity, name="activity"),
    path("exports/<uuid:export_id>/download/", views.export_download, name="download"),
    path("exports/<uuid:export_id>/manifest/", views.export_manifest, name="manifest"),
    path("exports/<uuid:export_id>/verify/", views.export_verify, name="verify"),
    path("exports/file/<str:token>/", views.export_file, name="file"),
    path("workspaces/redaction/", policy_views.redaction_policy, name="redaction_policy"),
]
