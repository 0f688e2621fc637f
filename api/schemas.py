"""Pydantic schemas of every request and response of the REST API; ninja builds the OpenAPI
document from them.

Requests: the schemas fix the shape of a body (an object, which keys); the values are checked
where they are checked for the page too — logs.filters for filters, exports.inputs for the
rest — so both get the same words, naming the field. The filter and field documentation is
generated from those modules' catalogues (FIELDS, KNOWN_FILTERS, SPEC_FILTERS).
Responses: the ExportItem of the public spec plus our extras, built from an ExportJob.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from django.conf import settings
from ninja import Schema
from pydantic import (
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    TypeAdapter,
    WithJsonSchema,
    create_model,
)
from pydantic_core import core_schema

from deliveries.selectors import export_delivery
from exports.audit import recent_events
from exports.failures import plain_failure_reason
from exports.fields import ACCEPTED_NAMES, ALL_FIELD_NAMES, FIELDS
from exports.formats import DEFAULT_FORMAT, FORMATS
from exports.models import ExportEvent, ExportJob
from exports.redaction.detectors import DETECTORS
from exports.redaction.rules import (
    DROP_KEY_PATTERN,
    MAX_DROP_KEYS,
    MAX_PATTERNS,
    MAX_REGEX_LENGTH,
)
from logs.filters import (
    DECIMAL_RANGES,
    MAX_COST,
    MAX_INTEGER,
    MAX_METADATA_PAIRS,
    NAME_FILTERS,
    NAME_ITEM,
    NAMES_TEXT,
    ORG_MODEL_PAIR,
    ORG_MODELS_TEXT,
    RANGE_FILTERS,
    SPEC_FILTERS,
    STATUS_CODE_TEXT,
    STATUS_CODES_TEXT,
    format_timestamp,
)
from logs.ingestion import MAX_LOGS_PER_REQUEST

Item = TypeVar("Item")
# A date-time on the wire: ISO-8601 in UTC with a Z.
Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]


def documented(schema: dict) -> Any:
    """A value whose shape the OpenAPI document states and whose checking the domain does."""
    return Annotated[Any, WithJsonSchema(schema)]


class DocumentedAs:
    """Annotated[Any, DocumentedAs(T)]: any JSON value passes to the domain's own checks, and
    the OpenAPI document describes it as T (a model becomes a named component)."""

    def __init__(self, documented_type: Any):
        self.adapter = TypeAdapter(documented_type)

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        return core_schema.any_schema()

    def __get_pydantic_json_schema__(self, schema: Any, handler: Any) -> Any:
        return handler(self.adapter.core_schema)


# --- Filters: both dialects, from logs.filters' catalogue ------------------------------------

FILTER_DESCRIPTIONS = {
    "created_at": "Time range of the logs, inclusive: ISO-8601 date-times with a timezone.",
    "cost": "Cost range in cents, inclusive.",
    "total_tokens": "Total token range, inclusive.",
    "request_tokens": "Request (prompt) token range, inclusive.",
    "response_tokens": "Response (completion) token range, inclusive.",
    "ai_model": "Model name(s): one, a comma-separated list, or an array.",
    "ai_provider": "Provider name(s): one, a comma-separated list, or an array.",
    "trace_id": "Trace id(s): one, a comma-separated list, or an array.",
    "config": "Config id(s): one, a comma-separated list, or an array.",
    "prompt_slug": "Prompt slug(s): one, a comma-separated list, or an array.",
    "workspace_slug": "Workspace slug(s); logs of other workspaces never match.",
    "ai_org_model": "provider__model pairs, e.g. \"openai__gpt-4o, anthropic__claude-2.1\".",
    "status_code": "HTTP status code(s): one, a comma-separated string, or an array.",
    "metadata": "Metadata key: value pairs; every pair must match.",
    "page_size": "Public-spec paging: logs per export (1 to EXPORTS_MAX_LOGS_PER_EXPORT); "
                 "becomes the export's limit.",
    "current_page": "Public-spec paging, from 0: offset = current_page × page_size.",
}

def _matching(pattern: str) -> Any:
    return Annotated[str, Field(pattern=pattern)]


# The same regular expressions the server checks (logs.filters): "" and [] are no filter.
Names = _matching(NAMES_TEXT) | list[_matching(NAME_ITEM)]  # type: ignore[misc]
OrgModels = _matching(ORG_MODELS_TEXT) | list[_matching(f"^{ORG_MODEL_PAIR}$")]  # type: ignore[misc]
StatusCode = Annotated[int, Field(ge=100, le=599)]
WholeBound = Annotated[int, Field(ge=0, le=MAX_INTEGER)]
CostBound = Annotated[float, Field(ge=0, le=MAX_COST)]


class Closed(Schema):
    model_config = ConfigDict(extra="forbid")


class TimeRange(Closed):
    gte: datetime | None = None
    lte: datetime | None = None


class WholeRange(Closed):
    gte: WholeBound | None = None
    lte: WholeBound | None = None


class CostRange(Closed):
    gte: CostBound | None = None
    lte: CostBound | None = None


def _filter_fields() -> dict[str, Any]:
    def field(kind: Any, key: str, description: str | None = None) -> tuple[Any, Any]:
        return kind | None, Field(default=None,
                                  description=description or FILTER_DESCRIPTIONS.get(key))

    fields = {"created_at": field(TimeRange, "created_at")}
    for key in RANGE_FILTERS:
        fields[key] = field(CostRange if key in DECIMAL_RANGES else WholeRange, key)
    for key in NAME_FILTERS:
        fields[key] = field(Names, key)
    fields["ai_org_model"] = field(OrgModels, "ai_org_model")
    fields["status_code"] = field(
        _matching(STATUS_CODES_TEXT) | StatusCode
        | list[StatusCode | _matching(f"^{STATUS_CODE_TEXT}$")],  # type: ignore[misc]
        "status_code")
    fields["metadata"] = field(
        Annotated[dict[Annotated[str, Field(min_length=1, max_length=200)], str | float],
                  Field(max_length=MAX_METADATA_PAIRS)], "metadata")
    for name, (target, bound) in SPEC_FILTERS.items():
        if bound is None:
            kind: Any = Names
        elif target == "created_at":
            kind = datetime
        else:
            kind = CostBound if target in DECIMAL_RANGES else WholeBound
        where = f"{target}.{bound}" if bound else target
        fields[name] = field(kind, name, f"Public-spec name of {where}.")
    fields["page_size"] = field(
        Annotated[int, Field(ge=1, le=settings.EXPORTS_MAX_LOGS_PER_EXPORT)], "page_size")
    fields["current_page"] = field(Annotated[int, Field(ge=0)], "current_page")
    return fields


ExportFilters = create_model(
    "ExportFilters",
    __base__=Closed,
    __doc__="Both filter dialects: the product doc's (created_at.gte …) and the public "
            "spec's (time_of_generation_min …).",
    **_filter_fields(),
)



class RequestedData(RootModel[Annotated[list[Literal[ACCEPTED_NAMES]],  # type: ignore[valid-type]
                                        Field(min_length=1)]]):
    model_config = ConfigDict(json_schema_extra={
        "description": "Fields of each exported line, written in catalogue order:\n"
        + "\n".join(f"- `{field.name}`: {field.description}"
                    + (f" (alias: {', '.join(field.aliases)})" if field.aliases else "")
                    for field in FIELDS),
    })


# --- Export requests and responses -----------------------------------------------------------

class ExportRequest(Closed):
    """The body of create (requested_data required) and of update (every field optional)."""

    workspace_id: documented({  # type: ignore[valid-type]
        "type": "string", "description": "Workspace id or slug; needed by organization keys "
                                         "when the organization has several"}) = None
    filters: Annotated[Any, DocumentedAs(ExportFilters)] = None
    requested_data: Annotated[Any, DocumentedAs(RequestedData)] = None
    description: documented({"type": "string", "maxLength": 500}) = None  # type: ignore[valid-type]
    limit: documented({"type": "integer", "minimum": 1,  # type: ignore[valid-type]
                       "maximum": settings.EXPORTS_MAX_LOGS_PER_EXPORT}) = None
    offset: documented({  # type: ignore[valid-type]
        "type": "integer", "minimum": 0, "maximum": MAX_INTEGER}) = None
    format: documented({  # type: ignore[valid-type]
        "type": "string", "enum": list(ExportJob.Format.values), "default": DEFAULT_FORMAT,
        "description": "The file's format: " + "; ".join(
            f"`{fmt.name}`: {fmt.summary}" for fmt in FORMATS)}) = None
    # Checked by exports.redaction.rules (one error shape, naming e.g.
    # redaction.patterns[0].regex); left out, the workspace's default rules apply.
    redaction: Annotated[Any, DocumentedAs(Redaction)] = None


class RedactionPattern(Closed):
    # Python's regular expressions, as the OpenAPI document's readers (and the rules) apply them.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Shown in the mark: "
                      "[REDACTED:<name>]")
    regex: str = Field(min_length=1, max_length=MAX_REGEX_LENGTH,
                       description="A Python regular expression; refused (422 invalid_pattern) "
                                   "when it could run for ever")


class Redaction(Closed):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")
    detectors: list[Literal[DETECTORS]] = []  # type: ignore[valid-type]
    patterns: list[RedactionPattern] = Field(default=[], max_length=MAX_PATTERNS)
    drop_keys: list[Annotated[str, Field(pattern=DROP_KEY_PATTERN)]] = Field(
        default=[], max_length=MAX_DROP_KEYS,
        description="Dotted paths under request, response or metadata, removed wherever they "
                    "appear")


class CreateExportRequest(ExportRequest):
    model_config = ConfigDict(json_schema_extra={"required": ["requested_data"]})

    destination_id: documented({  # type: ignore[valid-type]
        "type": "string", "format": "uuid",
        "description": "A destination (POST /v1/destinations): once the export has "
                       "succeeded its file and manifest are copied there too"}) = None


class UpdateExportRequest(ExportRequest):
    pass


class UpdateExportResponse(Schema):
    id: UUID
    total: int = Field(ge=0, description="Logs the export will contain")
    object: Literal["export"] = "export"


class ExportItem(Schema):
    id: UUID
    organisation_id: UUID
    workspace_id: UUID
    filters: dict[str, Any] = Field(description="The filters in their stored normal form")
    requested_data: list[Literal[ALL_FIELD_NAMES]]  # type: ignore[valid-type]
    status: Literal[tuple(ExportJob.Status.values)]  # type: ignore[valid-type]
    description: str
    created_at: Timestamp
    last_updated_at: Timestamp
    created_by: str | None = Field(description="API key or user id")
    object: Literal["export"] = "export"
    # Extras beyond the public spec.
    limit: int
    offset: int
    format: Literal[tuple(ExportJob.Format.values)]  # type: ignore[valid-type]
    total_records: int
    rows_written: int
    rows_skipped: int = Field(ge=0, description="Logs of the slice the format left out "
                                                "(finetune.jsonl: not a chat completion)")
    progress: float = Field(ge=0, le=1)
    redaction: dict[str, Any] = Field(description="The redaction rules the export applies")
    redaction_counts: dict[str, int] = Field(description="Values each rule replaced (or keys "
                                             "it dropped) in the file")
    file_size: int | None
    sha256: str | None
    error: str | None
    started_at: Timestamp | None
    finished_at: Timestamp | None
    expires_at: Timestamp | None

    @staticmethod
    def resolve_organisation_id(job: ExportJob) -> UUID:
        return job.workspace.organization_id

    @staticmethod
    def resolve_created_by(job: ExportJob) -> str | None:
        creator = job.created_by_api_key_id or job.created_by_id
        return str(creator) if creator else None

    @staticmethod
    def resolve_progress(job: ExportJob) -> float:
        return round(job.progress, 4)

    @staticmethod
    def resolve_sha256(job: ExportJob) -> str | None:
        return job.sha256 or None

    @staticmethod
    def resolve_error(job: ExportJob) -> str | None:
        # The plain-words reason; the technical text stays in the admin and the logs.
        return plain_failure_reason(job.error) if job.error else None


class ExportEventItem(Schema):
    """One entry of an export's audit trail."""

    action: Literal[tuple(ExportEvent.Action.values)]  # type: ignore[valid-type]
    actor: str = Field(description="User name, or 'API key <prefix>'; for a link fetch, whom "
                                    "the link was issued to")
    channel: Literal[tuple(ExportEvent.Channel.values)]  # type: ignore[valid-type]
    ip_address: str | None
    attempt: int
    at: Timestamp


class ExportDetail(ExportItem):
    """One export as GET /v1/logs/exports/{id} answers it: with its audit trail."""

    activity: list[ExportEventItem] = Field(description="Audit trail, newest first")
    delivery: dict[str, Any] | None = Field(
        default=None, description="The copy to a destination: destination_id, status, key, "
                                  "manifest_key, sha256, error; null without a destination")

    @staticmethod
    def resolve_activity(job: ExportJob) -> list[ExportEvent]:
        return recent_events(job)

    @staticmethod
    def resolve_delivery(job: ExportJob) -> dict | None:
        return export_delivery(job)


class ListResponse(Schema, Generic[Item]):
    object: Literal["list"] = "list"
    total: int = Field(ge=0)
    data: list[Item]


class ExportListResponse(ListResponse[ExportItem]):
    pass


class ExportTaskResponse(Schema):
    message: str
    object: Literal["export"] = "export"


class DownloadLogsResponse(Schema):
    signed_url: str = Field(json_schema_extra={"format": "uri"})
    url: str = Field(json_schema_extra={"format": "uri"})
    expires_at: Timestamp


# --- Logs --------------------------------------------------------------------------------------

# Headers and metadata are kept as sent (credentials masked): any JSON value.
class CustomLogRequest(Schema):
    url: str = Field(min_length=1, max_length=2000)
    method: str | None = Field(default=None, max_length=20)
    headers: dict[str, Any] | None = None
    body: dict[str, Any]


class CustomLogResponse(Schema):
    status: int | None = Field(default=None, ge=100, le=599)
    headers: dict[str, Any] | None = None
    body: dict[str, Any]
    response_time: int | None = Field(default=None, ge=0, le=MAX_INTEGER)


class CustomLogMetadata(Schema):
    model_config = ConfigDict(extra="allow")
    trace_id: str | None = Field(default=None, max_length=200)
    span_id: Any = None
    span_name: Any = None


class CustomLog(Closed):
    """The public spec's CustomLog: what POST /v1/logs inserts."""

    request: CustomLogRequest
    response: CustomLogResponse
    metadata: CustomLogMetadata | None = None


InsertLogsRequest = Annotated[Any, DocumentedAs(
    CustomLog | Annotated[list[CustomLog], Field(min_length=1, max_length=MAX_LOGS_PER_REQUEST)]
)]


class InsertedLog(Schema):
    id: UUID
    object: Literal["log"] = "log"


class InsertLogsResponse(ListResponse[InsertedLog]):
    total: int = Field(ge=1)


class LogRequestPart(Schema):
    url: str
    method: str
    headers: dict[str, Any]
    body: dict[str, Any]
    portkeyHeaders: dict[str, str]  # noqa: N815 (the spec's name)


class LogResponsePart(Schema):
    status: int
    headers: dict[str, Any]
    body: dict[str, Any]
    responseTime: int  # noqa: N815
    lastUsedOptionJsonPath: str  # noqa: N815


class LogMetrics(Schema):
    id: UUID
    organisation_id: UUID
    created_at: Timestamp
    is_success: bool
    ai_org: str
    ai_model: str
    req_units: int
    res_units: int
    total_units: int
    cost: float
    cost_currency: str
    request_url: str
    response_status_code: int
    response_time: int
    trace_id: str
    mode: str
    config: str | None
    prompt_slug: str | None
    workspace_slug: str


class LogObject(Schema):
    """The spec's LogObject, as far as this server keeps the data."""

    log_id: UUID = Field(alias="_id")
    id: UUID
    object: Literal["log"] = "log"
    organisation_id: UUID
    workspace_id: UUID
    created_at: Timestamp
    request: LogRequestPart
    response: LogResponsePart
    metadata: dict[str, Any]
    metrics: LogMetrics

    model_config = ConfigDict(populate_by_name=True)
