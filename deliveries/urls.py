from __future__ import annotations

from django.urls import path

from deliveries import views

app_name = "deliveries"

urlpatterns = [
    path("", views.notification_settings, name="notifications"),
    path("save/", views.notification_settings_save, name="notifications_save"),
]
