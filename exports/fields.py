"""The catalogue of exportable fields: the one place that names, orders and describes them.

The form, the API schema, the writer and the docs all read this module. The order of FIELDS is
the order of keys in every exported line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Raised whenever a field is added, removed, renamed or changes kind; files that carry a schema
# (Parquet's metadata) name it, so a reader can tell which catalogue wrote them.
FIELDS_VERSION = 1

# How a value is turned into JSON; the writer has one rendering per kind.
Kind = Literal["uuid", "text", "timestamp", "json", "integer", "decimal", "boolean"]


@dataclass(frozen=True)
class ExportField:
    name: str
    label: str
    description: str
    kind: Kind
    column: str | None = None  # the Log column; None where the value is derived
    aliases: tuple[str, ...] = ()
    default: bool = False  # pre-checked on the form
    in_product_doc: bool = True  # one of the 17 fields of the product doc


FIELDS: tuple[ExportField, ...] = (
    ExportField("id", "ID", "Unique identifier for the log entry", "uuid", "id", default=True),
    ExportField("trace_id", "Trace ID", "Identifier for tracing related requests", "text",
                "trace_id", default=True),
    ExportField("created_at", "Created At", "Timestamp of the request", "timestamp",
                "created_at", default=True),
    ExportField("request", "Request", "Request JSON payload", "json", "request"),
    ExportField("response", "Response", "Response JSON payload", "json", "response"),
    ExportField("ai_provider", "AI Provider", "Name of the AI provider used", "text",
                "ai_provider", aliases=("ai_org",), default=True),
    ExportField("ai_model", "AI Model", "Name of the AI model used", "text", "ai_model",
                default=True),
    ExportField("request_tokens", "Request Tokens", "Number of tokens in the request",
                "integer", "request_tokens", aliases=("req_units",)),
    ExportField("response_tokens", "Response Tokens", "Number of tokens in the response",
                "integer", "response_tokens", aliases=("res_units",)),
    ExportField("total_tokens", "Total Tokens", "Total number of tokens (request + response)",
                "integer", "total_tokens", aliases=("total_units",), default=True),
    ExportField("cost", "Cost", "Cost of the request in cents (USD)", "decimal", "cost",
                default=True),
    ExportField("cost_currency", "Cost Currency", "Currency of the cost (USD)", "text",
                "cost_currency"),
    ExportField("response_time", "Response Time", "Response time in milliseconds", "integer",
                "response_time", default=True),
    ExportField("status_code", "Status Code", "HTTP response status code", "integer",
                "status_code", aliases=("response_status_code",), default=True),
    ExportField("config", "Config", "Config ID used for the request", "text", "config"),
    ExportField("prompt_slug", "Prompt Slug", "Prompt ID used for the request", "text",
                "prompt_slug"),
    ExportField("metadata", "Metadata", "Custom metadata key-value pairs", "json", "metadata"),
    ExportField("is_success", "Is Success", "Whether the status code was 2xx", "boolean",
                None, in_product_doc=False),
    ExportField("request_url", "Request URL", "URL the gateway called", "text", "request_url",
                in_product_doc=False),
    ExportField("mode", "Mode", "Routing mode: single, loadbalance or fallback", "text", "mode",
                in_product_doc=False),
)

FIELDS_BY_NAME: dict[str, ExportField] = {field.name: field for field in FIELDS}
ALIASES: dict[str, str] = {alias: field.name for field in FIELDS for alias in field.aliases}
DEFAULT_FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in FIELDS if field.default)
ALL_FIELD_NAMES: tuple[str, ...] = tuple(field.name for field in FIELDS)
ACCEPTED_NAMES: tuple[str, ...] = ALL_FIELD_NAMES + tuple(ALIASES)


def canonical_field_name(name: str) -> str | None:
    """The catalogue name for a name or wire alias, or None when it is neither."""
    if name in FIELDS_BY_NAME:
        return name
    return ALIASES.get(name)


def in_catalogue_order(names: set[str] | list[str]) -> list[str]:
    wanted = set(names)
    return [field.name for field in FIELDS if field.name in wanted]
