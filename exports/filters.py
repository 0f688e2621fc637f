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


def _text_list(value: Any, *, field: str) -> list[str]:
    """One name, a comma-separated string of names, or a list of names."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValidationError({field: "must be a name or a list of names"})
    names = sorted({item.strip() for item in items if item.strip()})
    if not names:
        raise ValidationError({field: "must name at least one value"})
    return names


def _status_code_list(value: Any, *, field: str) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, int) and not isinstance(items, bool):
        items = [items]
    if not isinstance(items, list):
        raise ValidationError({field: "must be a status code or a list of status codes"})
    codes = set()
    for item in items:
        try:
            code = int(item.strip()) if isinstance(item, str) else item
        except ValueError:
            code = None
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise ValidationError({field: f"{item!r} is not an HTTP status code (100-599)"})
        codes.add(code)
    if not codes:
        raise ValidationError({field: "must name at least one status code"})
    return sorted(codes)


KNOWN_FILTERS = ("created_at", "ai_model", "status_code")


def normalise_filters(raw: Any) -> dict:
    """Check a filter dict and return its normalised form; ValidationError names the field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError({"filters": "must be an object"})
    unknown = sorted(set(raw) - set(KNOWN_FILTERS))
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
    if raw.get("ai_model") not in (None, "", []):
        normalised["ai_model"] = _text_list(raw["ai_model"], field="filters.ai_model")
    if raw.get("status_code") not in (None, "", []):
        normalised["status_code"] = _status_code_list(raw["status_code"],
                                                      field="filters.status_code")
    return normalised


def filter_logs(queryset: QuerySet[Log], filters: dict) -> QuerySet[Log]:
    """Apply normalised filters; the time range is inclusive at both ends."""
    created_at = filters.get("created_at") or {}
    if "gte" in created_at:
        queryset = queryset.filter(created_at__gte=datetime.fromisoformat(created_at["gte"]))
    if "lte" in created_at:
        queryset = queryset.filter(created_at__lte=datetime.fromisoformat(created_at["lte"]))
    if "ai_model" in filters:
        queryset = queryset.filter(ai_model__in=filters["ai_model"])
    if "status_code" in filters:
        queryset = queryset.filter(status_code__in=filters["status_code"])
    return queryset


def matching_logs(*, workspace_id, filters: dict) -> QuerySet[Log]:
    """The workspace's logs that match, in export order."""
    return filter_logs(Log.objects.filter(workspace_id=workspace_id), filters).order_by(*LOG_ORDER)


def export_slice_count(*, matches: int, limit: int, offset: int) -> int:
    """How many rows an export of this limit and offset will hold: min(limit, matches - offset)."""
    return max(0, min(limit, matches - offset))
