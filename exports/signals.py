"""What exports tells the apps above it, without knowing them (deliveries subscribes).

`export_finished` is sent inside the transaction that makes an export succeed or fail, with
`job_id` and `status`: a receiver's rows (its outbox) are committed with the terminal state or
not at all, so a process that dies right after the commit loses no notification.
"""

from __future__ import annotations

from django.dispatch import Signal

export_finished = Signal()
