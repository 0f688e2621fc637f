from __future__ import annotations

from django.apps import AppConfig


class DevstackConfig(AppConfig):
    """Development tooling only: `run_stack` (what `make run` runs) and the bundled Redis."""

    name = "devstack"
