"""REST endpoints for destinations (/v1/destinations) and webhooks (/v1/webhooks).

Operations only parse, authorise and call deliveries.services; a refused value is a
ValidationError naming its field, answered 422 by api.errors.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from api.auth import key_auth, resolve_workspace
from api.errors import not_found
from api.exports import EXPORT_SCOPE, WITH_BODY, documented
from deliveries import selectors, services
from deliveries.models import EVENTS
from deliveries.services import REGION

router = Router(auth=key_auth(EXPORT_SCOPE), tags=["Deliveries"])


class Body(Schema):
    model_config = ConfigDict(extra="forbid")


URL = r"^https?://[^\s/?#@:]+(:[0-9]{1,5})?([/?#]\S*)?$"
TEXT = r"\S"  # not blank


def text(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length, pattern=TEXT)


class DestinationRequest(Body):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")  # REGION looks ahead
    workspace_id: str | None = None
    name: str = text(200)
    endpoint_url: str = Field("", max_length=500, pattern=f"^$|{URL}",
                              description="Empty for AWS S3")
    region: str = Field("", max_length=64, pattern=REGION)
    bucket: str = text(255)
    prefix: str = Field("", max_length=500)
    access_key_id: str = text(200)
    secret_access_key: str = Field(min_length=1, max_length=500, pattern=TEXT,
                                   description="Encrypted at rest; never shown again")


class DestinationItem(Schema):
    """A destination as the API shows it: never its secret."""

    id: UUID
    workspace_id: UUID
    name: str
    endpoint_url: str
    region: str
    bucket: str
    prefix: str
    access_key_id: str
    created_at: datetime
    object: str = "destination"


class WebhookRequest(Body):
    workspace_id: str | None = None
    url: str = Field(max_length=1000, pattern=URL)
    events: list[Literal[EVENTS]] | None = Field(  # type: ignore[valid-type]
        None, min_length=1, description="Default: every event")


class WebhookItem(Schema):
    id: UUID
    workspace_id: UUID
    url: str
    events: list[str]
    created_at: datetime
    object: str = "webhook"


class WebhookCreated(WebhookItem):
    secret: str  # answered once: the whsec_… key that signs each delivery


class Deleted(Schema):
    id: UUID
    deleted: bool = True


@router.post("/destinations", response=DestinationItem, openapi_extra=documented(*WITH_BODY),
             summary="Add a destination bucket (checked by a test write and delete first)")
def create_destination(request: HttpRequest, payload: DestinationRequest):
    workspace = resolve_workspace(request.auth, payload.workspace_id)
    return services.destination_create(workspace=workspace,
                                       **payload.model_dump(exclude={"workspace_id"}))


@router.get("/destinations", response=list[DestinationItem], openapi_extra=documented(422),
            summary="The workspace's destinations")
def list_destinations(request: HttpRequest, workspace_id: str | None = None):
    workspace = resolve_workspace(request.auth, workspace_id)
    return selectors.workspace_destinations(workspace=workspace)


@router.delete("/destinations/{destinationId}", response=Deleted, openapi_extra=documented(409),
               summary="Delete a destination (409 while a schedule delivers to it)")
def delete_destination(request: HttpRequest, destinationId: str,  # noqa: N803
                       workspace_id: str | None = None):
    workspace = resolve_workspace(request.auth, workspace_id)
    destination = selectors.workspace_destination(workspace=workspace,
                                                  destination_id=destinationId)
    if destination is None:
        raise not_found("destination")
    services.destination_delete(destination=destination)
    return {"id": destinationId}


@router.post("/webhooks", response=WebhookCreated, openapi_extra=documented(*WITH_BODY),
             summary="Add a webhook; its signing secret is answered this once")
def create_webhook(request: HttpRequest, payload: WebhookRequest):
    workspace = resolve_workspace(request.auth, payload.workspace_id)
    webhook, secret = services.webhook_create(workspace=workspace, url=payload.url,
                                              events=payload.events)
    return {**WebhookItem.from_orm(webhook).dict(), "secret": secret}


@router.get("/webhooks", response=list[WebhookItem], openapi_extra=documented(422),
            summary="The workspace's webhooks")
def list_webhooks(request: HttpRequest, workspace_id: str | None = None):
    workspace = resolve_workspace(request.auth, workspace_id)
    return selectors.workspace_webhooks(workspace=workspace)


@router.delete("/webhooks/{webhookId}", response=Deleted, openapi_extra=documented(),
               summary="Delete a webhook")
def delete_webhook(request: HttpRequest, webhookId: str,  # noqa: N803
                   workspace_id: str | None = None):
    workspace = resolve_workspace(request.auth, workspace_id)
    webhook = selectors.workspace_webhook(workspace=workspace, webhook_id=webhookId)
    if webhook is None:
        raise not_found("webhook")
    services.webhook_delete(webhook=webhook)
    return {"id": webhookId}
