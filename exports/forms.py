"""The Request Data form, built on the Logs page's time range control (logs.forms).

The forms only parse what the browser sent; the services decide what is valid and their
ValidationError keys are mapped back onto these fields (`add_service_errors`).
"""

from __future__ import annotations

from datetime import datetime

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
        label="Skip the first", required=False, initial=0,
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
        self.fields["limit"].initial = settings.EXPORTS_MAX_LOGS_PER_JOB
        self.fields["ai_model"].widget = forms.HiddenInput()
        self.fields["status_code"].widget = forms.HiddenInput()

    @property
    def catalogue(self):
        """The catalogue's fields with their checkbox, for a label + description layout."""
        chosen = set(self["requested_data"].value() or [])
        return [(field, field.name in chosen) for field in FIELDS]

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
