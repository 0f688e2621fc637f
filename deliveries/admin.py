"""Destinations (their secret never shown), webhooks, schedules with their runs, and every
delivery with its attempts.

All read-only here: destinations, webhooks and schedules are made through the API or the page
(a destination only after its test write; a schedule's values checked by its services),
deliveries and runs only by the workers. A schedule can be paused and resumed from its list,
through deliveries.schedules."""

from __future__ import annotations

from django.contrib import admin, messages

from deliveries import schedules
from deliveries.models import (
    Destination,
    EmailNotice,
    ExportDelivery,
    Schedule,
    ScheduleRun,
    Webhook,
    WebhookAttempt,
    WebhookDelivery,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Destination)
class DestinationAdmin(ReadOnly):
    list_display = ("name", "workspace", "endpoint_url", "bucket", "prefix", "access_key_id",
                    "created_at")
    list_filter = ("workspace",)
    # The encrypted secret is left out altogether, not merely read-only.
    fields = ("id", "workspace", "name", "endpoint_url", "region", "bucket", "prefix",
              "access_key_id", "created_at")
    readonly_fields = fields


@admin.register(Webhook)
class WebhookAdmin(ReadOnly):
    list_display = ("url", "workspace", "events", "created_at")
    list_filter = ("workspace",)
    fields = ("id", "workspace", "url", "events", "created_at")
    readonly_fields = fields


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("number", "at", "status_code", "response")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


OUTBOX = ("status", "attempts", "next_attempt_at", "created_at", "finished_at", "last_error")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = ("id", "event", "export", "webhook", "status", "attempts", "finished_at")
    list_filter = ("status", "event")
    fields = ("id", "webhook", "export", "event", *OUTBOX)
    readonly_fields = fields
    inlines = [WebhookAttemptInline]


@admin.register(ExportDelivery)
class ExportDeliveryAdmin(ReadOnly):
    list_display = ("export", "destination", "status", "key", "sha256", "finished_at")
    list_filter = ("status",)
    fields = ("export", "destination", "target_key", "target_manifest_key", "key",
              "manifest_key", "sha256", *OUTBOX)
    readonly_fields = fields


@admin.register(EmailNotice)
class EmailNoticeAdmin(ReadOnly):
    list_display = ("export", "event", "recipient", "status", "attempts", "finished_at")
    list_filter = ("status", "event")
    fields = ("export", "event", "recipient", *OUTBOX)
    readonly_fields = fields


class ScheduleRunInline(admin.TabularInline):
    model = ScheduleRun
    fields = ("window_start", "window_end", "export", "export_status", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-window_start",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status")
    def export_status(self, run: ScheduleRun) -> str:
        return run.export.get_status_display() if run.export else "export deleted"


@admin.register(Schedule)
class ScheduleAdmin(ReadOnly):
    list_display = ("name", "workspace", "interval", "timezone", "hour", "weekday",
                    "destination", "paused", "error", "created_at")
    list_filter = ("interval", "paused", "workspace")
    fields = ("id", "workspace", "owner", "name", "filters", "requested_data", "format",
              "redaction", "destination", "interval", "start", "timezone", "hour", "weekday",
              "paused", "error", "created_at", "updated_at")
    readonly_fields = fields
    inlines = [ScheduleRunInline]
    actions = ["pause", "resume"]

    @admin.action(description="Pause the selected schedules")
    def pause(self, request, queryset) -> None:
        for schedule in queryset:
            schedules.schedule_update(schedule=schedule, paused=True)
        self.message_user(request, f"{queryset.count()} schedule(s) paused.", messages.SUCCESS)

    @admin.action(description="Resume the selected schedules (missed windows are caught up)")
    def resume(self, request, queryset) -> None:
        for schedule in queryset:
            schedules.schedule_update(schedule=schedule, paused=False)
        self.message_user(request, f"{queryset.count()} schedule(s) resumed.", messages.SUCCESS)
