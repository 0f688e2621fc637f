"""The Request Data form, built on the Logs page's time range control (logs.forms).

The forms only parse what the browser sent; the services decide what is valid and their
ValidationError keys are mapped back onto these fields (`add_service_errors`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from exports.fields import DEFAULT_FIELD_NAMES, FIELDS
from exports.formats import FORMATS_BY_NAME
from exports.models import ExportJob
from exports.redaction.detectors import DETECTOR_LABELS, DETECTORS
from exports.redaction.policy import with_required
from logs.forms import FILTER_ERROR_FIELDS, TimeRangeForm

# Service error keys → the form field that shows them (filter keys: TimeRangeForm's).
SERVICE_ERROR_FIELDS = {
    **FILTER_ERROR_FIELDS,
    "requested_data": "requested_data",
    "limit": "limit",
    "offset": "offset",
    "description": "description",
    "format": "file_format",
    "filters.ai_provider": "ai_provider",
    "filters.trace_id": "trace_id",
    "filters.metadata": "metadata",
    "filters.cost.gte": "cost_min",
    "filters.cost.lte": "cost_max",
    "filters.total_tokens.gte": "total_tokens_min",
    "filters.total_tokens.lte": "total_tokens_max",
}


class ValueListField(forms.Field):
    """Values from checkboxes, or one comma-separated value in a link (status_code=429,500)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[str]:
        items = value if isinstance(value, list | tuple) else [value] if value else []
        return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


@dataclass
class FilterChip:
    """One filter of the Request Data form: a removable chip holding its input(s)."""

    name: str
    label: str
    kind: str  # choice | range | text
    active: bool
    fields: list  # the chip's bound fields
    choices: list[tuple[str, int, bool]]  # (value, logs, chosen) of a choice list


# (name, label, kind): the filters the form offers, in the order "Add a filter" lists them.
FILTER_CHIPS = (
    ("ai_provider", "Provider", "choice"),
    ("ai_model", "Model", "choice"),
    ("status_code", "Status code", "choice"),
    ("cost", "Cost (USD)", "range"),
    ("total_tokens", "Total tokens", "range"),
    ("metadata", "Metadata", "text"),
    ("trace_id", "Trace ID", "text"),
)
RANGE_CHIPS = ("cost", "total_tokens")


def _dollars_to_cents(text: str) -> str:
    # Logs keep cost in cents; the form speaks dollars. Text that is no number goes through
    # as it is, so that logs.filters names the problem.
    try:
        return str(Decimal(text.strip()) * 100)
    except InvalidOperation:
        return text


class RedactionRulesForm(forms.Form):
    """The three inputs of redaction rules (exports.redaction.rules), on the Request Data form
    and the workspace's policy page."""

    redact_detectors = forms.MultipleChoiceField(
        label="Detectors", required=False, widget=forms.CheckboxSelectMultiple,
        choices=[(name, DETECTOR_LABELS[name]) for name in DETECTORS])
    redact_patterns = forms.CharField(
        label="Patterns", required=False, widget=forms.Textarea(attrs={
            "rows": 2,
            "placeholder": "name = regex, one per line, e.g. employee_id = EMP-[0-9]{6}"}))
    redact_drop_keys = forms.CharField(
        label="Drop keys", required=False, widget=forms.TextInput(attrs={
            "placeholder": "e.g. metadata.user_email, request.user"}))

    def set_policy(self, policy, *, fixed: bool = True) -> None:
        # The workspace's rules: the defaults of a new request; when mandatory, fixed.
        self.policy = policy if fixed else None
        rules = policy.rules if policy is not None else {}
        self.fields["redact_detectors"].initial = rules.get("detectors", [])
        self.fields["redact_patterns"].initial = "\n".join(
            f"{item['name']} = {item['regex']}" for item in rules.get("patterns", []))
        self.fields["redact_drop_keys"].initial = ", ".join(rules.get("drop_keys", []))

    def redaction_field(self, key: str) -> str | None:
        if key.startswith("redaction."):  # redaction.patterns[0].regex → redact_patterns
            name = "redact_" + key.split(".")[1].split("[")[0]
            return name if name in self.fields else None
        return None

    @property
    def fixed_detectors(self) -> list[str]:
        """The detectors a mandatory policy requires: shown checked and disabled."""
        if self.policy is None or not self.policy.mandatory:
            return []
        return self.policy.rules.get("detectors", [])

    def redaction(self) -> dict:
        """The rules as typed; a mandatory policy's are added (their inputs are fixed)."""
        data = self.cleaned_data
        patterns = []
        for line in (data.get("redact_patterns") or "").splitlines():
            if line.strip():
                name, _, regex = line.partition("=")
                patterns.append({"name": name.strip(), "regex": regex.strip()})
        keys = [key.strip() for key in (data.get("redact_drop_keys") or "").replace(
            "\n", ",").split(",") if key.strip()]
        rules = {"detectors": list(data.get("redact_detectors") or []), "patterns": patterns,
                 "drop_keys": keys}
        if self.policy is not None and self.policy.mandatory:
            rules = with_required(rules, self.policy.rules)
        return rules


class RedactionPolicyForm(RedactionRulesForm):
    mandatory = forms.BooleanField(
        label="Mandatory: no export of this workspace may apply fewer rules", required=False)

    def __init__(self, *args, policy=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_policy(policy, fixed=False)  # the page edits the rules: none is fixed here
        self.fields["mandatory"].initial = bool(policy and policy.mandatory)
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"errors-{name}"


class ExportRequestForm(TimeRangeForm, RedactionRulesForm):
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

    ai_provider = ValueListField(label="Provider", required=False)
    ai_model = ValueListField(label="Model", required=False)  # type: ignore[assignment]
    status_code = ValueListField(label="Status code", required=False)  # type: ignore[assignment]
    cost_min = forms.CharField(label="Minimum cost (USD)", required=False,
                               widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    cost_max = forms.CharField(label="Maximum cost (USD)", required=False,
                               widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    total_tokens_min = forms.CharField(label="Minimum total tokens", required=False,
                                       widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    total_tokens_max = forms.CharField(label="Maximum total tokens", required=False,
                                       widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    metadata = forms.CharField(
        label="Metadata", required=False,
        widget=forms.TextInput(attrs={"placeholder": "key = value, e.g. environment = prod"}))
    trace_id = forms.CharField(label="Trace ID", required=False)
    def __init__(self, *args, facet_counts: dict | None = None, policy=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.set_policy(policy)
        self.fields["limit"].initial = settings.EXPORTS_MAX_LOGS_PER_EXPORT
        self.facet_counts = facet_counts or {}
        # Each input names the slot its message is shown in (also refreshed by the preview).
        for name, field in self.fields.items():
            field.widget.attrs["aria-describedby"] = f"errors-{name}"

    def clean_metadata(self) -> dict:
        text = self.cleaned_data.get("metadata") or ""
        pairs = {}
        for pair in (part for part in text.split(",") if part.strip()):
            key, equals, value = pair.partition("=")
            if not equals or not key.strip():
                raise ValidationError(f"write each pair as key = value, e.g. environment = "
                                      f"prod; {pair.strip()!r} is not")
            pairs[key.strip()] = value.strip()
        return pairs

    def raw_filters(self, *, now: datetime) -> dict:
        raw = super().raw_filters(now=now)
        data = self.cleaned_data
        for name in ("ai_provider", "metadata"):
            if data.get(name):
                raw[name] = data[name]
        if (data.get("trace_id") or "").strip():
            raw["trace_id"] = [data["trace_id"].strip()]  # one id, exactly, commas and all
        for name in RANGE_CHIPS:
            given = {bound: data.get(f"{name}_{end}") for bound, end in (("gte", "min"),
                                                                         ("lte", "max"))}
            bounds: dict[str, str] = {bound: value.strip() for bound, value in given.items()
                                      if value and value.strip()}
            if name == "cost":
                bounds = {bound: _dollars_to_cents(value) for bound, value in bounds.items()}
            if bounds:
                raw[name] = bounds
        return raw

    @property
    def filter_chips(self) -> list[FilterChip]:
        chips = []
        for name, label, kind in FILTER_CHIPS:
            names = [f"{name}_min", f"{name}_max"] if kind == "range" else [name]
            fields = [self[field] for field in names]
            choices = []
            if kind == "choice":
                chosen = self.fields[name].to_python(self[name].value()) or []
                counted = [(str(value), logs) for value, logs in self.facet_counts.get(name, [])]
                known = {value for value, _ in counted}
                # A value from a link that no log of the range has still shows, at 0.
                choices = [(value, logs, value in chosen) for value, logs in counted] + [
                    (value, 0, True) for value in chosen if value not in known]
                active = bool(chosen)
            else:
                active = any(field.value() for field in fields)
            chips.append(FilterChip(name=name, label=label, kind=kind, active=active,
                                    fields=fields, choices=choices))
        return chips

    def problems_by_field(self, preview) -> dict[str, list[str]]:
        """The form's own errors and the preview's problems, by the field that shows them."""
        problems: dict[str, list[str]] = {}
        if self.is_bound:
            for name, errors in self.errors.items():
                problems.setdefault(name, []).extend(str(error) for error in errors)
        for key, messages in (getattr(preview, "problems", None) or {}).items():
            problems.setdefault(self.field_for_service_key(key) or "__all__", []).extend(
                messages)
        return problems

    @property
    def format_options(self):
        """Each format's radio with its one-line summary."""
        return [(radio, FORMATS_BY_NAME[radio.data["value"]].summary)
                for radio in self["file_format"]]

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

    def field_for_service_key(self, key: str) -> str | None:
        return self.redaction_field(key) or super().field_for_service_key(key)

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
            "redaction": self.redaction(),
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
