"""Destinations (a team's own buckets), webhooks, and the outbox of what is owed per export.

Each thing owed for an export's terminal state is one row, unique per (what, export, event): it
is created in the transaction of the terminal state and worked off by the RQ workers, so it is
sent once per state however many workers run and whichever of them dies while sending.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from accounts.models import Workspace
from exports.models import ExportJob

EVENTS = ("export.succeeded", "export.failed")


class Destination(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE,
                                  related_name="destinations")
    name = models.CharField(max_length=200)
    endpoint_url = models.URLField(max_length=500, blank=True)
    region = models.CharField(max_length=64, blank=True)
    bucket = models.CharField(max_length=255)
    prefix = models.CharField(max_length=500, blank=True)
    access_key_id = models.CharField(max_length=200)
    # Fernet token of the secret access key (deliveries.secrets); never shown again.
    secret_encrypted = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (s3://{self.bucket}/{self.prefix})"


class Webhook(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=1000)
    events = models.JSONField(default=list)
    secret_encrypted = models.TextField(editable=False)  # the whsec_… secret, Fernet-encrypted
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.url


class Outbox(models.Model):
    """Something owed for an export: pending until sent, retried with backoff until given up."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When a worker may take it next; a claim moves it one lease ahead (a worker that dies while
    # sending leaves it to be taken again after the lease).
    next_attempt_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True


class ExportDelivery(Outbox):
    """The copy of an export's file (and then its manifest) to a destination."""

    export = models.OneToOneField(ExportJob, on_delete=models.CASCADE,
                                  related_name="destination_delivery")
    destination = models.ForeignKey(Destination, on_delete=models.SET_NULL, null=True)
    key = models.CharField(max_length=1000, blank=True)
    manifest_key = models.CharField(max_length=1000, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # (next_attempt_at stays empty until the export succeeds: until then there is nothing to
    # copy.)

    def __str__(self) -> str:
        return f"export {self.export_id} → {self.key or self.destination}"


class WebhookDelivery(Outbox):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # webhook-id
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    export = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["webhook", "export", "event"],
                                               name="one_webhook_delivery_per_state")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} of export {self.export_id} to {self.webhook}"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True, blank=True)
    response = models.TextField(blank=True)  # the answer's first KB, or the error

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.status_code or self.response[:60]}"


class EmailNotice(Outbox):
    export = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=40)
    recipient = models.EmailField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "event"],
                                               name="one_email_per_state")]

    def __str__(self) -> str:
        return f"{self.event} of export {self.export_id} to {self.recipient}"


class NotificationPreference(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_preference")
    email_on_export_finished = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.user}: e-mail {'on' if self.email_on_export_finished else 'off'}"
