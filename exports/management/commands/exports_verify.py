from __future__ import annotations

import uuid

from django.core.management.base import BaseCommand, CommandError

from exports.manifest import verify
from exports.models import ExportJob


class Command(BaseCommand):
    help = ("Re-read an export's stored file and check it against its manifest: exit status 0 "
            "when it matches, 1 with the first mismatch (and the part it is in) when not.")

    def add_arguments(self, parser):
        parser.add_argument("export_id", help="the export's id (a UUID)")

    def handle(self, *args, **options):
        try:
            export = ExportJob.objects.select_related("workspace").get(
                id=uuid.UUID(options["export_id"]))
        except (ValueError, ExportJob.DoesNotExist):
            raise CommandError(f"export_id: no export {options['export_id']!r}") from None
        result = verify(export)
        if not result.ok:
            raise CommandError(result.message)  # exit status 1
        self.stdout.write(result.message)
