"""Finding the API key a request presents: by prefix, then a constant-time hash comparison."""

from __future__ import annotations

import hmac
from datetime import timedelta

from django.utils import timezone

from accounts.models import ApiKey, Workspace, hash_api_key

# last_used_at is a hint for admins, not an audit log: one write a minute per key is enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


class KeyRejected(Exception):
    def __init__(self, message: str, *, code: str):
        super().__init__(message)
        self.message = message
        self.code = code


def authenticate_api_key(raw_key: str) -> ApiKey:
    """The active key for this raw text; KeyRejected says why not."""
    prefix = ApiKey.prefix_of(raw_key.strip())
    api_key = (
        ApiKey.objects.select_related("organization", "workspace").filter(prefix=prefix).first()
        if prefix else None
    )
    # The hash is compared even for an unknown prefix, so timing says nothing about prefixes.
    expected = api_key.key_hash if api_key else "0" * 64
    matches = hmac.compare_digest(hash_api_key(raw_key.strip()), expected)
    if api_key is None or not matches:
        raise KeyRejected("the API key is not valid", code="invalid_api_key")
    if not api_key.is_active:
        raise KeyRejected("the API key has been revoked", code="revoked_api_key")
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(id=api_key.id).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def workspaces_of(api_key: ApiKey):
    """The workspaces a key may act in: its own, or every one of its organization."""
    if api_key.workspace_id:
        return Workspace.objects.filter(id=api_key.workspace_id)
    return Workspace.objects.filter(organization_id=api_key.organization_id)
