"""A superuser admin/admin for a development machine; refused whenever DEBUG is off."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEV_ADMIN_USERNAME = "admin"
DEV_ADMIN_PASSWORD = "admin"  # noqa: S105 - development only, refused with DEBUG off


class Command(BaseCommand):
    help = ("Create the superuser admin/admin (development only: refused with DEBUG off; "
            "in production use `manage.py createsuperuser`).")

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("refused: DEBUG is off. A well-known admin password has no place "
                               "outside development; use `manage.py createsuperuser`.")
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEV_ADMIN_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEV_ADMIN_PASSWORD)
            user.save(update_fields=["password"])
        if not (user.is_staff and user.is_superuser and user.is_active):
            # Someone made an ordinary user of that name: theirs, not ours to promote.
            self.stdout.write(f"admin login: user {DEV_ADMIN_USERNAME!r} exists but is not an "
                              "active superuser; create one with `manage.py createsuperuser`")
        elif user.check_password(DEV_ADMIN_PASSWORD):
            self.stdout.write(f"admin login: user {DEV_ADMIN_USERNAME!r}, password "
                              f"{DEV_ADMIN_PASSWORD!r} at /admin/ (development only)")
        else:
            self.stdout.write(f"admin login: user {DEV_ADMIN_USERNAME!r} at /admin/ (its password "
                              f"was changed; `manage.py changepassword {DEV_ADMIN_USERNAME}`)")
