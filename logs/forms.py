"""The Logs page's filter form, and the time range control the export form builds on.

The forms only parse what the browser sent; logs.filters (and the export services) decide what is
valid, and their ValidationError keys are mapped back onto these fields (`add_service_errors`).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError

from logs.filters import format_timestamp

TIME_RANGE_PRESETS: dict[str, tuple[str, timedelta | None]] = {
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
    "custom": ("Custom", None),
}
DATETIME_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]

# Filter error keys (logs.filters) → the form field that shows them.
FILTER_ERROR_FIELDS = {
    "filters.created_at": "created_from",
    "filters.created_at.gte": "created_from",
    "filters.created_at.lte": "created_to",
    "filters.ai_model": "ai_model",
    "filters.status_code": "status_code",
}


class TimeRangeForm(forms.Form):
    """Presets relative to now, or a custom from/to (UTC); plus the model and status filters."""

    default_time_range = "7d"
    # Error keys of normalise_filters (and of subclasses' services) → the field showing them.
    error_fields = FILTER_ERROR_FIELDS

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
        """The filter dict for logs.filters.normalise_filters (which does the checking)."""
        data = self.cleaned_data
        label_and_span = TIME_RANGE_PRESETS.get(data.get("time_range") or "")
        span = label_and_span[1] if label_and_span else None
        created_at: dict[str, str] = {}
        if span is not None:
            created_at = {"gte": format_timestamp(now - span), "lte": format_timestamp(now)}
        else:
            if data.get("created_from"):
                created_at["gte"] = format_timestamp(data["created_from"])
            if data.get("created_to"):
                created_at["lte"] = format_timestamp(data["created_to"])
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
        # "filters.metadata.team" is about the metadata field, as "filters.metadata" is.
        field = self.error_fields.get(key) or self.error_fields.get(key.rpartition(".")[0])
        if field == "created_from" and self.valid_filter_data().get("time_range") != "custom":
            field = "time_range"
        return field if field in self.fields else None

    def named_message(self, key: str, message: str) -> str:
        """The message with the field's label in front, and a range's bound names ("gte",
        "lte") in the words of this form: "From (UTC): must not be after To (UTC)"."""
        field = self.field_for_service_key(key)
        label = self.fields[field].label if field else key
        if key.startswith("filters.created_at"):
            lower, upper = self.fields["created_from"].label, self.fields["created_to"].label
        else:  # a range of numbers (cost, tokens)
            lower, upper = "the minimum", "the maximum"
        words = re.sub(r"\blte\b", str(upper), message)
        words = re.sub(r"\bgte\b", str(lower), words)
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


class LogFilterForm(TimeRangeForm):
    default_time_range = "30d"
