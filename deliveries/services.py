"""Every change to destinations, webhooks and what is owed per export happens here."""

from __future__ import annotations

import base64
import re
import secrets as random
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import BotoCoreError
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from deliveries import buckets
from deliveries.models import (
    EVENTS,
    Destination,
    EmailNotice,
    ExportDelivery,
    NotificationPreference,
    Outbox,
    Webhook,
    WebhookDelivery,
)
from deliveries.secrets import encrypt
from exports.errors import InvalidTransition
from exports.models import ExportJob
from exports.services import export_job_create, export_queue

EVENT_OF_STATUS: dict[str, str] = {ExportJob.Status.SUCCESS: "export.succeeded",
                   ExportJob.Status.FAILED: "export.failed"}


def _text(name: str, value: Any, *, required: bool = True, max_length: int = 500) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({name: "must be a string"})
    value = value.strip()
    if required and not value:
        raise ValidationError({name: "is required"})
    if len(value) > max_length:
        raise ValidationError({name: f"must be at most {max_length} characters"})
    return value


def _url(name: str, value: Any, *, required: bool) -> str:
    text = _text(name, value, required=required, max_length=1000)
    try:
        parsed = urlsplit(text)
        parsed.port  # noqa: B018 - raises on a port out of range
    except ValueError:  # e.g. "http://a]b": not a URL at all
        raise ValidationError({name: "must be an http(s) URL with a host"}) from None
    if text and (parsed.scheme not in ("http", "https") or not parsed.hostname
                 or any(character.isspace() for character in text)):
        raise ValidationError({name: "must be an http(s) URL with a host"})
    return text


# A region as botocore takes it (a DNS label, not all digits); the API's document says the same.
REGION = r"^$|^(?![0-9]+$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$"


def destination_create(*, workspace: Workspace, name: Any, endpoint_url: Any, region: Any,
                       bucket: Any, prefix: Any, access_key_id: Any,
                       secret_access_key: Any) -> Destination:
    """Saved only after a test object was written and deleted with these credentials."""
    values = {
        "name": _text("name", name, max_length=200),
        "endpoint_url": _url("endpoint_url", endpoint_url, required=False),
        "region": _text("region", region, required=False, max_length=64),
        "bucket": _text("bucket", bucket, max_length=255),
        "prefix": _text("prefix", prefix, required=False).strip("/"),
        "access_key_id": _text("access_key_id", access_key_id, max_length=200),
    }
    if isinstance(region, str) and not re.match(REGION, region):
        raise ValidationError({"region": "must be a region name such as us-east-1 (letters, "
                                         "digits and inner hyphens)"})
    secret = _text("secret_access_key", secret_access_key, max_length=500)
    try:
        s3 = buckets.client(endpoint_url=values["endpoint_url"], region=values["region"],
                            access_key_id=values["access_key_id"], secret_access_key=secret)
    except (ValueError, BotoCoreError) as error:  # botocore's own checks of the values
        raise ValidationError({"endpoint_url": f"the destination cannot be reached as given: "
                                               f"{error}"}) from error
    buckets.check_writable(s3, bucket=values["bucket"], prefix=values["prefix"],
                           endpoint_url=values["endpoint_url"])
    return Destination.objects.create(workspace=workspace, secret_encrypted=encrypt(secret),
                                      **values)


class DestinationInUse(InvalidTransition):
    """A destination that schedules deliver to (HTTP 409 in the API)."""


def destination_delete(*, destination: Destination) -> None:
    """Refused (DestinationInUse) while a schedule delivers to it: edit or delete those first.
    (The foreign key PROTECTs it too, should a schedule be saved meanwhile.)"""
    names = list(destination.schedules.values_list("name", flat=True)[:5])
    if names:
        raise DestinationInUse(
            f"schedules deliver to this destination ({', '.join(names)}); move them to another "
            "destination or delete them first", status="in_use")
    destination.delete()


def export_job_create_delivered(*, workspace: Workspace, destination: Destination,
                                key: str = "", manifest_key: str = "",
                                **create: Any) -> ExportJob:
    """An export draft whose file, once it has succeeded, is also copied to the destination:
    at `key` with its manifest at `manifest_key` when given (a schedule's layout), else under
    the destination's prefix by the export's download name."""
    if destination.workspace_id != workspace.id:
        raise ValidationError({"destination_id": "no such destination in this workspace"})
    with transaction.atomic():
        job = export_job_create(workspace=workspace, **create)
        ExportDelivery.objects.create(export=job, destination=destination, target_key=key,
                                      target_manifest_key=manifest_key)
    return job


def webhook_create(*, workspace: Workspace, url: Any, events: Any) -> tuple[Webhook, str]:
    """The webhook and its signing secret, which is answered this once."""
    address = _url("url", url, required=True)
    if events is None:
        events = list(EVENTS)
    if (not isinstance(events, list) or not events
            or any(event not in EVENTS for event in events)):
        raise ValidationError({"events": f"must be a non-empty list of {', '.join(EVENTS)}"})
    secret = "whsec_" + base64.b64encode(random.token_bytes(24)).decode()
    webhook = Webhook.objects.create(workspace=workspace, url=address,
                                     events=sorted(set(events)),
                                     secret_encrypted=encrypt(secret))
    return webhook, secret


def webhook_delete(*, webhook: Webhook) -> None:
    webhook.delete()


def owe_notifications(*, job_id, status: str) -> None:
    """Called in the transaction of an export's terminal state: one outbox row per thing owed
    (the unique keys make a second call for the same state a no-op)."""
    event = EVENT_OF_STATUS.get(status)
    if event is None:
        return
    now = timezone.now()
    job = ExportJob.objects.select_related("created_by").get(id=job_id)
    owed = 0
    if status == ExportJob.Status.SUCCESS:
        owed += ExportDelivery.objects.filter(
            export_id=job_id, next_attempt_at__isnull=True).update(next_attempt_at=now)
    hooks = [WebhookDelivery(webhook=webhook, export_id=job_id, event=event, next_attempt_at=now)
             for webhook in Webhook.objects.filter(workspace_id=job.workspace_id)
             if event in webhook.events]
    WebhookDelivery.objects.bulk_create(hooks, ignore_conflicts=True)
    owed += len(hooks)
    person = job.created_by
    if person is not None and person.email and email_wanted(person):
        EmailNotice.objects.bulk_create(
            [EmailNotice(export_id=job_id, event=event, recipient=person.email,
                         next_attempt_at=now)], ignore_conflicts=True)
        owed += 1
    if owed:  # nothing owed, nothing queued
        transaction.on_commit(kick_workers)


def kick_workers() -> None:
    """An RQ job that sends what is due now, rather than at the workers' next periodic step."""
    try:
        export_queue().enqueue("deliveries.tasks.send_due", result_ttl=0)
    except Exception:  # the workers' periodic step sends it all the same
        return


def email_wanted(user) -> bool:
    preference = NotificationPreference.objects.filter(user=user).first()
    return preference is None or preference.email_on_export_finished


def email_preference_set(*, user, enabled: bool) -> None:
    NotificationPreference.objects.update_or_create(
        user=user, defaults={"email_on_export_finished": enabled})


def claim(model: type[Outbox], pk) -> bool:
    """Takes a due row for one attempt; a worker that dies holding it leaves it to the next
    claim after DELIVERY_LEASE_SECONDS."""
    now = timezone.now()
    return bool(model._default_manager.filter(
        pk=pk, status=Outbox.Status.PENDING, next_attempt_at__lte=now,
    ).update(next_attempt_at=now + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)))


def due(model: type[Outbox]) -> list:
    return list(model._default_manager.filter(
        status=Outbox.Status.PENDING, next_attempt_at__lte=timezone.now(),
    ).order_by("next_attempt_at").values_list("pk", flat=True)[:100])


def record_sent(row: Outbox, **fields: Any) -> None:
    now = timezone.now()
    for name, value in {"status": Outbox.Status.SENT, "finished_at": now, "last_error": "",
                        "attempts": row.attempts + 1, **fields}.items():
        setattr(row, name, value)
    row.save(update_fields=["status", "finished_at", "last_error", "attempts", *fields])


def record_failure(row: Outbox, *, error: str) -> None:
    """Exponential backoff (DELIVERY_RETRY_BASE_SECONDS doubling, at most 6 h apart) until
    DELIVERY_RETRY_FOR_SECONDS after the row was created; then failed for good."""
    now = timezone.now()
    row.attempts += 1
    row.last_error = error[:2000]
    delay = min(settings.DELIVERY_RETRY_BASE_SECONDS * 2 ** (row.attempts - 1), 6 * 3600)
    if (now - row.created_at).total_seconds() + delay > settings.DELIVERY_RETRY_FOR_SECONDS:
        row.status, row.finished_at = Outbox.Status.FAILED, now
    else:
        row.next_attempt_at = now + timedelta(seconds=delay)
    row.save(update_fields=["attempts", "last_error", "status", "finished_at",
                            "next_attempt_at"])
