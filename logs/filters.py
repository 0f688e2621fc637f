"""The log query: both filter dialects, their normal form, and applying it to Log rows.

Used alike by the Logs page, the export page and API, the preview and the export writer.

A filter dict is normalised once, when an export is created or updated, and stored in that form;
everything downstream reads only the normalised form.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Q, QuerySet

from logs.metadata_filter import metadata_condition
from logs.models import Log

# Deterministic order, so that consecutive offset pages never overlap or skip.
LOG_ORDER = ("created_at", "id")


# The code of a refusal for values that are each valid but not together: a combination no JSON
# schema of the API states (the API answers it as "conflicting_values").
CONFLICT = "conflict"


def conflict(field: str, reason: str) -> ValidationError:
    return ValidationError({field: ValidationError(reason, code=CONFLICT)})


def refuse_unstorable_text(value: str, *, field: str) -> str:
    """Text every database stores: no NUL character, no lone surrogate (PostgreSQL refuses
    both, SQLite would keep what no export can write as UTF-8)."""
    if "\x00" in value:
        raise ValidationError({field: "must not contain the NUL character (\\u0000)"})
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            {field: "must be valid Unicode (it holds a lone surrogate such as \\ud800)"}
        ) from None
    return value


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
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise ValidationError(
            {field: f"{value!r} is out of range: in UTC it falls outside years 1 to 9999"}
        ) from None


def format_timestamp(value: datetime) -> str:
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


# The shapes of the name filters, as regular expressions the OpenAPI document states too
# (api.schemas), so that the document and the server agree on every value.
NAMES_TEXT = r"^$|[^\s,]"  # "" (no filter) or at least one name between the commas
NAME_ITEM = r"\S"  # an item of a list of names: not blank
ORG_MODEL_PAIR = r"\s*[^\s,_][^,]*__[^,]*[^\s,]\s*"  # provider__model
ORG_MODELS_TEXT = rf"^$|^(\s*,)*{ORG_MODEL_PAIR}(,({ORG_MODEL_PAIR}|\s*))*$"
STATUS_CODE_TEXT = r"\s*[1-5][0-9][0-9]\s*"
STATUS_CODES_TEXT = rf"^$|^{STATUS_CODE_TEXT}(,{STATUS_CODE_TEXT})*$"


def _text_list(value: Any, *, field: str) -> list[str]:
    """One name, a comma-separated string of names, or a list of names."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ValidationError({field: "must be a name or a list of names"})
    if not isinstance(value, str) and not all(item.strip() for item in items):
        raise ValidationError({field: "must not hold a blank name"})
    names = sorted({refuse_unstorable_text(item, field=field).strip()
                    for item in items if item.strip()})
    if not names:
        raise ValidationError({field: "must name at least one value"})
    return names


def _status_code_list(value: Any, *, field: str) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, int | float) and not isinstance(items, bool):
        items = [items]
    if not isinstance(items, list):
        raise ValidationError({field: "must be a status code or a list of status codes"})
    codes = set()
    for item in items:
        if isinstance(item, float) and item.is_integer():
            item = int(item)
        code = (int(item) if isinstance(item, str) and re.fullmatch(STATUS_CODE_TEXT, item)
                else item)
        if not isinstance(code, int) or isinstance(code, bool) or not 100 <= code <= 599:
            raise ValidationError({field: f"{item!r} is not an HTTP status code (100-599)"})
        codes.add(code)
    if not codes:
        raise ValidationError({field: "must name at least one status code"})
    return sorted(codes)


# --- The normal form -------------------------------------------------------------------------
#
# Every filter is stored under one of these keys, whichever dialect it arrived in:
#   created_at   {"gte": ISO-8601 Z, "lte": ...}           (time range, inclusive)
#   cost, total_tokens, request_tokens, response_tokens   {"gte": number, "lte": number}
#   ai_model, ai_provider, trace_id, config, prompt_slug, workspace_slug   sorted list of names
#   ai_org_model  sorted list of "provider__model"
#   status_code  sorted list of ints
#   metadata     {key: text value}, every pair must match

# Normal-form key -> Log column, for the range filters.
RANGE_FILTERS: dict[str, str] = {
    "cost": "cost",
    "total_tokens": "total_tokens",
    "request_tokens": "request_tokens",
    "response_tokens": "response_tokens",
}
DECIMAL_RANGES = frozenset({"cost"})
# Normal-form key -> the lookup that selects a log by any of the listed names.
NAME_FILTERS: dict[str, str] = {
    "ai_model": "ai_model__in",
    "ai_provider": "ai_provider__in",
    "trace_id": "trace_id__in",
    "config": "config__in",
    "prompt_slug": "prompt_slug__in",
    "workspace_slug": "workspace__slug__in",
}
KNOWN_FILTERS = (
    "created_at", *RANGE_FILTERS, *NAME_FILTERS, "ai_org_model", "status_code", "metadata",
)

# The public API's GenerationsFilterSchema: its name -> (normal-form key, bound or None).
SPEC_FILTERS: dict[str, tuple[str, str | None]] = {
    "time_of_generation_min": ("created_at", "gte"),
    "time_of_generation_max": ("created_at", "lte"),
    "cost_min": ("cost", "gte"),
    "cost_max": ("cost", "lte"),
    "total_units_min": ("total_tokens", "gte"),
    "total_units_max": ("total_tokens", "lte"),
    "prompt_token_min": ("request_tokens", "gte"),
    "prompt_token_max": ("request_tokens", "lte"),
    "completion_token_min": ("response_tokens", "gte"),
    "completion_token_max": ("response_tokens", "lte"),
    "configs": ("config", None),
}
# Filters of the public spec that need data this server does not keep.
UNSUPPORTED_SPEC_FILTERS = ("weighted_feedback_min", "weighted_feedback_max", "virtual_keys")
# Paging of the public spec: not a filter, it becomes the export's limit and offset.
PAGING_KEYS = ("page_size", "current_page")
# The largest value an integer column (tokens, an export's offset) holds on every database.
MAX_INTEGER = 2**31 - 1
MAX_COST = 10**13  # cost is numeric(20, 6)
MAX_METADATA_PAIRS = 20


def _range_bounds(value: Any, *, key: str, decimal: bool) -> dict[str, int | float]:
    if not isinstance(value, dict):
        raise ValidationError({f"filters.{key}": "must be an object with gte and/or lte"})
    extra = sorted(set(value) - {"gte", "lte"})
    if extra:
        raise ValidationError({f"filters.{key}.{extra[0]}": "is not supported; use gte and lte"})
    bounds: dict[str, int | float] = {}
    for bound in ("gte", "lte"):
        if value.get(bound) in (None, ""):
            continue
        bounds[bound] = _number(value[bound], field=f"filters.{key}.{bound}", decimal=decimal)
    if "gte" in bounds and "lte" in bounds and bounds["gte"] > bounds["lte"]:
        raise conflict(f"filters.{key}.gte", "must not be more than lte")
    return bounds


def _number(value: Any, *, field: str, decimal: bool) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError({field: "must be a number"})
    try:
        number = Decimal(value.strip()) if isinstance(value, str) else Decimal(repr(value))
    except InvalidOperation:
        raise ValidationError({field: f"{value!r} is not a number"}) from None
    if not number.is_finite():
        raise ValidationError({field: "must be a finite number"})
    if number < 0:
        raise ValidationError({field: "must be 0 or more"})
    ceiling = MAX_COST if decimal else MAX_INTEGER
    if number > ceiling:
        raise ValidationError({field: f"must be at most {ceiling:,}"})
    if not decimal:
        if number != number.to_integral_value():
            raise ValidationError({field: f"{value!r} is not a whole number"})
        return int(number)
    return int(number) if number == number.to_integral_value() else float(number)


def _org_model_list(value: Any, *, field: str) -> list[str]:
    pairs = []
    for item in _text_list(value, field=field):
        provider, separator, model = item.partition("__")
        if not re.fullmatch(ORG_MODEL_PAIR, item):
            raise ValidationError(
                {field: f"{item!r} is not provider__model, e.g. openai__gpt-4o"}
            )
        pairs.append(f"{provider.strip()}__{model.strip()}")
    return sorted(set(pairs))


def _metadata_pairs(value: Any, *, field: str) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError({field: "must be an object of key: value pairs"})
    if len(value) > MAX_METADATA_PAIRS:
        raise ValidationError({field: f"can hold at most {MAX_METADATA_PAIRS} pairs"})
    pairs = {}
    for key, item in value.items():
        if not key or len(key) > 200:
            raise ValidationError({field: "keys must be 1 to 200 characters"})
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ValidationError({f"{field}.{key}": "must be text or a number"})
        refuse_unstorable_text(key, field=field)
        if isinstance(item, str):
            refuse_unstorable_text(item, field=f"{field}.{key}")
        pairs[key] = item if isinstance(item, str) else str(item)
    return dict(sorted(pairs.items()))


def _translate_spec_dialect(raw: dict) -> dict:
    """Rewrite the public spec's filter names into the normal form's keys."""
    unsupported = [key for key in UNSUPPORTED_SPEC_FILTERS if key in raw]
    if unsupported:
        raise ValidationError(
            {f"filters.{unsupported[0]}": "is not supported by this server"}
        )
    translated: dict[str, Any] = {}
    source: dict[str, str] = {}
    for key, value in raw.items():
        target, bound = SPEC_FILTERS.get(key, (key, None))
        if bound is not None:
            continue
        if target in translated:
            spec_name = key if key != target else source[target]
            raise conflict(f"filters.{spec_name}", f"is given twice (also as filters.{target})")
        translated[target] = dict(value) if isinstance(value, dict) else value
        source[target] = key
    for key, value in raw.items():
        target, bound = SPEC_FILTERS.get(key, (key, None))
        if bound is None or value in (None, ""):
            continue
        existing = translated.setdefault(target, {})
        if not isinstance(existing, dict) or existing.get(bound) not in (None, ""):
            raise conflict(f"filters.{key}",
                           f"conflicts with filters.{target}.{bound}; give one of them")
        existing[bound] = value
    return translated


def normalise_filters(raw: Any) -> dict:
    """Check a filter dict (either dialect) and return its normal form; errors name the field."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError({"filters": "must be an object"})
    paging = [key for key in PAGING_KEYS if key in raw]
    if paging:
        raise ValidationError(
            {f"filters.{paging[0]}": "sets the export's size; use split_paging first"}
        )
    raw = _translate_spec_dialect(raw)
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
            raise conflict("filters.created_at.gte", "must not be after lte")
        if bounds:
            normalised["created_at"] = {key: format_timestamp(v) for key, v in bounds.items()}
    for key in RANGE_FILTERS:
        if raw.get(key) is not None:
            range_bounds = _range_bounds(raw[key], key=key, decimal=key in DECIMAL_RANGES)
            if range_bounds:
                normalised[key] = range_bounds
    for key in NAME_FILTERS:
        if raw.get(key) not in (None, "", []):
            normalised[key] = _text_list(raw[key], field=f"filters.{key}")
    if raw.get("ai_org_model") not in (None, "", []):
        normalised["ai_org_model"] = _org_model_list(raw["ai_org_model"],
                                                     field="filters.ai_org_model")
    if raw.get("status_code") not in (None, "", []):
        normalised["status_code"] = _status_code_list(raw["status_code"],
                                                      field="filters.status_code")
    if raw.get("metadata") not in (None, {}):
        normalised["metadata"] = _metadata_pairs(raw["metadata"], field="filters.metadata")
    return {key: normalised[key] for key in KNOWN_FILTERS if key in normalised}


def _paging_number(value: Any, *, field: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError({field: "must be a whole number"})
    return value


def split_paging(raw: Any, *, limit: Any = None, offset: Any = None) -> tuple[Any, Any, Any]:
    """The public spec's page_size / current_page out of a filter dict, as (filters, limit, offset).

    current_page counts from 0, so offset = current_page × page_size. A limit or offset given
    beside them (the export's own fields) is returned as it is, or refused if both say one.
    """
    if not isinstance(raw, dict) or not any(key in raw for key in PAGING_KEYS):
        return raw, limit, offset
    given = {"limit": limit, "offset": offset}
    rest = {key: value for key, value in raw.items() if key not in PAGING_KEYS}
    limit = offset = None
    if raw.get("page_size") is not None:
        limit = _paging_number(raw["page_size"], field="filters.page_size")
        cap = settings.EXPORTS_MAX_LOGS_PER_EXPORT  # page_size becomes an export's limit
        if not 1 <= limit <= cap:
            raise ValidationError({"filters.page_size": f"must be 1 to {cap:,}"})
    if raw.get("current_page") is not None:
        page = _paging_number(raw["current_page"], field="filters.current_page")
        if page < 0:
            raise ValidationError({"filters.current_page": "must be 0 or more"})
        if page and limit is None:
            raise conflict("filters.current_page", "needs filters.page_size")
        offset = page * (limit or 0)
        if offset > MAX_INTEGER:
            raise conflict("filters.current_page", "is too large: current_page × page_size must "
                                                   f"be at most {MAX_INTEGER:,}")
    for name, from_page, source in (("limit", limit, "page_size"),
                                    ("offset", offset, "current_page")):
        if from_page is not None and given[name] is not None:
            raise conflict(name, f"give either {name} or filters.{source}, not both")
    return (rest, given["limit"] if limit is None else limit,
            given["offset"] if offset is None else offset)


def filter_logs(queryset: QuerySet[Log], filters: dict) -> QuerySet[Log]:
    """Apply normalised filters; every range is inclusive at both ends."""
    created_at = filters.get("created_at") or {}
    if "gte" in created_at:
        queryset = queryset.filter(created_at__gte=datetime.fromisoformat(created_at["gte"]))
    if "lte" in created_at:
        queryset = queryset.filter(created_at__lte=datetime.fromisoformat(created_at["lte"]))
    for key, column in RANGE_FILTERS.items():
        bounds = filters.get(key) or {}
        if "gte" in bounds:
            queryset = queryset.filter(**{f"{column}__gte": Decimal(str(bounds["gte"]))})
        if "lte" in bounds:
            queryset = queryset.filter(**{f"{column}__lte": Decimal(str(bounds["lte"]))})
    for key, lookup in NAME_FILTERS.items():
        if key in filters:
            queryset = queryset.filter(**{lookup: filters[key]})
    if "ai_org_model" in filters:
        either = Q()
        for pair in filters["ai_org_model"]:
            provider, _, model = pair.partition("__")
            either |= Q(ai_provider=provider, ai_model=model)
        queryset = queryset.filter(either)
    if "status_code" in filters:
        queryset = queryset.filter(status_code__in=filters["status_code"])
    vendor = connections[queryset.db].vendor
    for key, value in (filters.get("metadata") or {}).items():
        queryset = queryset.filter(metadata_condition(key, value, vendor=vendor))
    return queryset


def matching_logs(*, workspace_id, filters: dict) -> QuerySet[Log]:
    """The workspace's logs that match, in export order."""
    return filter_logs(Log.objects.filter(workspace_id=workspace_id), filters).order_by(*LOG_ORDER)


def export_slice_count(*, matches: int, limit: int, offset: int) -> int:
    """How many rows an export of this limit and offset will hold: min(limit, matches - offset)."""
    return max(0, min(limit, matches - offset))


def describe_filters(filters: dict) -> str:
    """Normalised filters in a few words, for a message: "created_at 2024-01-01T00:00:00Z to
    2024-01-31T23:59:59Z, ai_model gpt-4o"."""
    parts = []
    for key, value in filters.items():
        if isinstance(value, dict) and set(value) <= {"gte", "lte"} and key != "metadata":
            if "gte" in value and "lte" in value:
                parts.append(f"{key} {value['gte']} to {value['lte']}")
            else:
                parts.append(f"{key} {'from' if 'gte' in value else 'up to'} "
                             f"{value.get('gte', value.get('lte'))}")
        elif isinstance(value, dict):
            parts.append(f"{key} " + ", ".join(f"{name}={item}" for name, item in value.items()))
        else:
            parts.append(f"{key} " + " or ".join(str(item) for item in value))
    return ", ".join(parts) or "no filter"
