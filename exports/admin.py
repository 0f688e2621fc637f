"""Exports in the admin: read-only once started; Start, Start Again, Cancel and Download go
through exports.services, with the same refusals as the page."""

from __future__ import annotations

import json
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import truncatechars
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.formats import date_format
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_POST

from exports import inputs, services
from exports.access import ExportsUnavailable
from exports.audit import Actor
from exports.errors import InvalidTransition, QueueUnavailable
from exports.fields import FIELDS, FIELDS_BY_NAME
from exports.models import ExportEvent, ExportJob, MaintenanceState, RedactionPolicy
from exports.redaction.policy import export_rules, save_policy
from exports.redaction.rules import normalise_redaction

Status = ExportJob.Status
# What the page also answers with a refusal rather than an error page.
REFUSALS = (InvalidTransition, ExportsUnavailable, QueueUnavailable)
# A draft's settings may still change (through the service); everything else is a record.
DRAFT_EDITABLE = ("description", "requested_data", "limit", "offset", "format", "redaction")
RECORD_FIELDS = ("workspace", "created_by", "created_by_api_key", "filters_shown", "status",
                 "attempt", "error", "total_records", "rows_written", "rows_skipped",
                 "redaction_counts",
                 "file_name", "file_size",
                 "sha256", "created_at", "started_at", "finished_at", "last_updated_at",
                 "expires_at", "lease_expires_at", "retries")


AUDIT_FIELDS = ("at", "action", "actor", "channel", "ip_address", "attempt")


class ReadOnlyAdminMixin:
    """Records only the code writes (the audit trail: exports.audit; the maintenance pass:
    exports.maintenance): the admin reads them."""

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


@admin.register(ExportEvent)
class ExportEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "action", "actor", "channel", "ip_address", "export_id", "workspace")
    list_filter = ("action", "channel", "workspace")
    search_fields = ("actor", "ip_address", "export__id")
    date_hierarchy = "at"
    list_select_related = ("workspace",)


@admin.register(MaintenanceState)
class MaintenanceStateAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("started_at", "finished_at", "started_by", "export_files_deleted",
                    "logs_deleted", "errors", "runs", "next_due")

    @admin.display(description="next pass due")
    def next_due(self, state: MaintenanceState) -> str:
        if settings.MAINTENANCE_INTERVAL_SECONDS <= 0:
            return "never (MAINTENANCE_INTERVAL_SECONDS=0)"
        if state.started_at is None:
            return "when a worker starts"
        due = state.started_at + timedelta(seconds=settings.MAINTENANCE_INTERVAL_SECONDS)
        return date_format(timezone.localtime(due), "DATETIME_FORMAT")


class ExportJobAdminForm(forms.ModelForm):
    """A draft's settings, checked by the same normalisers as the page and the API."""

    requested_data = forms.MultipleChoiceField(
        choices=[(field.name, f"{field.label} ({field.name})") for field in FIELDS],
        widget=forms.CheckboxSelectMultiple,
        label="Requested fields",
    )

    class Meta:
        model = ExportJob
        fields = DRAFT_EDITABLE

    def clean_redaction(self):
        # The same rules and the same workspace policy as the page and the API.
        try:
            return export_rules(self.instance.workspace_id, self.cleaned_data.get("redaction"),
                                given=True)
        except ValidationError as error:
            raise ValidationError([f"{key}: {message}" for key, messages in
                                   error.message_dict.items() for message in messages]) from None

    def _normalised(self, name: str, normalise):
        try:
            return normalise(self.cleaned_data.get(name))
        except ValidationError as error:
            raise ValidationError(error.message_dict.get(name, error.messages)) from None

    def clean_requested_data(self):
        return self._normalised("requested_data", inputs.normalise_requested_data)

    def clean_limit(self):
        return self._normalised("limit", inputs.normalise_limit)

    def clean_offset(self):
        return self._normalised("offset", inputs.normalise_offset)

    def clean_description(self):
        return self._normalised("description", inputs.normalise_description)


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    form = ExportJobAdminForm
    # The link and the status first: on a narrow screen the last columns scroll out of view.
    list_display = ("export", "status", "download_link", "tenant", "logs", "failure")
    list_filter = ("status", "workspace__organization", "workspace", "format")
    list_select_related = ("workspace__organization",)
    search_fields = ("id", "description")
    actions = ["start_exports", "cancel_exports"]
    inlines = [ExportEventInline]
    fieldsets = (
        (None, {"fields": ("workspace", "created_by", "created_by_api_key", "status",
                           "description")}),
        ("What it exports", {"fields": ("filters_shown", "requested_data", "limit", "offset",
                                        "format", "redaction")}),
        ("Run", {"fields": ("attempt", "error", "total_records", "rows_written", "rows_skipped",
                            "redaction_counts",
                            "created_at",
                            "started_at", "finished_at", "last_updated_at", "lease_expires_at",
                            "retries")}),
        ("File", {"fields": ("file_name", "file_size", "sha256", "expires_at")}),
    )

    # --- Read-only records ------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Exports are requested on the page or through the API, which count and gate them.
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: ExportJob | None = None):
        if obj is not None and obj.status != Status.DRAFT:
            return (*RECORD_FIELDS, *DRAFT_EDITABLE, "requested_fields")
        return RECORD_FIELDS

    def get_fieldsets(self, request: HttpRequest, obj: ExportJob | None = None):
        if obj is None or obj.status == Status.DRAFT:
            return self.fieldsets
        # A record shows its fields by label rather than as the stored list.
        return [(name, {"fields": tuple("requested_fields" if field == "requested_data" else field
                                        for field in options["fields"])})
                for name, options in self.fieldsets]

    @admin.display(description="Requested fields")
    def requested_fields(self, job: ExportJob) -> str:
        labels = [FIELDS_BY_NAME[name].label for name in job.requested_data
                  if name in FIELDS_BY_NAME]
        return f"{len(labels)}: {', '.join(labels)}"

    def save_model(self, request, obj: ExportJob, form, change) -> None:
        """A draft changes through the service, which refuses once the export has started."""
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        if "format" in changes:
            changes["file_format"] = changes.pop("format")
        if not changes:
            return
        try:
            services.export_job_update(job=obj, **changes)
        except REFUSALS as refusal:
            messages.error(request, f"Not changed: {refusal.message}")

    def delete_model(self, request, obj: ExportJob) -> None:
        services.export_job_delete(job=obj, actor=Actor.for_admin(request))

    def delete_queryset(self, request, queryset) -> None:
        for job in queryset:
            services.export_job_delete(job=job, actor=Actor.for_admin(request))

    # --- List columns -----------------------------------------------------------------------

    @admin.display(description="Export", ordering="created_at")
    def export(self, job: ExportJob) -> str:
        created = date_format(timezone.localtime(job.created_at), "SHORT_DATETIME_FORMAT")
        return format_html('{}<div class="export-description">{}</div>', created,
                           truncatechars(job.description, 60) or "no description")

    @admin.display(description="Workspace (org.)", ordering="workspace__name")
    def tenant(self, job: ExportJob) -> str:
        return f"{job.workspace} ({job.workspace.organization})"

    @admin.display(description="Logs written", ordering="total_records")
    def logs(self, job: ExportJob) -> str:
        return f"{job.rows_written:,} of {job.total_records:,}"

    @admin.display(description="Filters")
    def filters_shown(self, job: ExportJob) -> str:
        if not job.filters:
            return "none: every log of the workspace"
        return json.dumps(job.filters, indent=1, sort_keys=True)

    @admin.display(description="Failure (technical)")
    def failure(self, job: ExportJob) -> str:
        return truncatechars(job.error, 60) if job.error else ""

    @admin.display(description="File")
    def download_link(self, job: ExportJob) -> str:
        if job.status != Status.SUCCESS:
            return ""
        return format_html('<a href="{}">Download</a>',
                           reverse("admin:exports_exportjob_download", args=[job.pk]))

    # --- Actions: the services, their refusals as messages -----------------------------------

    def _apply(self, request: HttpRequest, job: ExportJob, service, done: str) -> bool:
        try:
            service(job=job, actor=Actor.for_admin(request))
        except REFUSALS as refusal:
            messages.error(request, f"{job}: {refusal.message}")
            return False
        except ValidationError as refusal:  # a mandatory redaction policy the draft falls short of
            messages.error(request, f"{job}: " + "; ".join(
                f"{key}: {message}" for key, problems in refusal.message_dict.items()
                for message in problems))
            return False
        messages.success(request, f"{job}: {done}")
        return True

    @admin.action(description="Start (or start again) the selected exports",
                  permissions=["change"])
    def start_exports(self, request: HttpRequest, queryset) -> None:
        for job in queryset.select_related("workspace__organization"):
            self._apply(request, job, services.export_job_start, "started.")

    @admin.action(description="Cancel the selected exports", permissions=["change"])
    def cancel_exports(self, request: HttpRequest, queryset) -> None:
        for job in queryset.select_related("workspace__organization"):
            self._apply(request, job, services.export_job_cancel, "cancelled.")

    # --- The change page's buttons ----------------------------------------------------------

    def get_urls(self):
        def wrap(view):
            return self.admin_site.admin_view(view)

        return [
            path("<uuid:object_id>/start/", wrap(self.start_view),
                 name="exports_exportjob_start"),
            path("<uuid:object_id>/cancel/", wrap(self.cancel_view),
                 name="exports_exportjob_cancel"),
            path("<uuid:object_id>/download/", wrap(self.download_view),
                 name="exports_exportjob_download"),
            *super().get_urls(),
        ]

    def _job_for(self, request: HttpRequest, object_id, *, change: bool) -> ExportJob:
        job = get_object_or_404(ExportJob.objects.select_related("workspace__organization"),
                                pk=object_id)
        allowed = (self.has_change_permission(request, job) if change
                   else self.has_view_permission(request, job))
        if not allowed:
            raise PermissionDenied
        return job

    def _back_to(self, job: ExportJob) -> HttpResponseRedirect:
        return redirect("admin:exports_exportjob_change", job.pk)

    @method_decorator(require_POST)
    def start_view(self, request: HttpRequest, object_id) -> HttpResponse:
        job = self._job_for(request, object_id, change=True)
        self._apply(request, job, services.export_job_start, "started.")
        return self._back_to(job)

    @method_decorator(require_POST)
    def cancel_view(self, request: HttpRequest, object_id) -> HttpResponse:
        job = self._job_for(request, object_id, change=True)
        self._apply(request, job, services.export_job_cancel, "cancelled.")
        return self._back_to(job)

    @method_decorator(require_GET)
    def download_view(self, request: HttpRequest, object_id) -> HttpResponse:
        """A fresh signed URL on every click, as on the page."""
        job = self._job_for(request, object_id, change=False)
        try:
            url = services.export_job_download_url(job=job, actor=Actor.for_admin(request))
        except REFUSALS as refusal:
            messages.error(request, f"{job}: {refusal.message}")
            return self._back_to(job)
        return redirect(request.build_absolute_uri(url))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        extra_context = {**(extra_context or {}), "export_actions": self._buttons(job)}
        if job is not None and job.status != Status.DRAFT:
            # Nothing of a started export can be saved, so no Save buttons either.
            extra_context.update(show_save=False, show_save_and_continue=False,
                                 show_save_and_add_another=False)
        return super().change_view(request, object_id, form_url, extra_context)

    def _buttons(self, job: ExportJob | None) -> list[dict]:
        """The same actions the page offers for this status."""
        if job is None:
            return []
        buttons = []
        if job.status in ExportJob.STARTABLE:
            label = "Start" if job.status == Status.DRAFT else "Start Again"
            buttons.append({"label": label, "method": "post",
                            "url": reverse("admin:exports_exportjob_start", args=[job.pk])})
        if job.status == Status.IN_PROGRESS:
            buttons.append({"label": "Cancel", "method": "post",
                            "url": reverse("admin:exports_exportjob_cancel", args=[job.pk])})
        if job.status == Status.SUCCESS:
            buttons.append({"label": "Download", "method": "get",
                            "url": reverse("admin:exports_exportjob_download", args=[job.pk])})
        return buttons


class RedactionPolicyAdminForm(forms.ModelForm):
    class Meta:
        model = RedactionPolicy
        fields = ("workspace", "rules", "mandatory")

    def clean_rules(self):
        try:
            return normalise_redaction(self.cleaned_data.get("rules"))
        except ValidationError as error:
            raise ValidationError([f"{key}: {message}" for key, messages in
                                   error.message_dict.items() for message in messages]) from None


@admin.register(RedactionPolicy)
class RedactionPolicyAdmin(admin.ModelAdmin):
    form = RedactionPolicyAdminForm
    list_display = ("workspace", "mandatory", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj: RedactionPolicy, form, change) -> None:
        saved = save_policy(workspace=obj.workspace, rules=obj.rules, mandatory=obj.mandatory,
                            actor_label=request.user.get_username())
        obj.pk = saved.pk
