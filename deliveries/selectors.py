"""What the pages and the API read of deliveries, always within one workspace."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from accounts.models import Workspace
from deliveries.models import Destination, ExportDelivery, Webhook
from exports.models import ExportJob


def workspace_destinations(*, workspace: Workspace) -> list[Destination]:
    return list(Destination.objects.filter(workspace=workspace))


def workspace_destination(*, workspace: Workspace, destination_id) -> Destination | None:
    try:
        return Destination.objects.filter(workspace=workspace, id=destination_id).first()
    except (ValidationError, ValueError):  # not a UUID: no such destination either
        return None


def workspace_webhooks(*, workspace: Workspace) -> list[Webhook]:
    return list(Webhook.objects.filter(workspace=workspace))


def workspace_webhook(*, workspace: Workspace, webhook_id) -> Webhook | None:
    return Webhook.objects.filter(workspace=workspace, id=webhook_id).first()


def export_delivery(export: ExportJob) -> dict | None:
    """Where the export's file goes (or went): the delivered key and sha256 once copied."""
    row = ExportDelivery.objects.filter(export=export).first()
    if row is None:
        return None
    return {"destination_id": row.destination_id, "status": row.status, "key": row.key or None,
            "manifest_key": row.manifest_key or None, "sha256": row.sha256 or None,
            "error": row.last_error or None}
