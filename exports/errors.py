from __future__ import annotations


class InvalidTransition(Exception):
    """An action that the export's current status does not allow (HTTP 409 in the API)."""

    def __init__(self, message: str, *, status: str):
        super().__init__(message)
        self.message = message
        self.status = status


class ExportNotReady(InvalidTransition):
    """The file of an export that has not succeeded, or whose file has expired."""
