from __future__ import annotations

from django.contrib import admin, messages

from accounts.models import ApiKey, Membership, Organization, Workspace, hash_api_key


class WorkspaceInline(admin.TabularInline):
    model = Workspace
    extra = 0
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "plan", "created_at")
    list_filter = ("plan",)
    search_fields = ("name",)
    inlines = [WorkspaceInline]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "organization", "created_at")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role")
    list_filter = ("role",)
    autocomplete_fields = ("user",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "organization", "workspace", "scopes", "created_at",
                    "last_used_at", "revoked_at")
    list_filter = ("organization",)
    readonly_fields = ("prefix", "created_at", "last_used_at")
    search_fields = ("name", "prefix")

    def save_model(self, request, obj, form, change):
        if not change:
            # The key is shown once here and only its hash is kept.
            raw_key, obj.prefix = ApiKey.generate_raw_key()
            obj.key_hash = hash_api_key(raw_key)
            super().save_model(request, obj, form, change)
            messages.warning(
                request, f"Copy this API key now, it will not be shown again: {raw_key}"
            )
        else:
            super().save_model(request, obj, form, change)
