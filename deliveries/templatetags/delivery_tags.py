"""Deliveries on pages that other apps own (the export page shows where its file was copied)."""

from __future__ import annotations

from django import template

from deliveries.selectors import export_delivery as _export_delivery
from deliveries.selectors import workspace_destinations as _workspace_destinations
from exports.models import ExportJob

register = template.Library()


@register.simple_tag
def export_delivery(job) -> dict | None:
    return _export_delivery(job)


@register.simple_tag
def workspace_destinations(workspace) -> list:
    """The Request Data form's "Deliver to" choices."""
    return _workspace_destinations(workspace=workspace) if workspace is not None else []


@register.filter
def run_status_label(status: str) -> str:
    """A run's status in words: its export's, or that the export was deleted since."""
    if status == "deleted":
        return "Export deleted"
    return str(dict(ExportJob.Status.choices).get(status, status))
