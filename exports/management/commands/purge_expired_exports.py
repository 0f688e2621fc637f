from __future__ import annotations

from django.core.management.base import BaseCommand

from exports.retention import purge_expired_export_files


class Command(BaseCommand):
    help = ("Delete export files older than EXPORTS_FILE_RETENTION_DAYS (the workers do it daily, "
            "in their maintenance pass: see run_maintenance).")

    def handle(self, *args, **options):
        self.stdout.write(f"deleted {purge_expired_export_files()} expired export file(s)")
