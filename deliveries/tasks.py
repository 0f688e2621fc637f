"""RQ entry point: a thin adapter to deliveries.sending."""

from __future__ import annotations

from deliveries.sending import send_due as _send_due


def send_due() -> int:
    return _send_due()
