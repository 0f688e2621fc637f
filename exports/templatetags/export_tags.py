"""Small display helpers for export rows and previews."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from exports import access
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
    return datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M:%S")


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


@register.filter
def plain_failure(error: str) -> str:
    from exports.failures import plain_failure_reason

    return plain_failure_reason(error)


@register.filter
def utc_time(value: datetime | str | None) -> str:
    """utc_exact without its " UTC", for a column whose heading says UTC."""
    return utc_exact(value).removesuffix(" UTC")


@register.filter
def utc_exact(value: datetime | str | None) -> str:
    """The exact moment in UTC, for a title and a datetime attribute's neighbour; ISO text (as
    JSON fields keep times) reads the same."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


@register.filter
def relative_time(value: datetime | None) -> str:
    """'3 minutes ago', 'in 29 days': read at a glance; the exact UTC time is in the title."""
    if value is None:
        return "—"
    seconds = (timezone.now() - value).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 45:
        return "in a moment" if future else "just now"
    for size, unit in ((86_400 * 365, "year"), (86_400 * 30, "month"), (86_400, "day"),
                       (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            text = _plural(round(seconds / size) if unit == "minute" else int(seconds // size),
                           unit)
            return f"in {text}" if future else f"{text} ago"
    return "in a minute" if future else "1 minute ago"


@register.filter
def export_name(job) -> str:
    """How a screen reader and a heading name one export: its description, else its date."""
    if job.description:
        return job.description
    return f"export of {utc_exact(job.created_at)}"


@register.filter
def field_label_list(names) -> list[str]:
    return [FIELDS_BY_NAME[name].label if name in FIELDS_BY_NAME else name
            for name in names or []]


@register.filter
def run_duration(job) -> str:
    """How long the last run took, to the second under a minute."""
    if not job.started_at or not job.finished_at:
        return "—"
    seconds = max(0, round((job.finished_at - job.started_at).total_seconds()))
    if seconds < 60:
        return _plural(seconds, "second")
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{_plural(minutes, 'minute')} {_plural(seconds, 'second')}"
    hours, minutes = divmod(minutes, 60)
    return f"{_plural(hours, 'hour')} {_plural(minutes, 'minute')}"


@register.filter
def exports_unavailable(organization) -> str | None:
    """Why exports are closed to this organization (plan, Data Service), or None: lets another
    app's page (Logs) hide its way into exports without importing exports."""
    from exports.access import exports_unavailable_reason

    return exports_unavailable_reason(organization)


@register.filter
def offers_start(job) -> bool:
    return access.offers_start(job)


@register.simple_tag
def error_slot(problems, name: str, oob: bool = False) -> str:
    """The slot beside a field that holds its messages (the inputs name it in
    aria-describedby); the preview sends every slot again, out of band, as it changes."""
    messages = (problems or {}).get(name, [])
    return format_html(
        '<div id="errors-{}" class="error-slot"{}>{}</div>', name,
        mark_safe(' hx-swap-oob="true"') if oob else "",
        format_html_join("", '<p class="field-error">{}</p>', ((message,) for message in messages)),
    )


RANGE_NAMES = ((timedelta(hours=24), "Last 24 hours"), (timedelta(days=7), "Last 7 days"),
               (timedelta(days=30), "Last 30 days"))
NEAR = timedelta(minutes=5)


@register.filter
def range_name(job) -> str:
    """The time range as people chose it ("Last 7 days", counted back from when the export
    was requested), else a short absolute range; time_range_label has the exact times."""
    created_at = (job.filters or {}).get("created_at") or {}
    gte, lte = created_at.get("gte"), created_at.get("lte")
    if not gte and not lte:
        return "All time"
    start = datetime.fromisoformat(gte) if gte else None
    end = datetime.fromisoformat(lte) if lte else None
    if start and end and abs(end - job.created_at) < NEAR:
        for span, name in RANGE_NAMES:
            if abs((end - start) - span) < NEAR:
                return name
    if start and end:
        return f"{start:%Y-%m-%d} – {end:%Y-%m-%d}"
    return f"Since {start:%Y-%m-%d}" if start else f"Until {end:%Y-%m-%d}"


def _minutes_words(seconds: float) -> str:
    if seconds < 60:
        return "less than a minute"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {_plural(minutes, 'minute')}"
    return f"about {_plural(round(minutes / 60), 'hour')}"


@register.filter
def time_left(job) -> str:
    """How long the running export still needs, from its pace so far ("" before it has one)."""
    if job.status != "in_progress" or not job.started_at or not job.rows_written:
        return ""
    elapsed = (timezone.now() - job.started_at).total_seconds()
    remaining_rows = max(0, (job.total_records or 0) - job.rows_written)
    if elapsed <= 0:
        return ""
    return f"{_minutes_words(remaining_rows * elapsed / job.rows_written)} left"


@register.filter
def percent_done(job) -> int:
    if not job.total_records:
        return 0
    return min(100, job.rows_written * 100 // job.total_records)


@register.filter
def dollars(cents) -> str:
    """A cost kept in cents, in dollars to the cent's hundredth: $0.0123."""
    if cents is None:
        return "—"
    return f"${Decimal(cents) / 100:,.4f}"


@register.filter
def dollars_exact(cents) -> str:
    """Every digit the column keeps (cents to 6 places): $0.01234567."""
    if cents is None:
        return "—"
    return f"${Decimal(cents) / 100:,.8f}"
