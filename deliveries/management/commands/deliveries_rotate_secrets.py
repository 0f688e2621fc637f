"""Re-encrypts every stored secret with the newest DELIVERY_SECRET_KEYS key (docs/delivery.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from deliveries.models import Destination, Webhook
from deliveries.secrets import rotate


class Command(BaseCommand):
    help = "Re-encrypt destination and webhook secrets with the newest DELIVERY_SECRET_KEYS key."

    def handle(self, *args, **options) -> None:
        count = 0
        for model in (Destination, Webhook):
            for row in model._default_manager.only("pk", "secret_encrypted"):
                row.secret_encrypted = rotate(row.secret_encrypted)
                row.save(update_fields=["secret_encrypted"])
                count += 1
        self.stdout.write(f"re-encrypted {count} secrets")
