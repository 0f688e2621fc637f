"""Changes to a workspace's API keys: issue one (shown once) and revoke one."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import API_KEY_SCOPES, ApiKey, Workspace

MAX_KEY_NAME = 200


def api_key_create(*, workspace: Workspace, name: str, scopes: list[str]) -> tuple[ApiKey, str]:
    """A key for this workspace and its raw text (never stored); ValidationError names the field."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "give the key a name, e.g. the service that will use it"})
    if len(name) > MAX_KEY_NAME:
        raise ValidationError({"name": f"must be at most {MAX_KEY_NAME} characters"})
    if not scopes:
        raise ValidationError({"scopes": "choose at least one scope"})
    unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
    if unknown:
        raise ValidationError({"scopes": f"unknown scope(s) {', '.join(unknown)}; choose from "
                                         f"{', '.join(API_KEY_SCOPES)}"})
    return ApiKey.issue(organization=workspace.organization, workspace=workspace, name=name,
                        scopes=scopes)


def api_key_revoke(*, api_key: ApiKey) -> bool:
    """Revokes an active key; False when it was already revoked (the first revocation stands)."""
    revoked = ApiKey.objects.filter(id=api_key.id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    api_key.refresh_from_db(fields=["revoked_at"])
    return bool(revoked)
