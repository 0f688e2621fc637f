"""Whether a workspace may use log exports at all: the product doc's two notices.

Checked by the services, so neither the page nor the API can create or start an export past a
closed gate, whatever is posted.
"""

from __future__ import annotations

from django.conf import settings

from accounts.models import Organization

PLAN_REQUIRED = (
    "Logs export is only available on the enterprise plan. "
    "For more info reach us at support@portkey.ai"
)
DATA_SERVICE_REQUIRED = (
    "Data Service must be enabled to use the Logs Export feature for Self Hosted Enterprise "
    "customers."
)


class ExportsUnavailable(Exception):
    """Exports are closed to this organization (HTTP 403 in the API)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def exports_unavailable_reason(organization: Organization) -> str | None:
    """The notice to show instead of the export form, or None when exports are open."""
    if not settings.DATA_SERVICE_ENABLED:
        return DATA_SERVICE_REQUIRED
    if not organization.can_export_logs:
        return PLAN_REQUIRED
    return None


def offers_start(job) -> bool:
    """Whether a page offers Start (or Start Again) for the export: the list and the detail
    page both ask here, so neither offers what the service would refuse at the gate."""
    return job.is_startable and exports_unavailable_reason(job.workspace.organization) is None


def ensure_exports_available(organization: Organization) -> None:
    reason = exports_unavailable_reason(organization)
    if reason:
        raise ExportsUnavailable(reason)
