from __future__ import annotations


class InvalidTransition(Exception):
    """An action that the export's current status does not allow (HTTP 409 in the API)."""

    def __init__(self, message: str, *, status: str):
        super().__init__(message)
        self.message = message
        self.status = status


class ExportNotReady(InvalidTransition):
    """The file of an export that has not succeeded, or whose file has expired."""


class TooManyInProgress(InvalidTransition):
    """The workspace already runs EXPORTS_MAX_IN_PROGRESS_PER_WORKSPACE exports at once."""


class QueueUnavailable(Exception):
    """The job queue (Redis) could not be reached; the action can be tried again later.

    The API answers 503 with Retry-After; the page says so next to the button.
    """

    def __init__(self, message: str, *, retry_after: int = 30):
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
