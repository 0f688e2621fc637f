from __future__ import annotations

from django.contrib import admin

from exports.models import ExportEvent, ExportJob

AUDIT_FIELDS = ("at", "action", "actor", "channel", "ip_address", "attempt")


class ReadOnlyAdminMixin:
    """The audit trail is written by exports.audit only: the admin reads it."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ExportEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ExportEvent
    fields = AUDIT_FIELDS
    readonly_fields = AUDIT_FIELDS
    ordering = ("-at", "-id")
    extra = 0
    verbose_name = "activity"
    verbose_name_plural = "activity (audit trail)"


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "workspace", "status", "description", "total_records", "rows_written",
                    "created_at", "finished_at")
    list_filter = ("status", "workspace", "format")
    search_fields = ("id", "description")
    # Status changes belong to exports.services; the admin shows them but does not edit them.
    readonly_fields = ("status", "attempt", "error", "total_records", "rows_written", "file_name",
                       "file_size", "sha256", "created_at", "started_at", "finished_at",
                       "last_updated_at", "expires_at", "lease_expires_at", "retries")
    inlines = [ExportEventInline]


@admin.register(ExportEvent)
class ExportEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "action", "actor", "channel", "ip_address", "export_id", "workspace")
    list_filter = ("action", "channel", "workspace")
    search_fields = ("actor", "ip_address", "export__id")
    date_hierarchy = "at"
    list_select_related = ("workspace",)
