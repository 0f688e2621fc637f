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
    # Where to write, when whoever asked for the copy chose it (a schedule's date layout);
    # blank: `{prefix}/{the export's download name}` and that key + ".manifest.json".
    target_key = models.CharField(max_length=1000, blank=True)
    target_manifest_key = models.CharField(max_length=1000, blank=True)
    # Where it was written (set once sent).
    key = models.CharField(max_length=1000, blank=True)
    manifest_key = models.CharField(max_length=1000, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # (next_attempt_at stays empty until the export succeeds: until then there is nothing to
    # copy.)

    def __str__(self) -> str:
        return f"export {self.export_id} → {self.key or self.destination}"


class Schedule(models.Model):
    """A saved export run once per window of its interval and delivered to its destination.

    Its windows are consecutive and half-open, [start, end): the first starts at `start`, each
    next one at the previous run's window_end (deliveries.windows). A run is one ScheduleRun
    per window, unique on (schedule, window_start): of several workers making the same window's
    run, the database lets one win (deliveries.scheduler). Only deliveries.schedules changes it.
    """

    class Interval(models.TextChoices):
        HOURLY = "hourly", "Hourly"
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="schedules")
    # Its runs' exports are created in this person's name: the e-mails go to them.
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                              blank=True, related_name="export_schedules")
    name = models.CharField(max_length=200)  # also the folder of its objects in the bucket
    # As an export's (logs.filters normal form) without created_at: each run sets the window.
    filters = models.JSONField(default=dict, blank=True)
    requested_data = models.JSONField(default=list)
    format = models.CharField(max_length=20, choices=ExportJob.Format.choices,
                              default=ExportJob.Format.JSONL)
    redaction = models.JSONField(default=dict, blank=True)
    # PROTECT: a destination a schedule delivers to cannot be deleted under it.
    destination = models.ForeignKey(Destination, on_delete=models.PROTECT,
                                    related_name="schedules")
    interval = models.CharField(max_length=10, choices=Interval.choices)
    start = models.DateTimeField()
    timezone = models.CharField(max_length=64, default="UTC")  # an IANA name
    hour = models.PositiveSmallIntegerField(null=True, blank=True)  # daily, weekly: 0-23
    weekday = models.PositiveSmallIntegerField(null=True, blank=True)  # weekly: 0 = Monday
    paused = models.BooleanField(default=False)
    # Why the next window's run could not be made (it is tried again each tick); "" when fine.
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["workspace", "name"],
                                               name="one_schedule_name_per_workspace")]

    def __str__(self) -> str:
        return f"{self.name} ({self.interval})"


class ScheduleRun(models.Model):
    """One window of a schedule and the export made of it; exactly one per window."""

    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="runs")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    # Kept when the export is deleted (the window was run; it is not run again).
    export = models.ForeignKey(ExportJob, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="schedule_runs")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-window_start"]
        constraints = [models.UniqueConstraint(fields=["schedule", "window_start"],
                                               name="one_run_per_schedule_window")]

    def __str__(self) -> str:
        return f"{self.schedule.name}: {self.window_start:%Y-%m-%d %H:%M} to " \
               f"{self.window_end:%Y-%m-%d %H:%M} UTC"


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
