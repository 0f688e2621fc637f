"""One attempt at each thing owed: the copy to a destination, a webhook, an e-mail.

Each attempt first claims its row (deliveries.services.claim), so of several workers one sends.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse
from django.utils import timezone
from standardwebhooks import Webhook as Signer

from deliveries import buckets, services
from deliveries.models import EmailNotice, ExportDelivery, Outbox, WebhookAttempt, WebhookDelivery
from deliveries.secrets import decrypt
from exports.models import ExportJob
from exports.selectors import export_manifest
from exports.storage import export_storage

logger = logging.getLogger(__name__)
ANSWER_KEPT = 1000  # characters of a webhook's answer recorded per attempt


def send_due() -> int:
    """Every row due now, one attempt each; the number of attempts made."""
    made = 0
    kinds: list[tuple[type[Outbox], Callable[[Any], None]]] = [
        (ExportDelivery, copy_to_destination), (WebhookDelivery, send_webhook),
        (EmailNotice, send_email)]
    for model, attempt in kinds:
        for pk in services.due(model):
            if services.claim(model, pk):
                row = model._default_manager.get(pk=pk)
                try:
                    attempt(row)
                except Exception as error:  # recorded on the row; retried with backoff
                    logger.warning("%s %s: attempt failed: %s", model.__name__, pk,
                                   type(error).__name__)
                    services.record_failure(row, error=f"{type(error).__name__}: {error}")
                made += 1
    return made


def copy_to_destination(row: ExportDelivery) -> None:
    export, destination = row.export, row.destination
    if destination is None:
        services.record_failure(row, error="the destination was deleted")
        row.status = Outbox.Status.FAILED
        row.save(update_fields=["status"])
        return
    s3 = buckets.client(endpoint_url=destination.endpoint_url, region=destination.region,
                        access_key_id=destination.access_key_id,
                        secret_access_key=decrypt(destination.secret_encrypted))
    key = row.target_key or buckets.object_key(destination.prefix, export.download_name())
    manifest_key = row.target_manifest_key or f"{key}.manifest.json"
    with export_storage().open(export.file_name, "rb") as source:
        sha256 = buckets.upload(s3, bucket=destination.bucket, key=key, source=source,
                                manifest=export.manifest or {}, manifest_key=manifest_key)
    services.record_sent(row, key=key, manifest_key=manifest_key, sha256=sha256)


def export_payload(export: ExportJob) -> dict:
    delivered = ExportDelivery.objects.filter(export=export, status=Outbox.Status.SENT).first()
    return {
        "id": str(export.id), "workspace_id": str(export.workspace_id),
        "status": export.status, "format": export.format, "description": export.description,
        "rows_written": export.rows_written, "file_size": export.file_size,
        "sha256": export.sha256, "error": export.error or None,
        "created_at": export.created_at, "finished_at": export.finished_at,
        "delivered": ({"key": delivered.key, "sha256": delivered.sha256}
                      if delivered else None),
    }


def send_webhook(row: WebhookDelivery) -> None:
    webhook, export = row.webhook, row.export
    now = timezone.now()
    body = json.dumps({"type": row.event, "timestamp": now, "data": {
        "export": export_payload(export), "manifest": export_manifest(export),
    }}, cls=DjangoJSONEncoder)
    msg_id = f"msg_{row.id.hex}"  # the same on every retry: receivers deduplicate on it
    headers = {
        "Content-Type": "application/json", "User-Agent": "log-exports-webhooks",
        "webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Signer(decrypt(webhook.secret_encrypted)).sign(msg_id, now, body),
    }
    request = urllib.request.Request(webhook.url, data=body.encode(), headers=headers,
                                     method="POST")
    number = row.attempts + 1
    try:
        with urllib.request.urlopen(  # noqa: S310 - an http(s) URL checked on creation
                request, timeout=settings.DELIVERY_WEBHOOK_TIMEOUT_SECONDS) as answer:
            code, text = answer.status, answer.read(ANSWER_KEPT).decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        code, text = error.code, error.read(ANSWER_KEPT).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as error:
        code, text = None, f"{type(error).__name__}: {error}"
    WebhookAttempt.objects.create(delivery=row, number=number, at=now, status_code=code,
                                  response=text[:ANSWER_KEPT])
    if code is not None and 200 <= code < 300:
        services.record_sent(row)
    else:
        services.record_failure(row, error=f"HTTP {code}: {text[:200]}" if code else text)


def send_email(row: EmailNotice) -> None:
    export = row.export
    link = settings.DELIVERY_SITE_URL.rstrip("/") + reverse(
        "exports:detail", kwargs={"export_id": export.id})
    what = export.description or f"export {export.id}"
    if row.event == "export.succeeded":
        subject = f"Your export is ready: {what}"
        text = (f"{what} finished: {export.rows_written:,} logs, {export.file_size:,} bytes."
                f"{os.linesep}{os.linesep}Download it here: {link}")
    else:
        subject = f"Your export failed: {what}"
        text = f"{what} failed: {export.error}{os.linesep}{os.linesep}Details: {link}"
    text += (f"{os.linesep}{os.linesep}You get this e-mail because you started the export; "
             "turn these e-mails off in your notification settings.")
    send_mail(subject, text, None, [row.recipient])
    services.record_sent(row)
