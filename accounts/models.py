"""Tenancy: organizations own workspaces; users are members of workspaces; API keys."""

from __future__ import annotations

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

API_KEY_SCOPES = {
    "logs.export": "Create, start, cancel and download log exports",
    "logs.view": "Read single logs",
    "logs.write": "Insert logs",
}


class Organization(models.Model):
    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"
        ENTERPRISE = "enterprise", "Enterprise"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    @property
    def can_export_logs(self) -> bool:
        return self.plan == self.Plan.ENTERPRISE


class Workspace(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="workspaces"
    )
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="unique_membership")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"


def hash_api_key(raw_key: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough (no dictionary to attack).
    return hashlib.sha256(raw_key.encode()).hexdigest()


class ApiKey(models.Model):
    KEY_PREFIX = "lx"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    workspace = models.ForeignKey(
        Workspace,
        on_delete=models.CASCADE,
        related_name="api_keys",
        null=True,
        blank=True,
        help_text="Leave empty for an organization-wide key.",
    )
    name = models.CharField(max_length=200)
    scopes = models.JSONField(default=list, help_text="For example [\"logs.export\"].")
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    @classmethod
    def generate_raw_key(cls) -> tuple[str, str]:
        """A new key and its public prefix; the key itself is shown once and never stored."""
        prefix = secrets.token_hex(6)
        return f"{cls.KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix

    @classmethod
    def issue(
        cls,
        *,
        organization: Organization,
        name: str,
        scopes: list[str],
        workspace: Workspace | None = None,
    ) -> tuple[ApiKey, str]:
        unknown = sorted(set(scopes) - set(API_KEY_SCOPES))
        if unknown:
            raise ValueError(f"unknown scope(s): {', '.join(unknown)}")
        if workspace is not None and workspace.organization_id != organization.id:
            raise ValueError("the workspace belongs to another organization")
        api_key = cls(organization=organization, workspace=workspace, name=name,
                      scopes=sorted(set(scopes)))
        raw_key = api_key.assign_new_key()
        api_key.save()
        return api_key, raw_key

    def assign_new_key(self) -> str:
        """Gives an unsaved key its secret: returns the raw key, keeps only prefix and hash."""
        raw_key, self.prefix = self.generate_raw_key()
        self.key_hash = hash_api_key(raw_key)
        return raw_key

    @classmethod
    def prefix_of(cls, raw_key: str) -> str | None:
        parts = raw_key.split("_", 2)
        if len(parts) != 3 or parts[0] != cls.KEY_PREFIX:
            return None
        return parts[1]
