from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from logs.canonical_json import CanonicalJSONEncoder


class Log(models.Model):
    """One request that went through the gateway."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(
        "accounts.Workspace", on_delete=models.CASCADE, related_name="logs"
    )
    trace_id = models.CharField(max_length=200, blank=True, default="", db_index=True)
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
        indexes = [
            models.Index(fields=["workspace", "created_at", "id"], name="log_ws_created_id"),
        ]

    def __str__(self) -> str:
        return f"{self.ai_provider}/{self.ai_model} {self.status_code} at {self.created_at}"

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300
