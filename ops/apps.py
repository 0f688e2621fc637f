from __future__ import annotations

from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Running the app in production: health probes, request logs, limits, start-up checks."""

    name = "ops"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import request_finished

        from ops import checks  # noqa: F401 - registers the system checks
        from ops.logging import forget_request_id

        request_finished.connect(forget_request_id, dispatch_uid="ops.forget_request_id")
