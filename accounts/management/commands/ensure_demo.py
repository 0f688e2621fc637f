from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.models import Membership, Organization, Workspace


class Command(BaseCommand):
    help = "Create the demo organization, workspace 'demo' and user demo/demo (development only)."

    def handle(self, *args, **options):
        organization, _ = Organization.objects.get_or_create(
            name="Demo Org", defaults={"plan": Organization.Plan.ENTERPRISE}
        )
        workspace, _ = Workspace.objects.get_or_create(
            slug="demo", defaults={"organization": organization, "name": "Demo"}
        )
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username="demo")
        if created:
            user.set_password("demo")
            user.save(update_fields=["password"])
        Membership.objects.get_or_create(
            user=user, workspace=workspace, defaults={"role": Membership.Role.ADMIN}
        )
        self.stdout.write("demo login: user 'demo', password 'demo' (development only)")
