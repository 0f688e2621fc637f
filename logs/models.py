from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from logs.canonical_json import CanonicalJSONEncoder


class Log(models.Model):
    """One request that went through the gateway."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: every index below starts with the workspace.
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="logs", db_index=False
    )
    trace_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    request = models.JSONField(encoder=CanonicalJSONEncoder, default=dict)
    response = models.JSONField(encoder=CanonicalJSONEncoder, default=dict)
    ai_provider = models.CharField(max_length=100, blank=True, default="")
    ai_model = models.CharField(max_length=200, blank=True, default="")
    request_tokens = models.IntegerField(default=0)
    response_tokens = models.IntegerField(default=0)
    total_tokens = models.IntegerField(default=0)
    cost = models.DecimalField(
        max_digits=20, decimal_places=6, default=0, help_text="In cents of cost_currency."
    )
    cost_currency = models.CharField(max_length=3, default="USD")
    response_time = models.IntegerField(default=0, help_text="Milliseconds.")
    status_code = models.IntegerField(default=200)
    # NULL, not "": a request without a config or prompt exports as JSON null.
    config = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    prompt_slug = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    metadata = models.JSONField(encoder=CanonicalJSONEncoder, default=dict)
    request_url = models.CharField(max_length=2000, blank=True, default="")
    mode = models.CharField(max_length=50, blank=True, default="single")

    class Meta:
        # Every interactive query names one workspace and pages or counts in (created_at, id)
        # order, so each filter people use gets (workspace, <filter column>, created_at, id):
        # an equality filter then reads its rows already in page order, and a count of them is an
        # index-only scan. Metadata has a GIN index on PostgreSQL (migration 0002), used by the
        # containment test of logs.metadata_filter.
        indexes = [
            models.Index(fields=["workspace", "created_at", "id"], name="log_ws_created_id"),
            models.Index(fields=["workspace", "ai_model", "created_at", "id"],
                         name="log_ws_model_created"),
            models.Index(fields=["workspace", "ai_provider", "created_at", "id"],
                         name="log_ws_provider_created"),
            models.Index(fields=["workspace", "status_code", "created_at", "id"],
                         name="log_ws_status_created"),
            # The Logs page's two filters together: a rare pair (one model's 500s) would
            # otherwise read thousands of the model's rows per page of 50.
            models.Index(fields=["workspace", "ai_model", "status_code", "created_at", "id"],
                         name="log_ws_model_status_created"),
            models.Index(fields=["workspace", "trace_id", "created_at", "id"],
                         name="log_ws_trace_created"),
        ]

    def __str__(self) -> str:
        return f"{self.ai_provider}/{self.ai_model} {self.status_code} at {self.created_at}"

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300


class LogHourlyCount(models.Model):
    """How many of a workspace's logs with one provider, model and status code were created in
    one UTC hour.

    Kept by database triggers on logs_log (migrations 0004 and 0005), so every way a log is
    written, changed or deleted counts — ORM inserts, COPY, updates, raw deletes of retention —
    in the same transaction. logs.hourly_counts reads it to count or seek through a time range,
    optionally narrowed to some providers, models and status codes (the filters people use
    most), without reading every index entry before an offset. The facet columns have the
    types of Log's own, so a row matches a filter exactly when its logs do.
    """

    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    hour = models.DateTimeField(help_text="The hour's start, UTC.")
    ai_provider = models.CharField(max_length=100, blank=True, default="")
    ai_model = models.CharField(max_length=200, blank=True, default="")
    status_code = models.IntegerField(default=200)
    count = models.BigIntegerField(default=0)

    class Meta:
        # (workspace, hour) first: a range of hours is one index range, read in hour order.
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "hour", "ai_provider", "ai_model", "status_code"],
                name="log_hourly_ws_hour_facets",
            ),
        ]

    def __str__(self) -> str:
        return (f"{self.count} logs of {self.ai_provider}/{self.ai_model} "
                f"{self.status_code} in the hour from {self.hour}")
