"""Log records: the request id on each, secrets scrubbed from each, JSON lines in production."""

from __future__ import annotations

import contextvars
import json
import logging
import re
from datetime import UTC, datetime

# The id of the request being served in this thread or task ("-" outside a request).
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# What must never reach a log line, and what stays of it: an API key keeps its public prefix,
# a signed download link loses its token, a presigned S3 URL its query string.
SECRET_PATTERNS = [
    (re.compile(r"\b(lx_[0-9a-f]{12})_[A-Za-z0-9_\-]+"), r"\1_[redacted]"),
    (re.compile(r"(/exports/file/)[^/\s\"'?]+"), r"\1[redacted]"),
    (re.compile(r"\?[^\s\"']*X-Amz-[^\s\"']*"), "?[redacted]"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1[redacted]"),
    (re.compile(r"(?i)(x-portkey-api-key['\"]?\s*[:=]\s*['\"]?)[^\s\"',]+"), r"\1[redacted]"),
]


def forget_request_id(**kwargs) -> None:
    """request_finished: lines written between requests carry no request's id."""
    request_id_var.set("-")


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


class RedactSecretsFilter(logging.Filter):
    """Formats the message (and any traceback) once, scrubbed, before a handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        http = getattr(record, "http", None)
        if isinstance(http, dict) and isinstance(http.get("path"), str):
            record.http = {**http, "path": redact(http["path"])}
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and `http` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ).replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
        }
        http = getattr(record, "http", None)
        if isinstance(http, dict):
            entry["http"] = http
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info or
                                                                          (None, None, None))
        return json.dumps(entry, default=str)
