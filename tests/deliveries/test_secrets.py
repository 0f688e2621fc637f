"""Secrets at rest: rotated by putting a new key first and re-encrypting."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command

from deliveries.models import Destination
from deliveries.secrets import decrypt, encrypt

pytestmark = pytest.mark.django_db


def test_a_new_key_put_first_reencrypts_every_secret_and_the_old_key_can_go(
        settings, workspace):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.DELIVERY_SECRET_KEYS = [old]
    destination = Destination.objects.create(workspace=workspace, name="d", bucket="b",
                                             access_key_id="k", secret_encrypted=encrypt("s3cr3t"))
    settings.DELIVERY_SECRET_KEYS = [new, old]
    assert decrypt(destination.secret_encrypted) == "s3cr3t"  # the old key still reads
    call_command("deliveries_rotate_secrets")
    settings.DELIVERY_SECRET_KEYS = [new]
    destination.refresh_from_db()
    assert decrypt(destination.secret_encrypted) == "s3cr3t"
    settings.DELIVERY_SECRET_KEYS = [old]
    with pytest.raises(InvalidToken):
        decrypt(destination.secret_encrypted)
