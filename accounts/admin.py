from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from accounts.models import API_KEY_SCOPES, ApiKey, Membership, Organization, Workspace
from accounts.services import api_key_revoke


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
    list_filter = ("organization",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role")
    list_filter = ("role", "workspace__organization", "workspace")
    autocomplete_fields = ("user",)


class ApiKeyAdminForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(scope, f"{scope}: {meaning}") for scope, meaning in API_KEY_SCOPES.items()],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "choose at least one scope"},
    )

    class Meta:
        model = ApiKey
        fields = ("name", "organization", "workspace", "scopes")

    def clean_scopes(self) -> list[str]:
        return sorted(set(self.cleaned_data["scopes"]))

    def clean(self):
        cleaned = super().clean() or self.cleaned_data
        organization = cleaned.get("organization") or self.instance_organization()
        workspace = cleaned.get("workspace")
        if workspace is not None and organization is not None \
                and workspace.organization_id != organization.id:
            # A key of one organization must never open another organization's workspace.
            self.add_error("workspace", f"{workspace} belongs to {workspace.organization}, "
                                        f"not to {organization}")
        return cleaned

    def instance_organization(self):
        return self.instance.organization if self.instance.organization_id else None


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyAdminForm
    list_display = ("name", "prefix", "organization", "workspace", "scope_list", "created_at",
                    "last_used_at", "revoked_at")
    list_filter = ("organization", "workspace", ("revoked_at", admin.EmptyFieldListFilter))
    list_select_related = ("organization", "workspace")
    search_fields = ("name", "prefix")
    actions = ["revoke_keys"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("prefix", "created_at", "last_used_at")
        # A key stays with the tenant it was made for, and a revocation is final.
        return ("organization", "workspace", "prefix", "created_at", "last_used_at", "revoked_at")

    @admin.display(description="Scopes")
    def scope_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes or [])

    def save_model(self, request, obj, form, change):
        if not change:
            obj._raw_key = obj.assign_new_key()  # for response_add; only the hash is stored
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        """The new key on the response itself: never in a message, a cookie or the session."""
        raw_key = getattr(obj, "_raw_key", None)
        if raw_key is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts, "api_key": obj, "raw_key": raw_key,
            "title": "Copy the new API key",
        }
        response = TemplateResponse(request, "admin/accounts/apikey/created.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke the selected API keys", permissions=["change"])
    def revoke_keys(self, request, queryset) -> None:
        revoked = sum(api_key_revoke(api_key=api_key) for api_key in queryset)
        messages.success(request, f"Revoked {revoked} key(s); requests with them are refused.")
