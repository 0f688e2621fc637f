from __future__ import annotations

from django.urls import path

from deliveries import destination_views, schedule_views, views

app_name = "deliveries"

urlpatterns = [
    path("notifications/", views.notification_settings, name="notifications"),
    path("notifications/save/", views.notification_settings_save, name="notifications_save"),
    path("exports/deliver/", views.export_create, name="export_create"),
    path("destinations/", destination_views.destinations, name="destinations"),
    path("destinations/<uuid:destination_id>/delete/", destination_views.destination_delete,
         name="destination_delete"),
    path("schedules/", schedule_views.schedule_index, name="schedules"),
    path("schedules/new/", schedule_views.schedule_new, name="schedule_new"),
    path("schedules/<uuid:schedule_id>/", schedule_views.schedule_detail, name="schedule"),
    path("schedules/<uuid:schedule_id>/runs/", schedule_views.schedule_runs,
         name="schedule_runs"),
    path("schedules/<uuid:schedule_id>/edit/", schedule_views.schedule_edit,
         name="schedule_edit"),
    path("schedules/<uuid:schedule_id>/pause/", schedule_views.schedule_pause,
         name="schedule_pause"),
    path("schedules/<uuid:schedule_id>/delete/", schedule_views.schedule_remove,
         name="schedule_delete"),
]
