"""Destinations (their secret never shown), webhooks, and every delivery with its attempts.

All read-only here: destinations and webhooks are made through the API (a destination only
after its test write), deliveries only by the workers."""

from __future__ import annotations

from django.contrib import admin

from deliveries.models import (
    Destination,
    EmailNotice,
    ExportDelivery,
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
    fields = ("export", "destination", "key", "manifest_key", "sha256", *OUTBOX)
    readonly_fields = fields


@admin.register(EmailNotice)
class EmailNoticeAdmin(ReadOnly):
    list_display = ("export", "event", "recipient", "status", "attempts", "finished_at")
    list_filter = ("status", "event")
    fields = ("export", "event", "recipient", *OUTBOX)
    readonly_fields = fields
