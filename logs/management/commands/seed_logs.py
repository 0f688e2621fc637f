from __future__ import annotations

import time
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Workspace
from logs.bulk import secondary_indexes_set_aside
from logs.seeding import seed_logs


class Command(BaseCommand):
    help = "Write realistic synthetic gateway logs into a workspace."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True, help="How many logs to write.")
        parser.add_argument("--workspace", default="demo", help="Workspace slug (default: demo).")
        parser.add_argument("--days", type=int, default=30, help="Spread over the last D days.")
        parser.add_argument("--seed", type=int, default=None, help="Random seed (repeatable data).")
        parser.add_argument(
            "--bulk", action="store_true",
            help="PostgreSQL: drop the logs' secondary indexes for the load and build them again "
                 "after it (several times faster for large loads, but the logs table is locked "
                 "throughout: for benchmark and demo databases).")

    def handle(self, *args, count: int, workspace: str, days: int, seed: int | None, bulk: bool,
               **options):
        if count < 1:
            raise CommandError("--count must be at least 1")
        if days < 1:
            raise CommandError("--days must be at least 1")
        try:
            target = Workspace.objects.get(slug=workspace)
        except Workspace.DoesNotExist:
            raise CommandError(f"no workspace with slug {workspace!r}") from None
        started = time.perf_counter()
        with transaction.atomic(), (secondary_indexes_set_aside() if bulk else nullcontext()):
            written = seed_logs(
                workspace_id=target.id, count=count, now=timezone.now(), days=days, seed=seed
            )
        elapsed = time.perf_counter() - started
        self.stdout.write(
            f"wrote {written} logs to workspace {target.slug} in {elapsed:.2f}s "
            f"({written / elapsed:,.0f} rows/s)"
        )
