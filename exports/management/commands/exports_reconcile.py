from __future__ import annotations

from django.core.management.base import BaseCommand

from exports.reconciler import reconcile


class Command(BaseCommand):
    help = ("Start again the exports whose worker died (lease passed), fail those out of "
            "attempts, and remove what dead attempts left in storage. Workers do this by "
            "themselves every EXPORTS_RECONCILE_SECONDS.")

    def handle(self, *args, **options):
        report = reconcile()
        self.stdout.write(str(report))
        for job_id in report.retried:
            self.stdout.write(f"started again: {job_id}")
        for job_id in report.failed:
            self.stdout.write(f"failed: {job_id}")
