from __future__ import annotations

from django.contrib import admin

from exports.models import ExportJob


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
