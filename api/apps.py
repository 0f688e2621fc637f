from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API under /v1: routers for exports and logs, schemas, key auth, errors."""

    name = "api"
