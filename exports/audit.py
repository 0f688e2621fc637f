"""The audit trail of exports: who created, started, cancelled and downloaded each one.

The services record an event in the same transaction as the change it describes; the
signed-URL file view records the fetch itself, naming the user or key the link was issued to.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from accounts.models import ApiKey
from exports.models import ExportEvent, ExportJob
from ops.client_address import client_address

Action = ExportEvent.Action
Channel = ExportEvent.Channel
EVENTS_SHOWN = 50  # newest events on the export's page and in its API representation


@dataclass(frozen=True)
class Actor:
    """Who acts, through what, from where."""

    channel: str
    user: User | AnonymousUser | None = None
    api_key: ApiKey | None = None
    ip_address: str | None = None
    # For a signed-link fetch: the user or key the link was issued to.
    on_behalf_of: str = ""

    @property
    def label(self) -> str:
        if self.api_key is not None:
            return f"API key {self.api_key.prefix}"
        if self.user is not None:
            return self.user.get_username()
        return self.on_behalf_of or "unknown"

    @classmethod
    def for_page(cls, request: HttpRequest) -> Actor:
        return cls(channel=Channel.PAGE, user=request.user, ip_address=client_address(request))

    @classmethod
    def for_admin(cls, request: HttpRequest) -> Actor:
        return cls(channel=Channel.ADMIN, user=request.user, ip_address=client_address(request))

    @classmethod
    def for_api(cls, request: HttpRequest, api_key: ApiKey) -> Actor:
        return cls(channel=Channel.API, api_key=api_key, ip_address=client_address(request))

    @classmethod
    def for_signed_link(cls, request: HttpRequest, issued_to: str) -> Actor:
        return cls(channel=Channel.SIGNED_URL, on_behalf_of=issued_to,
                   ip_address=client_address(request))


def record_export_event(*, job: ExportJob, action: str, actor: Actor | None,
                        details: dict | None = None) -> None:
    """One audit entry; nothing when no actor is given (the worker, the reconciler, scripts)."""
    if actor is None:
        return
    user = None if isinstance(actor.user, AnonymousUser) else actor.user
    ExportEvent.objects.create(
        export_id=job.id,
        workspace_id=job.workspace_id,
        action=action,
        channel=actor.channel,
        actor=actor.label[:200],
        user=user,
        api_key=actor.api_key,
        ip_address=actor.ip_address,
        attempt=job.attempt,
        details=details or {},
    )


def recent_events(job: ExportJob) -> list[ExportEvent]:
    return list(ExportEvent.objects.filter(export_id=job.id).order_by("-at", "-id")[:EVENTS_SHOWN])
