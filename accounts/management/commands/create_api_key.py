"""Issue an API key from the command line; the key is printed once and only its hash is kept."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import API_KEY_SCOPES, ApiKey, Workspace


class Command(BaseCommand):
    help = "Create an API key for a workspace (or, with --organization-wide, its organization)."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="workspace slug")
        parser.add_argument("--scopes", required=True,
                            help=f"comma-separated, from: {', '.join(API_KEY_SCOPES)}")
        parser.add_argument("--name", default="", help="a name to recognise the key by")
        parser.add_argument("--organization-wide", action="store_true",
                            help="a key for every workspace of the workspace's organization")

    def handle(self, *args, workspace: str, scopes: str, name: str, organization_wide: bool,
               **options):
        found = Workspace.objects.select_related("organization").filter(slug=workspace).first()
        if found is None:
            raise CommandError(f"--workspace: no workspace with slug {workspace!r}")
        scope_list = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        if not scope_list:
            raise CommandError("--scopes: name at least one scope")
        try:
            api_key, raw_key = ApiKey.issue(
                organization=found.organization,
                workspace=None if organization_wide else found,
                name=name or f"{found.slug} ({', '.join(scope_list)})",
                scopes=scope_list,
            )
        except ValueError as error:
            raise CommandError(f"--scopes: {error}; choose from "
                               f"{', '.join(API_KEY_SCOPES)}") from None
        where = f"organization {found.organization.name}" if organization_wide else \
            f"workspace {found.slug}"
        self.stderr.write(f"API key {api_key.name!r} for {where}, scopes "
                          f"{', '.join(api_key.scopes)}. Copy it now, it is not shown again:")
        self.stdout.write(raw_key)
