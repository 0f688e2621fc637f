from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from exports.formats import FORMATS, FORMATS_BY_NAME


class ExportJob(models.Model):
    """One requested export. Only exports.services changes its status."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failure"
        STOPPED = "stopped", "Stopped"

    # One member per module of exports.formats (JSONL, JSONL_GZ, CSV, ..., FINETUNE_JSONL).
    Format = models.TextChoices(  # type: ignore[call-overload]  # (the stubs know no members list)
        "Format", [(fmt.member, (fmt.name, fmt.label)) for fmt in FORMATS]
    )

    STARTABLE = (Status.DRAFT, Status.FAILED, Status.STOPPED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="export_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="export_jobs",
    )
    created_by_api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="export_jobs",
    )
    description = models.CharField(max_length=500, blank=True, default="")
    filters = models.JSONField(default=dict, blank=True)
    requested_data = models.JSONField(default=list)
    limit = models.PositiveIntegerField()
    offset = models.PositiveIntegerField(default=0)
    format = models.CharField(max_length=20, choices=Format.choices, default=Format.JSONL)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # Raised on each start: a worker from an earlier run sees the change and stands down.
    attempt = models.PositiveIntegerField(default=0)
    # The running attempt's lease: renewed by the process doing the work, a few times a lease.
    # Once it has passed, exports.reconciler takes the attempt for dead and runs the export again.
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Attempts the reconciler started again since the last start, and why (plain words, newest
    # last): [{"attempt": 2, "at": "2026-…", "reason": "…"}].
    retries = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True, default="")
    total_records = models.PositiveIntegerField(default=0)
    rows_written = models.PositiveIntegerField(default=0)
    # Logs of the slice the file leaves out by the format's rule (finetune.jsonl: not a
    # successful chat completion); 0 for every other format.
    rows_skipped = models.PositiveIntegerField(default=0)
    # The redaction rules the export applies (exports.redaction.rules, normal form) and how
    # many values each replaced or key it dropped (summed over the parts).
    redaction = models.JSONField(default=dict, blank=True)
    redaction_counts = models.JSONField(default=dict, blank=True)
    file_name = models.CharField(max_length=500, blank=True, default="")
    file_size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_updated_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    # How many parts (ExportPart) the export is written as; 0 while it has not been planned.
    part_count = models.PositiveIntegerField(default=0)
    # What exports.manifest built once the file was complete: None before that.
    manifest = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at"], name="export_ws_created")]

    def __str__(self) -> str:
        return f"Export {self.id} ({self.get_status_display()})"

    @property
    def is_startable(self) -> bool:
        return self.status in self.STARTABLE

    @property
    def file_expired(self) -> bool:
        """No file to fetch any more: past its expiry, even before the purge removes it."""
        return not self.file_name or (self.expires_at is not None
                                      and self.expires_at <= timezone.now())

    @property
    def progress(self) -> float:
        """Share of rows written, 0.0 to 1.0."""
        if self.status == self.Status.SUCCESS:
            return 1.0
        if not self.total_records:
            return 0.0
        return min(1.0, self.rows_written / self.total_records)

    @property
    def file_extension(self) -> str:
        return FORMATS_BY_NAME[self.format].extension

    def download_name(self) -> str:
        created = self.created_at.strftime("%Y%m%d-%H%M%S")
        return f"logs-export-{self.workspace.slug}-{created}-{self.id}.{self.file_extension}"


class ExportPart(models.Model):
    """One keyset range of an export's slice, written by one RQ job into an object of its own.

    A part is the logs after `after` up to and including `through`, both (created_at, id)
    positions fixed when the export was planned (exports.parts): a row written meanwhile outside
    the range never moves a part, so parts run in any order on any worker, and a retried part
    writes the same rows again. Its object is joined into the export's one file at the end
    (exports.joining).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_PROGRESS = "in_progress", "In progress"
        SUCCESS = "success", "Success"
        FAILED = "failed", "Failure"

    export = models.ForeignKey(ExportJob, on_delete=models.CASCADE, related_name="parts")
    index = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempt = models.PositiveIntegerField(default=0)
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The position of the row before the part's first row; None for the first part at offset 0.
    after_created_at = models.DateTimeField(null=True, blank=True)
    after_id = models.UUIDField(null=True, blank=True)
    # The position of the part's last row when planned.
    through_created_at = models.DateTimeField()
    through_id = models.UUIDField()
    # How many rows the range held when planned (at most EXPORTS_PART_LOGS).
    row_limit = models.PositiveIntegerField()
    rows_written = models.PositiveIntegerField(default=0)
    rows_skipped = models.PositiveIntegerField(default=0)
    redaction_counts = models.JSONField(default=dict, blank=True)
    file_name = models.CharField(max_length=500, blank=True, default="")
    file_size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    first_created_at = models.DateTimeField(null=True, blank=True)
    last_created_at = models.DateTimeField(null=True, blank=True)
    # As ExportJob.retries, for this part's attempts.
    retries = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["export", "index"]
        constraints = [
            models.UniqueConstraint(fields=["export", "index"], name="export_part_unique_index"),
        ]

    def __str__(self) -> str:
        return f"Part {self.index} of export {self.export_id} ({self.get_status_display()})"


class ExportEvent(models.Model):
    """The audit trail of an export: who did what to it, when, and from which address.

    Written only by exports.audit (called from the services and the signed-URL file view). It
    outlives its export: no database constraint and no cascade, so a deleted export's history
    stays readable (by export_id) in the admin.
    """

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        STARTED = "started", "Started"
        CANCELLED = "cancelled", "Cancelled"
        DOWNLOAD_LINK = "download_link", "Download link issued"
        DOWNLOADED = "downloaded", "File downloaded"
        DELETED = "deleted", "Deleted"

    class Channel(models.TextChoices):
        PAGE = "page", "Exports page"
        API = "api", "API"
        SIGNED_URL = "signed_url", "Signed download link"
        ADMIN = "admin", "Admin"

    export = models.ForeignKey(
        ExportJob, on_delete=models.DO_NOTHING, db_constraint=False, related_name="events"
    )
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="export_events"
    )
    action = models.CharField(max_length=20, choices=Action.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    # Who, as they were called at the time: a user name or "API key <prefix>".
    actor = models.CharField(max_length=200)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    # What the action applied, such as the redaction rules an export was created or started with.
    details = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["export", "-at"], name="export_event_export_at")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor} at {self.at:%Y-%m-%d %H:%M:%S}"


class MaintenanceState(models.Model):
    """The workers' maintenance pass (exports.maintenance): one row, about the last pass.

    The row is also the pass's claim: a worker runs the pass only when its conditional UPDATE
    of started_at wins, so the pass runs once per MAINTENANCE_INTERVAL_SECONDS across all of
    the workers, on every host.
    """

    ROW = 1

    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)  # None while running, or if it died
    started_by = models.CharField(max_length=200, blank=True)  # e.g. "worker host:pid"
    runs = models.PositiveIntegerField(default=0)  # passes started since the row was made
    # None: not done (log retention is off, or the step failed).
    export_files_deleted = models.PositiveIntegerField(null=True, blank=True)
    logs_deleted = models.PositiveBigIntegerField(null=True, blank=True)
    errors = models.TextField(blank=True)  # which step failed; the traceback is in the log

    class Meta:
        verbose_name = "maintenance pass"
        verbose_name_plural = "maintenance passes"

    def __str__(self) -> str:
        return f"last maintenance pass {self.started_at or 'never'}"


class RedactionPolicy(models.Model):
    """A workspace's redaction rules: the defaults of its exports, and when mandatory the least
    every export of the workspace must apply (exports.redaction.policy)."""

    workspace = models.OneToOneField(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="redaction_policy"
    )
    rules = models.JSONField(default=dict, blank=True)  # exports.redaction.rules' normal form
    mandatory = models.BooleanField(
        default=False, help_text="No export of the workspace may apply fewer rules.")
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name_plural = "redaction policies"

    def __str__(self) -> str:
        return f"Redaction policy of {self.workspace}"
