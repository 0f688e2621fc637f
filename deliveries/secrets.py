"""Secrets at rest (destinations' secret keys, webhooks' signing secrets): Fernet tokens.

DELIVERY_SECRET_KEYS holds comma-separated Fernet keys, newest first: the first encrypts, every
one decrypts (MultiFernet), so a key is rotated by putting a new one in front, running
`manage.py deliveries_rotate_secrets`, then dropping the old one. Without the setting (development)
one key is derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.DELIVERY_SECRET_KEYS if key.strip()]
    if not keys:
        digest = hashlib.sha256(f"deliveries.secrets:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode()


def rotate(token: str) -> str:
    """The token re-encrypted with the newest key."""
    return _fernet().rotate(token.encode()).decode()
