"""The Request Data form and the time range control it shares with the Logs page.

The forms only parse what the browser sent; the services decide what is valid and their
ValidationError keys are mapped back onto these fields (`add_service_errors`).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from exports.fields import DEFAULT_FIELD_NAMES, FIELDS
from exports.models import ExportJob

TIME_RANGE_PRESETS: dict[str, tuple[str, timedelta | None]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "custom": ("Custom", None),
}
DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

# Service error keys → the form field that shows them.
SERVICE_ERROR_FIELDS = {
    "requested_data": "requested_data",
    "limit": "limit",
    "offset": "offset",
    "description": "description",
    "format": "file_format",
    "filters.created_at": "created_from",
    "filters.created_at.gte": "created_from",
    "filters.created_at.lte": "created_to",
    "filters.ai_model": "ai_model",
    "filters.status_code": "status_code",
}


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class TimeRangeForm(forms.Form):
    """Presets relative to now, or a custom from/to (UTC); plus the model and status filters."""

    default_time_range = "7d"

    time_range = forms.ChoiceField(
        label="Time range",
        choices=[(key, label) for key, (label, _) in TIME_RANGE_PRESETS.items()],
        widget=forms.RadioSelect,
        required=False,
    )
    created_from = forms.DateTimeField(
        label="From (UTC)", required=False, input_formats=DATETIME_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    created_to = forms.DateTimeField(
        label="To (UTC)", required=False, input_formats=DATETIME_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ai_model = forms.CharField(label="Model", required=False)
    status_code = forms.CharField(label="Status code", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_range"].initial = self.default_time_range

    def clean_time_range(self) -> str:
        return self.cleaned_data.get("time_range") or self.default_time_range

    def raw_filters(self, *, now: datetime) -> dict:
        """The filter dict for exports.filters.normalise_filters (which does the checking)."""
        data = self.cleaned_data
        label_and_span = TIME_RANGE_PRESETS.get(data.get("time_range") or "")
        span = label_and_span[1] if label_and_span else None
        created_at: dict[str, str] = {}
        if span is not None:
            created_at = {"gte": _utc_text(now - span), "lte": _utc_text(now)}
        else:
            if data.get("created_from"):
                created_at["gte"] = _utc_text(data["created_from"])
            if data.get("created_to"):
                created_at["lte"] = _utc_text(data["created_to"])
        raw: dict = {}
        if created_at:
            raw["created_at"] = created_at
        if data.get("ai_model"):
            raw["ai_model"] = data["ai_model"]
        if data.get("status_code"):
            raw["status_code"] = data["status_code"]
        return raw

    def filter_query(self) -> str:
        """The filters as a query string, so another page can start from the same slice."""
        data = self.valid_filter_data() if self.is_bound else {}
        pairs = [("time_range", data.get("time_range") or self.default_time_range)]
        for name in ("created_from", "created_to"):
            if data.get(name):
                pairs.append((name, data[name].strftime("%Y-%m-%dT%H:%M")))
        for name in ("ai_model", "status_code"):
            if data.get(name):
                pairs.append((name, data[name]))
        return urlencode(pairs)

    def field_for_service_key(self, key: str) -> str | None:
        field = SERVICE_ERROR_FIELDS.get(key)
        if field == "created_from" and (getattr(self, "cleaned_data", None) or {}).get(
                "time_range") != "custom":
            field = "time_range"
        return field if field in self.fields else None

    def named_message(self, key: str, message: str) -> str:
        """The service's message with the field's label in front, and the bound names of a
        range ("gte", "lte") in the words of this form."""
        field = self.field_for_service_key(key)
        label = self.fields[field].label if field else key
        words = re.sub(r"\blte\b", str(self.fields["created_to"].label), message)
        words = re.sub(r"\bgte\b", str(self.fields["created_from"].label), words)
        return f"{label}: {words}"

    def add_service_errors(self, error: ValidationError) -> None:
        """Shows each service error next to the field it is about, naming that field."""
        for key, messages in error.message_dict.items():
            field = self.field_for_service_key(key)
            for message in messages:
                self.add_error(field, self.named_message(key, message))

    def valid_filter_data(self) -> dict:
        """The values that parsed, even when the filters were refused afterwards."""
        return getattr(self, "cleaned_data", None) or {}


class ExportRequestForm(TimeRangeForm):
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
        self.fields["limit"].initial = settings.EXPORTS_MAX_LOGS_PER_JOB
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


class LogFilterForm(TimeRangeForm):
    default_time_range = "30d"


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

    def apply(self, exports):
        values = self.values
        if values.get("q"):
            exports = exports.filter(description__icontains=values["q"].strip())
        if values.get("status"):
            exports = exports.filter(status=values["status"])
        return exports

    def query_string(self) -> str:
        return urlencode(sorted(self.values.items()))
