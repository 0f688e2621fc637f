from __future__ import annotations

from django.contrib import admin

from logs.models import Log


@admin.register(Log)
class LogAdmin(admin.ModelAdmin):
    """Logs are the gateway's records: the admin shows them and never writes them."""

    list_display = ("created_at", "workspace", "organization", "ai_provider", "ai_model",
                    "status_code", "total_tokens", "cost")
    list_filter = ("workspace__organization", "workspace", "ai_provider", "status_code")
    search_fields = ("id", "trace_id", "ai_model")
    date_hierarchy = "created_at"
    list_select_related = ("workspace__organization",)
    # A filtered page would otherwise count the whole table as well: millions of rows.
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(ordering="workspace__organization__name")
    def organization(self, log: Log):
        return log.workspace.organization
