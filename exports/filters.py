"""Parsing and applying export filters, for the page, the API, the preview and the writer alike.

A filter dict is normalised once, when an export is created or updated, and stored in that form;
everything downstream reads only the normalised form.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from logs.models import Log

# Deterministic order, so that consecutive offset pages never overlap or skip.
LOG_ORDER = ("created_at", "id")


def parse_timestamp(value: Any, *, field: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationError(
                {field: f"{value!r} is not an ISO-8601 date-time, e.g. 2024-01-31T23:59:59Z"}
            ) from None
    else:
        raise ValidationError({field: "must be an ISO-8601 date-time string"})
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValidationError(
            {field: f"{value!r} has no timezone; add one, e.g. Z or +02:00"}
        )
    return parsed.astimezone(UTC)


def format_timestamp(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def normalise_filters(raw: Any) -> dict:
    """Check a filter dict and return its normalised form; ValidationError names the field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError({"filters": "must be an object"})
    unknown = sorted(set(raw) - {"created_at"})
    if unknown:
        raise ValidationError({f"filters.{unknown[0]}": "is not a known filter"})
    normalised: dict[str, Any] = {}
    created_at = raw.get("created_at")
    if created_at is not None:
        if not isinstance(created_at, dict):
            raise ValidationError({"filters.created_at": "must be an object with gte and/or lte"})
        extra = sorted(set(created_at) - {"gte", "lte"})
        if extra:
            raise ValidationError(
                {f"filters.created_at.{extra[0]}": "is not supported; use gte and lte"}
            )
        bounds = {
            key: parse_timestamp(created_at[key], field=f"filters.created_at.{key}")
            for key in ("gte", "lte")
            if created_at.get(key) not in (None, "")
        }
        if "gte" in bounds and "lte" in bounds and bounds["gte"] > bounds["lte"]:
            raise ValidationError({"filters.created_at.gte": "must not be after lte"})
        if bounds:
            normalised["created_at"] = {key: format_timestamp(v) for key, v in bounds.items()}
    return normalised


def filter_logs(queryset: QuerySet[Log], filters: dict) -> QuerySet[Log]:
    """Apply normalised filters; the time range is inclusive at both ends."""
    created_at = filters.get("created_at") or {}
    if "gte" in created_at:
        queryset = queryset.filter(created_at__gte=datetime.fromisoformat(created_at["gte"]))
    if "lte" in created_at:
        queryset = queryset.filter(created_at__lte=datetime.fromisoformat(created_at["lte"]))
    return queryset


def matching_logs(*, workspace_id, filters: dict) -> QuerySet[Log]:
    """The workspace's logs that match, in export order."""
    return filter_logs(Log.objects.filter(workspace_id=workspace_id), filters).order_by(*LOG_ORDER)


def export_slice_count(*, matches: int, limit: int, offset: int) -> int:
    """How many rows an export of this limit and offset will hold: min(limit, matches - offset)."""
    return max(0, min(limit, matches - offset))
