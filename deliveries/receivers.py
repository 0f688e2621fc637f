"""deliveries subscribes to exports' terminal states (exports never calls it by name)."""

from __future__ import annotations

from django.dispatch import receiver

from deliveries.services import owe_notifications
from exports.signals import export_finished


@receiver(export_finished, dispatch_uid="deliveries.owe_notifications")
def on_export_finished(sender, *, job_id, status: str, **kwargs) -> None:
    owe_notifications(job_id=job_id, status=status)
