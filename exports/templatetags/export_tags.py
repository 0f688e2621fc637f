"""Small display helpers for export rows and previews."""

from __future__ import annotations

from datetime import datetime

from django import template

from exports.fields import FIELDS_BY_NAME

register = template.Library()


@register.filter
def thousands(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{int(value):,}"


@register.filter
def field_labels(names) -> str:
    return ", ".join(FIELDS_BY_NAME[name].label if name in FIELDS_BY_NAME else name
                     for name in names or [])


def _short(text: str) -> str:
    return datetime.fromisoformat(text).strftime("%b %-d, %Y %H:%M")


@register.filter
def time_range_label(filters) -> str:
    """The export's time range in words, in UTC (as the filters are stored)."""
    created_at = (filters or {}).get("created_at") or {}
    gte, lte = created_at.get("gte"), created_at.get("lte")
    if gte and lte:
        return f"{_short(gte)} – {_short(lte)} UTC"
    if gte:
        return f"Since {_short(gte)} UTC"
    if lte:
        return f"Until {_short(lte)} UTC"
    return "All time"


@register.filter
def other_filters_label(filters) -> str:
    parts = []
    if (filters or {}).get("ai_model"):
        parts.append("model " + ", ".join(filters["ai_model"]))
    if (filters or {}).get("status_code"):
        parts.append("status " + ", ".join(str(code) for code in filters["status_code"]))
    return "; ".join(parts)
