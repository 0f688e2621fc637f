from __future__ import annotations

import socket

from django.core.management.base import BaseCommand, CommandError

from exports.maintenance import run_maintenance


class Command(BaseCommand):
    help = ("Run the maintenance pass now: delete expired export files and logs older than "
            "LOGS_RETENTION_DAYS. The workers run it by themselves every "
            "MAINTENANCE_INTERVAL_SECONDS, the next one an interval after this one.")

    def handle(self, *args, **options):
        report = run_maintenance(by=f"run_maintenance on {socket.gethostname()}", interval=None)
        if report is None:  # without an interval the claim is always taken; never None here
            raise CommandError("maintenance did not run")
        self.stdout.write(str(report))
        if report.errors:
            raise CommandError(f"maintenance failed: {', '.join(report.errors)}")
