from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("switch/", views.workspace_switch, name="workspace_switch"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/create/", views.api_key_create, name="api_key_create"),
    path("api-keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
