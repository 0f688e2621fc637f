"""Deliveries on pages that other apps own (the export page shows where its file was copied)."""

from __future__ import annotations

from django import template

from deliveries.selectors import export_delivery as _export_delivery

register = template.Library()


@register.simple_tag
def export_delivery(job) -> dict | None:
    return _export_delivery(job)
