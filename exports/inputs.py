"""The values an export is made of, checked and put in their normal form.

Each raises ValidationError naming the field and the reason; the services, the page's form,
the preview and the admin all check through here.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from exports.fields import ACCEPTED_NAMES, canonical_field_name, in_catalogue_order
from exports.models import ExportJob
from logs.filters import MAX_INTEGER, refuse_unstorable_text


def normalise_requested_data(raw: Any) -> list[str]:
    if not isinstance(raw, list | tuple):
        raise ValidationError({"requested_data": "must be a list of field names"})
    if not raw:
        raise ValidationError({"requested_data": "choose at least one field"})
    names = []
    for item in raw:
        name = canonical_field_name(item) if isinstance(item, str) else None
        if name is None:
            raise ValidationError(
                {"requested_data": f"{item!r} is not an exportable field; choose from "
                                   f"{', '.join(ACCEPTED_NAMES)}"}
            )
        names.append(name)
    return in_catalogue_order(names)


def _whole_number(value: Any, *, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError({field: "must be a whole number"})
    try:
        return int(value)
    except ValueError:
        raise ValidationError({field: f"{value!r} is not a whole number"}) from None


def normalise_limit(raw: Any) -> int:
    cap = settings.EXPORTS_MAX_LOGS_PER_EXPORT
    if raw is None or raw == "":
        return cap
    limit = _whole_number(raw, field="limit")
    if limit < 1:
        raise ValidationError({"limit": "must be at least 1"})
    if limit > cap:
        raise ValidationError({"limit": f"must be at most {cap:,} logs per export"})
    return limit


def normalise_offset(raw: Any) -> int:
    if raw is None or raw == "":
        return 0
    offset = _whole_number(raw, field="offset")
    if offset < 0:
        raise ValidationError({"offset": "must be 0 or more"})
    if offset > MAX_INTEGER:
        raise ValidationError({"offset": f"must be at most {MAX_INTEGER:,}"})
    return offset


def normalise_format(raw: Any) -> str:
    if raw in (None, ""):
        return ExportJob.Format.JSONL
    if raw not in ExportJob.Format.values:
        raise ValidationError(
            {"format": f"{raw!r} is not a supported format; use one of "
                       f"{', '.join(ExportJob.Format.values)}"}
        )
    return raw


def normalise_description(raw: Any) -> str:
    if raw is None:
        return ""
    if not isinstance(raw, str):
        raise ValidationError({"description": "must be text"})
    if len(raw) > 500:
        raise ValidationError({"description": "must be at most 500 characters"})
    return refuse_unstorable_text(raw, field="description").strip()
