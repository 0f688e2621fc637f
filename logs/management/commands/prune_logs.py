from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from logs.retention import delete_logs_before


class Command(BaseCommand):
    help = ("Delete logs older than LOGS_RETENTION_DAYS (or --days), in batches; the workers do "
            "it daily (the maintenance pass). Does nothing when retention is 0 (keep forever).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=None,
                            help="Keep this many days (default: LOGS_RETENTION_DAYS).")

    def handle(self, *args, days: int | None, **options):
        keep = settings.LOGS_RETENTION_DAYS if days is None else days
        if keep < 0:
            raise CommandError("--days must be 0 (keep everything) or more")
        if keep == 0:
            self.stdout.write("log retention is off (LOGS_RETENTION_DAYS=0): nothing deleted")
            return
        started = time.perf_counter()
        deleted = delete_logs_before(cutoff=timezone.now() - timedelta(days=keep))
        self.stdout.write(f"deleted {deleted} log(s) older than {keep} days "
                          f"in {time.perf_counter() - started:.1f}s")
