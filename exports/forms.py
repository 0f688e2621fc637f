"""The Request Data form, built on the Logs page's time range control (logs.forms).

The forms only parse what the browser sent; the services decide what is valid and their
ValidationError keys are mapped back onto these fields (`add_service_errors`).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from django import forms
from django.conf import settings

from exports.fields import DEFAULT_FIELD_NAMES, FIELDS
from exports.models import ExportJob
from logs.forms import FILTER_ERROR_FIELDS, TimeRangeForm

# Service error keys → the form field that shows them (filter keys: TimeRangeForm's).
SERVICE_ERROR_FIELDS = {
    **FILTER_ERROR_FIELDS,
    "requested_data": "requested_data",
    "limit": "limit",
    "offset": "offset",
    "description": "description",
    "format": "file_format",
}


class ExportRequestForm(TimeRangeForm):
    error_fields = SERVICE_ERROR_FIELDS

    limit = forms.IntegerField(
        label="Maximum number of logs", required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    offset = forms.IntegerField(
        label="Offset", required=False, initial=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    requested_data = forms.MultipleChoiceField(
        label="Requested fields",
        choices=[(field.name, field.label) for field in FIELDS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=list(DEFAULT_FIELD_NAMES),
    )
    description = forms.CharField(
        label="Description", required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. March usage review"}),
    )
    file_format = forms.ChoiceField(
        label="Format", choices=ExportJob.Format.choices, widget=forms.RadioSelect,
        required=False, initial=ExportJob.Format.JSONL,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["limit"].initial = settings.EXPORTS_MAX_LOGS_PER_EXPORT
        self.fields["ai_model"].widget = forms.HiddenInput()
        self.fields["status_code"].widget = forms.HiddenInput()

    @property
    def catalogue(self):
        """The catalogue's fields with their checkbox, for a label + description layout."""
        chosen = set(self["requested_data"].value() or [])
        return [(field, field.name in chosen) for field in FIELDS]

    def label_preview_problems(self, preview) -> None:
        """The preview's problems, each naming its field as the form's errors do."""
        preview.problems = {
            key: [self.named_message(key, message) for message in messages]
            for key, messages in preview.problems.items()
        }

    @staticmethod
    def empty_export_error(preview) -> tuple[str | None, str]:
        """(field, message) for a request that would export no log at all."""
        if preview.matches:
            return ("offset", f"Offset: skips all {preview.matches:,} matching logs, so the "
                              "export would be empty; use a smaller offset.")
        return (None, "No logs match these filters, so the export would be empty; widen the "
                      "time range or clear a filter.")

    def service_arguments(self, *, now: datetime) -> dict:
        """Keyword arguments for services.export_job_create."""
        data = self.cleaned_data
        return {
            "filters": self.raw_filters(now=now),
            "requested_data": list(data.get("requested_data") or []),
            "limit": data.get("limit"),
            "offset": data.get("offset"),
            "description": data.get("description") or "",
            "file_format": data.get("file_format") or None,
        }


class ExportListFilterForm(forms.Form):
    """The Exports list's search (description) and status filter."""

    q = forms.CharField(label="Search descriptions", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False,
        choices=[("", "All statuses"), *ExportJob.Status.choices],
    )

    @property
    def values(self) -> dict:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}

    @property
    def is_filtering(self) -> bool:
        return bool(self.values)

    def query_string(self) -> str:
        return urlencode(sorted(self.values.items()))
