from __future__ import annotations

from django.contrib import admin

from logs.models import Log


@admin.register(Log)
class LogAdmin(admin.ModelAdmin):
    list_display = ("created_at", "workspace", "ai_provider", "ai_model", "status_code",
                    "total_tokens", "cost")
    list_filter = ("workspace", "ai_provider", "status_code")
    search_fields = ("id", "trace_id", "ai_model")
    date_hierarchy = "created_at"
    list_select_related = ("workspace",)
